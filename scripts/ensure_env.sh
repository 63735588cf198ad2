#!/usr/bin/env bash
# Create (or bring up to date) the course's virtual environment in .venv; reinstalls only when requirements.txt or pyproject.toml changed. PYTHON=python3.12 picks the Python for a new one.
# A wrapper: `python scripts/course.py setup` does the same on any platform (one code path).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/course_env.sh"
exec "$course_python" "$root/scripts/course.py" setup "$@"
