"""Deep segmentation (the only package that imports torch, and only when a function needs it)."""
