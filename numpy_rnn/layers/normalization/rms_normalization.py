"""RMSNormalization, as ``keras.layers.RMSNormalization`` (Keras 3.15, TensorFlow backend):
``y = x * rsqrt(mean(x**2, axis) + epsilon) * scale`` (``ops.rms_normalization``).

Keras multiplies by ``scale`` with plain broadcasting (from the last axis), not reshaped to the
normalized axes as LayerNormalization does: with ``axis`` not ending at the last axis the
weight meets the trailing axes, as in Keras.  Where that broadcast would change the output's
shape (``axis=[1, -1]`` sorts to ``[-1, 1]``: a ``(F, T)`` weight against ``(T, F)`` with ``T``
1 gives Keras a ``(B, F, F)`` output) or fails, numpy_rnn raises a ValueError instead.  The layer does
not support masking (Keras 3's default for a layer without ``compute_mask``): a mask stops here.
One weight, ``scale``, of the normalized axes' shape (sorted as Keras sorts a list ``axis``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import Layer
from ._common import (Normalization, acc_mean, acc_sum, axis_list, count, positive_axes, real,
                      rsqrt_backward, rsqrt_eps, sum_to)


class RMSNormalization(Normalization):
    """Root-mean-square normalization over ``axis`` (an int or a list; default -1) with a
    learned ``scale`` (module docstring).  ``epsilon`` defaults to 1e-6."""

    _WEIGHT_ATTRS = Layer._WEIGHT_ATTRS | {"scale"}
    _INITIALIZERS = {"scale": "scale_initializer"}
    supports_masking = False

    def __init__(self, axis: Any = -1, epsilon: float = 1e-6, build_input_shape: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(initializers_={"scale_initializer": "ones"}, **kwargs)
        self._axes = axis_list("axis", axis)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else self._axes[0]
        self.epsilon = real("epsilon", epsilon)
        self._finish_init(build_input_shape)

    def weight_names(self) -> list[str]:
        return ["scale"]

    def _param_axes(self, ndim: int, shape: Any) -> list[int]:
        return positive_axes(sorted(self._axes), ndim, shape, self.axis)

    def _forward(self, x: np.ndarray, mask: np.ndarray | None, training: bool) -> np.ndarray:
        axes = self._param_axes(x.ndim, x.shape)
        scale = self.scale
        try:
            out_shape = np.broadcast_shapes(x.shape, scale.shape)
        except ValueError:
            out_shape = None
        if out_shape != x.shape:
            raise ValueError(
                f"Layer '{self.name}': Keras multiplies the normalized input by `scale` "
                f"{scale.shape} broadcast from the last axis, which does not fit an input of "
                f"shape {x.shape} (axis={self.axis}).")
        r = rsqrt_eps(acc_mean(x * x, axes), self.epsilon)  # (keepdims)
        xr = x * r
        self._record = (x, axes, r, xr) if training else None
        return xr * scale

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the input's shape) -> dL/dinputs; ``gradients`` = [d scale]."""
        x, axes, r, xr = record
        g = self._grad_output(grad_output, x.shape)
        t = x.dtype.type
        scale = self.scale
        gs = g * scale  # d (x * r)
        d_ms = rsqrt_backward(acc_sum(gs * x, axes), r)  # d mean(x**2)
        dx = gs * r + x * (d_ms * t(2) / t(count(x.shape, axes)))
        lead = (1,) * (x.ndim - scale.ndim)
        d_scale = sum_to(g * xr, lead + scale.shape).reshape(scale.shape)
        self.gradients = [d_scale.astype(self.dtype, copy=False)]
        return dx.astype(self.dtype, copy=False)

    def get_config(self) -> dict:
        return {"axis": self.axis, "epsilon": self.epsilon, **self._shape_config(),
                **self._base_config()}
