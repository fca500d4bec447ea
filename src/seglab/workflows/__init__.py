"""Workflows: jobs built from the methods, formats, metrics and datasets below them.

- :mod:`seglab.workflows.evaluate`: score a prediction folder, or a method run on the fly,
  against a labelled dataset (``seglab evaluate``);
- :mod:`seglab.workflows.bench`: a leaderboard of methods, optionally tuned (``seglab bench``).

The batch runner (:mod:`seglab.batch`) and the tiler (:mod:`seglab.tiling`) are workflows too;
they keep their own packages. Workflows report progress through callbacks and never import the
CLI or the web layer above them.
"""

__all__ = ["bench", "evaluate"]
