#!/usr/bin/env bash
# The demo behind `make demo`: train FCOS-R18 for a few CPU minutes, evaluate
# it, and write metrics and pictures of predictions into a work directory.
#
# Data: DATA_ROOT if set, else data/SIRSTdevkit when present (the real
# DenseSIRST), else a synthetic dataset generated into data/demo/SIRSTdevkit.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${VENV:-.venv}/bin/python
CONFIG=configs/demo/fcos_r18_fpn_demo_densesirst.py
WORK_DIR=${WORK_DIR:-work_dirs/demo}

if [ -z "${DATA_ROOT:-}" ]; then
  if [ -d data/SIRSTdevkit ]; then
    DATA_ROOT=data/SIRSTdevkit
  else
    DATA_ROOT=data/demo/SIRSTdevkit
    [ -d "$DATA_ROOT/Splits" ] || "$PYTHON" tools/misc/generate_demo_dataset.py "$DATA_ROOT"
  fi
fi
echo "[demo] data: $DATA_ROOT"

"$PYTHON" tools/train.py "$CONFIG" --data-root "$DATA_ROOT" --work-dir "$WORK_DIR"
CHECKPOINT=$(cat "$WORK_DIR/last_checkpoint")
"$PYTHON" tools/test.py "$CONFIG" "$CHECKPOINT" --data-root "$DATA_ROOT" \
  --work-dir "$WORK_DIR" --show-dir predictions

SHOW_DIR=$(ls -d "$WORK_DIR"/*/predictions | tail -n 1)
echo "[demo] work directory: $WORK_DIR"
echo "[demo]   checkpoint:   $CHECKPOINT"
echo "[demo]   metrics:      $WORK_DIR/metrics.json"
echo "[demo]   pictures:     $SHOW_DIR ($(ls "$SHOW_DIR" | wc -l) images)"
"$PYTHON" -c "import json; m = json.load(open('$WORK_DIR/metrics.json'))['metrics']; print('[demo]  ', ', '.join(f'{k} {m[k]:.4f}' for k in ('mAP07', 'mAP12', 'F1', 'best_F1', 'Pd', 'Fa_per_image')))"
