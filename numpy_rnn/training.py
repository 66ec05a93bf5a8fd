"""Training for :class:`numpy_rnn.Sequential` and the functional :class:`numpy_rnn.Model`:
compile, one step, the fit and evaluate loops.

The loops see a batch as lists of arrays (one per model input / output): a Sequential has one of
each; a functional model brings its own data check and step (``numpy_rnn.graph.steps``: a loss
per output, the backward pass through its graph) and, with several losses, one loss tracker
more per output (``<output>_loss``), as Keras's ``CompileLoss`` keeps them.

What Keras 3.15 does, and so what this module does (``keras/src/trainers/trainer.py``,
``backend/tensorflow/trainer.py``, ``metrics/reduction_metrics.py``, ``callbacks/``):

* One step (``train_step``): every layer runs with ``training=True``; the mask the last layer
  returns (a sequence output of a masked recurrent layer, passed on by ``Dense``) is applied by
  the loss (masked entries weigh 0); ``loss.gradient`` is sent back through the layers in
  reverse (``layer.backward``), and ``optimizer.apply_gradients`` updates each trainable layer's
  own arrays in place.  An Embedding's gradient is passed as its ``sparse_gradients`` (an
  ``IndexedSlices``, one slice per id read), as TensorFlow hands Keras's optimizer a
  ``tf.IndexedSlices``: Adam and RMSprop then square each slice before the duplicates are summed
  (``numpy_rnn/sparse.py``), which the dense gradient would not reproduce.  Layers with
  ``trainable=False`` are run backward (when a trainable layer sits below them) but their
  weights are not updated.  Only a layer's ``trainable_weight_names()`` go to the optimizer:
  a ``BatchNormalization``'s moving mean and variance are non-trainable, and its training
  call itself moves them in the forward pass, as Keras's ``assign`` inside ``call`` does.
* The reported loss is Keras's loss tracker, a ``keras.metrics.Mean`` kept in the loss dtype
  (Keras keeps it in ``floatx``, which is also the default loss dtype): each batch adds
  ``loss * batch_size`` to ``total`` and ``batch_size`` to ``count``, both rounded in that dtype,
  and the result is ``total / count``.  ``train_on_batch`` resets it first, so it returns
  ``(loss * n) / n`` of its batch; ``fit`` resets it each epoch (the epoch loss is the mean over
  the epoch's batches weighted by their sizes); ``evaluate`` resets it once.
* Regularization (``compute_loss``): Keras adds ``model.losses`` to the compiled loss -- every
  layer's activity penalties of this forward (``ActivityRegularization``: ``(l1 * sum|y| +
  l2 * sum y**2) / batch``), in layer order, then the penalty of every regularized trainable
  weight (``kernel_regularizer`` ...), in weight order -- as ``sum([loss, *penalties])`` in the
  loss dtype (Keras refuses penalties of another dtype with a TypeError; so does this module).
  The reported loss includes them, in ``train_on_batch``, ``fit`` and ``evaluate`` alike.  Their
  gradients join the backward pass where TensorFlow's tape adds them: an activity penalty's to
  the gradient of its layer's output, a weight penalty's to that weight's gradient (dense: an
  Embedding with an ``embeddings_regularizer`` then gets its gradient dense, as TensorFlow sums
  ``IndexedSlices`` with a dense tensor into a dense one).  Without any penalty nothing changes.
* Batches are taken in order, the last one partial.  ``shuffle=True`` permutes the samples each
  epoch with ``numpy.random.default_rng(seed)``: deterministic for a given ``seed``, but not
  Keras's order (Keras shuffles with TensorFlow's random ops, which NumPy cannot reproduce), so
  comparisons with Keras use ``shuffle=False``.
* ``validation_data=(x_val, y_val)`` is evaluated (``training=False``) after each epoch, in
  batches of ``batch_size``, and recorded as ``"val_loss"``.
"""
from __future__ import annotations

import importlib
import math
import sys
from typing import Any, TextIO

import numpy as np

from . import _validation as v
from . import metrics as _metrics
from .callbacks import CallbackList, History
from .progress import ProgressBar
from ._validation import require_finite, require_finite_all as _require_finite_all

__all__ = ["History", "ProgressBar", "LossTracker"]


class LossTracker:
    """``keras.metrics.Mean`` as Keras's loss tracker: ``update(loss, batch_size)``; the result
    is ``total / count`` (0 before any update), every sum rounded in ``dtype``."""

    def __init__(self, dtype: Any = "float32") -> None:
        self._t = np.dtype(dtype).type
        self.reset()

    def reset(self) -> None:
        self.total = self._t(0)
        self.count = self._t(0)

    def update(self, value: float, weight: int) -> None:
        t = self._t
        self.total = t(self.total + t(value) * t(weight))
        self.count = t(self.count + t(weight))

    def result(self) -> float:
        return float(self.total / self.count) if self.count else 0.0  # divide_no_nan


# -- compile ------------------------------------------------------------------------------------
_MODULES = {"optimizer": ("numpy_rnn.optimizers", "apply_gradients", '"rmsprop"'),
            "loss": ("numpy_rnn.losses", "gradient", '"mse"')}


def resolve(kind: str, identifier: Any) -> Any:
    """An optimizer / loss from a Keras string (via ``numpy_rnn.optimizers.get`` /
    ``numpy_rnn.losses.get``) or an instance (anything with ``apply_gradients``, or callable
    with a ``gradient``); ``None`` stays ``None`` for a loss."""
    module, needed, example = _MODULES[kind]
    if identifier is None and kind == "loss":
        return None
    if isinstance(identifier, str):
        identifier = importlib.import_module(module).get(identifier)
    if not callable(getattr(identifier, needed, None)) or (kind == "loss"
                                                           and not callable(identifier)):
        raise TypeError(f"`{kind}` must be a name Keras accepts (e.g. {example}) or a {module} "
                        f"instance. Received: {kind}={identifier!r}")
    return identifier


def _compiled(model: Any, method: str) -> tuple[Any, Any]:
    if not getattr(model, "compiled", False):
        raise RuntimeError(f"You must call `compile()` before calling `{method}()`.")
    if model.loss is None or (isinstance(model.loss, list)
                              and all(loss is None for loss in model.loss)):
        raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
    if not model.layers:
        raise ValueError(f"Model '{model.name}' has no layers; add() some first.")
    return model.loss, model.optimizer


def _loss_dtype(loss: Any) -> np.dtype:
    dtype = np.dtype(getattr(loss, "dtype", None) or "float32")
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def assign_in_place(model: Any, layer: Any, weights: list) -> bool:
    """``set_weights`` on a compiled model: copy ``weights`` (already checked) into the built
    layer's own arrays, as Keras assigns its variables, so the optimizer keeps its state for
    them.  False (nothing done) when the model is not compiled, the layer not built or an
    array cannot take them; the caller then replaces the arrays."""
    if not (getattr(model, "compiled", False) and layer.built):
        return False
    return copy_into(layer, weights)


def copy_into(layer: Any, weights: list) -> bool:
    """Copy ``weights`` (already checked) into the built layer's own arrays; False (nothing
    done) when an array cannot take them."""
    current, new = layer.weights, [np.asarray(w) for w in weights]
    if not all(isinstance(c, np.ndarray) and c.flags.writeable and c.shape == n.shape
               for c, n in zip(current, new)):
        return False
    for c, n in zip(current, new):
        np.copyto(c, n.astype(c.dtype, copy=False))
    return True


# -- one step -----------------------------------------------------------------------------------
def _trainable(model: Any) -> list[int]:
    """Indices of the layers whose weights the optimizer updates."""
    return [i for i, layer in enumerate(model.layers)
            if layer.trainable and layer.built and layer.trainable_weight_names()]


def _writable_weights(layer: Any) -> list[np.ndarray]:
    """The layer's own weight arrays (made writable copies first if one is read-only)."""
    weights = layer.weights
    if any(not (isinstance(w, np.ndarray) and w.flags.writeable) for w in weights):
        layer.set_weights([np.array(w) for w in weights])
        weights = layer.weights
    return weights


def penalties(model: Any) -> list[np.ndarray]:
    """Keras's ``model.losses`` after a forward: each layer's activity penalties of that call, in
    layer order, then the penalty of every regularized trainable weight, in weight order."""
    activity = [p for layer in model.layers for p in layer._activity_losses]
    return activity + [p for layer in model.layers for p in layer.weight_penalties()]


def add_penalties(value: float, found: list[np.ndarray], dtype: Any) -> float:
    """``sum([value, *found])`` in the loss ``dtype`` (``value`` unchanged when ``found`` is
    empty); TypeError for a penalty of another dtype, as Keras's ``ops.sum`` of the list."""
    if not found:
        return value
    dtype = np.dtype(dtype)
    other = sorted({np.asarray(p).dtype.name for p in found} - {dtype.name})
    if other:
        raise TypeError(
            f"The loss is computed in {dtype.name} but the model's regularization penalties are "
            f"{other}; Keras cannot add them either. Give the loss the dtype of the model "
            f"(e.g. losses.MeanSquaredError(dtype={other[0]!r})).")
    return float(np.sum(np.array([value, *found], dtype=dtype)))


def backward(model: Any, grad: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Send ``grad`` (dLoss/d output) back through the layers of the last ``training=True``
    forward, down to the lowest trainable layer; returns ``(gradient, weight array)`` pairs
    for every trainable weight (``trainable_weight_names``) of every trainable layer, bottom
    layer first, each layer in ``get_weights()`` order (a layer's ``sparse_gradients`` where it
    has them: the Embedding's IndexedSlices)."""
    trainable = _trainable(model)
    if not trainable:
        return []
    grads: dict[int, list] = {}
    for i in range(len(model.layers) - 1, trainable[0] - 1, -1):
        layer = model.layers[i]
        activity = layer._activity_gradient()  # its own penalty's gradient joins the output's
        if activity is not None:
            grad = grad + activity
        if i == trainable[0] and hasattr(layer, "_input_gradient_needed"):
            layer._input_gradient_needed = False  # nobody reads the bottom layer's d inputs
            try:
                grad = layer.backward(grad)
            finally:
                layer.__dict__.pop("_input_gradient_needed", None)
        else:
            grad = layer.backward(grad)
        if i in trainable:
            grads[i] = _with_weight_penalties(layer)
    pairs = []
    for i in trainable:
        layer = model.layers[i]
        arrays = _writable_weights(layer)
        if len(grads[i]) != len(arrays):  # pragma: no cover - a layer breaking the protocol
            raise RuntimeError(f"Layer '{layer.name}' returned {len(grads[i])} gradients for "
                               f"{len(arrays)} weights.")
        # only the trainable weights (Keras's ``trainable_weights``): a BatchNormalization's
        # moving statistics are moved by its training call, never by the optimizer
        keep = set(layer.trainable_weight_names())
        pairs += [(g, w) for name, g, w in zip(layer.weight_names(), grads[i], arrays)
                  if name in keep]
    return pairs


def _with_weight_penalties(layer: Any) -> list:
    """The layer's gradients for the optimizer (its ``sparse_gradients`` where it has them), with
    each regularized weight's penalty gradient added (that weight's gradient then dense)."""
    sparse = getattr(layer, "sparse_gradients", None)
    out = list(sparse or layer.gradients)
    for j, (reg, w) in enumerate(zip(layer.weight_regularizers(), layer.weights)):
        if reg is not None:
            out[j] = layer.gradients[j] + reg.gradient(w)
    return out


def train_step(model: Any, x: np.ndarray, y: Any, sample_weight: Any = None) -> float:
    """One optimizer step on the batch ``(x, y)``; returns the batch loss before the update.

    All or nothing up to the update: if the forward, the loss or the backward raises, every
    layer is left as it was."""
    loss, optimizer = _compiled(model, "train_on_batch")
    snapshot = model._snapshot()
    try:
        y_pred, mask = model._forward(x, training=True)
        model._last_outputs = ([y_pred], [mask])
        value = loss(y, y_pred, sample_weight=sample_weight, mask=mask)
        value = add_penalties(value, penalties(model), _loss_dtype(loss))
        grad = loss.gradient(y, y_pred, sample_weight=sample_weight, mask=mask)
        pairs = backward(model, grad)
    except BaseException:
        model._restore(snapshot)
        raise
    if pairs:
        optimizer.apply_gradients(pairs)
    return float(value)


def eval_step(model: Any, x: np.ndarray, y: Any, sample_weight: Any = None) -> float:
    """The loss on the batch ``(x, y)`` at inference (``training=False``)."""
    loss, _ = _compiled(model, "evaluate")
    snapshot = model._snapshot()
    try:
        y_pred, mask = model._forward(x, training=False)
        model._last_outputs = ([y_pred], [mask])
        value = float(loss(y, y_pred, sample_weight=sample_weight, mask=mask))
        return add_penalties(value, penalties(model), _loss_dtype(loss))
    except BaseException:
        model._restore(snapshot)
        raise


# -- loops --------------------------------------------------------------------------------------
def _verbosity(verbose: Any, stream: TextIO) -> int:
    """Keras's rule: ``"auto"`` is 1 (a bar redrawn on a terminal; elsewhere the final line of
    each epoch only, as Keras's progress bar writes it to a stream that is not a terminal)."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_)) or verbose not in (0, 1, 2):
        raise ValueError(f'`verbose` must be "auto", 0, 1 or 2. Received: verbose={verbose!r}')
    return int(verbose)


def _data(model: Any, x: Any, y: Any, xname: str = "x", yname: str = "y"):
    """``x`` (cast to the model input dtype) and ``y`` as arrays with the same number of rows."""
    xa = v.numeric_array(xname, x)
    ya = v.numeric_array(yname, y)
    if xa.ndim < 1 or ya.ndim < 1:
        raise ValueError(f"`{xname}` and `{yname}` must have a batch axis. Received: {xname} with "
                         f"shape {xa.shape}, {yname} with shape {ya.shape}")
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(f"`{xname}` and `{yname}` must have the same number of samples. "
                         f"Received: {xname} with shape {xa.shape}, {yname} with shape {ya.shape}")
    if xa.shape[0] == 0:
        raise ValueError(f"`{xname}` is empty: there is nothing to train or evaluate on. "
                         f"Received: {xname} with shape {xa.shape}")
    return model._cast_model_input(xa), ya


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


def class_weight_to_sample_weights(y: np.ndarray, class_weight: dict) -> np.ndarray:
    """Keras's rule: each sample weighs ``class_weight[class]`` (1 for a class not listed); the
    class is the argmax of a one-hot target, else the rounded (squeezed) label."""
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels).astype(np.int32)
    if labels.ndim > 1:
        raise ValueError("`class_weight` needs one class per sample (targets of shape (batch,), "
                         f"(batch, 1) or one-hot (batch, classes)). Received: y with shape "
                         f"{np.shape(y)}")
    return np.array([class_weight.get(int(c), 1.0) for c in labels], dtype=np.float32)


def _step(model: Any, xs: list, ys: list, train: bool, sample_weight: Any = None) -> tuple:
    """``(total loss, [loss per output])`` of one batch (the list empty for one loss)."""
    if _is_graph(model):
        return (model._graph_train_step(xs, ys, sample_weight) if train
                else model._graph_eval_step(xs, ys, sample_weight))
    if train:
        return train_step(model, xs[0], ys[0], sample_weight), []
    return eval_step(model, xs[0], ys[0], sample_weight), []


def _metric_output(model: Any) -> int:
    """The index of the output the compiled metrics follow (the one output with a loss)."""
    losses = model.loss if isinstance(model.loss, list) else [model.loss]
    return next(i for i, loss in enumerate(losses) if loss is not None)


def build_metrics(model: Any, ys: list, preds: list) -> list:
    """``model.compiled_metrics`` from ``compile(metrics=...)``, resolved on the first batch
    (``"accuracy"`` needs the shapes, as Keras's ``CompileMetrics.build``)."""
    if getattr(model, "compiled_metrics", None) is None:
        i = _metric_output(model)
        specs = getattr(model, "_metric_specs", None) or []
        model.compiled_metrics = [_metrics.get(m, ys[i], np.asarray(preds[i])) for m in specs]
    return model.compiled_metrics


def check_metrics(losses: Any, metrics: Any) -> list:
    """``compile``'s ``metrics``: None or a list of names / Metric instances / functions, each
    resolvable (``"accuracy"`` waits for the data); for a model with one output with a loss."""
    if metrics is None:
        return []
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(f"Type of `metrics` argument not understood. Expected a list or "
                        f"dictionary, found: {type(metrics).__name__}")
    losses = losses if isinstance(losses, list) else [losses]
    if metrics and sum(loss is not None for loss in losses) != 1:
        raise ValueError("`metrics` are supported for a model with exactly one output with a "
                         "loss (per-output metrics are not implemented yet). Received: "
                         f"metrics={metrics!r} for {sum(loss is not None for loss in losses)} "
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

    def update(self, result: tuple, rows: int, ys: list | None = None) -> None:
        total, per_output = result
        for t, value in zip(self.trackers, [total] + list(per_output)):
            t.update(value, rows)
        if ys is not None and getattr(self.model, "_metric_specs", None):
            preds, masks = self.model._last_outputs
            if not self.metrics:
                self.metrics = build_metrics(self.model, ys, preds)
                for m in self.metrics:
                    m.reset_state()
            i = _metric_output(self.model)
            for m in self.metrics:
                m.update_state(ys[i], preds[i], mask=masks[i])

    def logs(self, prefix: str = "") -> dict[str, float]:
        out = {prefix + n: t.result() for n, t in zip(self.names, self.trackers)}
        seen: dict[str, int] = {}
        for m in self.metrics:  # a repeated name gets _1, _2... (Keras's CompileMetrics.result)
            name = m.name
            if name in seen:
                seen[name] += 1
                name = f"{name}_{seen[name] - 1}"
            else:
                seen[name] = 1
            out[prefix + name] = m.result()
        return out

    def value(self) -> Any:
        """A float for one value, else ``[loss, per output..., metrics...]`` (Keras's order)."""
        results = list(self.logs().values())
        return results[0] if len(results) == 1 else results


def train_on_batch(model: Any, x: Any, y: Any, sample_weight: Any = None) -> Any:
    """One optimizer step on ``(x, y)``: the loss(es) before the update, as Keras returns them."""
    _compiled(model, "train_on_batch")
    xs, ys, n = _prepare(model, x, y)
    _require_finite_all("x", xs)
    _require_finite_all("y", ys)
    require_finite("sample_weight", sample_weight)
    trackers = _Trackers(model)
    trackers.update(_step(model, xs, ys, True, sample_weight), n)
    return trackers.value()


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
        trackers.update(_step(model, xb, yb, False, _sw_rows(sample_weight, rows)),
                        xb[0].shape[0], yb)
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
    return class_weight_to_sample_weights(active[0], class_weight)


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
            trackers.update(_step(model, xb, yb, True, _sw_rows(sample_weight, rows)),
                            xb[0].shape[0], yb)
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
