"""hil: hardware-in-the-loop testing of TFLite Micro models on Cortex-M targets."""

__version__ = "0.1.0"

from hil.case.model_case import ModelCase  # after __version__, which submodules read

__all__ = ["ModelCase", "__version__"]
