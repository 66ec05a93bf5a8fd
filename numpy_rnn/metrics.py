"""Keras's compiled metrics (``compile(metrics=[...])``), NumPy only.

As Keras 3.15 (``keras/src/metrics/``, ``trainers/compile_utils.py``): a metric is a
``MeanMetricWrapper`` -- a function giving one value per sample (per time step for a sequence
output), averaged over every sample seen since the last reset, as a ``Mean`` keeps ``total`` and
``count`` (``total / count``, both rounded in the metric dtype).  ``compile(metrics=...)``
metrics are updated without sample weights (Keras passes ``sample_weight`` only to
``weighted_metrics``); a mask on the model output weighs masked steps 0.  ``"accuracy"`` /
``"acc"`` become ``binary_accuracy`` (the output's last axis is 1), ``sparse_categorical_accuracy``
(targets of lower rank, or last axis 1 against a wider output) or ``categorical_accuracy``,
keeping the name given.  Fit reports each under its name (``val_`` prefixed for validation).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["Metric", "MeanMetricWrapper", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError", "get",
           "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
           "mean_squared_error", "mean_absolute_error"]


# -- the per-sample functions (keras/src/metrics/accuracy_metrics.py, regression_metrics.py) ----
def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    y_true, y_pred = _same_rank(y_true, y_pred)
    pred = (y_pred > threshold).astype(y_pred.dtype)
    return np.mean(np.equal(y_true.astype(y_pred.dtype), pred), axis=-1)


def categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.equal(np.argmax(y_true, axis=-1), np.argmax(y_pred, axis=-1)).astype(np.float64)


def _sparse_true(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if y_true.ndim == y_pred.ndim and y_true.ndim > 0 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    y_pred = np.asarray(y_pred)
    y_true = _sparse_true(np.asarray(y_true), y_pred)
    return np.equal(y_true.astype(np.float64),
                    np.argmax(y_pred, axis=-1).astype(np.float64)).astype(np.float64)


def _in_top_k(target: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """TensorFlow's ``in_top_k``: the target's score is beaten by fewer than ``k`` classes
    (ties at the boundary count as in); a non-finite target score is never in."""
    flat = scores.reshape(-1, scores.shape[-1])
    t = target.reshape(-1).astype(np.int64)
    own = flat[np.arange(flat.shape[0]), t]
    beaten = np.sum(flat > own[:, None], axis=-1)
    return ((beaten < k) & np.isfinite(own)).reshape(target.shape)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> np.ndarray:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k).astype(np.float64)


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> np.ndarray:
    y_pred = np.asarray(y_pred)
    y_true = _sparse_true(np.asarray(y_true), y_pred)
    return _in_top_k(y_true, y_pred, k).astype(np.float64)


def _same_rank(y_true: np.ndarray, y_pred: np.ndarray) -> tuple:
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    return y_true, y_pred


def mean_squared_error(y_true: Any, y_pred: Any) -> np.ndarray:
    y_true, y_pred = _same_rank(np.asarray(y_true), np.asarray(y_pred))
    return np.mean(np.square(y_pred - y_true.astype(y_pred.dtype)), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> np.ndarray:
    y_true, y_pred = _same_rank(np.asarray(y_true), np.asarray(y_pred))
    return np.mean(np.abs(y_pred - y_true.astype(y_pred.dtype)), axis=-1)


# -- the stateful metrics -----------------------------------------------------------------------
class Metric:
    """A running mean: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()``,
    ``reset_state()``; ``name``; ``direction`` ("up" for accuracies, "down" for errors, None
    when unknown), which callbacks with ``mode="auto"`` read, as Keras's ``_direction``."""

    direction: str | None = "up"

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string or None. Received: name={name!r}")
        self.name = name or _snake(type(self).__name__)
        self.dtype = np.dtype(dtype) if dtype is not None else None
        self.reset_state()

    def reset_state(self) -> None:
        self.total: Any = 0.0
        self.count: Any = 0.0

    def _t(self, like: np.ndarray) -> Any:
        dtype = self.dtype or (like.dtype if like.dtype in (np.float32, np.float64)
                               else np.dtype(np.float32))
        return dtype.type

    def _add(self, values: np.ndarray, weight: np.ndarray | None, like: np.ndarray) -> None:
        t = self._t(like)
        values = np.asarray(values, dtype=t)
        if weight is not None:
            w = np.broadcast_to(np.asarray(weight, dtype=t).reshape(
                weight.shape + (1,) * (values.ndim - np.ndim(weight))), values.shape)
            values = values * w
            w = w.reshape(w.shape[0], -1).mean(axis=1) if w.ndim > 1 else w
        if values.ndim > 1:
            values = values.reshape(values.shape[0], -1).mean(axis=1)
        count = np.sum(w) if weight is not None else (values.shape[0] if values.ndim else 1)
        self.total = t(t(self.total) + np.sum(values, dtype=t))
        self.count = t(t(self.count) + t(count))

    def result(self) -> float:
        return float(self.total / self.count) if self.count else 0.0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class MeanMetricWrapper(Metric):
    """``fn(y_true, y_pred, **kwargs)`` per sample, averaged (Keras's ``MeanMetricWrapper``)."""

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"`fn` must be callable. Received: fn={fn!r}")
        self._fn, self._kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", None), dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                     mask: Any = None) -> None:
        y_pred = np.asarray(y_pred)
        values = np.asarray(self._fn(y_true, y_pred, **self._kwargs))
        weight = None if sample_weight is None else np.asarray(sample_weight)
        if mask is not None:
            m = np.asarray(mask, dtype=values.dtype if values.dtype.kind == "f" else np.float64)
            if weight is not None and weight.ndim < m.ndim:
                weight = weight.reshape(weight.shape + (1,) * (m.ndim - weight.ndim))
            weight = m if weight is None else weight * m
        self._add(values, weight, y_pred)


def _wrapper(fn: Callable, default: str, direction: str, **fixed: Any) -> type:
    def __init__(self, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        options = {**fixed, **kwargs}
        MeanMetricWrapper.__init__(self, fn, name=name or default, dtype=dtype, **options)
    return type(default, (MeanMetricWrapper,), {"__init__": __init__, "direction": direction})


BinaryAccuracy = type("BinaryAccuracy", (_wrapper(binary_accuracy, "binary_accuracy", "up",
                                                  threshold=0.5),), {})
CategoricalAccuracy = type("CategoricalAccuracy",
                           (_wrapper(categorical_accuracy, "categorical_accuracy", "up"),), {})
SparseCategoricalAccuracy = type(
    "SparseCategoricalAccuracy",
    (_wrapper(sparse_categorical_accuracy, "sparse_categorical_accuracy", "up"),), {})
TopKCategoricalAccuracy = type(
    "TopKCategoricalAccuracy",
    (_wrapper(top_k_categorical_accuracy, "top_k_categorical_accuracy", "up", k=5),), {})
SparseTopKCategoricalAccuracy = type(
    "SparseTopKCategoricalAccuracy",
    (_wrapper(sparse_top_k_categorical_accuracy, "sparse_top_k_categorical_accuracy", "up",
              k=5),), {})
MeanSquaredError = type("MeanSquaredError",
                        (_wrapper(mean_squared_error, "mean_squared_error", "down"),), {})
MeanAbsoluteError = type("MeanAbsoluteError",
                         (_wrapper(mean_absolute_error, "mean_absolute_error", "down"),), {})

_BY_NAME: dict[str, type] = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_FUNCTIONS = {binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
              top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
              mean_squared_error, mean_absolute_error}


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return out


def get(identifier: Any, y_true: np.ndarray | None = None,
        y_pred: np.ndarray | None = None) -> Metric:
    """A fresh metric from a Keras name, a ``Metric`` instance (used as is) or a function
    ``fn(y_true, y_pred)``; ``"accuracy"`` / ``"acc"`` are resolved from the shapes of
    ``y_true`` and ``y_pred`` as Keras's ``get_metric`` does.  The metric keeps the name given."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            if y_true is None or y_pred is None:
                raise ValueError("`accuracy` needs the targets and the output to pick Keras's "
                                 "binary / sparse / categorical accuracy.")
            is_binary = y_pred.shape[-1] == 1
            is_sparse = y_true.ndim < y_pred.ndim or (y_true.shape[-1] == 1
                                                      and y_pred.shape[-1] > 1)
            cls = (BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse
                   else CategoricalAccuracy)
            return cls(name=identifier)
        if identifier not in _BY_NAME:
            raise ValueError(f"Could not interpret metric identifier: {identifier}. Expected one "
                             f"of {['accuracy', 'acc', *sorted(_BY_NAME)]}.")
        return _BY_NAME[identifier](name=identifier)
    if callable(identifier):
        metric = MeanMetricWrapper(identifier)
        # Keras knows the direction of its own functions only (a loss: "down"); a callback with
        # mode="auto" on any other function's metric refuses to guess, as Keras does
        metric.direction = (("down" if identifier.__name__.startswith("mean_") else "up")
                            if identifier in _FUNCTIONS else None)
        return metric
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}. Expected a metric "
                     f"name (e.g. \"accuracy\"), a numpy_rnn.metrics.Metric or a function.")
