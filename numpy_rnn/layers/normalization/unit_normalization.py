"""UnitNormalization, as ``keras.layers.UnitNormalization`` (Keras 3.15): each sample scaled to
unit L2 norm over ``axis`` by ``ops.normalize(x, axis, order=2, epsilon=1e-12)``:
``x * minimum(rsqrt(sum(x**2, axis)), 1 / epsilon)`` (an all-zero slice stays zero; its input
gradient is ``grad * 1e12``, as TensorFlow's).  No weights; a mask passes through.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._common import Normalization, acc_sum, axis_list, positive_axes, rsqrt, rsqrt_backward

#: ``ops.normalize``'s epsilon in UnitNormalization.
EPSILON = 1e-12


class UnitNormalization(Normalization):
    """``x / ||x||_2`` over ``axis`` (an int or a list of ints; default -1)."""

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._axes = axis_list("axis", axis)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else self._axes[0]
        self.built = True  # Keras builds it at construction
        self.param_shape = ()

    def _param_axes(self, ndim: int, shape: Any) -> list[int]:
        positive_axes(self._axes, ndim, shape, self.axis)
        return []

    def build(self, input_shape: Any) -> None:
        self._norm_axes(input_shape)
        self.build_input_shape = tuple(input_shape)

    def _norm_axes(self, shape: Any) -> list[int]:
        return positive_axes(self._axes, len(shape), tuple(shape), self.axis)

    def _forward(self, x: np.ndarray, mask: np.ndarray | None, training: bool) -> np.ndarray:
        axes = self._norm_axes(x.shape)
        t = x.dtype.type
        raw = rsqrt(acc_sum(x * x, axes))
        cap = t(1.0 / EPSILON)
        inv = np.minimum(raw, cap)
        self._record = (x, axes, raw, inv, cap) if training else None
        return x * inv

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the input's shape) -> dL/dinputs (no weights)."""
        x, axes, raw, inv, cap = record
        g = self._grad_output(grad_output, x.shape)
        t = x.dtype.type
        d_inv = acc_sum(g * x, axes)
        # tf.minimum passes the gradient to the first argument where it is <= the second
        d_raw = np.where(raw <= cap, d_inv, t(0))
        with np.errstate(invalid="ignore", over="ignore"):
            d_ss = np.where(raw <= cap, rsqrt_backward(d_raw, raw), t(0))
        self.gradients = []
        return (g * inv + x * (d_ss * t(2))).astype(self.dtype, copy=False)

    def get_config(self) -> dict:
        return {"axis": self.axis, **self._base_config()}
