"""Normalization layers, one module each, as Keras 3.15's ``keras/src/layers/normalization/``.

``SpectralNormalization`` (a wrapper that rescales another layer's kernel by a power-iteration
estimate of its spectral norm while training) is not reproduced.
"""
from .batch_normalization import BatchNormalization
from .group_normalization import GroupNormalization
from .layer_normalization import LayerNormalization
from .rms_normalization import RMSNormalization
from .unit_normalization import UnitNormalization

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "RMSNormalization",
           "UnitNormalization"]
