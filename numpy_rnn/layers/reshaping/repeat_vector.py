"""RepeatVector: ``(batch, features)`` -> ``(batch, n, features)``, as
``keras.layers.RepeatVector`` (``keras/src/layers/reshaping/repeat_vector.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backprop import column_sum
from ._base import ReshapingLayer


class RepeatVector(ReshapingLayer):
    """Repeat each sample's vector ``n`` times along a new axis 1.

    Args:
        n: a positive int (TypeError for a non-int, ValueError for n <= 0, as Keras).
    """

    ndim = 2

    def __init__(self, n: int, **kwargs: Any) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        super().__init__(**kwargs)
        self.n = int(n)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return np.repeat(x[:, None, :], self.n, axis=1)  # (batch, n, features)

    def _input_gradient(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        """Each input element was read ``n`` times: the sum of its ``n`` output gradients
        (float32 accumulated in float64)."""
        batch, n, features = g.shape
        summed = column_sum(g.transpose(1, 0, 2).reshape(n, batch * features))  # (batch*features,)
        return summed.reshape(batch, features)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return (shape[0], self.n, shape[1])

    def get_config(self) -> dict:
        return {"n": self.n, **self._base_config()}
