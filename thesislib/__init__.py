"""thesislib: synthetic training data for 3D face reconstruction with a morphable model."""
__version__ = "0.2.0"
