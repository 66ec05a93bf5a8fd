"""``Softmax(axis=-1)``, as ``keras.layers.Softmax`` (Keras 3.15), mask included.

* One axis (an int, or a list of one): TensorFlow's Softmax, ``exp(x - max) / sum``; its gradient
  is SoftmaxGrad, ``(g - sum(g * y)) * y``.
* Several axes: ``exp(x - logsumexp(x, axes))`` with TensorFlow's ``reduce_logsumexp``
  (``log(sum(exp(x - m))) + m``, ``m`` the finite max, held constant); its gradient term by term.
* ``mask`` (broadcastable to the input from the right, no more axes than the input, each mask
  axis 1 or the input's size, else ValueError as Keras): a non-boolean mask becomes
  ``mask > cast(0.5, mask.dtype)`` (so an integer mask means ``mask > 0``); masked inputs are
  *replaced* by ``-1e9`` (a Python float, so float32 for a float32 input), the softmax is taken,
  and masked outputs are set to 0: a fully masked slice gives zeros, and masked positions get
  exactly zero gradient.  (Keras 2 / tf_keras added ``-1e9`` to masked inputs and kept their
  outputs; the readers use Keras 3's rule -- a mask reaches a Softmax only through an explicit
  call or a (batch, timesteps) input, since an automatic (batch, timesteps) mask does not
  broadcast onto (batch, timesteps, features) in either Keras.)
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ... import _validation as v
from .activation import ElementwiseLayer

#: Keras's ``_large_negative_number`` for float32 / float64 inputs.
LARGE_NEGATIVE = -1e9


class Softmax(ElementwiseLayer):
    """Softmax over ``axis`` (an int or a list of ints); masks pass through."""

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral)
                           for a in axes):
            raise TypeError(f"`axis` must be an integer or a non-empty list of integers. "
                            f"Received: axis={axis!r}")
        super().__init__(**kwargs)
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)

    def _axes(self, ndim: int) -> tuple[int, ...]:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        out = []
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"`axis`={self.axis} of layer '{self.name}' is out of range for "
                                 f"inputs of rank {ndim}")
            out.append(a % ndim)
        if len(set(out)) != len(out):
            raise ValueError(f"`axis`={self.axis} of layer '{self.name}' repeats an axis")
        return tuple(out)

    def _multi(self) -> bool:
        return isinstance(self.axis, list) and len(self.axis) > 1

    def _prepare(self, inputs: Any, mask: Any) -> tuple[np.ndarray, Any]:
        x = self._cast_input("inputs", inputs)
        self._axes(x.ndim)
        if mask is None:
            return x, None
        m = v.numeric_array("mask", mask)
        if m.ndim > x.ndim:
            raise ValueError("The `mask` must be broadcastable to `inputs` and must not have "
                             f"more dimensions. Received: inputs.shape={x.shape}, "
                             f"mask.shape={m.shape}")
        for m_dim, i_dim in zip(m.shape[::-1], x.shape[::-1]):
            if m_dim != 1 and m_dim != i_dim:
                raise ValueError("The `mask` must be broadcastable to `inputs`. Each mask "
                                 "dimension must be 1 or match the corresponding input "
                                 f"dimension. Received: inputs.shape={x.shape}, "
                                 f"mask.shape={m.shape}")
        if m.dtype != np.bool_:
            m = m > np.asarray(0.5).astype(m.dtype)  # backend.cast(0.5, mask.dtype)
        return x, m

    def _softmax(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        """``(softmax, what the gradient needs)``."""
        axes = self._axes(x.ndim)
        if self._multi():  # exp(x - reduce_logsumexp(x, axes, keepdims=True))
            raw = np.max(x, axis=axes, keepdims=True)
            m = np.where(np.isfinite(raw), raw, x.dtype.type(0))
            e = np.exp(x - m)
            s = np.sum(e, axis=axes, keepdims=True)
            out = np.exp(x - (np.log(s) + m))
            return out, (e, s)
        axis = axes[0]
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True), None

    def _apply(self, x: np.ndarray, mask: Any = None) -> np.ndarray:
        if mask is not None:
            x = np.where(mask, x, x.dtype.type(LARGE_NEGATIVE))
        y, _ = self._softmax(x)
        if mask is not None:
            y = np.where(mask, y, x.dtype.type(0))
        return y

    def _grad(self, x: np.ndarray, y: np.ndarray, g: np.ndarray, mask: Any) -> np.ndarray:
        dt = g.dtype.type
        if mask is not None:
            x = np.where(mask, x, dt(LARGE_NEGATIVE))
            g = np.where(mask, g, dt(0))  # where(mask, outputs, 0)'s gradient
        s_out, cache = self._softmax(x)
        axes = self._axes(x.ndim)
        if cache is None:  # SoftmaxGrad
            dx = (g - np.sum(g * s_out, axis=axes[0], keepdims=True)) * s_out
        else:  # Exp, Sub, then logsumexp's Log / Sum / Exp gradients
            e, s = cache
            dz = g * s_out
            d_lse = -np.sum(dz, axis=axes, keepdims=True)
            dx = dz + (d_lse * np.reciprocal(s)) * e
        if mask is not None:
            dx = np.where(mask, dx, dt(0))  # where(mask, inputs, -1e9)'s gradient
        return dx

    def get_config(self) -> dict:
        return {"axis": self.axis, **self._base_config()}
