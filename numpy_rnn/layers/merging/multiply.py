"""``Multiply``: the element-wise product, as ``keras.layers.Multiply`` (with its masks)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base_merge import Merge, expand_mask, unbroadcast


class Multiply(Merge):
    """``inputs[0] * inputs[1] * ...``.  As Keras 3.15: a masked input counts as 1 where its
    mask is False; when every input has a mask, the product is 0 where none of them is set."""

    def _merge(self, xs: list[np.ndarray], masks: list) -> tuple[np.ndarray, Any]:
        has_output_mask = all(m is not None for m in masks)
        factors, keeps, out_mask, partials = [], [], None, []
        out = None
        for x, m in zip(xs, masks):
            keep = expand_mask(m, x.shape)
            if keep is not None:
                x = np.where(keep, x, np.ones((), x.dtype))
                if has_output_mask:
                    out_mask = keep if out_mask is None else np.logical_or(out_mask, keep)
            factors.append(x)
            keeps.append(keep)
            out = x if out is None else out * x
            partials.append(out)
        if has_output_mask:
            out = np.where(out_mask, out, np.zeros((), out.dtype))
        return out, (factors, keeps, partials, out_mask if has_output_mask else None)

    def _merge_backward(self, kept: Any, g: np.ndarray) -> list[np.ndarray]:
        factors, keeps, partials, out_mask = kept
        if out_mask is not None:
            g = np.where(out_mask, g, np.zeros((), g.dtype))
        grads: list = [None] * len(factors)
        for k in range(len(factors) - 1, 0, -1):  # out_k = out_{k-1} * x_k
            grads[k] = unbroadcast(partials[k - 1] * g, factors[k].shape)
            g = unbroadcast(g * factors[k], partials[k - 1].shape)
        grads[0] = g
        return [gi if keep is None else np.where(unbroadcast_mask(keep, gi.shape), gi,
                                                 np.zeros((), gi.dtype))
                for gi, keep in zip(grads, keeps)]


def unbroadcast_mask(keep: np.ndarray, shape: tuple) -> np.ndarray:
    return keep if keep.shape == tuple(shape) else np.broadcast_to(keep, shape)
