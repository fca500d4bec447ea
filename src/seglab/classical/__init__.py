"""Classical segmentation methods; each module registers its methods with the registry.

Import a function directly (``from seglab.classical.threshold import otsu``) or run any of them
by name with :func:`seglab.segment`.
"""
