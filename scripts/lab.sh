#!/usr/bin/env bash
# Open the course in JupyterLab (creates the environment first if needed); arguments go to JupyterLab.
# A wrapper: `python scripts/course.py lab` does the same on any platform (one code path).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/course_env.sh"
exec "$course_python" "$root/scripts/course.py" lab "$@"
