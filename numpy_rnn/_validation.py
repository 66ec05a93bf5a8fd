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


def require_finite(name: str, arr: Any) -> None:
    """The one NaN policy of training: ``fit`` / ``train_on_batch`` refuse non-finite inputs,
    targets and sample weights before any update, with a ValueError naming the argument and
    the first bad element (Keras trains on and silently spreads NaN into every weight with
    Adam or SGD; numpy_rnn's RMSprop on sparse gradients failed with an IndexError).
    Integer and boolean arrays are always finite."""
    if arr is None:
        return
    if isinstance(arr, dict):  # by output name
        for key, value in arr.items():
            require_finite(f"{name}[{key!r}]", value)
        return
    if isinstance(arr, (list, tuple)) and any(isinstance(a, (np.ndarray, list, tuple))
                                              for a in arr):
        for i, value in enumerate(arr):  # one array per output
            require_finite(f"{name}[{i}]", value)
        return
    a = np.asarray(arr)
    if a.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{name}` must be finite to train on: it holds {int(bad.sum())} NaN or infinite "
            f"value(s), the first at index {list(where)} ({a[where]!r}). Nothing was updated; "
            "drop or fill those samples first.")


def require_finite_all(name: str, arrays: list) -> None:
    """``require_finite`` for each array of a model's inputs or outputs (``x[1]``...)."""
    for i, arr in enumerate(arrays):
        require_finite(name if len(arrays) == 1 else f"{name}[{i}]", arr)


def cast_model_input(model_name: str, inputs: Any, dtype: Any, what: str = "inputs") -> np.ndarray:
    """``inputs`` as an array of ``dtype`` (unchanged when ``dtype`` is None), as Keras converts
    a model input to its ``keras.Input`` dtype: float ids for an integer input are truncated
    toward zero (and must be finite and fit the dtype)."""
    arr = numeric_array(what, inputs)
    if dtype is None:
        return arr
    dt = np.dtype(dtype)
    if dt.kind in "iu" and arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"`{what}` of model '{model_name}' (input dtype {dt.name}) must "
                             "be finite. Received: an array holding NaN or infinity")
        arr = np.trunc(arr)
        info = np.iinfo(dt)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise ValueError(f"`{what}` of model '{model_name}' must fit its input dtype "
                             f"{dt.name}. Received: values in [{arr.min()}, {arr.max()}]")
    return arr.astype(dt, copy=False)
