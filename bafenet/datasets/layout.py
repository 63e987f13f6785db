"""Where each dataset type keeps its files: defined once, read by the
datasets, the dataset checker, the statistics tool and the synthetic
dataset writer."""
from typing import Dict, NamedTuple


class DatasetLayout(NamedTuple):
    """The folders and file suffixes of a dataset, under its data root.

    Attributes:
        split_dir (str): Folder of the split files (``<split>.txt``, one
            image id per line).
        folders (dict[str, str]): By ``data_prefix`` key, the folder of a
            kind of file: ``img`` (images), ``ann`` (VOC box XMLs), ``seg``
            (sky maps), ``mask`` (binary target masks).
        suffixes (dict[str, str]): By the same keys, what follows the image
            id in a file's name.
    """
    split_dir: str
    folders: Dict[str, str]
    suffixes: Dict[str, str]

    def data_prefix(self, *kinds: str) -> dict:
        """``data_prefix`` of the dataset with the folders of ``kinds``."""
        return {kind: self.folders[kind] for kind in kinds}


#: DenseSIRST's ``SIRSTdevkit`` folder as released.
DENSESIRST_LAYOUT = DatasetLayout(
    split_dir='Splits',
    folders=dict(
        img='PNGImages',
        ann='SIRST/BBox',
        seg='SkySeg/PaletteMask',
        mask='SIRST/BinaryMask'),
    suffixes=dict(img='.png', ann='.xml', seg='.png', mask='_pixels0.png'))

#: Mask-annotated datasets in BasicIRSTD's layout (IRSTD-1k, NUDT-SIRST,
#: NUAA-SIRST): images and masks of the same name, no boxes, no sky maps.
MASK_SIRST_LAYOUT = DatasetLayout(
    split_dir='img_idx',
    folders=dict(img='images', mask='masks'),
    suffixes=dict(img='.png', ann='.xml', seg='.png', mask='.png'))
