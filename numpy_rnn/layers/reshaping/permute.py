"""Permute: reorder the axes after the batch axis, as ``keras.layers.Permute``
(``keras/src/layers/reshaping/permute.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import ReshapingLayer


class Permute(ReshapingLayer):
    """``(batch, d1, ..., dk)`` -> ``(batch, d_dims[0], ..., d_dims[k-1])``.

    Args:
        dims: a permutation of ``1..k`` (axes counted from 1, the batch axis 0 stays first);
            the input must have rank ``k + 1``.
    """

    def __init__(self, dims: Any, **kwargs: Any) -> None:
        try:
            dims = tuple(dims)
        except TypeError:
            raise TypeError("`dims` must be a tuple of integers. Received: "
                            f"dims={dims!r}") from None
        if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in dims) or \
                sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of "
                             "indices in `dims` must be consecutive and start from 1. Received "
                             f"dims={dims}")
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        self.ndim = len(self.dims) + 1

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return x.transpose((0,) + self.dims)

    def _input_gradient(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        return g.transpose(np.argsort((0,) + self.dims))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return (shape[0],) + tuple(shape[d] for d in self.dims)

    def get_config(self) -> dict:
        return {"dims": self.dims, **self._base_config()}
