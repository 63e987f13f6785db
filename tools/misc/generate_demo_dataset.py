"""Write a synthetic dataset in the DenseSIRST layout (for the demo).

    python tools/misc/generate_demo_dataset.py data/demo/SIRSTdevkit
"""
import argparse

from bafenet.testing import generate_synthetic_densesirst


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_root', help='the SIRSTdevkit folder to write')
    parser.add_argument('--num-images', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    splits = generate_synthetic_densesirst(args.out_root, args.num_images,
                                           args.seed)
    counts = ', '.join(f'{name} {len(ids)}' for name, ids in splits.items()
                       if name.endswith('_v2'))
    print(f'wrote {args.num_images} images to {args.out_root} ({counts})')


if __name__ == '__main__':
    main()
