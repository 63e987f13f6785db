#!/usr/bin/env bash
# Build (or check) the project-local environment in .venv/ with the tested
# versions: those of the lock, requirements/lock.txt.
#
#   bash tools/setup_env.sh            # what `make demo` and `make test` call
#   VENV=/path/to/env bash tools/setup_env.sh
#   TORCH_SPEC='torch==2.6.0' bash tools/setup_env.sh   # another torch build
#
# Steps: create the venv with Python 3.11 (else 3.12; PYTHON= chooses
# another interpreter: the lock needs 3.11 or 3.12, several of its versions
# have no release for 3.10); install the build tools, torch,
# numpy and OpenCV; build mmcv from source with its compiled ops; install
# bafenet in editable mode with its test and deploy extras, every version
# fixed by the lock. The ranges bafenet supports are in bafenet/dependencies.py
# (what `pip install bafenet` asks for); the lock is the one combination the
# test suite runs with. A stamp file records the hash of the inputs, so
# re-running on a ready environment only checks it.
#
# One OpenCV: mmengine requires opencv-python. mmcv 2.1.0's setup.py asks
# for no OpenCV when cv2 is importable while it is built (otherwise for
# opencv-python-headless if that is installed, else opencv-python). So
# opencv-python goes in before mmcv is built, and nothing asks for the
# headless package.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ -z "${PYTHON:-}" ]; then
  for candidate in python3.11 python3.12; do
    if command -v "$candidate" >/dev/null; then PYTHON=$candidate; break; fi
  done
fi
PYTHON=${PYTHON:-python3.11}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
LOCK=requirements/lock.txt
MMCV_SPEC=$(grep '^mmcv==' "$LOCK")
STAMP="$VENV/.bafenet-env"

say() { printf '[setup_env] %s\n' "$*"; }

want=$(cat requirements/*.txt setup.py bafenet/dependencies.py | sha256sum | cut -d' ' -f1)-$TORCH_SPEC
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
   "$VENV/bin/python" -c 'import mmcv.ops, mmdet, mmseg, bafenet' 2>/dev/null; then
  say "environment $VENV is ready"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null ||
    { say "error: no python3.11 or python3.12 found; set PYTHON=/path/to/python3"; exit 1; }
  "$PYTHON" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' ||
    { say "error: $PYTHON is $($PYTHON --version 2>&1); the tested environment (requirements/lock.txt) needs Python 3.11 or 3.12"; exit 1; }
  say "creating virtual environment $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV" ||
    { say "error: $PYTHON cannot create a venv (on Debian and Ubuntu, install the python3.X-venv package)"; exit 1; }
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)

installed() { "$PY" -m pip show "$1" >/dev/null 2>&1; }

say "installing build tools (requirements/build.txt)"
"${PIP[@]}" -q -r requirements/build.txt

if "$PY" -c 'import torch' 2>/dev/null; then
  say "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
else
  say "installing $TORCH_SPEC"
  "${PIP[@]}" -q "$TORCH_SPEC"
fi

if installed opencv-python-headless; then
  # Both distributions write the same cv2/ folder: remove both, then put
  # back the one.
  say "removing opencv-python-headless (opencv-python is the one OpenCV)"
  "$PY" -m pip uninstall -q -y opencv-python-headless opencv-python
fi
say "installing numpy and opencv-python (lock)"
"${PIP[@]}" -q -c "$LOCK" numpy opencv-python

if "$PY" - <<EOF 2>/dev/null
import mmcv, mmcv.ops
assert 'mmcv==' + mmcv.__version__ == '$MMCV_SPEC'
EOF
then
  say "$MMCV_SPEC with compiled ops already installed"
else
  if [ -n "$("$PY" -m pip cache list "${MMCV_SPEC/==/-}-*" --format abspath 2>/dev/null)" ]; then
    say "installing $MMCV_SPEC from the wheel pip built before (pip's cache)"
  else
    say "building $MMCV_SPEC from source with its ops: 10-15 minutes on 2 cores"
    say "(pip keeps the wheel in its cache, so later environments install it in a minute)"
  fi
  # MMCV_WITH_OPS compiles the C++ (and, with a CUDA torch, CUDA) operators.
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "${PIP[@]}" --no-build-isolation -c "$LOCK" "$MMCV_SPEC"
fi

say "installing bafenet's requirements with the tests and deploy extras (lock)"
# Installed before bafenet itself, with pip's normal (PEP 517) builds:
# dadaptation, for one, is published only as an sdist with a pyproject.toml,
# and --no-use-pep517 below would refuse to build it.
"$PY" - >"$VENV/.bafenet-requirements.txt" <<'PY'
import runpy
deps = runpy.run_path('bafenet/dependencies.py')
tables = [deps['RUNTIME'], *(deps['EXTRAS'][name] for name in ('tests', 'deploy'))]
print('\n'.join(req for table in tables for req in deps['requirement_strings'](table)))
PY
"${PIP[@]}" -q -c "$LOCK" -r "$VENV/.bafenet-requirements.txt"
say "installing bafenet in editable mode"
# `setup.py develop` (with the setuptools of requirements/build.txt) links
# the checkout itself, where mim and mmengine find bafenet/.mim; its
# requirements are already in place, so it builds nothing else.
"${PIP[@]}" -q --no-build-isolation --no-use-pep517 --no-deps -e .

say "installing pyirstdmetrics without its requirements (it declares numpy<2; its code runs on numpy 2)"
"$PY" - >"$VENV/.bafenet-no-deps.txt" <<'PY'
import runpy
print('\n'.join(runpy.run_path('bafenet/dependencies.py')['NO_DEPS_TEST_PACKAGES']))
PY
"${PIP[@]}" -q --no-deps -c "$LOCK" -r "$VENV/.bafenet-no-deps.txt"

# pip check, less the one declared requirement of each --no-deps package.
"$PY" - <<'PY'
import runpy, subprocess, sys
waived = runpy.run_path('bafenet/dependencies.py')['NO_DEPS_TEST_PACKAGES']
report = subprocess.run([sys.executable, '-m', 'pip', 'check'],
                        capture_output=True, text=True).stdout.splitlines()
broken = [line for line in report
          if line and not line.startswith('No broken requirements') and not any(
              line.startswith(f'{name} ') and f'has requirement {req},' in line
              for name, req in waived.items())]
if broken:
    sys.exit('[setup_env] error: pip check:\n  ' + '\n  '.join(broken))
PY
opencv=$("$PY" -m pip list 2>/dev/null | grep -ci '^opencv' || true)
[ "$opencv" = 1 ] || { say "error: $opencv OpenCV distributions installed, expected 1"; exit 1; }
"$PY" -c 'import mmcv.ops, mmdet, mmseg, bafenet; print("[setup_env] bafenet", bafenet.__version__, "ready")'
echo "$want" >"$STAMP"
