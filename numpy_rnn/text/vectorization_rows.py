"""``TextVectorization``'s pipeline per string, before and after the lookup: standardize ->
split -> (n-grams) into rows of tokens (``_rows``), and the non-``"int"`` output modes
(``_encode``: multi-hot / count / one-hot / tf-idf through :mod:`numpy_rnn.text.encoding`).

A mixin of :class:`numpy_rnn.text.vectorization.TextVectorization`: it reads the options the
constructor sets (``_standardize``, ``_split``, ``_ngrams``, ``_output_mode``, ...)."""
from __future__ import annotations

import numpy as np

from . import encoding
from .vectorization_strings import (_ASCII_LOWER, _STRIP_PUNCTUATION, _WHITESPACE_TOKEN,
                                    MASK_TOKEN, _n_ngrams, _ngrams)


class RowsMixin:
    """Strings -> token rows, and token rows -> encoded vectors (the non-``"int"`` modes)."""

    def _standardize_text(self, text: str) -> str:
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = text.translate(_STRIP_PUNCTUATION)
        return text

    def _split_text(self, text: str) -> list[str]:
        if self._split == "whitespace":
            return _WHITESPACE_TOKEN.findall(text)
        return list(text)  # "character": one token per code point

    def _rows(self, arr: np.ndarray) -> tuple[tuple[int, ...] | None, list[list[str]], int]:
        """Standardize, split and n-gram a string array.

        Returns ``(prefix_shape, rows, dense_length)``: the output is ``prefix_shape + (L,)``,
        ``rows`` holds the tokens of each output row (C order), ``dense_length`` is the row length
        when the tokens are dense (not split into ragged rows), else -1. ``prefix_shape`` None means
        a scalar output (split=None on a single string).
        """
        std = np.empty(arr.shape, dtype=object)
        for idx, text in np.ndenumerate(arr):
            std[idx] = self._standardize_text(text)
        if self._split is not None:
            if std.ndim > 1:
                if std.shape[-1] != 1:
                    raise ValueError(
                        "When using `TextVectorization` to tokenize strings, the input rank must be "
                        "1 or the last shape dimension must be 1. Received: "
                        f"inputs.shape={std.shape} with rank={std.ndim}"
                    )
                std = std[..., 0]
            rows = [self._split_text(text) for text in std.ravel()]
            dense_length = -1 if std.ndim else len(rows[0])
            prefix: tuple[int, ...] | None = std.shape
        elif std.ndim == 0:
            if self._ngrams is not None:
                raise ValueError(
                    "`ngrams` with split=None needs inputs of rank > 0. Received: a single string"
                )
            return None, [[std[()]]], 1
        else:
            prefix = std.shape[:-1]
            rows = [list(std[idx]) for idx in np.ndindex(*prefix)]
            dense_length = std.shape[-1]
        if self._ngrams is not None:
            rows = [_ngrams(row, self._ngrams) for row in rows]
            if dense_length >= 0:
                dense_length = _n_ngrams(dense_length, self._ngrams)
        return prefix, rows, dense_length

    def _encode(self, prefix: tuple | None, rows: list[list[str]],
                dense_length: int) -> np.ndarray | list:
        """The non-``"int"`` modes (``__call__``'s Returns)."""
        if self._tokens is None:
            if not self._pad_to_max_tokens and self._frozen_vocab_size is None:
                raise RuntimeError(
                    f"When using `output_mode={self._output_mode}` and `pad_to_max_tokens=False`, "
                    "you must set the layer's vocabulary before calling it. Either pass a "
                    "`vocabulary` argument to the layer, or call `adapt` with some sample data."
                )
            raise ValueError(
                f"TextVectorization layer '{self.name}' has no vocabulary: call adapt(data) or "
                "set_vocabulary(...) first, or pass `vocabulary=`."
            )
        index, mode = self._index, self._output_mode
        depth = self._max_tokens if self._pad_to_max_tokens else self.vocabulary_size()
        ids = [[encoding.DROPPED if t == MASK_TOKEN else index.get(t, 0) for t in row]
               for row in rows]
        if prefix is None:  # split=None on one string: Keras expands the scalar id to (1,)
            return encoding.encode(np.array(ids[0], np.int64), mode, depth, self._idf)
        if dense_length >= 0:  # the tokens form an array (split=None, or one split string)
            dense = np.array(ids, np.int64).reshape(tuple(prefix) + (dense_length,))
            return encoding.encode(dense, mode, depth, self._idf)
        if len(prefix) > 1:
            raise ValueError(
                f"`output_mode={mode!r}` with a split needs strings of shape (batch,) or "
                f"(batch, 1) (Keras gives ragged results of a higher rank). Received: inputs of "
                f"shape {tuple(prefix) + (1,)}"
            )
        if mode == "one_hot":  # Keras: a ragged (batch, None, depth)
            return [encoding.one_hot(np.array(row, np.int64), depth) for row in ids]
        return encoding.encode(encoding.dense_rows(ids), mode, depth, self._idf)
