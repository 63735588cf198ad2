#!/usr/bin/env bash
# Build the course website from the committed notebooks into _build/site/ (open _build/site/index.html).
# A wrapper: `python scripts/course.py site` does the same on any platform (one code path).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/course_env.sh"
exec "$course_python" "$root/scripts/course.py" site "$@"
