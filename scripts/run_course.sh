#!/usr/bin/env bash
# The run command: execute every notebook (full profile) into runs/, then print the results table.
# A wrapper: `python scripts/course.py run` does the same on any platform (one code path).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/course_env.sh"
exec "$course_python" "$root/scripts/course.py" run "$@"
