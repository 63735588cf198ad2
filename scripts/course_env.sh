# Sourced by the bash scripts, and by a shell that wants the course's commands on its PATH.
# The settings every course command shares (scripts/course.py sets the same for the commands it runs).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${COURSE_VENV:-$root/.venv}/bin:$PATH"
# A classroom mirror beside the checkout (a USB stick or LAN share laid out like shared/datasets)
# is used when COURSE_DATA_MIRROR is not set; the data layer still verifies every file.
if [ -z "${COURSE_DATA_MIRROR:-}" ] && [ -d "$root/../shared/datasets" ]; then
  export COURSE_DATA_MIRROR="$(cd "$root/../shared/datasets" && pwd)"
fi
# The Python that runs scripts/course.py for the bash scripts: the environment's once it exists,
# else $PYTHON, else python3 (course.py refuses one older than 3.11 with a message).
course_python="${COURSE_VENV:-$root/.venv}/bin/python"
[ -x "$course_python" ] || course_python="${PYTHON:-python3}"
