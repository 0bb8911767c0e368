# Sourced by scripts/serve and scripts/test: make the virtual environment and install
# article-mcp into it with the extras named in $EXTRAS. Safe to run again: pip skips what is there.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${ARTICLE_MCP_VENV:-$ROOT/.venv}
PYTHON_BIN=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtual environment in $VENV" >&2
  "$PYTHON_BIN" -m venv "$VENV"
fi
pip_install() {
  local log
  log=$(mktemp)
  if ! "$VENV/bin/python" -m pip --disable-pip-version-check install "$@" >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2 || true
    rm -f "$log"
    echo "pip install $* failed" >&2
    exit 1
  fi
  rm -f "$log"
}
# The CPU build of PyTorch first: left to itself, sentence-transformers would pull a
# several-GB CUDA build from PyPI. PyTorch's own CPU index when it answers within seconds;
# otherwise the configured index (a mirror may serve CPU wheels, or be all there is).
TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
install_torch() {
  if curl -fsS --max-time 5 -o /dev/null "$TORCH_CPU_INDEX/torch/" 2>/dev/null; then
    echo "installing PyTorch (CPU build) from $TORCH_CPU_INDEX" >&2
    pip_install --index-url "$TORCH_CPU_INDEX" "torch==2.13.0"
  else
    echo "installing PyTorch from the configured index: $TORCH_CPU_INDEX did not answer" >&2
    pip_install "torch==2.13.0"
  fi
}
if [[ ",${EXTRAS}," == *",local,"* ]] && ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  install_torch
fi
echo "installing article-mcp[$EXTRAS]" >&2
pip_install -e "$ROOT[$EXTRAS]"
