"""LayerNormalization, as ``keras.layers.LayerNormalization`` (Keras 3.15, TensorFlow backend).

Keras's ``ops.layer_normalization`` (``keras/src/ops/nn.py``), which this module follows line by
line (its fast path, ``F.layer_norm``, is the torch backend's only):

* ``axis`` (an int or a list) is sorted, as given (so ``[-1, 1]`` stays ``[-1, 1]``); the
  weights have the shape ``tuple(input_shape[a] for a in sorted(axis))`` and are *reshaped*
  (not transposed) into the input's rank, each sorted axis keeping its size -- for mixed-sign
  axes the elements land where Keras puts them;
* ``mean, variance = moments(x, axis)``; ``inv = rsqrt(variance + epsilon) * gamma``;
  ``y = x * inv + (-mean * inv + beta)``;
* ``rms_scaling=True`` (deprecated in Keras: it scales by the *variance*, not the root mean
  square): ``y = x * rsqrt(var(x) + epsilon) * gamma``, no ``beta`` (Keras creates none), and
  ``var`` is ``reduce_variance``, whose mean the gradient does run through.

Weights in Keras's order: ``gamma`` (``scale`` or ``rms_scaling``), ``beta`` (``center`` and not
``rms_scaling``).  A mask passes through unchanged.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer
from ._common import (Normalization, acc_mean, acc_sum, axis_list, count, moments,
                      moments_backward, normalize, normalize_backward, positive_axes, real,
                      rsqrt_backward, rsqrt_eps, sum_to)


def sorted_axes(axis: list[int]) -> list[int]:
    """Keras's ``sorted(self.axis)`` (raw values: negative ones first)."""
    return sorted(axis)


class LayerNormalization(Normalization):
    """Normalizes each sample over ``axis`` (module docstring).

    Args:
        axis: an int or a list of ints (default -1).
        epsilon: added to the variance (default 1e-3; None: ``keras.config.epsilon()``, 1e-7).
        center / scale: use ``beta`` / ``gamma``.
        rms_scaling: Keras's deprecated variant (module docstring).
        beta_initializer, gamma_initializer: Keras initializer names.
        build_input_shape: build now for this input shape (batch first).
    """

    _WEIGHT_ATTRS = Layer._WEIGHT_ATTRS | {"gamma", "beta"}
    _INITIALIZERS = {"gamma": "gamma_initializer", "beta": "beta_initializer"}

    def __init__(self, axis: Any = -1, epsilon: float | None = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", build_input_shape: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(initializers_={"gamma_initializer": gamma_initializer,
                                        "beta_initializer": beta_initializer}, **kwargs)
        self._axes = axis_list("axis", axis)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else self._axes[0]
        eps = real("epsilon", epsilon, allow_none=True)
        self.epsilon = eps
        self.center = v.boolean("center", center)
        self.scale = v.boolean("scale", scale)
        self.rms_scaling = v.boolean("rms_scaling", rms_scaling)
        self._finish_init(build_input_shape)

    def weight_names(self) -> list[str]:
        return ((["gamma"] if self.scale or self.rms_scaling else [])
                + (["beta"] if self.center and not self.rms_scaling else []))

    def _param_axes(self, ndim: int, shape: Any) -> list[int]:
        return positive_axes(sorted_axes(self._axes), ndim, shape, self.axis)

    def _eps(self) -> float:
        return 1e-7 if self.epsilon is None else self.epsilon

    # -- the call ----------------------------------------------------------------------------
    def _forward(self, x: np.ndarray, mask: np.ndarray | None, training: bool) -> np.ndarray:
        axes = self._param_axes(x.ndim, x.shape)
        bshape = [1] * x.ndim
        for a in axes:
            bshape[a] = x.shape[a]
        bshape = tuple(bshape)
        names = self.weight_names()
        gamma = self.gamma.reshape(bshape) if "gamma" in names else None
        beta = self.beta.reshape(bshape) if "beta" in names else None
        if self.rms_scaling:
            mean = acc_mean(x, axes)  # reduce_variance: mean, then mean of squared deviations
            d = x - mean
            r = rsqrt_eps(acc_mean(d * d, axes), self._eps())
            y = x * r
            if gamma is not None:
                y = y * gamma
        else:
            mean, var = moments(x, axes)
            r = rsqrt_eps(var, self._eps())
            y, _ = normalize(x, mean, r, gamma, beta)
        self._record = (x, axes, bshape, mean, r, gamma) if training else None
        return y

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the input's shape) -> dL/dinputs; ``gradients`` = [d gamma, d beta]
        (those the layer has)."""
        x, axes, bshape, mean, r, gamma = record
        g = self._grad_output(grad_output, x.shape)
        t = x.dtype.type
        n = count(x.shape, axes)
        grads = []
        if self.rms_scaling:
            gg = g * gamma if gamma is not None else g  # d (x * r)
            if gamma is not None:
                grads.append(sum_to(g * (x * r), bshape).reshape(self.param_shape))
            d_var = rsqrt_backward(acc_sum(gg * x, axes), r)
            d_dev = (x - mean) * (d_var * t(2) / t(n))  # d of the squared deviations' mean
            dx = gg * r + d_dev - acc_sum(d_dev, axes) / t(n)
        else:
            dx_direct, d_gamma, d_mean, d_r = normalize_backward(g, x, mean, r, gamma)
            d_var = rsqrt_backward(acc_sum(d_r, axes), r)
            dx = dx_direct + moments_backward(acc_sum(d_mean, axes), d_var, x, mean, n)
            if gamma is not None:
                grads.append(sum_to(d_gamma, bshape).reshape(self.param_shape))
            if "beta" in self.weight_names():
                grads.append(sum_to(g, bshape).reshape(self.param_shape))
        self.gradients = [gr.astype(self.dtype, copy=False) for gr in grads]
        return dx.astype(self.dtype, copy=False)

    def get_config(self) -> dict:
        return {"axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling, **self._inits_config(),
                **self._shape_config(), **self._base_config()}
