"""``Concatenate``: inputs joined along ``axis``, as ``keras.layers.Concatenate``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from .base_merge import Merge


class Concatenate(Merge):
    """Joins the inputs along ``axis`` (default -1); every other axis must agree.

    Mask (Keras 3.15's ``Concatenate.compute_mask``): None when no input has one; else each
    input's mask is broadcast to its input's shape (all True for an input without one), the
    masks are concatenated along ``axis`` and reduced with ``any`` over the last axis."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"`axis` must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def _validate_shapes(self, shapes: list[tuple]) -> None:
        ranks = {len(s) for s in shapes}
        rank = ranks.pop() if len(ranks) == 1 else None
        if rank is None or not -rank <= self.axis < rank:
            raise ValueError("A `Concatenate` layer requires inputs with matching shapes except "
                             f"for the concatenation axis. Received: input_shape={shapes}"
                             + ("" if rank is None else f" (axis={self.axis})"))
        axis = self.axis % rank
        for i in range(rank):
            if i == axis:
                continue
            dims = {s[i] for s in shapes} - {None}
            if len(dims) > 1:
                raise ValueError("A `Concatenate` layer requires inputs with matching shapes "
                                 f"except for the concatenation axis. Received: "
                                 f"input_shape={shapes}")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._check_shape_list(input_shape)
        self._validate_shapes(shapes)
        out = list(shapes[0])
        axis = self.axis % len(out)
        for i in range(len(out)):
            if i != axis and out[i] is None:
                out[i] = next((s[i] for s in shapes if s[i] is not None), None)
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else int(sum(sizes))
        return tuple(out)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self._reshape_required = False

    def _reshape(self, xs: list, masks: list) -> tuple[list, list]:
        return xs, masks  # Keras never reshapes a Concatenate's inputs

    def _merge(self, xs: list[np.ndarray], masks: list) -> tuple[np.ndarray, Any]:
        axis = self.axis % xs[0].ndim
        return np.concatenate(xs, axis=axis), (axis, [x.shape[axis] for x in xs])

    def _merge_backward(self, kept: Any, g: np.ndarray) -> list[np.ndarray]:
        axis, sizes = kept
        return np.split(g, np.cumsum(sizes)[:-1], axis=axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> np.ndarray | None:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"`mask` should be a list. Received mask={mask!r}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"`inputs` should be a list. Received: inputs of type "
                             f"{type(inputs).__name__}")
        if len(mask) != len(inputs):
            raise ValueError("The lists `inputs` and `mask` should have the same length. "
                             f"Received: {len(inputs)} input(s) and {len(mask)} mask(s)")
        if all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            shape = np.shape(x)
            if m is None:
                full.append(np.ones(shape, bool))
            else:
                m = v.numeric_array("mask", m).astype(bool)
                while m.ndim < len(shape):
                    m = m[..., None]
                full.append(np.broadcast_to(m, shape))
        return np.concatenate(full, axis=self.axis % len(np.shape(inputs[0]))).any(axis=-1)

    def get_config(self) -> dict:
        return {"axis": self.axis, **self._base_config()}
