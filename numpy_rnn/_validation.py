"""Argument checks shared by every module, raising errors in Keras's voice.

Every message names the argument, what was expected and what was received, e.g.
"`units` must be a positive integer. Received: units=0".
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def positive_int(name: str, value: Any, *, allow_none: bool = False) -> int | None:
    """Return ``value`` as an int, or raise if it is not an integer >= 1."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        kind = "a positive integer" + (" or None" if allow_none else "")
        raise ValueError(f"`{name}` must be {kind}. Received: {name}={_show(value)}")
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={_show(value)}")
    return int(value)


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool (True or False). Received: {name}={_show(value)}")
    return bool(value)


def one_of(name: str, value: Any, choices) -> Any:
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {sorted(map(repr, choices))}. Received: {name}={_show(value)}"
        )
    return value


def float_dtype(name: str, value: Any) -> np.dtype:
    """Accept float32 / float64 in any spelling Keras accepts ("float32", np.float32, ...)."""
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt not in (np.dtype("float32"), np.dtype("float64")):
        raise ValueError(
            f"`{name}` must be 'float32' or 'float64'. Received: {name}={_show(value)}"
        )
    return dt


def seed(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be None or a non-negative integer. Received: {name}={_show(value)}")
    return int(value)


def numeric_array(name: str, value: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """Convert ``value`` to a real numeric ndarray; raise TypeError for strings/objects/complex."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(
            f"`{name}` must be a rectangular numeric array. Received: {_show(value)} ({exc})"
        ) from None
    if arr.dtype == object:
        raise TypeError(f"`{name}` must be a numeric array. Received: an array of Python objects")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.issubdtype(
        arr.dtype, np.complexfloating
    ):
        raise TypeError(
            f"`{name}` must be a real numeric array. Received: array with dtype {arr.dtype}"
        )
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr


def rank(name: str, arr: np.ndarray, expected: int, layout: str) -> np.ndarray:
    if arr.ndim != expected:
        raise ValueError(
            f"`{name}` must be a {expected}-D array of shape {layout}. "
            f"Received: {name} with shape {arr.shape}"
        )
    return arr
