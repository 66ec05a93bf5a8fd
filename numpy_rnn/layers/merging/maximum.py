"""``Maximum``: the element-wise maximum, as ``keras.layers.Maximum`` (Keras's
``_apply_merge_op_and_or_mask``, masks included; ``Minimum`` runs the same loop).

The gradient follows TensorFlow's for ``maximum(a, b)`` / ``minimum(a, b)``: all of it goes to
``a`` where ``a >= b`` (``a <= b`` for the minimum), ties included, none to ``b``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .base_merge import Merge, expand_mask, unbroadcast


class _Extreme(Merge):
    _op: Callable = staticmethod(np.maximum)
    _select: Callable = staticmethod(np.greater_equal)

    def _merge(self, xs: list[np.ndarray], masks: list) -> tuple[np.ndarray, Any]:
        out = out_mask = None
        steps = []
        for x, m in zip(xs, masks):
            keep = expand_mask(m, x.shape)
            if out is None:
                out, out_mask = x, keep
                continue
            if keep is not None:  # a masked step of x takes the running output
                x = np.where(keep, x, out)
            prev_mask = out_mask
            if out_mask is not None:  # a masked step of the output takes x
                out = np.where(out_mask, out, x)
            out_mask = np.logical_or(out_mask, keep) if (
                keep is not None and out_mask is not None) else None
            steps.append((keep, prev_mask, self._select(out, x), out.shape, x.shape))
            out = self._op(out, x)
        return out, steps

    def _merge_backward(self, steps: list, g: np.ndarray) -> list[np.ndarray]:
        zero = np.zeros((), g.dtype)
        grads: list = []
        for keep, prev_mask, first, a_shape, b_shape in reversed(steps):
            ga = unbroadcast(np.where(first, g, zero), a_shape)  # to the running output
            gb = unbroadcast(np.where(first, zero, g), b_shape)  # to x (after its where)
            if prev_mask is not None:  # out = where(prev_mask, out, x)
                pm = np.broadcast_to(prev_mask, ga.shape)
                gb = gb + unbroadcast(np.where(pm, zero, ga), b_shape)
                ga = np.where(pm, ga, zero)
            if keep is not None:  # x = where(keep, x, out)
                kb = np.broadcast_to(keep, gb.shape)
                ga = ga + unbroadcast(np.where(kb, zero, gb), ga.shape)
                gb = np.where(kb, gb, zero)
            grads.append(gb)
            g = ga
        grads.append(g)
        return grads[::-1]


class Maximum(_Extreme):
    """The element-wise maximum of the inputs."""

    _op = staticmethod(np.maximum)
    _select = staticmethod(np.greater_equal)
