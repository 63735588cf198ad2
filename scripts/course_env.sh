# Sourced by the scripts: settings every course command shares.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${COURSE_VENV:-$root/.venv}/bin:$PATH"
# A classroom mirror beside the checkout (a USB stick or LAN share laid out like shared/datasets)
# is used when COURSE_DATA_MIRROR is not set; the data layer still verifies every file.
if [ -z "${COURSE_DATA_MIRROR:-}" ] && [ -d "$root/../shared/datasets" ]; then
  export COURSE_DATA_MIRROR="$(cd "$root/../shared/datasets" && pwd)"
fi
