#!/usr/bin/env bash
# The test command: unit tests plus every notebook under nbval, in the smoke profile; arguments go to pytest.
# A wrapper: `python scripts/course.py test` does the same on any platform (one code path).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/course_env.sh"
exec "$course_python" "$root/scripts/course.py" test "$@"
