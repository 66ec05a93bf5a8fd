"""``compare_training``: ``train_on_batch`` steps of a numpy_rnn model against Keras's own.

How the two runs are made alike:

* **Compile.**  The NumPy model must be compiled (it says what to run); the Keras model is then
  compiled here with the optimizer and the loss of the same classes and hyper-parameters, read
  from the NumPy model's ``get_config()`` -- a fresh optimizer on both sides (the NumPy optimizer
  must not have taken a step yet).  A Keras model that is already compiled must agree (same
  optimizer class and hyper-parameters, same loss class and ``from_logits``) or a ValueError lists
  the differences; it is recompiled all the same, so both optimizers start empty.
* **Learning rate.**  numpy_rnn rounds a float learning rate through float32, as Keras's float32
  learning-rate variable does; Keras is given that rounded value, so the two agree under a
  float64 floatx too.  A learning-rate schedule (a callable) is refused.
* **Weights.**  The NumPy model's weights are copied into the Keras model first; both models are
  trained in place (after the call each holds its weights after the last step).
* **Batches.**  Step ``k`` trains both on rows ``[k*b, (k+1)*b)`` of ``x`` / ``y`` (wrapping
  round; ``batch_size=None``: all of them every step), in order, never shuffled.
* **dtype.**  A float64 model runs Keras under ``keras.config.floatx() == "float64"`` (restored
  afterwards), so its loss tracker and learning rate are float64 as numpy_rnn's are, and the
  ``steps`` run as one trajectory: weights are compared after each step with what Keras has
  after the same number of steps.  A float32 model is compared one step at a time: before each
  step the Keras model gets the NumPy model's weights again, so every step starts from the same
  point (adaptive optimizers turn float32 rounding in a near-zero gradient into a visible step,
  and a float32 trajectory drifts apart for that reason alone; spec/keras-training.md section 3).

* **Vanishing gradients.**  A weight whose gradient its layer declares zero in exact
  arithmetic (``vanishing_gradients``, e.g. MultiHeadAttention's key bias) is moved by each
  side's optimizer from its own rounding noise (Adam: ``lr * noise / (|noise| + epsilon)``);
  its row's scale is its reference weight's change (:func:`vanishing_references`).

Rows: ``step k loss`` (the loss ``train_on_batch`` returned), ``step k <metric>`` for each
metric the numpy model was compiled with (Keras is compiled with the same names / classes), and ``step k <layer>/<weight>`` for
every weight, each with the ``"training"`` tolerance of ``numpy_rnn.testing.TABLE``: the weight's
error as a fraction of its largest change (since the start in float64, over the step in float32),
plus a few units in the last place of the weight itself (``rtol``).
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

import numpy_rnn
from numpy_rnn import losses

from ..report import OutputDiff, ParityReport, diff_arrays, notify
from . import backend, deviations
from .grad import is_model, keras_loss, pair_layers

__all__ = ["compare_training", "keras_optimizer", "floatx", "vanishing_references", "weight_rows"]


@contextlib.contextmanager
def floatx(dtype: str) -> Iterator[None]:
    """Keras's floatx set to ``dtype`` inside, restored afterwards -- and Keras's global dtype
    policy restored too: Keras derives that policy from floatx the first time a layer needs it
    (again after ``clear_session``), so a first layer built inside would otherwise leave every
    later layer of the process in ``dtype`` (measured: a Bidirectional wrapper then computed in
    float64 in another test).  Read here first, the policy is the one outside the block."""
    keras = backend.require()
    old, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(old)
        keras.config.set_dtype_policy(old_policy)


def _learning_rate(optimizer: Any) -> float:
    config = optimizer.get_config()
    lr = config["learning_rate"]
    if callable(lr):
        raise ValueError("compare_training: the numpy optimizer has a learning-rate schedule; "
                         "compare_training supports a constant learning rate")
    # What numpy_rnn applies: Keras holds the rate in a variable of the floatx current when the
    # optimizer is made; given as this exact float, Keras applies the same value either way.
    return float(np.dtype(config.get("floatx", "float32")).type(lr))


def keras_optimizer(optimizer: Any) -> Any:
    """A fresh Keras optimizer of the same class and hyper-parameters as a numpy_rnn one."""
    keras = backend.require()
    cls = getattr(keras.optimizers, type(optimizer).__name__, None)
    if cls is None:
        raise ValueError(f"compare_training: Keras has no optimizer {type(optimizer).__name__!r}")
    config = {k: v for k, v in optimizer.get_config().items() if k not in ("name", "floatx")}
    config["learning_rate"] = _learning_rate(optimizer)
    return cls(**config)


def _differences(np_model: Any, keras_model: Any) -> list[str]:
    """How an already compiled Keras model's optimizer and loss differ from the numpy model's."""
    out = []
    n_opt, k_opt = np_model.optimizer, keras_model.optimizer
    if type(k_opt).__name__ != type(n_opt).__name__:
        out.append(f"optimizer {type(k_opt).__name__} in keras, {type(n_opt).__name__} in numpy")
    else:
        k_cfg = k_opt.get_config()
        for key, value in n_opt.get_config().items():
            if key == "name" or key not in k_cfg:
                continue
            theirs = k_cfg[key]
            if key == "learning_rate":
                value, theirs = _learning_rate(n_opt), float(np.float32(theirs))
            if value != theirs:
                out.append(f"optimizer {key}={theirs!r} in keras, {value!r} in numpy")
    k_loss = keras_model.loss
    if k_loss is not None:
        n_loss = np_model.loss
        if isinstance(k_loss, str):  # Keras's names are numpy_rnn.losses's names
            k_name, k_logits = type(losses.get(k_loss)).__name__, False
        else:
            k_name = type(k_loss).__name__
            k_logits = bool(getattr(k_loss, "get_config", dict)().get("from_logits", False))
        if k_name != type(n_loss).__name__:
            out.append(f"loss {k_name} in keras, {type(n_loss).__name__} in numpy")
        elif k_logits != bool(n_loss.get_config().get("from_logits", False)):
            out.append(f"loss from_logits={k_logits} in keras, {not k_logits} in numpy")
    return out


def _check(np_model: Any, keras_model: Any, steps: Any, batch_size: Any) -> None:
    if not isinstance(np_model, (numpy_rnn.Sequential, numpy_rnn.Model)) or \
            not is_model(keras_model):
        raise TypeError("compare_training: expected a numpy_rnn.Sequential and a Keras model "
                        "(or a numpy_rnn.Model and a functional Keras model). "
                        f"Received: np_model={type(np_model).__name__}, "
                        f"keras_model={type(keras_model).__name__}")
    if not getattr(np_model, "compiled", False):
        raise RuntimeError("compare_training: you must call `compile()` on the numpy model "
                           "first; its optimizer and loss are what both models train with.")
    if np_model.loss is None or (isinstance(np_model.loss, list) and all(
            loss is None for loss in np_model.loss)):
        raise ValueError("compare_training: the numpy model was compiled without a loss")
    if getattr(np_model.optimizer, "iterations", 0):
        raise ValueError(f"compare_training: the numpy optimizer has already taken "
                         f"{np_model.optimizer.iterations} step(s); compile the model again so "
                         "both optimizers start empty")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if value is None and name == "batch_size":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"compare_training: `{name}` must be a positive integer. "
                             f"Received: {name}={value!r}")


def keras_metrics(specs: Any) -> list | None:
    """The Keras twins of a numpy_rnn model's ``compile(metrics=...)``: names as they are, a
    ``numpy_rnn.metrics`` object as the Keras class of the same name, same name and options."""
    if not specs:
        return None
    import keras

    out = []
    for m in specs:
        if isinstance(m, tuple):  # compile's (output index, metric) pairs; None: the one output
            m = m[1]
        if isinstance(m, str):
            out.append(m)
        else:
            cls = getattr(keras.metrics, type(m).__name__, None)
            if cls is None or type(m).__name__ == "MeanMetricWrapper":
                raise ValueError(f"compare_training: the metric {m!r} has no Keras class of the "
                                 "same name; compare it by name or with a numpy_rnn.metrics "
                                 "class")
            out.append(cls(name=m.name, **getattr(m, "_kwargs", {})))
    return out


def verdict_row(name: str, ok: bool, note: str) -> Any:
    """A yes/no row (max|err| 0 when ``ok``, else 1, at an exact tolerance)."""
    err = 0.0 if ok else 1.0
    return OutputDiff(name=name, shape=(), dtype="int", max_abs_err=err, max_rel_err=err,
                      max_ulp=err, worst_index=(), actual_at_worst=err, expected_at_worst=0.0,
                      rtol=0.0, atol=0.0, passed=bool(ok), n_bad=0 if ok else 1, note=note)


def vanishing_references(np_model: Any) -> dict[int, int]:
    """``{index of a weight: index of its reference}`` in ``get_weights()`` order, for the
    weights whose gradient a layer declares zero in exact arithmetic (``vanishing_gradients``,
    e.g. MultiHeadAttention's key bias -> its key kernel).  Such a weight moves by its
    optimizer's answer to rounding noise (Adam: ``lr * noise / (|noise| + epsilon)``), on each
    side its own; its error is then measured on the reference weight's change, as
    ``compare_gradients`` measures the gradient on the reference's scale."""
    layers = np_model._weight_layers() if isinstance(np_model, numpy_rnn.Model) \
        else np_model.layers
    out, offset = {}, 0
    for layer in layers:
        names = list(layer.weight_names())
        for name, reference in getattr(layer, "vanishing_gradients", {}).items():
            if name in names and reference in names:
                out[offset + names.index(name)] = offset + names.index(reference)
        offset += len(names)
    return out


def weight_rows(k: int, names: list, actual: list, expected: list, start: list,
                 vanishing: dict[int, int]) -> list:
    """``step k <weight>`` rows: each weight's error as a fraction of its change since
    ``start`` (of its reference's change for a ``vanishing`` one)."""
    expected = [np.asarray(e) for e in expected]
    changes = [float(np.max(np.abs(e.astype(np.float64) - s))) if e.size else 0.0
               for e, s in zip(expected, start)]
    rows = []
    for i, (name, a, e) in enumerate(zip(names, actual, expected)):
        ref = vanishing.get(i)
        row = diff_arrays(f"step {k} {name}", a, e, kind="training",
                          scale=changes[i] if ref is None else max(changes[i], changes[ref]))
        if ref is not None:
            row.note = (row.note + "; " if row.note else "") + (
                f"gradient zero in exact arithmetic: atol is a fraction of {names[ref]}'s "
                "change (see vanishing_gradients)")
        rows.append(row)
    return rows


def compare_training(np_model: Any, keras_model: Any, x: Any, y: Any, *, steps: int = 5,
                     batch_size: int | None = None, case: str | None = None) -> ParityReport:
    """``steps`` calls of ``train_on_batch`` on both models; the loss and every weight after each.

    Args:
        np_model: a compiled ``numpy_rnn.Sequential``.
        keras_model: its Keras twin (same layers; its weights are overwritten by the numpy
            model's, and it is compiled like the numpy model, see the module docstring).
        x, y: the data; step ``k`` uses rows ``[k*batch_size, (k+1)*batch_size)`` (wrapping).
        steps, batch_size: how many steps, and rows per step (None: all rows each step).

    Returns:
        A :class:`ParityReport` with ``step k loss`` and ``step k <layer>/<weight>`` rows.

    Raises:
        TypeError: not a numpy_rnn.Sequential and a Keras model.
        RuntimeError: the numpy model is not compiled.
        ValueError: different layers or weight shapes, dropout, an optimizer that already took a
            step, a Keras compile that differs, a learning-rate schedule, bad ``steps`` /
            ``batch_size``, or ``x`` and ``y`` of different lengths.
    """
    if backend.current() == "numpy":
        raise backend.NoAutodiff("Keras's 'numpy' backend cannot train (it has no automatic "
                                 "differentiation): compare_training needs TensorFlow, JAX or "
                                 "PyTorch")
    _check(np_model, keras_model, steps, batch_size)
    _, pairs, names = pair_layers(np_model, keras_model, "compare_training")
    if isinstance(np_model, numpy_rnn.Model):
        return _compare_graph_training(np_model, keras_model, x, y, names, steps, batch_size,
                                       case)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"compare_training: `x` and `y` must have the same number of rows (at "
                         f"least 1). Received: x with shape {x.shape}, y with shape {y.shape}")
    if getattr(keras_model, "compiled", False) and getattr(keras_model, "optimizer", None):
        diffs = _differences(np_model, keras_model)
        if diffs:
            raise ValueError("compare_training: the Keras model is compiled differently from "
                             "the numpy model: " + "; ".join(diffs))
    dtype = np.dtype(np_model.layers[-1].dtype)
    case = case or f"training {np_model.name} vs {keras_model.name} ({steps} steps, {dtype.name})"
    vanishing = vanishing_references(np_model)
    rows = []
    with floatx(dtype.name) if dtype == np.float64 else contextlib.nullcontext():
        keras_model.compile(optimizer=keras_optimizer(np_model.optimizer),
                            loss=keras_loss(np_model.loss),
                            metrics=keras_metrics(getattr(np_model, "_metric_specs", None)))
        keras_model.set_weights(np_model.get_weights())
        start = [np.array(w, dtype=np.float64) for w in np_model.get_weights()]
        n, b = len(x), (len(x) if batch_size is None else int(batch_size))
        for k in range(1, steps + 1):
            lo = ((k - 1) * b) % n
            xb, yb = x[lo:lo + b], y[lo:lo + b]
            if dtype != np.float64 and k > 1:  # float32: every step from the same weights
                keras_model.set_weights(np_model.get_weights())
                start = [np.array(w, dtype=np.float64) for w in np_model.get_weights()]
            k_logs = keras_model.train_on_batch(xb, yb, return_dict=True)
            n_logs = np_model.train_on_batch(xb, yb, return_dict=True)
            for key in k_logs:  # the loss, then each compiled metric on this batch
                if key not in n_logs:
                    rows.append(verdict_row(f"step {k} {key}", False,
                                            f"numpy reported {sorted(n_logs)}, keras "
                                            f"{sorted(k_logs)}"))
                    continue
                rows.append(diff_arrays(f"step {k} {key}", np.asarray(n_logs[key], dtype),
                                        np.asarray(float(k_logs[key]), dtype), kind="training"))
            rows += weight_rows(k, names, np_model.get_weights(), keras_model.get_weights(),
                                 start, vanishing)
    del pairs
    report = deviations.excuse(ParityReport(case, rows), float64=dtype == np.float64)
    notify(report)
    return report


def _compare_graph_training(np_model: Any, keras_model: Any, x: Any, y: Any, names: list,
                            steps: int, batch_size: Any, case: str | None) -> ParityReport:
    """:func:`compare_training` for a functional model: a loss per output (and
    ``loss_weights``), the inputs and targets lists (or dicts) in the model's order; rows
    ``step k loss`` (the total) and ``step k <output>_loss`` when there are several."""
    xs, ys = np_model._graph_data(x, y)
    if isinstance(np_model.optimizer, type(None)):
        raise RuntimeError("compare_training: compile the numpy model first")
    dtype = np.dtype(np_model._graph_loss_dtype())
    case = case or (f"training {np_model.name} vs {keras_model.name} ({steps} steps, "
                    f"{dtype.name})")
    losses = [keras_loss(loss) if loss is not None else None for loss in np_model.loss]
    vanishing = vanishing_references(np_model)
    weights = [1.0 if w is None else w for w in np_model.loss_weights]
    rows = []
    with floatx(dtype.name) if dtype == np.float64 else contextlib.nullcontext():
        keras_model.compile(optimizer=keras_optimizer(np_model.optimizer), loss=losses,
                            loss_weights=weights)
        keras_model.set_weights(np_model.get_weights())
        start = [np.array(w, dtype=np.float64) for w in np_model.get_weights()]
        n, b = len(xs[0]), (len(xs[0]) if batch_size is None else int(batch_size))
        labels = ["loss"] + np_model._graph_loss_names()
        for k in range(1, steps + 1):
            lo = ((k - 1) * b) % n
            xb = [a[lo:lo + b] for a in xs]
            yb = [None if a is None else a[lo:lo + b] for a in ys]
            # one input / output: its array (a list of one reads as a batch axis in numpy_rnn,
            # and Keras warns that it expected the input's structure)
            xb, yb = (xb if len(xb) > 1 else xb[0]), (yb if len(yb) > 1 else yb[0])
            if dtype != np.float64 and k > 1:
                keras_model.set_weights(np_model.get_weights())
                start = [np.array(w, dtype=np.float64) for w in np_model.get_weights()]
            k_loss = np.atleast_1d(np.asarray(keras_model.train_on_batch(xb, yb), dtype))
            n_loss = np.atleast_1d(np.asarray(np_model.train_on_batch(xb, yb), dtype))
            for label, a, e in zip(labels, n_loss, k_loss):
                rows.append(diff_arrays(f"step {k} {label}", np.asarray(a), np.asarray(e),
                                        kind="training"))
            rows += weight_rows(k, names, np_model.get_weights(), keras_model.get_weights(),
                                 start, vanishing)
    report = deviations.excuse(ParityReport(case, rows), float64=dtype == np.float64)
    notify(report)
    return report
