"""Convert a checkpoint of the original BAFE-Net code (GrokCV/BAFE-Net,
package ``deepir``) to the configs in ``configs/original/``.

    python tools/model_converters/bafenet_original_to_ours.py SRC DST

The head version is read from the keys: the July-2024 static head
(``ChannelEx.mlp_exchange``, for ``bafenet-v1_r18_fpn_20e_densesirst.py``)
or the dynamic head (``ChannelEx.mlp`` and ``LSKModule``, for
``bafenet_r50_fpn_20e_densesirst.py``). Backbone, FPN, the FCOS towers and
predictors, the sky tower and its logit keep their names. The rest:

- the fusion convs ``convs_cls`` / ``convs_seg`` (conv with bias, BN, ReLU)
  become ``cls_fuse`` / ``seg_fuse`` (conv without bias, BN, ReLU). The
  bias is folded into the BN's running mean (``running_mean - bias``): in
  eval mode BN computes ``(conv + b - mean) / std``, the same as ``(conv -
  (mean - b)) / std``, and in train mode the batch mean cancels the bias, so
  the converted network computes exactly the same function;
- the exchange MLP's ``nn.Linear`` weights (out, in) become the 1x1 convs'
  (out, in, 1, 1);
- the LSK modules are renamed (``conv0`` -> ``conv_local``, ``conv_spatial``
  -> ``conv_wide``, ``conv1`` / ``conv2`` -> ``reduce_local`` /
  ``reduce_wide``, ``conv`` -> ``conv_out``);
- the modules the original builds but never runs are dropped:
  ``convs_reg``, ``conv_squeeze_tgt``, ``conv_squeeze_bg``, ``conv_mix``,
  ``conv_reduce``, ``gen_weight``, ``fusion_conv`` and the head-level
  ``conv_spatial``, ``conv_squeeze``, ``conv_post`` (851,107 parameters).

Any other key is an error: nothing is dropped silently. The optimizer state
is not converted (its parameter order differs); ``meta`` is kept.
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict

import torch
from torch import Tensor

from bafenet.utils import CheckpointError, load_checkpoint_file

HEAD = 'bbox_head.'
#: Head modules the original builds and never uses.
UNUSED = ('convs_reg', 'conv_squeeze_tgt', 'conv_squeeze_bg', 'conv_mix',
          'conv_reduce', 'gen_weight', 'fusion_conv', 'conv_spatial',
          'conv_squeeze', 'conv_post')
#: Head modules whose names do not change.
KEPT = ('cls_convs', 'reg_convs', 'seg_convs', 'conv_cls', 'conv_reg',
        'conv_centerness', 'conv_seg', 'scales')
#: The original's LSK layer names -> ours.
LSK_NAMES = {
    'conv0': 'conv_local',
    'conv_spatial': 'conv_wide',
    'conv1': 'reduce_local',
    'conv2': 'reduce_wide',
    'conv_squeeze': 'conv_squeeze',
    'conv': 'conv_out'
}
MLP_NAMES = {'fc1': '0', 'fc2': '2'}
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var',
           'num_batches_tracked')


def head_version(state_dict: Dict[str, Tensor]) -> str:
    """``'v1'`` (July 2024, static) or ``'dynamic'``."""
    if f'{HEAD}ChannelEx.mlp_exchange.fc1.weight' in state_dict:
        return 'v1'
    if f'{HEAD}ChannelEx.mlp.fc1.weight' in state_dict:
        return 'dynamic'
    raise KeyError('not a checkpoint of the original FCOSChangerSegHead: '
                   'no bbox_head.ChannelEx.mlp_exchange or '
                   'bbox_head.ChannelEx.mlp weights')


def convert_head_key(name: str, value: Tensor):
    """Our key and value for the original head key ``name`` (without the
    ``bbox_head.`` prefix), None for a dropped module; fusion-conv biases
    are handled by :func:`convert`."""
    module = name.split('.')[0]
    if module in UNUSED:
        return None
    if module in KEPT:
        return name, value
    match = re.fullmatch(r'convs_(cls|seg)\.([01])\.layer\.([01])\.(\w+)',
                         name)
    if match:
        task, index, layer, param = match.groups()
        if layer == '0' and param == 'weight':
            return f'{task}_fuse.{index}.conv.weight', value
        if layer == '1' and param in BN_KEYS:
            return f'{task}_fuse.{index}.bn.{param}', value
    match = re.fullmatch(
        r'ChannelEx\.(?:mlp_exchange|mlp)\.(fc1|fc2)\.(weight|bias)', name)
    if match:
        layer, param = match.groups()
        if param == 'weight':
            value = value[:, :, None, None]
        return f'exchange.mlp.{MLP_NAMES[layer]}.{param}', value
    match = re.fullmatch(
        r'(LSKModule|ChannelEx\.attention_mask)\.(\w+)\.(weight|bias)', name)
    if match and match.group(2) in LSK_NAMES:
        owner, layer, param = match.groups()
        prefix = 'lsk' if owner == 'LSKModule' else 'exchange.scorer'
        return f'{prefix}.{LSK_NAMES[layer]}.{param}', value
    raise KeyError(f'unknown key in the original head: {HEAD}{name}')


def convert(state_dict: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Map an original state dict onto ``configs/original/``'s model."""
    head_version(state_dict)
    converted = OrderedDict()
    for key, value in state_dict.items():
        if not key.startswith(HEAD):
            if not key.startswith(('backbone.', 'neck.')):
                raise KeyError(f'unknown key: {key}')
            converted[key] = value
            continue
        name = key[len(HEAD):]
        if re.fullmatch(r'convs_(cls|seg)\.[01]\.layer\.0\.bias', name):
            continue  # folded into the BN below
        new = convert_head_key(name, value)
        if new is not None:
            converted[HEAD + new[0]] = new[1]
    for task in ('cls', 'seg'):
        for index in '01':
            bias = state_dict[f'{HEAD}convs_{task}.{index}.layer.0.bias']
            key = f'{HEAD}{task}_fuse.{index}.bn.running_mean'
            converted[key] = converted[key] - bias
    return converted


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='checkpoint of the original code')
    parser.add_argument('dst', help='where to write the converted one')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        checkpoint = load_checkpoint_file(args.src, map_location='cpu')
        state_dict = checkpoint.get('state_dict', checkpoint)
        converted = convert(state_dict)
    except KeyError as error:
        raise SystemExit(f'{args.src}: {error.args[0]}') from None
    except CheckpointError as error:
        raise SystemExit(str(error)) from None
    torch.save(
        dict(state_dict=converted, meta=checkpoint.get('meta', {})),
        args.dst)
    print(f'{args.src}: {head_version(state_dict)} head, '
          f'{len(state_dict)} keys -> {len(converted)} keys in {args.dst}')


if __name__ == '__main__':
    main()
