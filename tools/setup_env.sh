#!/usr/bin/env bash
# Build (or check) the project-local environment in .venv/.
#
#   bash tools/setup_env.sh            # what `make demo` and `make test` call
#   VENV=/path/to/env bash tools/setup_env.sh
#   TORCH_SPEC='torch==2.1.2' bash tools/setup_env.sh   # another torch build
#
# Steps: create the venv with Python 3.11, install the build tools, torch,
# mmcv 2.1.0 built from source with its compiled ops, the pinned OpenMMLab stack
# and runtime requirements, then bafenet itself in editable mode. A stamp file
# records the hash of the requirement files, so re-running on a ready
# environment only checks that the stamp and the imports are still good.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
MMCV_VERSION=2.1.0
STAMP="$VENV/.bafenet-env"

say() { printf '[setup_env] %s\n' "$*"; }

want=$(cat requirements.txt requirements/*.txt setup.py | sha256sum | cut -d' ' -f1)-$TORCH_SPEC
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
   "$VENV/bin/python" -c 'import mmcv.ops, mmdet, mmseg, bafenet' 2>/dev/null; then
  say "environment $VENV is ready"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null || { say "error: $PYTHON not found; set PYTHON=/path/to/python3.11"; exit 1; }
  say "creating virtual environment $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

say "installing build tools (requirements/build.txt)"
"${PIP[@]}" -q -r requirements/build.txt

if "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  say "torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)') already installed"
else
  say "installing $TORCH_SPEC"
  "${PIP[@]}" -q "$TORCH_SPEC"
fi

# The runtime pins go first, so that mmcv finds numpy and OpenCV (headless)
# already there instead of pulling in versions of its own.
say "installing the runtime and test requirements (requirements.txt)"
"${PIP[@]}" -q -r requirements.txt

if "$VENV/bin/python" - <<EOF 2>/dev/null
import mmcv, mmcv.ops
assert mmcv.__version__ == '$MMCV_VERSION'
EOF
then
  say "mmcv $MMCV_VERSION with compiled ops already installed"
else
  say "building mmcv $MMCV_VERSION from source with its ops: about 10 minutes on 2 cores"
  say "(pip keeps the wheel in its cache, so later environments install it in seconds)"
  # MMCV_WITH_OPS compiles the C++ (and, with a CUDA torch, CUDA) operators.
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "${PIP[@]}" --no-build-isolation "mmcv==$MMCV_VERSION"
fi

say "installing the OpenMMLab stack (requirements/mminstall.txt)"
"${PIP[@]}" -q -r requirements/mminstall.txt -r requirements.txt

say "installing bafenet in editable mode"
"${PIP[@]}" -q --no-build-isolation --no-deps -e .

"$VENV/bin/python" -c 'import mmcv.ops, mmdet, mmseg, bafenet; print("[setup_env] bafenet", bafenet.__version__, "ready")'
echo "$want" >"$STAMP"
