#!/usr/bin/env bash
# Open the course in JupyterLab (creates the environment first if needed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/ensure_env.sh"
source "$here/course_env.sh"
cd "$root"
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)  # JupyterLab refuses root without it (containers, Colab-like VMs)
exec jupyter lab --notebook-dir="$root/notebooks" "${extra[@]}" "$@"
