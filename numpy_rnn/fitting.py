"""The ``fit`` / ``evaluate`` / ``train_on_batch`` loops of :class:`numpy_rnn.Sequential` and the
functional :class:`numpy_rnn.Model`, around ``numpy_rnn.training``'s steps, as Keras 3.15's
``trainers/trainer.py`` and ``backend/tensorflow/trainer.py`` run them:

* ``verbose="auto"`` is 1 (Keras's ``ProgbarLogger``): a bar redrawn per batch on a terminal,
  the final line of each epoch elsewhere.
* Compiled metrics (``numpy_rnn.metrics``) are updated after each step from that step's
  output (the training forward, before the update), without sample weights; a repeated name
  gets ``_1``, ``_2``..., as Keras's ``CompileMetrics.result`` names them.
* ``validation_split`` keeps the first ``floor(n * (1 - split))`` samples for training and
  validates on the rest (``sample_weight`` split alike), before any shuffling
  (``train_validation_split``); ``validation_data`` may carry a third item, its sample weights.
* ``class_weight`` becomes per-sample weights (``class_weight_to_sample_weights``); it cannot
  be combined with ``sample_weight`` and applies to the training data only.
* Callbacks (``numpy_rnn.callbacks``) are called as Keras's ``CallbackList``: the user's in
  order, then the ``History``; ``model.stop_training`` ends the epoch after the current batch
  and the fit after ``on_epoch_end``.  Epochs run from ``initial_epoch`` to ``epochs - 1``.
* ``evaluate(return_dict=True)`` returns ``{"loss": ..., <metric>: ...}``; without it a float
  when there is one value, else ``[loss, per-output losses..., metrics...]``.
"""
from __future__ import annotations

import math
import sys
from typing import Any, TextIO

import numpy as np

from . import _validation as v
from . import metrics as _metrics
from .callbacks import CallbackList, History
from .progress import ProgressBar
from ._validation import require_finite, require_finite_all as _require_finite_all
from . import training as _train
from .graph import steps as _graph_steps
from .training import LossTracker, _compiled, _data, _loss_dtype

__all__ = ["fit", "evaluate", "train_on_batch", "check_metrics", "build_metrics",
           "class_weight_to_sample_weights"]


# -- loops --------------------------------------------------------------------------------------
def _verbosity(verbose: Any, stream: TextIO) -> int:
    """Keras's rule: ``"auto"`` is 1 (a bar redrawn on a terminal; elsewhere the final line of
    each epoch only, as Keras's progress bar writes it to a stream that is not a terminal)."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_)) or verbose not in (0, 1, 2):
        raise ValueError(f'`verbose` must be "auto", 0, 1 or 2. Received: verbose={verbose!r}')
    return int(verbose)


def _is_graph(model: Any) -> bool:
    return hasattr(model, "_graph_train_step")


def _prepare(model: Any, x: Any, y: Any, xname: str = "x", yname: str = "y") -> tuple:
    """``(xs, ys, n)``: one array per model input and per output (None: no loss), n rows."""
    if _is_graph(model):
        xs, ys = model._graph_data(x, y, xname, yname)
    else:
        xa, ya = _data(model, x, y, xname, yname)
        xs, ys = [xa], [ya]
    return xs, ys, xs[0].shape[0]


def _rows(arrays: list, index: Any) -> list:
    return [None if a is None else a[index] for a in arrays]


def _sw_rows(sample_weight: Any, index: Any) -> Any:
    """The rows ``index`` of a sample weight (an array, or a list / dict of them)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, dict):
        return {k: None if w is None else w[index] for k, w in sample_weight.items()}
    if isinstance(sample_weight, list):
        return [None if w is None else w[index] for w in sample_weight]
    return sample_weight[index]


def _sample_weight(sample_weight: Any, n: int, name: str = "sample_weight") -> Any:
    """Arrays of ``n`` rows (one, or a list / dict of them for a functional model)."""
    if sample_weight is None:
        return None

    def one(w: Any, label: str) -> Any:
        if w is None:
            return None
        a = v.numeric_array(label, w)
        if a.ndim < 1 or a.shape[0] != n:
            raise ValueError(f"`{label}` must have one entry per sample ({n}). Received: "
                             f"{label} with shape {a.shape}")
        require_finite(label, a)
        return a
    if isinstance(sample_weight, dict):
        return {k: one(w, f"{name}[{k!r}]") for k, w in sample_weight.items()}
    if isinstance(sample_weight, (list, tuple)):
        return [one(w, f"{name}[{i}]") for i, w in enumerate(sample_weight)]
    return one(sample_weight, name)


def class_weight_to_sample_weights(y: np.ndarray, class_weight: dict,
                                   dtype: Any = "float32") -> np.ndarray:
    """Keras's rule: each sample weighs ``class_weight[class]`` (1 for a class not listed); the
    class is the argmax of a one-hot target, else the rounded (squeezed) label.  The weights
    are held in ``dtype`` (Keras: ``floatx``; ``fit`` passes the loss dtype, Keras's default
    loss dtype being floatx), so a weight like 0.1 is rounded as Keras rounds it."""
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels).astype(np.int32)
    if labels.ndim > 1:
        raise ValueError("`class_weight` needs one class per sample (targets of shape (batch,), "
                         f"(batch, 1) or one-hot (batch, classes)). Received: y with shape "
                         f"{np.shape(y)}")
    return np.array([class_weight.get(int(c), 1.0) for c in labels], dtype=dtype)


def _step(model: Any, xs: list, ys: list, train: bool, sample_weight: Any = None) -> tuple:
    """``(total loss, [loss per output])`` of one batch (the list empty for one loss)."""
    if _is_graph(model):
        return (model._graph_train_step(xs, ys, sample_weight) if train
                else model._graph_eval_step(xs, ys, sample_weight))
    if train:
        return _train.train_step(model, xs[0], ys[0], sample_weight), []
    return _train.eval_step(model, xs[0], ys[0], sample_weight), []


def _metric_output(model: Any) -> int:
    """The index of the output the compiled metrics follow (the one output with a loss)."""
    losses = model.loss if isinstance(model.loss, list) else [model.loss]
    return next(i for i, loss in enumerate(losses) if loss is not None)


def build_metrics(model: Any, ys: list, preds: list) -> list:
    """``model.compiled_metrics`` from ``compile(metrics=..., weighted_metrics=...)``, resolved
    on the first batch (``"accuracy"`` needs the shapes, as Keras's ``CompileMetrics.build``);
    the weighted ones (given the batch's sample weights) come last, marked ``_weighted``."""
    if getattr(model, "compiled_metrics", None) is None:
        i = _metric_output(model)
        plain = [_metrics.get(m, ys[i], np.asarray(preds[i]))
                 for m in getattr(model, "_metric_specs", None) or []]
        weighted = [_metrics.get(m, ys[i], np.asarray(preds[i]))
                    for m in getattr(model, "_weighted_specs", None) or []]
        for m in plain:
            m._weighted = False
        for m in weighted:
            m._weighted = True
        model.compiled_metrics = plain + weighted
    return model.compiled_metrics


def _metric_weight(model: Any, sample_weight: Any, i: int) -> Any:
    """Output ``i``'s sample weights out of an array, a list or a dict of them."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, dict):
        return _graph_steps._sample_weights(model, sample_weight)[i]
    if isinstance(sample_weight, (list, tuple)):
        return sample_weight[i]
    return sample_weight


def check_metrics(losses: Any, metrics: Any, what: str = "metrics") -> list:
    """``compile``'s ``metrics``: None or a list of names / Metric instances / functions, each
    resolvable (``"accuracy"`` waits for the data); for a model with one output with a loss."""
    if metrics is None:
        return []
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(f"Type of `{what}` argument not understood. Expected a list or "
                        f"dictionary, found: {type(metrics).__name__}")
    losses = losses if isinstance(losses, list) else [losses]
    if metrics and sum(loss is not None for loss in losses) != 1:
        raise ValueError(f"`{what}` are supported for a model with exactly one output with a "
                         "loss (per-output metrics are not implemented yet). Received: "
                         f"{what}={metrics!r} for {sum(loss is not None for loss in losses)} "
                         "losses")
    for m in metrics:
        if not (isinstance(m, str) and m.lower() in ("accuracy", "acc")):
            _metrics.get(m)  # raises for an unknown name
    return list(metrics)


class _Trackers:
    """``"loss"``, for a model with several losses one tracker per output loss, then the
    compiled metrics."""

    def __init__(self, model: Any) -> None:
        self.model = model
        if _is_graph(model):
            self.names = ["loss"] + model._graph_loss_names()
            dtype = model._graph_loss_dtype()
        else:
            self.names, dtype = ["loss"], _loss_dtype(model.loss)
        self.trackers = [LossTracker(dtype) for _ in self.names]
        self.metrics: list = []

    def reset(self) -> None:
        for t in self.trackers:
            t.reset()
        for m in self.metrics:
            m.reset_state()

    def update(self, result: tuple, rows: int, ys: list | None = None,
               sample_weight: Any = None) -> None:
        total, per_output = result
        for t, value in zip(self.trackers, [total] + list(per_output)):
            t.update(value, rows)
        if ys is not None and (getattr(self.model, "_metric_specs", None)
                               or getattr(self.model, "_weighted_specs", None)):
            preds, masks = self.model._last_outputs
            if not self.metrics:
                self.metrics = build_metrics(self.model, ys, preds)
                for m in self.metrics:  # shared with other loops: start from zero here
                    m.reset_state()
            i = _metric_output(self.model)
            weight = _metric_weight(self.model, sample_weight, i)
            for m in self.metrics:
                m.update_state(ys[i], preds[i], sample_weight=weight if m._weighted else None,
                               mask=masks[i])

    def logs(self, prefix: str = "") -> dict[str, float]:
        out = {prefix + n: t.result() for n, t in zip(self.names, self.trackers)}
        seen: dict[str, int] = {}
        for m in self.metrics:  # Keras's CompileMetrics.result names
            name = m.name
            if name not in seen:
                seen[name] = 1
            else:  # a repeat: _1, _2...; a weighted repeat weighted_<name> first
                if m._weighted:
                    name = f"weighted_{m.name}"
                if name not in seen:
                    seen[name] = 1
                else:
                    seen[name] += 1
                    name = f"{name}_{seen[name] - 1}"
            out[prefix + name] = m.result()
        return out

    def value(self) -> Any:
        """A float for one value, else ``[loss, per output..., metrics...]`` (Keras's order)."""
        results = list(self.logs().values())
        return results[0] if len(results) == 1 else results


def train_on_batch(model: Any, x: Any, y: Any, sample_weight: Any = None,
                   return_dict: bool = False) -> Any:
    """One optimizer step on ``(x, y)``: the loss(es) before the update, and the compiled
    metrics on this batch (reset first, as Keras's ``train_on_batch``), in Keras's forms: a float
    for one value, else ``[loss, per output..., metrics...]``; a dict with ``return_dict``."""
    _compiled(model, "train_on_batch")
    return_dict = v.boolean("return_dict", return_dict)
    xs, ys, n = _prepare(model, x, y)
    _require_finite_all("x", xs)
    _require_finite_all("y", ys)
    require_finite("sample_weight", sample_weight)
    trackers = _Trackers(model)
    trackers.reset()
    trackers.update(_step(model, xs, ys, True, sample_weight), n, ys, sample_weight)
    return trackers.logs() if return_dict else trackers.value()


def evaluate(model: Any, x: Any, y: Any, batch_size: int = 32, verbose: Any = "auto",
             sample_weight: Any = None, return_dict: bool = False,
             stream: TextIO | None = None) -> Any:
    """The loss (and compiled metrics) over ``(x, y)`` in batches: each the mean over the
    samples weighted by batch size (Keras's ``Mean``); a float when there is one value, else
    ``[loss, per output..., metrics...]``, or a dict by name with ``return_dict=True``."""
    return_dict = v.boolean("return_dict", return_dict)
    trackers = _evaluate(model, x, y, batch_size, verbose, stream, sample_weight)
    return trackers.logs() if return_dict else trackers.value()


def _evaluate(model: Any, x: Any, y: Any, batch_size: int, verbose: Any,
              stream: TextIO | None, sample_weight: Any = None) -> _Trackers:
    _compiled(model, "evaluate")
    batch_size = v.positive_int("batch_size", batch_size)
    stream = stream if stream is not None else sys.stdout
    verbose = _verbosity(verbose, stream)
    xs, ys, n = _prepare(model, x, y)
    return _evaluate_arrays(model, xs, ys, n, batch_size, verbose, stream,
                            _sample_weight(sample_weight, n))


def _evaluate_arrays(model: Any, xs: list, ys: list, n: int, batch_size: int, verbose: int,
                     stream: TextIO, sample_weight: Any) -> _Trackers:
    steps = math.ceil(n / batch_size)
    trackers, bar = _Trackers(model), ProgressBar(steps, verbose, stream)
    trackers.reset()
    for step, start in enumerate(range(0, n, batch_size)):
        rows = slice(start, start + batch_size)
        xb, yb = _rows(xs, rows), _rows(ys, rows)
        sw = _sw_rows(sample_weight, rows)
        trackers.update(_step(model, xb, yb, False, sw), xb[0].shape[0], yb, sw)
        bar.update(step + 1, trackers.logs(), finalize=step + 1 == steps)
    return trackers


def _split(arrays: list, split: float, n: int) -> tuple[list, list]:
    """Keras's ``train_validation_split``: the last ``split`` of the samples validate."""
    at = int(math.floor(n * (1.0 - split)))
    if at == 0 or at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split "
                         "it into a validation and training set as specified by "
                         f"`validation_split={split}`. Either provide more data, or a different "
                         "value for the `validation_split` argument.")
    return _rows(arrays, slice(0, at)), _rows(arrays, slice(at, n))


def _fit_weights(model: Any, ys: list, n: int, sample_weight: Any, class_weight: Any) -> Any:
    sample_weight = _sample_weight(sample_weight, n)
    if class_weight is None:
        return sample_weight
    if sample_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    if not isinstance(class_weight, dict):
        raise ValueError("Expected `class_weight` to be a dict with keys from 0 to one less "
                         f"than the number of classes, found {class_weight!r}")
    active = [y for y in ys if y is not None]
    if len(ys) > 1:
        raise ValueError("`class_weight` is only supported for Models with a single output.")
    dtype = model._graph_loss_dtype() if _is_graph(model) else _loss_dtype(model.loss)
    return class_weight_to_sample_weights(active[0], class_weight, dtype)


def fit(model: Any, x: Any, y: Any, batch_size: int = 32, epochs: int = 1, shuffle: bool = True,
        verbose: Any = "auto", validation_data: Any = None, seed: int | None = None,
        stream: TextIO | None = None, validation_split: float = 0.0, sample_weight: Any = None,
        class_weight: Any = None, callbacks: Any = None, initial_epoch: int = 0) -> History:
    """``epochs`` passes over ``(x, y)`` in batches of ``batch_size`` (module docstring); the
    epochs ``initial_epoch`` .. ``epochs - 1``; ``callbacks`` as Keras calls them."""
    _compiled(model, "fit")
    batch_size = v.positive_int("batch_size", batch_size)
    epochs = v.non_negative_int("epochs", epochs)
    initial_epoch = v.non_negative_int("initial_epoch", initial_epoch)
    shuffle = v.boolean("shuffle", shuffle)
    seed = v.seed("seed", seed)
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 <= validation_split < 1:
        raise ValueError("`validation_split` must be a float in [0, 1). Received: "
                         f"validation_split={validation_split!r}")
    stream = stream if stream is not None else sys.stdout
    verbose = _verbosity(verbose, stream)
    xs, ys, n = _prepare(model, x, y)
    _require_finite_all("x", xs)
    _require_finite_all("y", ys)
    sample_weight = _sample_weight(sample_weight, n)
    val = None
    if validation_split and validation_data is None:
        (xs, val_xs), (ys, val_ys) = _split(xs, validation_split, n), _split(ys, validation_split, n)
        val_sw = None
        if sample_weight is not None:
            at = xs[0].shape[0]
            val_sw = _sw_rows(sample_weight, slice(at, n))
            sample_weight = _sw_rows(sample_weight, slice(0, at))
        n = xs[0].shape[0]
        val = (val_xs, val_ys, val_sw)
    elif validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"val_sample_weight). Received: {type(validation_data).__name__}"
                             + (f" of length {len(validation_data)}"
                                if isinstance(validation_data, (tuple, list)) else ""))
        vxs, vys, vn = _prepare(model, validation_data[0], validation_data[1], "x_val", "y_val")
        _require_finite_all("validation_data[0]", vxs)
        _require_finite_all("validation_data[1]", vys)
        vsw = (_sample_weight(validation_data[2], vn, "val_sample_weight")
               if len(validation_data) == 3 else None)
        val = (vxs, vys, vsw)
    sample_weight = _fit_weights(model, ys, n, sample_weight, class_weight)
    steps = math.ceil(n / batch_size)
    rng = np.random.default_rng(seed)
    params = {"verbose": verbose, "epochs": epochs, "steps": steps}
    hooks = CallbackList(callbacks, model, params)
    given = [c for c in hooks.callbacks if isinstance(c, History)]
    history = given[0] if given else History()  # Keras's CallbackList: a History last
    if not given:
        hooks.callbacks.append(history)
    history.set_model(model)
    history.set_params(params)
    model.stop_training = False
    model.history = history
    trackers = _Trackers(model)
    hooks.on_train_begin()
    training_logs = None
    for epoch in range(initial_epoch, epochs):
        trackers.reset()
        hooks.on_epoch_begin(epoch)
        if verbose and epochs > 1:
            stream.write(f"Epoch {epoch + 1}/{epochs}\n")
        bar = ProgressBar(steps, verbose, stream)
        order = rng.permutation(n) if shuffle else None
        logs: dict = {}
        for step, start in enumerate(range(0, n, batch_size)):
            rows: Any = slice(start, start + batch_size) if order is None \
                else order[start:start + batch_size]
            xb, yb = _rows(xs, rows), _rows(ys, rows)
            hooks.on_train_batch_begin(step)
            sw = _sw_rows(sample_weight, rows)
            trackers.update(_step(model, xb, yb, True, sw), xb[0].shape[0], yb, sw)
            logs = trackers.logs()
            if step + 1 < steps:
                bar.update(step + 1, logs)
            hooks.on_train_batch_end(step, dict(logs))
            if model.stop_training:
                break
        epoch_logs = trackers.logs()
        if val is not None:
            vxs, vys, vsw = val
            val_trackers = _evaluate_arrays(model, vxs, vys, vxs[0].shape[0], batch_size, 0,
                                            stream, vsw)
            epoch_logs.update(val_trackers.logs("val_"))
        hooks.on_epoch_end(epoch, epoch_logs)
        bar.update(steps, epoch_logs, finalize=True)
        training_logs = epoch_logs
        if model.stop_training:
            break
    hooks.on_train_end(training_logs)
    return history
