"""Sequence utilities: ``text_to_word_sequence`` (= tf_keras.preprocessing.text's) and
``pad_sequences`` (= keras.utils.pad_sequences), with Keras's defaults.
"""
from __future__ import annotations

import functools
import numbers
from typing import Any

import numpy as np

from .. import _validation as _v

#: Keras's default ``filters``: ASCII punctuation except ``'``, plus tab and newline.
DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'



# ------------------------------------------------------------------------------------------------
# text_to_word_sequence
# ------------------------------------------------------------------------------------------------
def check_split(split: Any) -> str | None:
    """``split`` is a non-empty separator, or None (filters deleted, split on whitespace runs)."""
    if split is None:
        return None
    if not isinstance(split, str) or split == "":
        raise ValueError(
            f"`split` must be a non-empty string (or None). Received: split={_v._show(split)}"
        )
    return split


@functools.lru_cache(maxsize=64)
def _cached_table(filters: str, split: str | None) -> dict:
    return str.maketrans({c: split for c in filters})


def translate_table(filters: Any, split: str | None) -> dict:
    """The ``str.translate`` table replacing every filter character by ``split``."""
    try:
        if isinstance(filters, str):
            return _cached_table(filters, split)
        return str.maketrans({c: split for c in filters})
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "`filters` must be a string (or an iterable of single characters). "
            f"Received: filters={_v._show(filters)} ({exc})"
        ) from None


def word_sequence(text: str, filters: Any, lower: Any, split: str | None) -> list[str]:
    if lower:
        text = text.lower()  # Unicode-aware, before filtering (as Keras)
    text = text.translate(translate_table(filters, split))
    return [word for word in text.split(split) if word]


def text_to_word_sequence(
    text: str | None = None,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
    *,
    input_text: str | None = None,
) -> list[str]:
    """Split a text into words exactly as ``tf_keras.preprocessing.text.text_to_word_sequence``.

    Lower-case (Python ``str.lower``, Unicode-aware), replace every character of ``filters`` by
    ``split``, split on ``split`` and drop empty pieces. ``'``, ``\\r`` and non-breaking spaces are
    not default filters, so they stay inside words.

    Args:
        text: the text (Keras calls it ``input_text``; that keyword works too).
        filters: characters to remove (each becomes a separator).
        lower: whether to lower-case first.
        split: the separator; ``None`` deletes the filter characters and splits on whitespace runs.

    Returns:
        The list of words.
    """
    if input_text is not None:
        if text is not None:
            raise TypeError("Pass the text once: either `text` or `input_text`, not both.")
        text = input_text
    if not isinstance(text, str):
        raise TypeError(
            f"`text` must be a string. Received: text={_v._show(text)} of type {type(text).__name__}"
        )
    return word_sequence(text, filters, lower, check_split(split))



# ------------------------------------------------------------------------------------------------
# pad_sequences  (= keras.utils.pad_sequences)
# ------------------------------------------------------------------------------------------------
def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (and truncate) sequences to one length, exactly as ``keras.utils.pad_sequences``.

    Args:
        sequences: a list (or array) of sequences; each sequence is a list/array of ids or of
            samples of any fixed shape.
        maxlen: output length; None means the longest sequence.
        dtype: output dtype; values are cast with NumPy (floats truncate toward zero for ints).
        padding: ``"pre"`` or ``"post"``: where the padding goes.
        truncating: ``"pre"`` (keep the end) or ``"post"`` (keep the start).
        value: the padding value (cast to ``dtype``; a string needs a string or object dtype).

    Returns:
        Array ``(len(sequences), maxlen) + sample_shape`` of ``dtype``.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            "`sequences` must be a list (or array) of sequences. "
            f"Received: {_v._show(sequences)} of type {type(sequences).__name__}"
        )
    _v.one_of("padding", padding, ("pre", "post"))
    _v.one_of("truncating", truncating, ("pre", "post"))
    if maxlen is not None:
        if not isinstance(maxlen, numbers.Integral):
            raise TypeError(
                f"`maxlen` must be a non-negative integer or None. Received: maxlen={_v._show(maxlen)}"
            )
        maxlen = _v.non_negative_int("maxlen", maxlen)
    try:
        is_str_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
        is_object = np.dtype(dtype) == np.dtype(object)
    except TypeError:
        raise TypeError(
            f"`dtype` must be a NumPy dtype (e.g. 'int32', 'float32', object). Received: dtype={dtype!r}"
        ) from None
    if isinstance(value, str) and not (is_object or is_str_dtype):
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}. "
            "Use dtype=object (or a string dtype) for string padding values."
        )

    lengths = []
    sample_shape: tuple = ()
    found_sample = False
    for position, seq in enumerate(sequences):
        try:
            n = len(seq)
        except TypeError:
            raise ValueError(
                "`sequences` must be a list of iterables. "
                f"Found non-iterable at position {position}: {_v._show(seq)}"
            ) from None
        lengths.append(n)
        if n and not found_sample:
            sample_shape = np.asarray(seq).shape[1:]
            found_sample = True
    if maxlen is None:
        if not lengths:
            raise ValueError(
                "`maxlen` cannot be inferred from an empty `sequences`: pass `maxlen`. "
                "Received: sequences=[] and maxlen=None"
            )
        maxlen = int(max(lengths))

    try:
        out = np.full((len(lengths), maxlen) + sample_shape, value, dtype=dtype)
    except OverflowError as exc:
        raise ValueError(
            f"`value` does not fit `dtype`={dtype!r}. Received: value={value!r} ({exc})"
        ) from None
    for idx, seq in enumerate(sequences):
        if not len(seq):
            continue
        if maxlen == 0 and truncating == "pre":
            # Keras: seq[-0:] is the whole sequence, which cannot fit in 0 columns.
            raise ValueError(
                "`maxlen=0` with truncating='pre' cannot hold a non-empty sequence "
                f"(keras.utils.pad_sequences fails to broadcast too). Received: maxlen=0, "
                f"sequence {idx} of length {len(seq)}"
            )
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        try:
            kept = np.asarray(kept, dtype=dtype)
        except OverflowError as exc:
            raise ValueError(
                f"Sequence {idx} of `sequences` holds values that do not fit `dtype`={dtype!r} ({exc})"
            ) from None
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {idx} "
                f"is different from expected shape {sample_shape}"
            )
        if padding == "post":
            out[idx, : len(kept)] = kept
        else:
            out[idx, -len(kept):] = kept
    return out
