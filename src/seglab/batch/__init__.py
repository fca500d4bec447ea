"""Batch runs: many images on a local process pool or a Dask cluster, resumable.

>>> import seglab
>>> report = seglab.batch.run_batch("images/", "out/", method="otsu", workers=2)   # doctest: +SKIP
>>> report.done, report.skipped, report.failed                                      # doctest: +SKIP

Every output is written atomically (temporary file, then rename) and recorded in
``OUT/seglab-batch.manifest.jsonl`` with a key made of the input (path, size, mtime or content
hash), the method and its parameters. A rerun skips the images whose key and outputs match and
redoes the rest, so ``kill -9`` in the middle of a run, then the same command again, leaves
every output complete and readable. A failing image is recorded with its reason and the run
goes on. See ``docs/scale.md``.
"""

from seglab.batch._dask import dask_client
from seglab.batch._files import (
    COCO_NAME,
    MANIFEST_NAME,
    SUMMARY_NAME,
    Manifest,
    collect_inputs,
    input_key,
    output_paths,
    remove_stale_temporaries,
    write_outputs,
)
from seglab.batch._run import BatchReport, process_image, run_batch

__all__ = [
    "COCO_NAME",
    "MANIFEST_NAME",
    "SUMMARY_NAME",
    "BatchReport",
    "Manifest",
    "collect_inputs",
    "dask_client",
    "input_key",
    "output_paths",
    "process_image",
    "remove_stale_temporaries",
    "run_batch",
    "write_outputs",
]
