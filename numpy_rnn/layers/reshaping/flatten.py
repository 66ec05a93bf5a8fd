"""Flatten: every axis after the batch axis into one, as ``keras.layers.Flatten``
(``keras/src/layers/reshaping/flatten.py``)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._base import ReshapingLayer, standardize_data_format


class Flatten(ReshapingLayer):
    """``(batch, d1, ..., dk)`` -> ``(batch, d1 * ... * dk)``; ``(batch,)`` -> ``(batch, 1)``.

    Args:
        data_format: ``"channels_last"`` (default, also for None) flattens in C order;
            ``"channels_first"`` first moves axis 1 to the end (Keras's transpose), so that the
            result equals a channels-last Flatten of the same data.
    """

    min_ndim = 1

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        fmt = standardize_data_format(data_format)
        super().__init__(**kwargs)
        self.data_format = fmt

    def _channels_moved(self, rank: int) -> tuple[int, ...] | None:
        if self.data_format == "channels_first" and rank > 2:
            return (0, *range(2, rank), 1)
        return None

    def _forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._channels_moved(x.ndim)
        if axes is not None:
            x = x.transpose(axes)
        return x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(x.shape[0], 1)

    def _input_gradient(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        axes = self._channels_moved(len(shape))
        if axes is None:
            return g.reshape(shape)
        moved = tuple(shape[a] for a in axes)
        return g.reshape(moved).transpose(np.argsort(axes))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        rest = shape[1:]
        if not rest:
            return (shape[0], 1)
        return (shape[0], None if any(d is None for d in rest) else math.prod(rest))

    def get_config(self) -> dict:
        return {"data_format": self.data_format, **self._base_config()}

