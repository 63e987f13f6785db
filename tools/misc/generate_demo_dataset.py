"""Write a synthetic dataset in the DenseSIRST layout (for the demo).

    python tools/misc/generate_demo_dataset.py data/demo/SIRSTdevkit

With ``--keep-current``, a folder that already holds this generator's
dataset (same version, number of images and seed, as its ``synthetic.json``
says) is kept, one written by another version is replaced, and a folder
without ``synthetic.json`` is refused.
"""
import argparse
import json
import os.path as osp
import shutil

from bafenet.testing import generate_synthetic_densesirst, synthetic_record


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_root', help='the SIRSTdevkit folder to write')
    parser.add_argument('--num-images', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--keep-current',
        action='store_true',
        help='keep out_root if it holds this generator\'s dataset, replace '
        'it if it holds another version\'s')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.keep_current and osp.exists(args.out_root):
        record_path = osp.join(args.out_root, 'synthetic.json')
        if not osp.isfile(record_path):
            raise SystemExit(f'{args.out_root} exists and has no '
                             'synthetic.json: not a generated dataset, not '
                             'overwritten')
        with open(record_path) as f:
            try:
                record = json.load(f)
            except json.JSONDecodeError as error:
                raise SystemExit(f'{record_path}: not JSON ({error})')
        if record == synthetic_record(args.num_images, args.seed):
            print(f'kept {args.out_root}, written by this generator')
            return
        print(f'replacing {args.out_root}, written with {record}')
        shutil.rmtree(args.out_root)
    splits = generate_synthetic_densesirst(args.out_root, args.num_images,
                                           args.seed)
    counts = ', '.join(f'{name} {len(ids)}' for name, ids in splits.items()
                       if name.endswith('_v2'))
    print(f'wrote {args.num_images} images to {args.out_root} ({counts})')


if __name__ == '__main__':
    main()
