#!/usr/bin/env bash
# The run command: execute every notebook (full profile) into runs/, then print the results table.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/ensure_env.sh"
source "$here/course_env.sh"
cd "$root"
exec python -m course_utils run "$@"
