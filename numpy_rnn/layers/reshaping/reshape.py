"""Reshape: the axes after the batch axis to ``target_shape``, as ``keras.layers.Reshape``
(``keras/src/layers/reshaping/reshape.py``, ``ops/operation_utils.py``)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._base import ReshapingLayer


def _target(target_shape: Any) -> tuple[int, ...]:
    """Keras's ``validate_reshape_shape``: ints >= 0, or one -1 for the size left over."""
    try:
        target = tuple(target_shape)
    except TypeError:
        raise TypeError("`target_shape` must be a tuple of integers. Received: "
                        f"target_shape={target_shape!r}") from None
    if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in target):
        raise TypeError("`target_shape` must be a tuple of integers. Received: "
                        f"target_shape={target_shape!r}")
    target = tuple(int(d) for d in target)
    if any(d < -1 for d in target):
        raise ValueError("Each dimension in `target_shape` must be a non-negative integer, or "
                         f"`-1` for a single unknown dimension. Received: target_shape={target}.")
    if target.count(-1) > 1:
        raise ValueError("There must be at most one unknown dimension (-1) in `target_shape`. "
                         f"Received: target_shape={target}.")
    return target


class Reshape(ReshapingLayer):
    """``(batch, *input dims)`` -> ``(batch, *target_shape)``, in C order.

    Args:
        target_shape: the output shape without the batch axis; one entry may be -1 (the size
            left over).  A size that does not divide, or a total that differs, raises
            ValueError naming ``target_shape`` (as Keras).
    """

    min_ndim = 1

    def __init__(self, target_shape: Any, **kwargs: Any) -> None:
        target = _target(target_shape)
        super().__init__(**kwargs)
        self.target_shape = target

    def _resolved(self, rest: tuple) -> tuple:
        """Keras's ``compute_reshape_output_shape(rest, target_shape)`` (None: unknown)."""
        target = self.target_shape
        if None in rest:
            return tuple(None if d == -1 else d for d in target)
        size = math.prod(rest)
        if -1 not in target:
            if size != math.prod(target):
                raise ValueError("The total size of the tensor must be unchanged. Received: "
                                 f"input_shape={rest}, target_shape={target}")
            return target
        known = math.prod(d for d in target if d != -1)
        if known == 0 or size % known != 0:
            raise ValueError("The total size of the tensor must be unchanged, however, the input "
                             "size cannot by divided by the specified dimensions in target_shape. "
                             f"Received: input_shape={rest}, target_shape={target}")
        return tuple(size // known if d == -1 else d for d in target)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return x.reshape((x.shape[0],) + self._resolved(x.shape[1:]))

    def _input_gradient(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        return g.reshape(shape)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return (shape[0],) + self._resolved(shape[1:])

    def get_config(self) -> dict:
        return {"target_shape": self.target_shape, **self._base_config()}
