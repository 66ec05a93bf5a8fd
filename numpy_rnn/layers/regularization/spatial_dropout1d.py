"""``SpatialDropout1D(rate)``, as ``keras.layers.SpatialDropout1D``: Dropout whose keep-mask has
shape ``(batch, 1, features)``, so a feature is dropped at every timestep of a sequence.

The identity at inference.  With ``training=True`` it draws the mask from the layer's NumPy
generator (the layer ``seed``), as ``numpy_rnn.Dropout`` does: the same distribution as Keras, not
the same random pattern (Keras draws from TensorFlow's stateless generators, which NumPy cannot
reproduce); ``backward`` applies the same mask and scale.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Dropout


class SpatialDropout1D(Dropout):
    """Drops whole feature channels of ``(batch, timesteps, features)`` inputs; masks pass
    through."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        if "noise_shape" in kwargs and kwargs["noise_shape"] is not None:
            raise ValueError("`noise_shape` of SpatialDropout1D is always (batch, 1, features). "
                             f"Received: noise_shape={kwargs['noise_shape']!r}")
        kwargs.pop("noise_shape", None)
        super().__init__(rate, noise_shape=None, **kwargs)
        self.noise_shape = (None, 1, None)  # (batch, 1, features), sizes taken from the input

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``(batch, timesteps, features)`` -> the same shape (Keras's ``InputSpec(ndim=3)``)."""
        x = self._cast_input("inputs", inputs)
        if x.ndim != 3:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim=3, found ndim={x.ndim}. Full shape received: "
                             f"{x.shape}")
        return super().__call__(x, mask, training)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {"rate": self.rate, **self._base_config()}
