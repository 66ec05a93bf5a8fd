"""BatchNormalization, as ``keras.layers.BatchNormalization`` (Keras 3.15, TensorFlow backend).

* Inference (``training=False``, or a layer with ``trainable=False``): the moving statistics,
  ``y = x * inv + (beta - moving_mean * inv)``, ``inv = rsqrt(moving_variance + epsilon) * gamma``
  (``tf.nn.batch_normalization``).
* Training (``training=True`` and ``trainable``): the batch's own mean and biased variance over
  every axis but ``axis`` (``tf.nn.moments``); with ``synchronized=True`` Keras takes
  ``E[x**2] - E[x]**2`` (clipped at 0) instead -- on one device too, since TensorFlow's default
  replica context exists; with a ``mask`` (one axis fewer than the input, True = counted) the
  masked moments ``sum(where(mask, x, 0)) / (count + 1e-7)`` and
  ``sum(where(mask, x - mean, 0)**2) / (count + 1e-7)``.  The call then replaces the moving
  statistics by ``moving * momentum + batch * (1 - momentum)`` (that expression, each constant
  rounded to the layer dtype), as Keras's ``assign`` in ``call`` does: every training call moves
  them, and a Sequential train step moves them in its forward pass, before the optimizer runs.
* Weights, in Keras's order: ``gamma`` (``scale=True``), ``beta`` (``center=True``),
  ``moving_mean``, ``moving_variance``, each ``(input_shape[axis],)``; only gamma and beta are
  trainable (``trainable_weight_names``); the moving statistics get zero gradients (as the
  tape gives a non-trainable variable) and the optimizer never sees them.

Keras's masked moments squeeze every size-1 axis, so a mask on an input whose ``axis`` has size 1
crashes Keras unless ``axis=-1`` (``mean.shape[0]`` of a scalar); numpy_rnn computes what
Keras computes with ``axis=-1`` there.

``axis`` is one int, as Keras 3's ``int(axis)`` (a one-element list, the form Keras 2 files
store, is read as that int).  ``renorm`` is not supported.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer
from ._common import (BACKEND_EPSILON, Normalization, acc_sum, count, moments, positive_axes,
                      real, rsqrt_backward, rsqrt_eps)


def batch_moments(x: np.ndarray, axes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The training statistics without a mask (``tf.nn.moments``; keepdims shapes)."""
    return moments(x, axes)


def sync_moments(x: np.ndarray, axes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``synchronized=True`` (Keras's ``_compute_moments_sync`` on one replica): ``(mean,
    variance, E[x**2] - mean**2 before the clip at 0)``."""
    t = x.dtype.type
    n = t(count(x.shape, axes))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = acc_sum(x, axes) / n if n else np.zeros_like(acc_sum(x, axes))  # divide_no_nan
        sq_mean = acc_sum(x * x, axes) / n if n else np.zeros_like(mean)
    raw = sq_mean - mean * mean
    return mean, np.maximum(raw, t(0)), raw


def masked_moments(x: np.ndarray, keep: np.ndarray, axes: list[int]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Keras's ``_moments(inputs, mask)``: ``(mean, variance, count + 1e-7, where(keep, x -
    mean, 0))``, ``keep`` the mask broadcast to ``x``."""
    t = x.dtype.type
    zero = t(0)
    den = acc_sum(keep.astype(x.dtype), axes) + t(BACKEND_EPSILON)
    mean = acc_sum(np.where(keep, x, zero), axes) / den
    diff = np.where(keep, x - mean, zero)
    return mean, acc_sum(diff * diff, axes) / den, den, diff


def moving_average(moving: np.ndarray, value: np.ndarray, momentum: float) -> np.ndarray:
    """``moving * momentum + value * (1 - momentum)``, Keras's expression (each Python
    constant rounded to the array's dtype, ``1.0 - momentum`` computed in Python first)."""
    t = moving.dtype.type
    return moving * t(momentum) + value * t(1.0 - momentum)


class BatchNormalization(Normalization):
    """Normalizes each feature of ``axis`` with the batch's statistics when training, with the
    moving statistics otherwise (module docstring).

    Args:
        axis: the features axis (an int; default -1).
        momentum: of the moving averages (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center / scale: use ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: Keras initializer names (``zeros``, ``ones`` ...).
        synchronized: Keras's flag; on one device it picks the ``E[x**2] - E[x]**2`` variance.
        build_input_shape: build now for this input shape (batch first), as ``build``.
        dtype, seed, name, trainable: as every layer (``trainable=False`` freezes the layer:
            inference statistics even with ``training=True``, no moving update).
    """

    _WEIGHT_ATTRS = Layer._WEIGHT_ATTRS | {"gamma", "beta", "moving_mean", "moving_variance"}
    _FIXED_RANK = True
    _INITIALIZERS = {"gamma": "gamma_initializer", "beta": "beta_initializer",
                     "moving_mean": "moving_mean_initializer",
                     "moving_variance": "moving_variance_initializer"}

    def __init__(self, axis: Any = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", synchronized: bool = False,
                 build_input_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(initializers_={
            "gamma_initializer": gamma_initializer, "beta_initializer": beta_initializer,
            "moving_mean_initializer": moving_mean_initializer,
            "moving_variance_initializer": moving_variance_initializer}, **kwargs)
        self.axis = self._axis(axis)
        self.momentum = real("momentum", momentum)
        self.epsilon = real("epsilon", epsilon)
        self.center = v.boolean("center", center)
        self.scale = v.boolean("scale", scale)
        self.synchronized = v.boolean("synchronized", synchronized)
        self._finish_init(build_input_shape)

    @staticmethod
    def _axis(axis: Any) -> int:
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]  # Keras 2 stores [axis]
        if isinstance(axis, (list, tuple)):
            raise ValueError("`axis` must be a single integer: Keras 3's BatchNormalization "
                             f"normalizes along one axis. Received: axis={axis!r}")
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"`axis` must be an integer. Received: axis={v._show(axis)}")
        return int(axis)

    def weight_names(self) -> list[str]:
        return ((["gamma"] if self.scale else []) + (["beta"] if self.center else [])
                + ["moving_mean", "moving_variance"])

    def trainable_weight_names(self) -> list[str]:
        return [n for n in ("gamma", "beta") if n in self.weight_names()]

    def _param_axes(self, ndim: int, shape: Any) -> list[int]:
        return positive_axes([self.axis], ndim, shape, self.axis)

    # -- the call ----------------------------------------------------------------------------
    def _forward(self, x: np.ndarray, mask: np.ndarray | None, training: bool) -> np.ndarray:
        if mask is not None and mask.ndim != x.ndim - 1:
            raise ValueError("The mask provided should be one dimension less than the inputs. "
                             f"Received: mask.shape={mask.shape}, inputs.shape={x.shape}")
        ax = self._param_axes(x.ndim, x.shape)[0]
        red = [i for i in range(x.ndim) if i != ax]
        bshape = tuple(x.shape[i] if i == ax else 1 for i in range(x.ndim))
        gamma = self.gamma.reshape(bshape) if self.scale else None
        beta = self.beta.reshape(bshape) if self.center else None
        extra: tuple = ()
        if training and self.trainable:
            if mask is not None:
                try:
                    keep = np.broadcast_to(mask[..., None], x.shape)
                except ValueError:
                    raise ValueError(f"`mask` of layer '{self.name}' must broadcast against the "
                                     f"inputs once given a last axis of 1. Received: mask.shape="
                                     f"{mask.shape}, inputs.shape={x.shape}") from None
                mean, var, den, diff = masked_moments(x, keep, red)
                kind, extra = "masked", (keep, den, diff)
            elif self.synchronized:
                mean, var, raw = sync_moments(x, red)
                kind, extra = "sync", (raw,)
            else:
                mean, var = batch_moments(x, red)
                kind = "batch"
            # Keras: moving_mean.assign(moving_mean * momentum + mean * (1 - momentum)); the
            # arrays are replaced, never written in place (a call that raises changes nothing)
            new_mean = moving_average(self.moving_mean, mean.reshape(-1), self.momentum)
            new_var = moving_average(self.moving_variance, var.reshape(-1), self.momentum)
            self.moving_mean, self.moving_variance = new_mean, new_var
        else:
            mean = self.moving_mean.reshape(bshape)
            var = self.moving_variance.reshape(bshape)
            kind = "moving"
        r = rsqrt_eps(var, self.epsilon)  # (bshape)
        inv = r * gamma if gamma is not None else r
        res = -mean * inv
        if beta is not None:
            res = res + beta
        y = x * inv + res  # tf.nn.batch_normalization: x * inv + (offset - mean * inv)
        self._record = (kind, x, red, mean, r, gamma, inv, extra) if training else None
        return y

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the input's shape) -> dL/dinputs; ``gradients`` = [d gamma, d beta
        (those present), zeros for the moving statistics].  In training mode the gradient runs
        through the batch statistics (the full batch-norm gradient); at inference the moving
        statistics are constants."""
        kind, x, red, mean, r, gamma, inv, extra = record
        g = self._grad_output(grad_output, x.shape)
        t = x.dtype.type
        sum_g = acc_sum(g, red)  # (bshape)
        sum_gxc = acc_sum(g * (x - mean), red)  # (bshape): d inv, centred
        dx = g * inv
        if kind != "moving":
            d_mean = -sum_g * inv
            d_var = rsqrt_backward(sum_gxc * gamma if gamma is not None else sum_gxc, r)
            if kind == "batch":
                n = t(count(x.shape, red))
                dx = dx + (d_mean / n + (x - mean) * (d_var * t(2) / n))
            elif kind == "sync":
                (raw,) = extra
                n = t(count(x.shape, red))
                d_raw = np.where(raw >= 0, d_var, t(0))  # tf.maximum(raw, 0): x >= y passes
                d_total_mean = d_mean + d_raw * (t(-2) * mean)
                dx = dx + (d_total_mean / n + x * (d_raw * t(2) / n))
            else:  # masked: the mean also reaches the variance (no stop_gradient there)
                keep, den, diff = extra
                d_diff = diff * (d_var * t(2) / den)  # zero where masked
                d_total_mean = d_mean - acc_sum(d_diff, red)
                dx = dx + d_diff + np.where(keep, d_total_mean / den, t(0))
        grads = []
        flat = r.reshape(-1)
        if self.scale:
            grads.append((sum_gxc.reshape(-1) * flat).astype(self.dtype, copy=False))
        if self.center:
            grads.append(sum_g.reshape(-1).astype(self.dtype, copy=False))
        zeros = np.zeros(self.param_shape, self.dtype)
        self.gradients = grads + [zeros, zeros.copy()]
        return dx.astype(self.dtype, copy=False)

    def get_config(self) -> dict:
        return {"axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "synchronized": self.synchronized,
                **self._inits_config(), **self._shape_config(), **self._base_config()}
