"""The string side of ``TextVectorization`` (``numpy_rnn.text.vectorization``): the special
tokens, Keras's standardize / split tables, string inputs checked into object arrays, n-grams, the
vocabulary file reader and two small list helpers.  No state: plain functions and constants."""
from __future__ import annotations

import collections
import os
import re
import string
from typing import Any

import numpy as np

from .. import _validation as _v

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

def _listed(value: Any) -> Any:
    """Arrays as lists, for a JSON config (Keras's ``listify_tensors``)."""
    return value.tolist() if isinstance(value, np.ndarray) else value


def _nest(rows: list, shape: tuple[int, ...]) -> list:
    """Nest a flat C-order list into lists of ``shape``."""
    if len(shape) <= 1:
        return list(rows)
    step = len(rows) // shape[0] if shape[0] else 0
    return [_nest(rows[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]
