#!/usr/bin/env bash
# The demo behind `make demo`: train BAFE-Net-R18 (full coverage, shrunk for
# a CPU) for a few minutes on training images, evaluate it on held-out test
# images, and write metrics and pictures of the predicted boxes and sky into
# a work directory.
#
# Data: DATA_ROOT if set, else data/SIRSTdevkit when present (the real
# DenseSIRST), else a synthetic dataset generated into data/demo/SIRSTdevkit.
# The real data is scored on the first 32 of its 256 test_v2 frames;
# synthetic data (a root with a synthetic.json) trains with its own config
# (configs/demo/*_synthetic.py) and is scored on all its held-out test_v2
# frames. The last lines say which data and which frames.
# Arguments are passed to both tools/train.py and tools/test.py, e.g.
#   bash tools/run_demo.sh --cfg-options train_cfg.max_epochs=8
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${VENV:-.venv}/bin/python
WORK_DIR=${WORK_DIR:-work_dirs/demo}

if [ -z "${DATA_ROOT:-}" ]; then
  if [ -d data/SIRSTdevkit ]; then
    DATA_ROOT=data/SIRSTdevkit
  else
    DATA_ROOT=data/demo/SIRSTdevkit
    # written once, again only when the generator has changed
    "$PYTHON" tools/misc/generate_demo_dataset.py "$DATA_ROOT" --keep-current
  fi
fi
if [ -f "$DATA_ROOT/synthetic.json" ]; then
  DATA="synthetic frames at $DATA_ROOT (see its synthetic.json)"
  CONFIG=configs/demo/bafenet-fullcov_r18_fpn_demo_synthetic.py
else
  DATA="real DenseSIRST at $DATA_ROOT"
  CONFIG=configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py
fi
echo "[demo] data: $DATA"
echo "[demo] config: $CONFIG"

"$PYTHON" tools/train.py "$CONFIG" --data-root "$DATA_ROOT" --work-dir "$WORK_DIR" "$@"
CHECKPOINT=$(cat "$WORK_DIR/last_checkpoint")
"$PYTHON" tools/test.py "$CONFIG" "$CHECKPOINT" --data-root "$DATA_ROOT" \
  --work-dir "$WORK_DIR" --show-dir predictions "$@"

SHOW_DIR=$(ls -d "$WORK_DIR"/*/predictions | tail -n 1)
echo "[demo] work directory: $WORK_DIR"
echo "[demo]   checkpoint:   $CHECKPOINT"
echo "[demo]   metrics:      $WORK_DIR/metrics.json"
echo "[demo]   pictures:     $SHOW_DIR (ground truth | predicted boxes and sky)"
echo "[demo] took $((SECONDS / 60)) min $((SECONDS % 60)) s"
"$PYTHON" - "$WORK_DIR/metrics.json" "$(ls "$SHOW_DIR" | wc -l)" "$DATA" <<'EOF'
import json
import sys

report, scored, data = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
with open(report['split']) as f:
    total = len(f.read().split())
frames = (f'all {total}' if scored == total else
          f'the first {scored} of the {total}')
print(f'[demo] data: {data}')
print(f"[demo] scored on {frames} frames of {report['split']}, none of "
      'them trained on:')
m = report['metrics']
print('[demo]  ', ', '.join(
    f'{k} {m[k]:.4f}' for k in ('mAP07', 'mAP12', 'F1', 'best_F1', 'Pd',
                                'Fa_per_image', 'sky_IoU') if k in m))
EOF
