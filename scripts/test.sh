#!/usr/bin/env bash
# The test command: unit tests plus every notebook under nbval, in the smoke profile.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/ensure_env.sh"
source "$here/course_env.sh"
cd "$root"
export COURSE_PROFILE="${COURSE_PROFILE:-smoke}"
exec python -m pytest "$@"
