"""GroupNormalization, as ``keras.layers.GroupNormalization`` (Keras 3.15, TensorFlow backend).

The ``axis`` of size C is split into ``groups`` groups of C / groups channels (reshape: the group
index first); each sample is normalized over every axis but the batch and the group one
(``ops.moments``), then ``inv = rsqrt(variance + epsilon) * gamma``, ``y = x * inv + (-mean * inv
+ beta)``, gamma and beta ``(C,)`` reshaped to ``(groups, C / groups)`` at the axis.
``groups=-1`` is one group per channel (instance normalization; the config then says C, as
Keras's after build).  A mask passes through unchanged (Keras 3's layer ignores it).
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer
from ._common import (Normalization, acc_sum, count, input_shape_arg, moments, moments_backward,
                      normalize, normalize_backward, positive_axes, real, rsqrt_backward,
                      rsqrt_eps, sum_to)


class GroupNormalization(Normalization):
    """Normalizes each group of channels of each sample (module docstring).

    Args:
        groups: number of groups (default 32), a divisor of the axis size, or -1.
        axis: the channels axis (an int, not the batch axis; default -1).
        epsilon, center, scale, beta_initializer, gamma_initializer, build_input_shape: as
            LayerNormalization.
    """

    _WEIGHT_ATTRS = Layer._WEIGHT_ATTRS | {"gamma", "beta"}
    _FIXED_RANK = True
    _INITIALIZERS = {"gamma": "gamma_initializer", "beta": "beta_initializer"}

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", build_input_shape: Any = None,
                 **kwargs: Any) -> None:
        if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, numbers.Integral) or (
                groups <= 0 and groups != -1):
            raise ValueError("Received an invalid value for argument `groups`, expected a "
                             "positive integer (or `-1` for instance normalization). "
                             f"Received: groups={groups!r}")
        super().__init__(initializers_={"gamma_initializer": gamma_initializer,
                                        "beta_initializer": beta_initializer}, **kwargs)
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"`axis` must be an integer. Received: axis={v._show(axis)}")
        self.groups = int(groups)
        self.axis = int(axis)
        self.epsilon = real("epsilon", epsilon)
        self.center = v.boolean("center", center)
        self.scale = v.boolean("scale", scale)
        self._finish_init(build_input_shape)

    def weight_names(self) -> list[str]:
        return (["gamma"] if self.scale else []) + (["beta"] if self.center else [])

    def _param_axes(self, ndim: int, shape: Any) -> list[int]:
        axes = positive_axes([self.axis], ndim, shape, self.axis)
        if axes[0] == 0:
            raise ValueError("`axis` of GroupNormalization must not be the batch axis 0. "
                             f"Received: axis={self.axis}")
        return axes

    def build(self, input_shape: Any) -> None:
        """As :meth:`Normalization.build`, checking (and for ``groups=-1`` setting) the groups
        against the axis size, in Keras's words."""
        dim = self._param_shape_for(input_shape_arg(input_shape))[0]
        groups = dim if self.groups == -1 else self.groups
        if dim < groups:
            raise ValueError(f"Number of groups ({groups}) cannot be more than the number of "
                             f"channels ({dim}).")
        if dim % groups:
            raise ValueError(f"Number of groups ({groups}) must be a multiple of the number of "
                             f"channels ({dim}).")
        super().build(input_shape)
        self.groups = groups

    def _grouped_shape(self, shape: tuple) -> tuple[list, list, tuple]:
        """``(reshaped input shape, reduction axes, gamma's broadcast shape)`` (Keras's
        ``_reshape_into_groups`` / ``_create_broadcast_shape``)."""
        ax = self._param_axes(len(shape), shape)[0]
        grouped = list(shape)
        grouped[ax] = shape[ax] // self.groups
        grouped.insert(ax, self.groups)  # (..., groups, C / groups, ...)
        red = [i for i in range(1, len(grouped)) if i != ax]
        bshape = [1] * len(shape)
        bshape[ax] = shape[ax] // self.groups
        bshape.insert(ax, self.groups)
        return grouped, red, tuple(bshape)

    def _forward(self, x: np.ndarray, mask: np.ndarray | None, training: bool) -> np.ndarray:
        grouped, red, bshape = self._grouped_shape(x.shape)
        xg = x.reshape(grouped)
        gamma = self.gamma.reshape(bshape) if self.scale else None
        beta = self.beta.reshape(bshape) if self.center else None
        mean, var = moments(xg, red)
        r = rsqrt_eps(var, self.epsilon)
        y, _ = normalize(xg, mean, r, gamma, beta)
        self._record = (x.shape, xg, red, bshape, mean, r, gamma) if training else None
        return y.reshape(x.shape)

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the input's shape) -> dL/dinputs; ``gradients`` = [d gamma, d beta]
        (those the layer has)."""
        shape, xg, red, bshape, mean, r, gamma = record
        g = self._grad_output(grad_output, shape).reshape(xg.shape)
        dx_direct, d_gamma, d_mean, d_r = normalize_backward(g, xg, mean, r, gamma)
        d_var = rsqrt_backward(acc_sum(d_r, red), r)
        dx = dx_direct + moments_backward(acc_sum(d_mean, red), d_var, xg, mean,
                                          count(xg.shape, red))
        grads = []
        if self.scale:
            grads.append(sum_to(d_gamma, bshape).reshape(self.param_shape))
        if self.center:
            grads.append(sum_to(g, bshape).reshape(self.param_shape))
        self.gradients = [gr.astype(self.dtype, copy=False) for gr in grads]
        return dx.reshape(shape).astype(self.dtype, copy=False)

    def get_config(self) -> dict:
        return {"groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, **self._inits_config(),
                **self._shape_config(), **self._base_config()}
