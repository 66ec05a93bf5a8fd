"""``IndexedSlices``: a gradient given as rows, as TensorFlow gives an Embedding's gradient.

With the TensorFlow backend, the gradient of a lookup table (``tf.gather``, which Keras's
``Embedding`` calls) is a ``tf.IndexedSlices``: one slice per id *occurrence* in the batch
(``values (N, output_dim)``, ``indices (N,)``), never summed per row.  Keras 3.15's optimizers
take it as it is, and several of their operations treat a row read ``k`` times differently from
the dense gradient ``G = sum_i g_i``:

* ``ops.square`` squares each slice: Adam's ``v`` and RMSprop's velocity receive
  ``sum_i g_i**2`` where a dense gradient gives ``(sum_i g_i)**2``;
* ``ops.multiply`` by a scalar scales each slice before any sum (so RMSprop's ``(1 - rho) * g``
  and SGD's ``g * lr`` are rounded per slice);
* ``ops.add`` / ``ops.subtract`` with a dense slot first makes the slices dense by adding the
  duplicates (``tf.math.unsorted_segment_sum``, in order of occurrence: :meth:`dense`);
* ``assign_sub`` with slices is ``scatter_sub``: ``var[i] -= slice`` once per slice, in order
  (:func:`scatter_sub`), not once with the sum;
* ``ops.divide(slices, dense)`` gathers the divisor per slice (:func:`divide`);
* clipping: ``clipnorm`` (``tf.clip_by_norm``) takes the norm of the slice values, duplicates
  counted separately; ``clipvalue`` clips each slice; ``global_clipnorm`` sums the densified
  squares and its ``v * scale`` makes the gradient dense.

The functions here are those operations, NumPy-side; :mod:`numpy_rnn.optimizers` uses them
exactly where Keras meets an ``IndexedSlices``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["IndexedSlices"]


class IndexedSlices:
    """A sparse gradient: ``dense[indices[i]] += values[i]`` for every ``i``.

    Args:
        values: ``(N, *row_shape)`` float array, one slice per occurrence (duplicates allowed).
        indices: ``(N,)`` integer rows, each in ``[0, dense_shape[0])``.
        dense_shape: the shape of the dense gradient, ``(rows, *row_shape)``.
    """

    __slots__ = ("values", "indices", "dense_shape", "_dense")

    def __init__(self, values: Any, indices: Any, dense_shape: Any) -> None:
        values = np.asarray(values)
        indices = np.asarray(indices)
        dense_shape = tuple(int(d) for d in dense_shape)
        if values.dtype not in (np.float32, np.float64):
            raise TypeError(f"`values` must be a float32 or float64 array. Received dtype "
                            f"{values.dtype}")
        if not np.issubdtype(indices.dtype, np.integer) or indices.ndim != 1:
            raise TypeError(f"`indices` must be a 1-D integer array. Received dtype "
                            f"{indices.dtype}, shape {indices.shape}")
        if not dense_shape or values.shape != indices.shape + dense_shape[1:]:
            raise ValueError(f"`values` must have shape (len(indices),) + dense_shape[1:] = "
                             f"{indices.shape + dense_shape[1:]}. Received: values.shape="
                             f"{values.shape}, dense_shape={dense_shape}")
        if indices.size and (indices.min() < 0 or indices.max() >= dense_shape[0]):
            raise ValueError(f"`indices` must lie in [0, {dense_shape[0]}). Received: min "
                             f"{indices.min()}, max {indices.max()}")
        self.values = values
        self.indices = indices.astype(np.int64, copy=False)
        self.dense_shape = dense_shape
        self._dense: np.ndarray | None = None

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        """The dense shape (as ``tf.IndexedSlices.shape``)."""
        return self.dense_shape

    def with_values(self, values: np.ndarray) -> "IndexedSlices":
        """The same rows with new ``values`` (same shape)."""
        return IndexedSlices(values, self.indices, self.dense_shape)

    def astype(self, dtype: Any, copy: bool = True) -> "IndexedSlices":
        """The slices with ``values`` in ``dtype`` (``copy=False``: self when already there)."""
        if not copy and self.values.dtype == np.dtype(dtype):
            return self
        return self.with_values(self.values.astype(dtype))

    def dense(self) -> np.ndarray:
        """``tf.convert_to_tensor(slices)``: duplicates added in order of occurrence, starting
        from zeros (``unsorted_segment_sum``) -> ``dense_shape``.  Computed once and kept (the
        slices are treated as immutable): copy the result before changing it."""
        if self._dense is None:
            out = np.zeros(self.dense_shape, self.values.dtype)  # (rows, *row_shape)
            np.add.at(out, self.indices, self.values)
            self._dense = out
        return self._dense

    def __repr__(self) -> str:
        return (f"IndexedSlices(values: {self.values.dtype}{list(self.values.shape)}, "
                f"indices: {len(self.indices)}, dense_shape={self.dense_shape})")


def dense(x: Any) -> np.ndarray:
    """``x`` as a dense array (slices summed per row)."""
    return x.dense() if isinstance(x, IndexedSlices) else x


def scale(x: Any, s: Any) -> Any:
    """``ops.multiply(x, scalar)``: slices are scaled one by one and stay slices."""
    return x.with_values(x.values * s) if isinstance(x, IndexedSlices) else x * s


def square(x: Any) -> Any:
    """``ops.square``: slices are squared one by one (duplicates not yet added)."""
    return x.with_values(np.square(x.values)) if isinstance(x, IndexedSlices) else np.square(x)


def scatter_sub(variable: np.ndarray, x: Any) -> None:
    """Keras's ``assign_sub``: ``variable -= x``; slices are ``scatter_sub``: one subtraction per
    slice, in order (so a row read twice is rounded twice)."""
    if isinstance(x, IndexedSlices):
        np.subtract.at(variable, x.indices, x.values)
    else:
        variable -= x


def divide(x: Any, divisor: np.ndarray) -> Any:
    """``ops.divide(x, dense divisor)``; for slices, Keras's ``elementwise_division``.

    Usually each slice is divided by its row of ``divisor``.  When some row of ``divisor``
    holds a 0 or a NaN, Keras keeps those rows too (``0 / 0`` there is NaN): it takes the union
    of the slice rows and those rows, sorted and unique, and re-gathers the slice values for it
    with ``scatter_nd(indices, 1..N)`` - which adds up the positions of a duplicated row, so a
    row read twice then picks an unrelated slice (or, past the end, fails).  Reproduced as is
    (only reached with a zero or non-finite denominator, e.g. a NaN gradient)."""
    if not isinstance(x, IndexedSlices):
        return x / divisor
    flat = divisor.reshape(divisor.shape[0], -1)  # (rows, row size)
    bad = np.any((flat == 0) | np.isnan(flat), axis=1)  # (rows,)
    if not bad.any():
        return x.with_values(x.values / divisor[x.indices])
    rows = x.dense_shape[0]
    member = np.zeros(rows, bool)
    member[x.indices] = True
    union = np.flatnonzero(member | bad)  # (U,) sorted
    if len(union) == len(x.indices):  # Keras keeps the values as they are (tf.cond on the count)
        values = x.values
    else:
        position = np.zeros(rows, np.int64)
        np.add.at(position, x.indices, np.arange(1, len(x.indices) + 1))
        padded = np.concatenate([np.zeros_like(x.values[:1]), x.values])  # (N + 1, ...)
        where = position[union]
        if where.max() >= len(padded):
            raise IndexError("Keras's IndexedSlices division gathers past the end here "
                             "(tf.gather fails the same way): a row read several times met a "
                             "zero or NaN denominator.")
        values = padded[where]
    return IndexedSlices(values / divisor[union], union, x.dense_shape)
