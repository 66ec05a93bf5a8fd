"""ZeroPadding1D: zeros added at the start and end of the steps axis, as
``keras.layers.ZeroPadding1D`` (``keras/src/layers/reshaping/zero_padding1d.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import ReshapingLayer, int_tuple, standardize_data_format


class ZeroPadding1D(ReshapingLayer):
    """``(batch, steps, features)`` -> ``(batch, start + steps + end, features)``.

    Args:
        padding: an int (both ends) or ``(start, end)``, each >= 0.
        data_format: ``"channels_last"`` (default; steps on axis 1) or ``"channels_first"``
            (``(batch, features, steps)``: steps on axis 2).
    """

    ndim = 3

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any) -> None:
        pad = int_tuple("padding", padding, 2, allow_zero=True)
        fmt = standardize_data_format(data_format)
        super().__init__(**kwargs)
        self.padding = pad
        self.data_format = fmt

    @property
    def _axis(self) -> int:
        return 2 if self.data_format == "channels_first" else 1

    def _forward(self, x: np.ndarray) -> np.ndarray:
        widths = [(0, 0)] * 3
        widths[self._axis] = self.padding
        return np.pad(x, widths)

    def _input_gradient(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        start = self.padding[0]
        index = [slice(None)] * 3
        index[self._axis] = slice(start, start + shape[self._axis])
        return np.ascontiguousarray(g[tuple(index)])

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        if shape[self._axis] is not None:
            shape[self._axis] += sum(self.padding)
        return tuple(shape)

    def get_config(self) -> dict:
        return {"padding": self.padding, "data_format": self.data_format, **self._base_config()}

