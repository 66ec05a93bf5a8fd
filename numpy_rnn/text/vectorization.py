"""``TextVectorization``: keras.layers.TextVectorization in NumPy, every output mode (``"int"``,
``"multi_hot"``, ``"count"``, ``"one_hot"``, ``"tf_idf"``; the encodings and idf weights live in
:mod:`numpy_rnn.text.encoding`).  Measured Keras behaviour: spec/keras-semantics.md section 3.3.

The class reads against ``keras/src/layers/preprocessing/text_vectorization.py``: its constructor
(every option, its validation), ``__call__`` and the ``get_config`` round trip are here; the
rest is split by concern into short modules (mixins of the class):

* :mod:`numpy_rnn.text.vectorization_strings`: special tokens, standardize / split tables, string
  input checks, n-grams, the vocabulary file reader;
* :mod:`numpy_rnn.text.vectorization_rows`: strings -> token rows, and the non-``"int"`` encodings;
* :mod:`numpy_rnn.text.vectorization_vocabulary`: ``adapt``, ``set_vocabulary`` and the
  vocabulary views.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import _validation as _v
from ..graph import symbolic as _symbolic
from .vectorization_rows import RowsMixin
from .vectorization_strings import (_DTYPE_POLICY, _OUTPUT_MODES, _SPLIT, _STANDARDIZE,
                                    MASK_TOKEN, OOV_TOKEN, _listed, _nest, _string_array)
from .vectorization_vocabulary import VocabularyMixin

__all__ = ["TextVectorization", "MASK_TOKEN", "OOV_TOKEN", "GRAPH_LAYER"]

#: ``vectorizer -> graph layer``, set by ``numpy_rnn.layers.preprocessing.text_vectorization``
#: (which imports this module): how a call on a symbolic tensor becomes a graph node.
GRAPH_LAYER: Any = None


class TextVectorization(RowsMixin, VocabularyMixin):
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
            graph node (``numpy_rnn.layers.preprocessing.text_vectorization``).
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
