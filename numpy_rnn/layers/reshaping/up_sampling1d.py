"""UpSampling1D: each step repeated ``size`` times, as ``keras.layers.UpSampling1D``
(``keras/src/layers/reshaping/up_sampling1d.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import ReshapingLayer


class UpSampling1D(ReshapingLayer):
    """``(batch, steps, features)`` -> ``(batch, steps * size, features)``: step ``t`` of the
    input becomes steps ``t*size .. t*size + size - 1``.

    Args:
        size: a positive int (TypeError for a non-int, ValueError for size <= 0, as Keras).
    """

    ndim = 3

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: size={size}")
        super().__init__(**kwargs)
        self.size = int(size)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return np.repeat(x, self.size, axis=1)

    def _input_gradient(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        """Each input step was read ``size`` times: the sum of its copies' gradients."""
        batch, steps, features = shape
        blocks = g.reshape(batch, steps, self.size, features)
        if g.dtype == np.float32:
            return blocks.sum(axis=2, dtype=np.float64).astype(np.float32)
        return blocks.sum(axis=2)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return (shape[0], None if shape[1] is None else shape[1] * self.size, shape[2])

    def get_config(self) -> dict:
        return {"size": self.size, **self._base_config()}
