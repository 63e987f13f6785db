"""Parameters and FLOPs of a detector, with a per-module breakdown.

    python tools/analysis_tools/get_flops.py CONFIG [--shape 512 512]

FLOPs are counted by mmengine's analyser (one multiply-add counts as one
FLOP, the convention of mmdet's get_flops and of the BAFE-Net paper's table)
for one image through the network's forward (backbone, neck, head; no
post-processing). Pretrained weights are not loaded: the count needs no
download.
"""
import argparse
import copy
from collections import OrderedDict
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.config import DictAction

from bafenet.registry import MODELS
from bafenet.utils import load_config, register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument(
        '--shape', type=int, nargs=2, default=[512, 512], help='H W')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


class TensorForward(nn.Module):
    """The detector's tensor-mode forward, for the analyser."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, inputs: torch.Tensor):
        return self.detector._forward(inputs)


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def breakdown(model: nn.Module) -> 'OrderedDict[str, int]':
    """Parameters of the backbone, the neck and each part of the head."""
    parts = OrderedDict(backbone=count(model.backbone), neck=count(model.neck))
    head = model.bbox_head
    for name, child in head.named_children():
        if name.startswith('loss'):
            continue
        parts[f'head.{name}'] = count(child)
    return parts


def complexity(cfg, shape=(512, 512)) -> Tuple[int, int, nn.Module]:
    """FLOPs and parameters of the detector of ``cfg`` (built without its
    pretrained weights) on one 3 x H x W input, and the detector."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    # the analyser traces the model, so DilatedDepthwiseConv2d runs (and
    # is counted as) its plain dilated convolution, not its CPU phase form
    model = MODELS.build(model_cfg).eval()
    inputs = torch.zeros(1, 3, *shape)
    with torch.no_grad():
        flops = FlopAnalyzer(TensorForward(model), (inputs, ))
        flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return flops.total(), count(model), model


def main():
    args = parse_args()
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    flops, total, model = complexity(cfg, args.shape)
    print(f'{args.config}\ninput 1x3x{args.shape[0]}x{args.shape[1]}')
    print(f'FLOPs: {flops / 1e9:.3f} G   Params: {total / 1e6:.3f} M')
    for name, params in breakdown(model).items():
        print(f'  {name:<28}{params:>12,}')


if __name__ == '__main__':
    main()
