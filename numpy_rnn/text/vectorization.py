"""``TextVectorization``: keras.layers.TextVectorization in NumPy, every output mode (``"int"``,
``"multi_hot"``, ``"count"``, ``"one_hot"``, ``"tf_idf"``; the encodings and idf weights live in
:mod:`numpy_rnn.text.encoding`).  Measured Keras behaviour: spec/keras-semantics.md section 3.3.

Long because it is one class mirroring one Keras layer: every constructor option, its validation
and its ``get_config`` round trip, plus the vocabulary file / list / adapt paths, stay together so
the class reads against ``keras/src/layers/preprocessing/text_vectorization.py`` line by line.
"""
from __future__ import annotations

import collections
import numbers
import os
import re
import string
from typing import Any

import numpy as np

from .. import _validation as _v
from ..graph import symbolic as _symbolic

#: ``vectorizer -> graph layer``, set by ``numpy_rnn.layers.text_vectorization`` (which imports this
#: module): how a call on a symbolic tensor becomes a graph node.
GRAPH_LAYER: Any = None
from . import encoding

# ------------------------------------------------------------------------------------------------
# TextVectorization  (= keras.layers.TextVectorization)
# ------------------------------------------------------------------------------------------------
MASK_TOKEN = ""
OOV_TOKEN = "[UNK]"
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
# Keras's regex  [!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']  is exactly string.punctuation.
_STRIP_PUNCTUATION = {ord(c): None for c in string.punctuation}
# tf.strings.lower without an encoding only lower-cases ASCII.
_ASCII_LOWER = {ord(c): ord(c.lower()) for c in string.ascii_uppercase}
# tf.strings.split: runs of ASCII whitespace (space, \t, \n, \v, \f, \r); NBSP etc. do not split.
_WHITESPACE_TOKEN = re.compile(r"[^ \t\n\x0b\x0c\r]+")
_DTYPE_POLICY = {
    "module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
    "registered_name": None,
}


def _as_str(item: Any) -> str | None:
    if isinstance(item, str):
        return str(item)
    if isinstance(item, (bytes, np.bytes_)):
        try:
            return bytes(item).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"byte strings must be valid UTF-8. Received: {item!r} ({exc})") from None
    return None


def _string_array(value: Any, name: str) -> np.ndarray:
    """``value`` as an object ndarray of Python ``str`` (any rank, 0-d for one string)."""
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        arr = np.empty((), dtype=object)
        arr[()] = value
    elif isinstance(value, np.ndarray):
        arr = value.astype(object) if value.dtype.kind in "USO" else None
        if arr is None:
            raise TypeError(
                f"`{name}` must hold strings. Received: {_v._show(value)}"
            )
    else:
        try:
            arr = np.array(value, dtype=object)
        except ValueError:
            raise ValueError(
                f"`{name}` must be a string, a list of strings or a rectangular array of strings "
                f"(e.g. shape (batch, 1)). Received a non-rectangular nested sequence: {_v._show(value)}"
            ) from None
    out = np.empty(arr.shape, dtype=object)
    for idx, item in np.ndenumerate(arr):
        text = _as_str(item)
        if text is None:
            if isinstance(item, (list, tuple)):
                raise ValueError(
                    f"`{name}` must be rectangular (every row the same length). "
                    f"Received: {_v._show(value)}"
                )
            raise TypeError(
                f"`{name}` must contain only strings. Received: element {item!r} of type "
                f"{type(item).__name__} at index {idx}"
            )
        out[idx] = text
    return out


def _ngrams(tokens: list[str], widths: tuple[int, ...]) -> list[str]:
    """tf.strings.ngrams(separator=" "): all n-grams of each width, widths in the given order."""
    out = []
    for width in widths:
        out.extend(" ".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1))
    return out


def _n_ngrams(length: int, widths: tuple[int, ...]) -> int:
    return sum(max(0, length - width + 1) for width in widths)


def _read_vocabulary_file(path: str) -> list[str]:
    """One token per line, as TF's TextFileInitializer: a trailing ``\\r`` is dropped."""
    if not os.path.exists(path):
        raise ValueError(f"Vocabulary file {path} does not exist.")
    with open(path, encoding="utf-8", newline="") as handle:
        content = handle.read()
    if content == "":
        raise ValueError(f"Vocabulary file {path} is empty.")
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    tokens = [line[:-1] if line.endswith("\r") else line for line in lines]
    for position, token in enumerate(tokens):
        if token == "":
            raise ValueError(
                f"Invalid content in vocabulary file {path}: empty line found at position {position}."
            )
    repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
    if repeated:
        raise ValueError(f"Vocabulary file {path} has repeated terms: {repeated}")
    return tokens


class TextVectorization:
    """Map strings to padded int64 id sequences (``output_mode="int"``) or to per-sample vectors
    over the vocabulary, as ``keras.layers.TextVectorization``.

    Pipeline per string: standardize -> split -> (ngrams) -> look up ids -> pad or encode.
    ``"int"`` ids: 0 is padding (the token ``''``), 1 is ``'[UNK]'`` (out of vocabulary), then the
    vocabulary.  Other modes have no padding id: index 0 is ``'[UNK]'``, then the vocabulary
    (``get_vocabulary()`` shows it), and the token ``''`` counts nowhere.

    Args:
        max_tokens: largest vocabulary size, counting ``''`` and ``'[UNK]'``; None or an int > 1.
        standardize: None, ``"lower_and_strip_punctuation"``, ``"lower"`` (ASCII letters only,
            as TF) or ``"strip_punctuation"`` (deletes every ASCII punctuation character, ``'``
            included; nothing is replaced by a space).
        split: None, ``"whitespace"`` (runs of ASCII whitespace) or ``"character"`` (code points).
        ngrams: None, an int ``n`` (widths 1..n) or a tuple of positive widths.
        output_mode: ``"int"``, ``"multi_hot"`` (also ``"binary"``), ``"count"``, ``"one_hot"``
            or ``"tf_idf"`` (also ``"tf-idf"``); the shapes follow Keras (see
            :mod:`numpy_rnn.text.encoding` and ``__call__``).
        output_sequence_length: ``"int"`` only: pad/truncate the last axis at the end to this
            length; None pads to the longest row of the batch.
        pad_to_max_tokens: other modes than ``"int"``: the last axis has ``max_tokens`` entries
            (zeros past the vocabulary; a ``tf_idf`` weight of 0 there) instead of the
            vocabulary size.
        vocabulary: a list/tuple/1-D array of tokens (a leading ``['', '[UNK]']`` is dropped), or
            the path of a file with one token per line. A layer built with a vocabulary cannot
            ``adapt``. As in Keras, a list or tuple loses trailing NULs of its tokens (it becomes a
            NumPy string array); an object array keeps them.
        idf_weights: ``"tf_idf"`` only, with ``vocabulary``: one weight per vocabulary entry (the
            ``'[UNK]'`` weight first when the vocabulary starts with ``'[UNK]'``; otherwise
            ``'[UNK]'`` gets their average, as Keras).  ``adapt`` computes them as Keras:
            ``log(1 + documents / (1 + documents holding the token))``.
        sparse: False only (True raises NotImplementedError: the outputs are dense arrays).
        ragged: ``"int"`` only: return a list of 1-D int64 arrays (rows not padded) instead of a
            padded array.
        encoding: kept for the config; strings are Python ``str`` (bytes are decoded as UTF-8).
        dtype: the float dtype of ``"tf_idf"`` outputs and weights (Keras's floatx):
            ``"float32"`` (default) or ``"float64"``.

    Callable ``standardize``/``split`` and ``sparse=True`` raise NotImplementedError.
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        standardize: str | None = "lower_and_strip_punctuation",
        split: str | None = "whitespace",
        ngrams: int | tuple[int, ...] | None = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Any = None,
        idf_weights: Any = None,
        sparse: bool = False,
        ragged: bool = False,
        encoding: str = "utf-8",
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._standardize = self._check_option("standardize", standardize, _STANDARDIZE)
        self._split = self._check_option("split", split, _SPLIT)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"`output_mode` must be one of {list(_OUTPUT_MODES)}. Received: output_mode={output_mode!r}"
            )
        self._output_mode = output_mode
        if not (
            ngrams is None
            or isinstance(ngrams, int)
            or (isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))
        ):
            raise ValueError(
                f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams!r}"
            )
        if isinstance(ngrams, tuple) and any(n <= 0 for n in ngrams):
            raise ValueError(
                f"Every width in `ngrams` must be greater than 0. Received: ngrams={ngrams!r}"
            )
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(
                "`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                f"Received output_sequence_length={output_sequence_length!r}."
            )
        if ragged and output_mode != "int":
            raise ValueError(
                "`ragged` must not be true if `output_mode` is not 'int'. Received: "
                f"ragged={ragged!r} and output_mode={output_mode!r}"
            )
        if output_sequence_length is not None and (
            not isinstance(output_sequence_length, int) or output_sequence_length < 0
        ):
            raise ValueError(
                "`output_sequence_length` must be either None or a non-negative integer when "
                f"`output_mode` is 'int'. Received: output_sequence_length={output_sequence_length!r}"
            )
        self._output_sequence_length = output_sequence_length
        if max_tokens is not None and (
            not isinstance(max_tokens, numbers.Integral) or max_tokens <= 1
        ):
            raise ValueError(
                f"If set, `max_tokens` must be an integer greater than 1. Received: max_tokens={max_tokens!r}"
            )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}"
            )
        if sparse and output_mode == "int":
            raise ValueError(
                "`sparse` may only be true if `output_mode` is 'one_hot', 'multi_hot', 'count' "
                f"or 'tf_idf'. Received: sparse={sparse!r} and output_mode='int'"
            )
        if sparse:
            raise NotImplementedError(
                "numpy_rnn.TextVectorization returns dense NumPy arrays: `sparse=True` is not "
                f"supported. Received: sparse={sparse!r} and output_mode={output_mode!r}"
            )
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                "`idf_weights` should only be set if `output_mode` is 'tf_idf'. "
                f"Received: idf_weights={_v._show(idf_weights)} and output_mode={output_mode!r}"
            )
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError(
                "When specifying the `vocabulary` argument, in TF-IDF output mode, the "
                "`idf_weights` argument must also be provided."
            )
        if not isinstance(encoding, str):
            raise ValueError(f"`encoding` must be a string. Received: encoding={encoding!r}")
        self._max_tokens = None if max_tokens is None else int(max_tokens)
        self._pad_to_max_tokens = pad_to_max_tokens
        self._ragged = _v.boolean("ragged", ragged)
        self._encoding = encoding
        self.name = name if name is not None else "text_vectorization"
        self.trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        self._dtype_name = dtype["config"]["name"] if isinstance(dtype, dict) else (dtype or "float32")
        if output_mode == "tf_idf":
            self._dtype_name = _v.float_dtype("dtype", self._dtype_name).name
        self._has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        # Keras's "frozen" vocabulary size (get_config's vocabulary_size): outside "int" mode and
        # without pad_to_max_tokens, a vocabulary of another size cannot replace it.
        frozen = kwargs.pop("vocabulary_size", None)
        self._frozen_vocab_size = None if frozen is None else _v.non_negative_int(
            "vocabulary_size", frozen)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to TextVectorization: {kwargs}")
        self._input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self._input_idf_weights = idf_weights
        self._tokens: list[str] | None = None  # None: no vocabulary yet
        self._index: dict[str, int] = {}
        self._idf: np.ndarray | None = None  # tf_idf: one weight per output index
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    @staticmethod
    def _check_option(name: str, value: Any, allowed: tuple[str, ...]) -> str | None:
        if value is None or (isinstance(value, str) and value in allowed):
            return value
        if callable(value):
            raise NotImplementedError(
                f"numpy_rnn.TextVectorization does not support a callable `{name}` (Keras passes "
                f"it TensorFlow tensors). Use one of {list(allowed)} or None. Received: {name}={value!r}"
            )
        raise ValueError(
            f"Unknown value for `{name}` argument of TextVectorization. Allowed values are: "
            f"{allowed} or None. Received: {name}={value!r}"
        )

    def __repr__(self) -> str:
        return (
            f"TextVectorization(max_tokens={self._max_tokens!r}, standardize={self._standardize!r}, "
            f"split={self._split!r}, output_sequence_length={self._output_sequence_length!r}, "
            f"vocabulary_size={self.vocabulary_size()})"
        )

    # -- read-only options ---------------------------------------------------------------------
    max_tokens = property(lambda self: self._max_tokens)
    standardize = property(lambda self: self._standardize)
    split = property(lambda self: self._split)
    ngrams = property(lambda self: self._ngrams_arg)
    output_mode = property(lambda self: self._output_mode)
    pad_to_max_tokens = property(lambda self: self._pad_to_max_tokens)
    output_sequence_length = property(lambda self: self._output_sequence_length)
    ragged = property(lambda self: self._ragged)

    # -- preprocessing -------------------------------------------------------------------------
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

    # -- vocabulary ----------------------------------------------------------------------------
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

    # -- call ----------------------------------------------------------------------------------
    def __call__(self, inputs: Any) -> np.ndarray | list:
        """Vectorize strings.

        Args:
            inputs: a list/tuple/array of strings ``(batch,)`` or ``(batch, 1)`` (or any rank with a
                last axis of 1), or a single string.

        Returns:
            ``"int"``: int64 array ``(batch, L)`` (``(L,)`` for a single string), where ``L`` is
            ``output_sequence_length`` or the longest row; padding is 0 at the end. With
            ``split=None`` the shape is the input's with its last axis padded/truncated. With
            ``ragged=True`` a (nested) list of 1-D int64 arrays.

            Other modes, ``depth`` = ``max_tokens`` with ``pad_to_max_tokens``, else the
            vocabulary size (int64; ``"tf_idf"`` in the layer's float dtype):

            * with a split, ``(batch, depth)`` for a batch of strings, ``(depth,)`` for one
              string; ``"one_hot"`` encodes every token: a list of ``(tokens, depth)`` arrays
              for a batch (Keras returns a ragged tensor), ``(tokens, depth)`` for one string;
            * ``split=None`` (each string one token): the token ids of shape ``S`` encoded by
              :func:`numpy_rnn.text.encoding.encode` (``(depth,)`` for a 1-D batch: Keras sums
              the whole batch as one sample; ``(batch, depth)`` for ``(batch, 1)``).
            Called on a symbolic string tensor (``numpy_rnn.Input(shape, dtype="string")``): a
            graph node (``numpy_rnn.layers.text_vectorization``).
        """
        if GRAPH_LAYER is not None and _symbolic.is_symbolic(inputs):
            return GRAPH_LAYER(self)(inputs)
        arr = _string_array(inputs, "inputs")
        prefix, rows, dense_length = self._rows(arr)
        if self._output_mode != "int":
            return self._encode(prefix, rows, dense_length)
        if self._tokens is None:
            raise ValueError(
                f"TextVectorization layer '{self.name}' has no vocabulary: call adapt(data) or "
                "set_vocabulary(...) first, or pass `vocabulary=`."
            )
        index = self._index
        ids = [[0 if t == MASK_TOKEN else index.get(t, 1) for t in row] for row in rows]
        osl = self._output_sequence_length
        if prefix is None:  # split=None on one string: a scalar id
            if osl is not None:
                raise ValueError(
                    "`output_sequence_length` cannot be applied to a single string with split=None "
                    "(Keras: 'Attempting to slice scalar input'). Pass a list of strings."
                )
            return np.array(ids[0][0], dtype=np.int64)
        if self._ragged and dense_length < 0:
            rows_out = [np.array(row[:osl], dtype=np.int64) for row in ids]
            return _nest(rows_out, prefix)
        if dense_length >= 0:
            length = dense_length if osl is None else (min(osl, dense_length) if self._ragged else osl)
        else:
            length = osl if osl is not None else max((len(row) for row in ids), default=0)
        out = np.zeros((len(ids), length), dtype=np.int64)  # (rows, L)
        for r, row in enumerate(ids):
            kept = row[:length]
            out[r, : len(kept)] = kept
        return out.reshape(tuple(prefix) + (length,))

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

    # -- config --------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Keras's config keys, so ``keras.layers.TextVectorization.from_config`` reads it."""
        vocab = self._input_vocabulary
        if isinstance(vocab, np.ndarray):
            vocab = vocab.tolist()
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": {**_DTYPE_POLICY, "config": {"name": self._dtype_name}},
            "max_tokens": self._max_tokens,
            "standardize": self._standardize,
            "split": self._split,
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": self._pad_to_max_tokens,
            "sparse": False,
            "ragged": self._ragged,
            "vocabulary": vocab,
            "idf_weights": _listed(self._input_idf_weights),
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config: dict) -> TextVectorization:
        """Build from :meth:`get_config` output or a Keras ``TextVectorization.get_config()``."""
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)


def _listed(value: Any) -> Any:
    """Arrays as lists, for a JSON config (Keras's ``listify_tensors``)."""
    return value.tolist() if isinstance(value, np.ndarray) else value


def _nest(rows: list, shape: tuple[int, ...]) -> list:
    """Nest a flat C-order list into lists of ``shape``."""
    if len(shape) <= 1:
        return list(rows)
    step = len(rows) // shape[0] if shape[0] else 0
    return [_nest(rows[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]
