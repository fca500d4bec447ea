"""Metrics against ground truth: pixel (IoU, Dice, F1), region (covering, PRI, VOI, Rand
error), boundary (the BSDS500 benchmark: ODS, OIS, AP) and instances (COCO AP).

Submodules import SciPy / scikit-image / pycocotools, so import them directly::

    from seglab.metrics.pixel import pixel_metrics
    from seglab.metrics.bsds import evaluate_bsds
"""

__all__ = ["boundary", "bsds", "coco", "pixel", "region"]
