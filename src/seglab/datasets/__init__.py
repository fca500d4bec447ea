"""Dataset readers: one interface for every labelled image set seglab evaluates or trains on.

Every reader is a :class:`Dataset`: a sized, indexable, iterable sequence of :class:`Sample`
records, loaded lazily one at a time (the index of files is built and checked when the
dataset is opened, so a missing mask fails at once)::

    from seglab.datasets import read_dataset

    data = read_dataset("../shared/data/drive_retina", "drive")
    for sample in data:                  # or data[i], len(data), data.names
        sample.image                     # (H, W) or (H, W, 3) uint8 / uint16 / float32
        sample.target                    # the ground truth (see the table)
        sample.valid_mask                # (H, W) bool where pixels count, or None
        sample.meta                      # {"name", "image_path", "target_path", "format", ...}

============  ==========================================================================
format        ``target``
============  ==========================================================================
folder        (H, W) int64 class map; a 0/255 mask becomes 0/1 (``images/`` + ``masks/``
              matched by stem)
bsds          list of (H, W) int64 label maps, one per annotator (labels from 1);
              ``meta["boundaries"]``: their boundary maps; split ``train`` / ``val`` / ``test``
isbi          (H, W) int64: 1 = cell interior (255 in the files), 0 = membrane
drive         (H, W) int64: 1 = vessel; ``valid_mask`` = the field of view
voc           (H, W) int64 class map, 255 = void (also set as ``meta["ignore_index"]``);
              ``meta["instances"]``: the SegmentationObject map when present
coco          :class:`~seglab.Segmentation`, one region per instance with ``class_ids``
              (COCO category ids) and ``class_names``; ``meta["annotations"]``: the raw records
cityscapes    (H, W) int64 ``labelIds`` map (``meta["instances"]``: ``instanceIds`` when present)
============  ==========================================================================

Class names, when the format has them, are in ``dataset.class_names``. A broken dataset (a
mask missing for an image, an image and mask of different sizes, an unreadable file) raises
:class:`~seglab.FormatError` naming the file.
"""

from __future__ import annotations

from seglab.datasets.base import FORMATS, Dataset, Sample, read_dataset

__all__ = ["Sample", "Dataset", "read_dataset", "FORMATS"]
