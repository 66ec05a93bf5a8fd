"""``TextVectorization``'s vocabulary: ``adapt`` (Keras's ranking and idf weights),
``set_vocabulary`` (list, array or file, with Keras's checks and messages), and the read-only views
(``get_vocabulary``, ``vocabulary_size``, ``tokens``, ``idf_weights``, the input vocabulary).

A mixin of :class:`numpy_rnn.text.vectorization.TextVectorization`: it reads the options the
constructor sets and fills ``_tokens``, ``_index`` and ``_idf``."""
from __future__ import annotations

import collections
from typing import Any

import numpy as np

from .. import _validation as _v
from . import encoding
from .vectorization_strings import (MASK_TOKEN, OOV_TOKEN, _as_str, _read_vocabulary_file,
                                    _string_array)


class VocabularyMixin:
    """The vocabulary of a ``TextVectorization``: learned, given, or read back."""

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from ``data``, replacing the previous one.

        Tokens are ranked by count (descending), ties by descending UTF-8 byte order, then cut to
        ``max_tokens - 2`` (``max_tokens - 1`` outside ``"int"`` mode: no padding id). As in
        Keras, data without any token leaves the vocabulary unchanged.  ``"tf_idf"`` also learns
        each token's idf weight (every row of the preprocessed data is a document; ``'[UNK]'``
        gets their mean).

        Args:
            data: a string array/list/tuple (shape ``(N,)`` or ``(N, 1)``), or any other iterable
                of batches (a ``str`` is iterated character by character, like Keras).
            batch_size: accepted for Keras compatibility; unused.
            steps: with an iterable of batches, the number of batches to read.
        """
        counts: collections.Counter = collections.Counter()
        documents: collections.Counter = collections.Counter()  # tf_idf: rows holding a token
        n_documents = 0
        if isinstance(data, (list, tuple, np.ndarray)):
            arr = _string_array(data, "data")
            if arr.ndim == 1:
                arr = arr[:, None]
            n_documents += self._count(arr, counts, documents)
        elif hasattr(data, "__iter__"):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                n_documents += self._count(_string_array(batch, "data"), counts, documents)
        else:
            raise TypeError(
                "`data` must be a list, tuple or array of strings, or an iterable of batches. "
                f"Received: {_v._show(data)} of type {type(data).__name__}"
            )
        if not counts:
            if self._output_mode == "tf_idf" and self._idf is None:
                raise ValueError(
                    "adapt() found no token in `data`, and a 'tf_idf' layer needs idf weights "
                    "(Keras fails here too, with an AttributeError). Received: data without "
                    "any token"
                )
            return  # Keras: nothing counted -> keep the previous vocabulary
        counts.pop(MASK_TOKEN, None)
        counts.pop(OOV_TOKEN, None)
        # Count descending, then token descending (code-point order == UTF-8 byte order).
        ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        tokens = [token for token, _ in ranked]
        if self._max_tokens:
            tokens = tokens[: self._max_tokens - self._token_start]
        if not tokens:
            raise ValueError(
                "adapt() found no token to put in the vocabulary (only '' / '[UNK]', or "
                f"max_tokens={self._max_tokens} leaves no room). Received: "
                f"max_tokens={self._max_tokens}"
            )
        idf = None
        if self._output_mode == "tf_idf":
            dtype = np.dtype(self._dtype_name)
            weights = encoding.idf_from_documents([documents[t] for t in tokens], n_documents,
                                                  dtype)
            # Keras pads the front (the OOV entry) with tf.reduce_mean of the cast weights.
            idf = encoding.padded_idf(weights, self._token_start, weights.mean(dtype=dtype),
                                      self._back_padding(self._token_start + len(tokens)), dtype)
        self._set_tokens(tokens, idf)

    def _count(self, arr: np.ndarray, counts: collections.Counter,
               documents: collections.Counter) -> int:
        """Count the tokens of one batch (and, for ``"tf_idf"``, the documents holding each);
        returns the number of documents (rows) in it."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via the "
                "`vocabulary` argument."
            )
        _, rows, _ = self._rows(arr)
        for row in rows:
            counts.update(row)
            if self._output_mode == "tf_idf":
                documents.update(set(row))
        return len(rows)

    @property
    def _token_start(self) -> int:
        """The id of the first token: 2 in ``"int"`` mode (padding, ``[UNK]``), else 1."""
        return 2 if self._output_mode == "int" else 1

    def _back_padding(self, size: int) -> int:
        """Zero idf weights past the vocabulary (``pad_to_max_tokens``)."""
        if self._pad_to_max_tokens and self._max_tokens is not None:
            return self._max_tokens - size
        return 0

    def _set_tokens(self, tokens: list[str], idf: np.ndarray | None = None) -> None:
        """Install a vocabulary (checked by the caller) and its idf weights; a vocabulary size
        that differs from the frozen one raises RuntimeError first, as Keras, changing
        nothing."""
        size = self._token_start + len(tokens)
        if self._output_mode != "int" and not self._pad_to_max_tokens and \
                self._frozen_vocab_size is not None and size != self._frozen_vocab_size:
            raise RuntimeError(
                f"When using `output_mode={self._output_mode}` and `pad_to_max_tokens=False`, "
                "the vocabulary size cannot be changed after the layer is called. Old vocab "
                f"size is {self._frozen_vocab_size}, new vocab size is {size}"
            )
        self._tokens = list(tokens)
        self._index = {token: i for i, token in enumerate(self._tokens, start=self._token_start)}
        self._idf = idf
        self._frozen_vocab_size = size

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary: a list/tuple/1-D array of tokens, or a file path.

        A leading ``['', '[UNK]']`` (``['[UNK]']`` outside ``"int"`` mode) is dropped; repeated
        tokens, ``''`` elsewhere, an empty vocabulary, or more than ``max_tokens`` entries raise
        ValueError.  ``idf_weights``: ``"tf_idf"`` only, where it is required (one weight per
        entry of ``vocabulary``; not with a file).
        """
        if self._output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        if self._output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(
                "`idf_weights` should only be set if output_mode is 'tf_idf'. Received: "
                f"output_mode={self._output_mode!r} and idf_weights={_v._show(idf_weights)}"
            )
        if isinstance(vocabulary, str):
            if self._output_mode == "tf_idf":
                raise ValueError("output_mode 'tf_idf' does not support loading a vocabulary "
                                 "from file.")
            self._set_tokens(_read_vocabulary_file(vocabulary))
            return
        if isinstance(vocabulary, np.ndarray):
            if vocabulary.ndim != 1:
                raise ValueError(
                    f"`vocabulary` must be 1-D. Received: {_v._show(vocabulary)}"
                )
            items = list(vocabulary)
        elif isinstance(vocabulary, (list, tuple)):
            items = list(vocabulary)
        else:
            raise TypeError(
                "`vocabulary` must be a list, tuple or 1-D array of strings, or a file path. "
                f"Received: {_v._show(vocabulary)} of type {type(vocabulary).__name__}"
            )
        # Keras turns a list/tuple into a NumPy string array, which drops trailing NULs; an object
        # array keeps every token exactly.
        exact = isinstance(vocabulary, np.ndarray) and vocabulary.dtype == object
        terms = []
        for position, item in enumerate(items):
            text = _as_str(item)
            if text is None:
                raise TypeError(
                    f"`vocabulary` must contain only strings. Received: vocabulary[{position}]="
                    f"{item!r} of type {type(item).__name__}"
                )
            terms.append(text if exact else text.rstrip("\x00"))
        if not terms:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary!r}")
        start = self._token_start
        special = [MASK_TOKEN, OOV_TOKEN][2 - start:]
        found_special = terms[:start] == special
        tokens = terms[start:] if found_special else terms
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(
                "The passed vocabulary has at least one repeated term. Please uniquify your "
                f"dataset. The repeated terms are: {repeated}"
            )
        if MASK_TOKEN in tokens:
            raise ValueError(
                "Found reserved mask token '' at unexpected location in `vocabulary`. Either "
                f"remove it, or pass {special} only at the start. Received: vocabulary index "
                f"{terms.index(MASK_TOKEN, start if found_special else 0)}"
            )
        if self._max_tokens is not None and start + len(tokens) > self._max_tokens:
            raise ValueError(
                "Attempted to set a vocabulary larger than the maximum vocab size. Received "
                f"vocabulary size is {start + len(tokens)}; `max_tokens` is {self._max_tokens}."
            )
        if not tokens:
            raise ValueError(
                f"`vocabulary` must hold at least one token besides {special}. "
                f"Received: vocabulary={vocabulary!r}"
            )
        idf = None if idf_weights is None else self._given_idf(idf_weights, len(terms),
                                                               found_special)
        self._set_tokens(tokens, idf)

    def _given_idf(self, idf_weights: Any, n_terms: int, found_special: bool) -> np.ndarray:
        """Keras's ``set_vocabulary`` idf: checked, the ``[UNK]`` weight (their average) in front
        unless the vocabulary gave it, zeros past it with ``pad_to_max_tokens``."""
        weights = np.array(idf_weights) if isinstance(idf_weights, (list, tuple)) else \
            np.asarray(idf_weights)
        if weights.ndim != 1:
            raise ValueError("TF-IDF data must be a 1-index array. Received: "
                             f"idf_weights={_v._show(idf_weights)}")
        if len(weights) != n_terms:
            raise ValueError("`idf_weights` must be the same length as vocabulary. "
                             f"len(idf_weights) is {len(weights)}; len(vocabulary) is {n_terms}")
        if weights.dtype.kind not in "iuf":
            raise TypeError("`idf_weights` must be numbers. Received: "
                            f"idf_weights={_v._show(idf_weights)}")
        front = 0 if found_special else self._token_start
        front_value = 0 if found_special else np.average(weights)
        return encoding.padded_idf(weights, front, front_value,
                                   self._back_padding(front + len(weights)),
                                   np.dtype(self._dtype_name))

    @property
    def idf_weights(self) -> np.ndarray | None:
        """``"tf_idf"``: the weight of each output index (``'[UNK]'`` first; zeros past the
        vocabulary with ``pad_to_max_tokens``), else None."""
        return None if self._idf is None else self._idf.copy()

    @property
    def tokens(self) -> list[str]:
        """The learned or given tokens in id order, exactly (without ``''`` and ``[UNK]``)."""
        return list(self._tokens)

    @property
    def has_input_vocabulary(self) -> bool:
        """True when the vocabulary was given (``vocabulary=``), not learned by ``adapt``."""
        return self._has_input_vocabulary

    @property
    def input_vocabulary(self) -> Any:
        """What ``get_config()`` reports as ``vocabulary`` (as Keras: the vocabulary given to the
        constructor, or None); settable, for a twin copied from a Keras layer."""
        return self._input_vocabulary

    @input_vocabulary.setter
    def input_vocabulary(self, value: Any) -> None:
        self._input_vocabulary = value

    @property
    def input_idf_weights(self) -> Any:
        """What ``get_config()`` reports as ``idf_weights`` (the constructor's, or None);
        settable, for a twin copied from a Keras layer."""
        return self._input_idf_weights

    @input_idf_weights.setter
    def input_idf_weights(self, value: Any) -> None:
        self._input_idf_weights = value

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """``['', '[UNK]', *tokens]`` in ``"int"`` mode, ``['[UNK]', *tokens]`` in the others
        (index order), or only the tokens.

        As in Keras (which passes them through a NumPy string array) trailing NUL characters are
        dropped from the returned tokens; lookups still use the exact tokens.
        """
        tokens = [token.rstrip("\x00") for token in self._tokens or []]
        special = [MASK_TOKEN, OOV_TOKEN][2 - self._token_start:]
        return special + tokens if include_special_tokens else tokens

    def vocabulary_size(self) -> int:
        """Number of ids, the special tokens included (``''`` and ``'[UNK]'`` in ``"int"``
        mode, ``'[UNK]'`` in the others)."""
        return self._token_start + len(self._tokens or [])
