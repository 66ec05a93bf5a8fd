"""``LeakyReLU(negative_slope=0.3)``, as ``keras.layers.LeakyReLU``: ``x`` for ``x > 0``, else
``negative_slope * x``, through TensorFlow's LeakyRelu op, which keeps the slope in a float32
attribute (a float64 layer multiplies by ``float32(negative_slope)``).  Gradient 1 for ``x > 0``,
``negative_slope`` otherwise (at 0 too), as LeakyReluGrad.

Keras 2 / tf_keras called the argument ``alpha`` (default 0.3 there as well); Keras 3 still takes
``alpha=`` with a deprecation warning, and so does this class.  Model files written by Keras 2
are read through ``numpy_rnn.formats.keras_layers.KERAS2_RENAMES``.
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from .activation import ElementwiseLayer


class LeakyReLU(ElementwiseLayer):
    """Leaky rectified linear unit; masks pass through."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.",
                          stacklevel=2)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope,
                                                              (numbers.Real, type(None))):
            raise TypeError("`negative_slope` of a Leaky ReLU layer must be a real number. "
                            f"Received: negative_slope={negative_slope!r}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or "
                             "negative value. Expected a float. "
                             f"Received: negative_slope={negative_slope}")
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope)

    def _slope(self, dtype: np.dtype) -> Any:
        return np.dtype(dtype).type(np.float32(self.negative_slope))  # a float32 attribute in TF

    def _apply(self, x: np.ndarray, mask: Any = None) -> np.ndarray:
        return np.where(x > 0, x, x * self._slope(x.dtype))

    def _grad(self, x: np.ndarray, y: np.ndarray, g: np.ndarray, mask: Any) -> np.ndarray:
        return np.where(x > 0, g, g * self._slope(g.dtype))

    def get_config(self) -> dict:
        return {"negative_slope": self.negative_slope, **self._base_config()}
