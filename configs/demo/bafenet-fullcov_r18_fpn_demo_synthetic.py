# `make demo` without the real data: the demo config on the synthetic
# frames of bafenet/testing/synthetic_densesirst.py (tools/run_demo.sh writes
# them into data/demo/SIRSTdevkit). Its 64 train_v2 frames give 8 batches
# an epoch; each is seen 4 times an epoch, so that the demo's schedule (14
# epochs, the rate x0.1 at epoch 12) runs 448 iterations, and every one of
# the held-out test_v2 frames is scored.
_base_ = './bafenet-fullcov_r18_fpn_demo_densesirst.py'

train_dataloader = dict(dataset=dict(dataset=dict(times=4)))
test_dataloader = dict(dataset=dict(indices=None))
