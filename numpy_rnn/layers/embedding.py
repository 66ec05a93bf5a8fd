"""Embedding: a lookup table ``(input_dim, output_dim)``, as ``keras.layers.Embedding`` on CPU."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validation as v
from .. import initializers
from ..sparse import IndexedSlices
from .base import Layer


class TokenIdError(IndexError, ValueError):
    """A token id outside the embedding table (both an IndexError and a ValueError)."""


class Embedding(Layer):
    """Turns integer ids ``(...)`` into vectors ``(..., output_dim)``.

    Keras semantics (spec section 2): float ids are truncated toward zero, negative ids wrap
    (``-1`` is the last row), ids outside ``[-input_dim, input_dim)`` raise ``TokenIdError``;
    ``mask_zero=True`` marks id 0 as padding in ``compute_mask`` but still returns row 0.
    """

    supports_masking = True
    #: After ``backward``: ``[IndexedSlices]``, the table's gradient as TensorFlow gives it to
    #: Keras's optimizers (one slice per id read, duplicates not summed); ``gradients`` holds the
    #: same gradient dense.  ``Sequential`` training passes these slices to the optimizer.
    sparse_gradients: list[IndexedSlices] | None = None

    def __init__(self, input_dim: int, output_dim: int, mask_zero: bool = False,
                 embeddings_initializer: Any = "uniform", input_length: int | None = None,
                 embeddings_regularizer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._set_regularizers({"embeddings_regularizer": ("embeddings",
                                                           embeddings_regularizer)})
        self.input_dim = v.positive_int("input_dim", input_dim)
        self.output_dim = v.positive_int("output_dim", output_dim)
        self.mask_zero = v.boolean("mask_zero", mask_zero)
        # Keras 2's `input_length` only fixed the model's input shape; kept for old call sites.
        self.input_length = v.positive_int("input_length", input_length, allow_none=True)
        self._init_name = embeddings_initializer
        self._init = initializers.get(embeddings_initializer, "embeddings_initializer")
        # The table is drawn on first use (a call, reading ``embeddings``, get_weights), so
        # ``from_config`` followed by ``set_weights`` never allocates a random table.
        self.built = True

    def weight_names(self) -> list[str]:
        return ["embeddings"]

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        return {"embeddings": (self.input_dim, self.output_dim)}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        return {"embeddings": self._init((self.input_dim, self.output_dim), self.dtype, self._rng)}

    def _ids(self, ids: Any) -> np.ndarray:
        arr = v.numeric_array("ids", ids)
        if np.issubdtype(arr.dtype, np.floating):
            if not np.isfinite(arr).all():
                raise ValueError("`ids` must be finite token ids. Received: an array holding "
                                 "NaN or infinity")
            arr = np.trunc(arr)  # Keras casts to int32: truncation toward zero
        arr = arr.astype(np.int64)
        bad = (arr >= self.input_dim) | (arr < -self.input_dim)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise TokenIdError(
                f"`ids` must be token ids in [0, {self.input_dim}) (negative ids down to "
                f"-{self.input_dim} wrap, as in Keras). Received: id {int(arr[where])} at index "
                f"{list(where)}; input_dim={self.input_dim}"
            )
        return arr

    def __call__(self, ids: Any, training: bool = False) -> np.ndarray:
        """``ids (...)`` -> ``(..., output_dim)`` in the layer dtype.

        ``training=True`` keeps the ids (the rows read) for ``backward``."""
        idx = self._ids(ids)  # (...)
        # negative ids: the row the forward read; an inference call forgets the training call
        self._record = idx % self.input_dim if training else None
        return self.embeddings[idx]  # negative ids wrap like NumPy/TF gather on CPU

    def _backward(self, record: np.ndarray, grad_output: Any) -> None:
        """``grad_output (..., output_dim)`` -> None (integer ids have no gradient); sets
        ``sparse_gradients`` = [IndexedSlices: one row of ``grad_output`` per id read, as
        TensorFlow's gather gradient] and ``gradients`` = [d embeddings ``(input_dim,
        output_dim)``]: those rows summed per id.  ``mask_zero`` does not zero row 0's gradient
        (Keras neither: the mask only reaches the layers downstream)."""
        g = self._grad_output(grad_output, record.shape + (self.output_dim,))
        values = np.array(g.reshape(-1, self.output_dim))  # (N, output_dim), N = ids read
        slices = IndexedSlices(values, record.reshape(-1), (self.input_dim, self.output_dim))
        self.sparse_gradients = [slices]
        # (input_dim, output_dim): repeats add up; a copy, so changing ``gradients`` in place
        # cannot reach the slices' own dense form (the optimizer reuses it)
        self.gradients = [slices.dense().copy()]
        return None

    predict = __call__

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """``ids (...)`` -> ``(..., output_dim)``."""
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, ids: Any, mask: Any = None) -> np.ndarray | None:
        """``ids != 0`` when ``mask_zero`` (on the raw ids, as Keras), else None."""
        if not self.mask_zero:
            return None
        return v.numeric_array("ids", ids) != 0

    def get_config(self) -> dict:
        init = (self._init_name if isinstance(self._init_name, str)
                else initializers.serialize(self._init_name))
        return {"input_dim": self.input_dim, "output_dim": self.output_dim,
                "mask_zero": self.mask_zero, "embeddings_initializer": init,
                "input_length": self.input_length, **self._regularizer_config(),
                **self._base_config()}


class EmbeddingLayer(Embedding):
    """The seed's name: ``EmbeddingLayer(vocab_size, hidden_dim)`` == ``Embedding(input_dim, output_dim)``."""

    def __init__(self, vocab_size: int | None = None, hidden_dim: int | None = None,
                 mask_zero: bool = False, *, input_dim: int | None = None,
                 output_dim: int | None = None, **kwargs: Any) -> None:
        if vocab_size is not None and input_dim is not None:
            raise TypeError("Give either `vocab_size` or `input_dim`, not both.")
        if hidden_dim is not None and output_dim is not None:
            raise TypeError("Give either `hidden_dim` or `output_dim`, not both.")
        super().__init__(vocab_size if input_dim is None else input_dim,
                         hidden_dim if output_dim is None else output_dim, mask_zero, **kwargs)

    @property
    def vocab_size(self) -> int:
        return self.input_dim

    @property
    def hidden_dim(self) -> int:
        return self.output_dim
