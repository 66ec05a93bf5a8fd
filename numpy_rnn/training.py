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
import sys
from typing import Any, TextIO

import numpy as np

from . import _validation as v
from .callbacks import History
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


# -- data ---------------------------------------------------------------------------------------
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
