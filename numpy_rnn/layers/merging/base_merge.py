"""``Merge``: what every merge layer shares, as ``keras/src/layers/merging/base_merge.py``.

* Called on a list of arrays (``__call__(inputs, mask=None, training=False)``, ``mask`` a list
  with one mask or None per input, as a functional model passes them); each input is cast to
  the layer dtype.
* Inputs of different ranks are reshaped as Keras does: ``expand_dims(x, 1)`` until every input
  has the highest rank; then NumPy broadcasting (size-1 axes) as Keras's ops broadcast.
* ``compute_mask``: Keras 3.15's rule, the OR of the input masks, and None as soon as one input
  has none (``Merge.compute_mask``).  ``Multiply``, ``Maximum`` and ``Minimum`` also use the
  masks in their values, as Keras's do.
* ``backward(grad_output)`` returns one gradient per input (broadcast axes summed back, the
  inserted axes removed); merges have no weights (``gradients == []``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """``g`` summed down to ``shape`` (the gradient of a broadcast from ``shape``)."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape)
                                      if d == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def expand_mask(mask: np.ndarray | None, shape: tuple) -> np.ndarray | None:
    """A ``(batch, ...)`` mask as Keras broadcasts it onto an input of ``shape``:
    ``broadcast_to(expand_dims(mask, -1), shape)``."""
    if mask is None:
        return None
    return np.broadcast_to(np.asarray(mask, bool)[..., None], shape)


class Merge(Layer):
    """Base class of the merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``,
    ``Maximum``, ``Minimum``, ``Concatenate`` and ``Dot``.  Subclasses define
    ``_merge(xs, masks) -> (output, kept)`` and ``_merge_backward(kept, g) -> [g per input]``
    on the reshaped inputs."""

    supports_masking = True
    builds_from_shape = True
    #: Fewest / most inputs the layer takes (None: no upper bound).
    _min_inputs, _max_inputs = 1, None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._reshape_required = False

    # -- shapes ------------------------------------------------------------------------------
    def _check_shape_list(self, input_shape: Any) -> list[tuple]:
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                             f"input_shape={input_shape!r} (not a list of shapes)")
        shapes = [tuple(s) for s in input_shape]
        self._check_count(len(shapes))
        return shapes

    def _check_count(self, n: int) -> None:
        lo, hi = self._min_inputs, self._max_inputs
        if n < lo or (hi is not None and n > hi):
            want = f"exactly {lo}" if lo == hi else f"at least {lo}"
            raise ValueError(f"A `{type(self).__name__}` layer should be called on {want} "
                             f"input(s). Received: {n} input(s)")

    @staticmethod
    def _elementwise_shape(shape1: tuple, shape2: tuple) -> tuple:
        """Keras's ``_compute_elemwise_op_output_shape`` (no batch axis)."""
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return shape1
        out = list(shape1[:-len(shape2)])
        for i, j in zip(shape1[-len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(f"Inputs have incompatible shapes. Received shapes {shape1} "
                                 f"and {shape2}")
        return tuple(out)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._check_shape_list(input_shape)
        out = shapes[0][1:]
        for s in shapes[1:]:
            out = self._elementwise_shape(out, s[1:])
        batches = {s[0] for s in shapes if s} - {None}
        return ((batches.pop() if len(batches) == 1 else None),) + tuple(out)

    def build(self, input_shape: Any) -> None:
        """Check the input shapes (no weights), as Keras's ``Merge.build``."""
        shapes = self._check_shape_list(input_shape)
        if len({s[0] for s in shapes if s} - {None}) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received "
                             f"tensors with shapes {shapes}")
        self._validate_shapes(shapes)
        self._reshape_required = len({len(s) for s in shapes}) != 1
        self.build_input_shape = [tuple(s) for s in shapes]
        self.built = True

    def _validate_shapes(self, shapes: list[tuple]) -> None:
        self.compute_output_shape(shapes)

    # -- calling -----------------------------------------------------------------------------
    def _inputs(self, inputs: Any) -> list[np.ndarray]:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                             f"inputs of type {type(inputs).__name__} (not a list of arrays)")
        self._check_count(len(inputs))
        xs = [self._cast_input(f"inputs[{i}]", x) for i, x in enumerate(inputs)]
        for i, x in enumerate(xs):
            if x.ndim < 1:
                raise ValueError(f"`inputs[{i}]` of layer '{self.name}' must have a batch axis. "
                                 f"Received: shape {x.shape}")
        return xs

    def _masks(self, mask: Any, xs: list[np.ndarray]) -> list[np.ndarray | None]:
        if mask is None:
            return [None] * len(xs)
        if not isinstance(mask, (list, tuple)) or len(mask) != len(xs):
            raise ValueError(f"`mask` of layer '{self.name}' must be a list with one mask (or "
                             f"None) per input, {len(xs)} in all. Received: mask={mask!r}")
        out = []
        for i, (m, x) in enumerate(zip(mask, xs)):
            if m is None:
                out.append(None)
                continue
            m = v.numeric_array(f"mask[{i}]", m).astype(bool)
            if m.shape != x.shape[:m.ndim] or m.ndim >= x.ndim:
                raise ValueError(f"`mask[{i}]` of layer '{self.name}' must have the leading "
                                 f"shape of inputs[{i}] {x.shape[:-1]}. Received: mask with "
                                 f"shape {m.shape}")
            out.append(m)
        return out

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """Merge the list ``inputs`` (each ``(batch, ...)``); ``mask``: one mask or None per
        input.  ``training=True`` keeps what ``backward`` needs."""
        xs = self._inputs(inputs)
        masks = self._masks(mask, xs)
        shapes = [x.shape for x in xs]
        if not self.built:
            snapshot = self._snapshot()
            try:
                self.build(shapes)
            except BaseException:
                self._restore(snapshot)
                raise
        else:
            self._check_shape_list(shapes)
            self._validate_shapes(shapes)
        if len({x.shape[0] for x in xs}) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received "
                             f"tensors with shapes {shapes}")
        reshaped, rmasks = self._reshape(xs, masks)
        y, kept = self._merge(reshaped, rmasks)
        self._record = (shapes, [x.shape for x in reshaped], kept, y.shape) if training else None
        return y

    def _reshape(self, xs: list[np.ndarray], masks: list) -> tuple[list, list]:
        """Keras's reshape for inputs of different ranks: ``expand_dims(x, 1)`` up to the
        highest rank (masks follow their input)."""
        ranks = [x.ndim for x in xs]
        if len(set(ranks)) == 1:
            return xs, masks
        top = max(ranks)
        out, out_masks = [], []
        for x, m in zip(xs, masks):
            extra = top - x.ndim
            out.append(x.reshape(x.shape[:1] + (1,) * extra + x.shape[1:]))
            out_masks.append(None if m is None else m.reshape(m.shape[:1] + (1,) * extra
                                                              + m.shape[1:]))
        return out, out_masks

    def _merge(self, xs: list[np.ndarray], masks: list) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _merge_backward(self, kept: Any, g: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def _backward(self, record: tuple, grad_output: Any) -> list[np.ndarray]:
        """``grad_output`` (the output's shape) -> one gradient per input (its shape)."""
        shapes, reshaped, kept, y_shape = record
        g = self._grad_output(grad_output, y_shape)
        grads = self._merge_backward(kept, g)
        self.gradients = []  # no weights
        return [unbroadcast(gi, r).reshape(s).astype(self.dtype, copy=False)
                for gi, r, s in zip(grads, reshaped, shapes)]

    # -- masks -------------------------------------------------------------------------------
    def compute_mask(self, inputs: Any, mask: Any = None) -> np.ndarray | None:
        """Keras 3.15's ``Merge.compute_mask``: the OR of the masks; None when ``mask`` is None
        or any input has no mask."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"`mask` should be a list. Received: mask={mask!r}")
        if isinstance(inputs, (list, tuple)) and len(mask) != len(inputs):
            raise ValueError("The lists `inputs` and `mask` should have the same length. "
                             f"Received: {len(inputs)} input(s) and {len(mask)} mask(s)")
        if any(m is None for m in mask):
            return None
        out = np.asarray(mask[0], bool)
        for m in mask[1:]:
            out = np.logical_or(out, np.asarray(m, bool))
        return out

    def get_config(self) -> dict:
        return self._base_config()
