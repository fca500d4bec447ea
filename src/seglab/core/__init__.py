"""Core: errors, validation, image I/O, the Segmentation type and the method registry."""
