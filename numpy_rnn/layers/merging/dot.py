"""``Dot``: the dot product of two inputs along given axes, as ``keras.layers.Dot``.

Keras's ``batch_dot``: each sample's ``x`` is contracted with the same sample's ``y`` over
``x``'s axis ``axes[0]`` and ``y``'s axis ``axes[1]``; the result has ``x``'s other axes, then
``y``'s other axes (batch excluded), with a trailing axis of 1 when only the batch is left.
``normalize=True`` first L2-normalizes each input along its axis as ``keras.ops.normalize``:
``x * minimum(rsqrt(sum(x**2)), 1/epsilon)``, epsilon = 1e-7 (Keras's ``backend.epsilon()``).
The mask is always None (``Dot.compute_mask``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base_merge import Merge

EPSILON = 1e-7


def _l2_normalize(x: np.ndarray, axis: int) -> tuple[np.ndarray, Any]:
    square_sum = np.sum(np.square(x), axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        rsqrt = np.reciprocal(np.sqrt(square_sum))
    cap = np.asarray(1.0 / EPSILON, x.dtype)
    inv = np.minimum(rsqrt, cap)
    return x * inv, (x, square_sum, inv, rsqrt <= cap)


def _l2_normalize_backward(kept: Any, g: np.ndarray, axis: int) -> np.ndarray:
    """TensorFlow's chain, in its order of operations: ``d(x * inv)``; ``inv = minimum(r, cap)``
    with ``r = rsqrt(s)`` (the tie goes to ``r``); ``RsqrtGrad``: ``-0.5 * (dr * r) * (r * r)``;
    ``s = sum(x**2)``: ``ds * (x * 2)``."""
    x, square_sum, inv, through = kept
    zero = np.zeros((), g.dtype)
    d_inv = np.sum(g * x, axis=axis, keepdims=True)
    d_r = np.where(through, d_inv, zero)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = np.reciprocal(np.sqrt(square_sum))
        d_s = np.where(d_r == 0, zero,
                       np.asarray(-0.5, g.dtype) * (d_r * r) * (r * r))
    return g * inv + d_s * (x * np.asarray(2, g.dtype))


class Dot(Merge):
    """``Dot(axes, normalize=False)``: ``axes`` an int (the same axis of both inputs) or a pair
    ``(axis of x, axis of y)``; negative axes count from the end; the batch axis 0 cannot be
    contracted."""

    _min_inputs, _max_inputs = 2, 2

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axes, (int, np.integer)) or isinstance(axes, bool):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Invalid type for argument `axes`: it should be a list or an "
                                f"int. Received: axes={axes!r}")
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes!r}")
            if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                       for a in axes):
                raise ValueError("Invalid format for argument `axes`: list elements should be "
                                 f"integers. Received: axes={axes!r}")
            axes = [int(a) for a in axes]
        else:
            axes = int(axes)
        self.axes = axes
        if not isinstance(normalize, (bool, np.bool_)):
            raise TypeError(f"`normalize` must be a boolean. Received: normalize={normalize!r}")
        self.normalize = bool(normalize)

    def _axes_for(self, ranks: tuple[int, int]) -> list[int]:
        if isinstance(self.axes, int):
            axes = [self.axes % ranks[0], self.axes % ranks[1]] if self.axes < 0 \
                else [self.axes] * 2
        else:
            axes = [a % r if a < 0 else a for a, r in zip(self.axes, ranks)]
        for a, r in zip(axes, ranks):
            if r < 2:
                raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received "
                                 f"inputs of ranks {ranks}.")
            if a == 0 or a >= r:
                raise ValueError(f"Invalid `axes` for layer '{self.name}': each axis must be "
                                 f"in [1, rank) (axis 0 is the batch). Received: "
                                 f"axes={self.axes} for inputs of ranks {ranks}")
        return axes

    def _validate_shapes(self, shapes: list[tuple]) -> None:
        s1, s2 = shapes
        a1, a2 = self._axes_for((len(s1), len(s2)))
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {s1[a1]} (at axis {a1}) "
                             f"!= {s2[a2]} (at axis {a2}). Full input shapes: {s1}, {s2}")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        s1, s2 = self._check_shape_list(input_shape)
        self._validate_shapes([s1, s2])
        a1, a2 = self._axes_for((len(s1), len(s2)))
        out = [d for i, d in enumerate(s1) if i != a1] + [d for i, d in enumerate(s2)
                                                          if i not in (0, a2)]
        return tuple(out + [1] if len(out) == 1 else out)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self._reshape_required = False

    def _reshape(self, xs: list, masks: list) -> tuple[list, list]:
        return xs, masks

    def _merge(self, xs: list[np.ndarray], masks: list) -> tuple[np.ndarray, Any]:
        x, y = xs
        a1, a2 = self._axes_for((x.ndim, y.ndim))
        norms = (None, None)
        if self.normalize:
            (x, nx), (y, ny) = _l2_normalize(x, a1), _l2_normalize(y, a2)
            norms = (nx, ny)
        xm = np.moveaxis(x, a1, -1)  # (B, ..., K)
        ym = np.moveaxis(y, a2, 1)  # (B, K, ...)
        batch, k = x.shape[0], x.shape[a1]
        x3 = xm.reshape(batch, -1, k)  # (B, Mx, K)
        y3 = ym.reshape(batch, k, -1)  # (B, K, My)
        out = np.matmul(x3, y3)  # (B, Mx, My)
        shape = xm.shape[:-1] + ym.shape[2:]
        if len(shape) == 1:
            shape = shape + (1,)
        return out.reshape(shape), (x3, y3, xm.shape, ym.shape, (a1, a2), norms)

    def _merge_backward(self, kept: Any, g: np.ndarray) -> list[np.ndarray]:
        x3, y3, xm_shape, ym_shape, (a1, a2), norms = kept
        g3 = g.reshape(x3.shape[0], x3.shape[1], y3.shape[2])  # (B, Mx, My)
        dx = np.moveaxis((g3 @ np.swapaxes(y3, 1, 2)).reshape(xm_shape), -1, a1)
        dy = np.moveaxis((np.swapaxes(x3, 1, 2) @ g3).reshape(ym_shape), 1, a2)
        if self.normalize:
            dx = _l2_normalize_backward(norms[0], dx, a1)
            dy = _l2_normalize_backward(norms[1], dy, a2)
        return [dx, dy]

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict:
        return {"axes": self.axes, "normalize": self.normalize, **self._base_config()}
