"""``TextVectorization``'s output modes other than ``"int"`` and its idf weights, as Keras 3.15
computes them (``keras/src/layers/preprocessing/index_lookup.py`` ``call`` / ``finalize_state`` /
``set_vocabulary``, ``keras/src/utils/numerical_utils.py`` ``encode_categorical_inputs``,
``keras/src/utils/tf_utils.py`` ``tf_encode_categorical_inputs``).

Ids here are the lookups of the non-``"int"`` modes: ``0`` is ``[UNK]``, the tokens follow, and
the mask token ``''`` is :data:`DROPPED` (Keras maps it to the int64 maximum, which neither the
bincount nor the one-hot counts).  Shapes, for ids of shape ``S`` (rank ``r``):

* ``"one_hot"``: a last axis of 1 is dropped (``r > 1``), then ``S + (depth,)``;
* ``"multi_hot"``, ``"count"``, ``"tf_idf"``: the one-hot summed (``count``, ``tf_idf``) or
  maxed (``multi_hot``) over axis 1, over axis 0 for ``r == 1`` (the whole array is one
  sample): ``S[:1] + S[2:] + (depth,)``;
* multi_hot / count / one_hot give int64, as Keras's lookup layer; tf_idf the counts as the
  float dtype times the idf weights.
"""
from __future__ import annotations

from typing import Any

import numpy as np

#: The id of the mask token ``''`` and of ragged padding: counted nowhere.
DROPPED = -1


def idf_from_documents(document_counts: np.ndarray, num_documents: int, dtype: Any) -> np.ndarray:
    """Keras's ``_inverse_document_frequency``: ``log(1 + N / (1 + df))`` computed in float64
    (TensorFlow divides the int64 counts into float64), then cast to ``dtype``."""
    df = np.asarray(document_counts, np.int64)
    return np.log(1 + np.int64(num_documents) / (1 + df)).astype(dtype)


def padded_idf(weights: np.ndarray, front: int, front_value: Any, back: int,
               dtype: Any) -> np.ndarray:
    """``weights`` with ``front`` entries of ``front_value`` before (the OOV token's weight) and
    ``back`` zeros after (``pad_to_max_tokens``), as ``dtype``."""
    out = np.pad(np.asarray(weights), (front, max(back, 0)), "constant",
                 constant_values=(front_value, 0))
    return out.astype(dtype)


def one_hot(ids: np.ndarray, depth: int) -> np.ndarray:
    """``ids (...)`` -> int64 ``(..., depth)``; a :data:`DROPPED` id gives a row of zeros."""
    out = np.zeros(ids.shape + (depth,), np.int64)
    valid = ids != DROPPED
    index = np.nonzero(valid)
    out[index + (ids[valid],)] = 1
    return out


def counts(ids: np.ndarray, depth: int) -> np.ndarray:
    """The one-hot of ``ids`` summed over axis 1 (axis 0 for 1-D ids), without building it:
    int64 ``S[:1] + S[2:] + (depth,)``."""
    if ids.ndim == 1:
        return np.bincount(ids[ids != DROPPED], minlength=depth).astype(np.int64)
    moved = np.moveaxis(ids, 1, -1)  # the summed axis last
    rows = moved.reshape(int(np.prod(moved.shape[:-1])), moved.shape[-1])  # (samples, summed)
    out = np.zeros((rows.shape[0], depth), np.int64)
    r, c = np.nonzero(rows != DROPPED)
    np.add.at(out, (r, rows[r, c]), 1)
    return out.reshape(moved.shape[:-1] + (depth,))


def encode(ids: np.ndarray, mode: str, depth: int, idf: np.ndarray | None = None) -> np.ndarray:
    """Encode dense ids (rank >= 1) in ``mode`` (module docstring)."""
    if mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids[..., 0]
        return one_hot(ids, depth)
    c = counts(ids, depth)
    if mode == "multi_hot":
        return (c > 0).astype(np.int64)
    if mode == "count":
        return c
    return c.astype(idf.dtype) * idf  # tf_idf: one rounding, as Keras's multiply


def dense_rows(rows: list[list[int]]) -> np.ndarray:
    """Ragged id rows as ``(rows, longest)`` padded with :data:`DROPPED` (nothing counted)."""
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), DROPPED, np.int64)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out
