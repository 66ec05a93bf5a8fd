"""Cropping1D: drop steps at the start and end of axis 1, as ``keras.layers.Cropping1D``
(``keras/src/layers/reshaping/cropping1d.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import ReshapingLayer, int_tuple


class Cropping1D(ReshapingLayer):
    """``(batch, steps, features)`` -> ``(batch, steps - start - end, features)``.

    Args:
        cropping: an int (both ends) or ``(start, end)``, each >= 0; what is left must be at
            least one step (ValueError otherwise, as Keras).
    """

    ndim = 3

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        crop = int_tuple("cropping", cropping, 2, allow_zero=True)
        super().__init__(**kwargs)
        self.cropping = crop

    def _check(self, shape: tuple) -> None:
        if shape[1] is not None and sum(self.cropping) >= shape[1]:
            raise ValueError("`cropping` parameter of `Cropping1D` layer must be smaller than the "
                             f"input length. Received: input_shape={tuple(shape)}, "
                             f"cropping={self.cropping}")

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x.shape)
        start, end = self.cropping
        return x[:, start:x.shape[1] - end, :]

    def _input_gradient(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        start, end = self.cropping
        dx = np.zeros(shape, g.dtype)
        dx[:, start:shape[1] - end, :] = g
        return dx

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        self._check(shape)
        length = None if shape[1] is None else shape[1] - sum(self.cropping)
        return (shape[0], length, shape[2])

    def get_config(self) -> dict:
        return {"cropping": self.cropping, **self._base_config()}
