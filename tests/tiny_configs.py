"""A BAFE-Net-R18 config shrunk for inference tests on a CPU."""
from mmengine.config import Config

from tests.conftest import REPO_ROOT


#: The default config, under configs/.
BAFENET_R18 = 'bafenet/bafenet_r18_fpn_20e_densesirst.py'


def tiny_bafenet_config(real_root,
                        scale: int = 128,
                        config: str = BAFENET_R18) -> Config:
    """BAFE-Net-R18 (or another R18 ``config``) from random weights with a
    32-channel neck and head, every box kept (``score_thr=0``), testing on
    ``real_root`` squashed to ``scale`` x ``scale``."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / config))
    head = dict(
        in_channels=32,
        feat_channels=32,
        stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    if cfg.model.bbox_head.type == 'BAFEHead':
        head['exchange_cfg'] = dict(hidden_channels=16)
    cfg.merge_from_dict(
        dict(model=dict(
            backbone=dict(init_cfg=None),
            neck=dict(out_channels=32),
            bbox_head=head,
            test_cfg=dict(score_thr=0.0))))
    cfg.test_dataloader.dataset.data_root = str(real_root)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.type == 'Resize':
            step.scale = (scale, scale)
    return cfg
