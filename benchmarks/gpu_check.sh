#!/usr/bin/env bash
# The GPU check in one command (at most about 8 minutes on a GPU machine; see benchmarks/gpu_check.py).
# Data: a folder made by `python benchmarks/gpu_check.py pack datasets/gpu_pack` on the course machine,
# carried to the GPU machine with the working tree (run tool: carry=["datasets/gpu_pack"]).
# Results: $OUT/gpu_check.md and .csv when $OUT is set (the device machine's output folder), else ./gpu_check_out.
#   bash benchmarks/gpu_check.sh [PACK_FOLDER] [--dry-run]
set -euo pipefail
cd "$(dirname "$0")/.."
PACK="${1:-datasets/gpu_pack}"
shift || true
PY="${PYTHON:-python}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
"$PY" -c "import torch, tokenizers, pandas" || { echo "gpu_check needs torch, tokenizers and pandas"; exit 2; }
"$PY" -c "import torch; print('torch', torch.__version__, '| CUDA:', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
exec timeout 480 "$PY" benchmarks/gpu_check.py run "$PACK" --out "${OUT:-gpu_check_out}" "$@"
