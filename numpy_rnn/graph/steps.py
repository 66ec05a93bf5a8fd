"""Training steps of a functional model: a loss per output, ``loss_weights``, the backward pass
through the graph, one optimizer step -- Keras 3.15's ``CompileLoss``
(``keras/src/trainers/compile_utils.py``) and ``train_step``.

* ``compile(loss=...)``: one loss for every output, a list (one per output, None for none) or
  a dict by output name (every output named, as Keras asks when the outputs are a list; a dict
  of outputs may leave some out).  ``loss_weights``: a float (one output), a list or a dict.
* The total loss: each output's loss cast to the loss dtype, times its weight when one is given,
  summed in output order; its gradient reaches output ``i`` as ``weight_i * dLoss_i/dy_i``.
* With more than one loss, Keras also tracks each output's *unweighted* loss (a
  ``Mean`` named ``<output>_loss``): ``train_on_batch`` and ``evaluate`` then return
  ``[total, loss of each output...]`` and ``fit``'s history gains those keys.
* ``sample_weight``: one array for every output, or a list / dict with one per output.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validation as v
from .. import training as _train
from . import backward as _backward

__all__ = ["resolve_losses", "standardize_targets", "train_step", "eval_step", "loss_names"]


def _output_keys(model: Any) -> list[str]:
    """The names losses, targets and metrics use: the outputs dict's keys (sorted, as flat)
    when the outputs were given as a dict, else the output layers' names."""
    struct = model.output
    return sorted(struct) if isinstance(struct, dict) else list(model.output_names)


def _per_output(model: Any, what: str, value: Any, allow_missing: bool) -> list:
    keys = _output_keys(model)
    n = len(keys)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in keys]
        missing = [k for k in keys if k not in value]
        if unknown or (missing and not (allow_missing and isinstance(model.output, dict))):
            raise ValueError(f"Expected keys {keys} in `{what}` dict, but found "
                             f"{what}.keys()={list(value)}")
        return [value.get(k) for k in keys]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"`{what}` must have one entry per output of model '{model.name}' "
                             f"({n}: {keys}). Received: {len(value)} entries")
        return list(value)
    return [value] * n


def resolve_losses(model: Any, loss: Any, loss_weights: Any) -> tuple[list, list]:
    """``(losses, weights)``: one resolved loss (or None) and one weight (or None) per output."""
    if loss is None:
        losses = [None] * len(model.outputs)
    else:
        losses = [_train.resolve("loss", item) if item is not None else None
                  for item in _per_output(model, "loss", loss, allow_missing=True)]
    if loss_weights is None:
        weights: list = [None] * len(losses)
    else:
        if not isinstance(loss_weights, (list, tuple, dict, float, int)) or \
                isinstance(loss_weights, bool):
            raise ValueError("Expected `loss_weights` argument to be a float (single output "
                             "case) or a list, tuple, or dict (multiple output case). Received "
                             f"instead: loss_weights={loss_weights!r}")
        if isinstance(loss_weights, (float, int)) and len(losses) != 1:
            raise ValueError(f"`loss_weights` must be a list or a dict for a model with "
                             f"{len(losses)} outputs. Received: loss_weights={loss_weights!r}")
        weights = _per_output(model, "loss_weights", loss_weights, allow_missing=True)
        for w in weights:
            if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float))):
                raise ValueError(f"Every entry of `loss_weights` must be a number. Received: "
                                 f"loss_weights={loss_weights!r}")
    return losses, weights


def loss_names(model: Any) -> list[str]:
    """``<output>_loss`` for every output with a loss, when there are several (else [])."""
    active = [k for k, loss in zip(_output_keys(model), model.loss) if loss is not None]
    return [f"{k}_loss" for k in active] if len(active) > 1 else []


def loss_dtype(model: Any) -> np.dtype:
    first = next((loss for loss in model.loss if loss is not None), None)
    return _train._loss_dtype(first)


def standardize_targets(model: Any, y: Any, what: str = "y") -> list:
    """``y`` (an array for one output, a list, or a dict by output name) as one array (or
    None for an output without a loss) per output."""
    keys = _output_keys(model)
    active = [i for i, loss in enumerate(model.loss) if loss is not None]
    if isinstance(y, dict):
        missing = [keys[i] for i in active if keys[i] not in y]
        if missing:
            raise ValueError(f"The dict `{what}` is missing the target(s) of output(s) "
                             f"{missing} of model '{model.name}'. Received keys {sorted(y)}")
        flat = [y.get(k) for k in keys]
    elif isinstance(y, (list, tuple)) and len(keys) > 1:
        if len(y) == len(keys):
            flat = list(y)
        elif len(y) == len(active):
            flat = [None] * len(keys)
            for i, arr in zip(active, y):
                flat[i] = arr
        else:
            raise ValueError(f"`{what}` must hold one target per output of model '{model.name}' "
                             f"({len(keys)}: {keys}). Received: {len(y)} target(s)")
    else:
        if len(active) != 1:
            raise ValueError(f"Model '{model.name}' has {len(active)} outputs with a loss "
                             f"{[keys[i] for i in active]}; give `{what}` as a list or a dict "
                             "by output name. Received: a single array")
        flat = [None] * len(keys)
        flat[active[0]] = y
    out = []
    for i, arr in enumerate(flat):
        if i in active:
            a = v.numeric_array(f"{what}[{keys[i]!r}]", arr)
            if a.ndim < 1:
                raise ValueError(f"`{what}[{keys[i]!r}]` must have a batch axis. Received: "
                                 f"shape {a.shape}")
            out.append(a)
        else:
            out.append(None)
    return out


def _sample_weights(model: Any, sample_weight: Any) -> list:
    if isinstance(sample_weight, (list, tuple, dict)):
        return _per_output(model, "sample_weight", sample_weight, allow_missing=True)
    return [sample_weight] * len(model.outputs)


def _losses(model: Any, ys: list, preds: list, masks: list, sample_weight: Any,
            gradients: bool) -> tuple[float, list[float], list]:
    """``(total, unweighted loss per active output, gradient per output)`` (Keras's
    ``CompileLoss``: each loss cast to the loss dtype, weighted, summed in order)."""
    t = loss_dtype(model).type
    total = t(0)
    values, grads = [], []
    for loss, w, y, p, m, sw in zip(model.loss, model.loss_weights, ys, preds, masks,
                                    _sample_weights(model, sample_weight)):
        if loss is None:
            grads.append(None)
            continue
        value = t(loss(y, p, sample_weight=sw, mask=m))
        values.append(float(value))
        total = t(total + (value * t(w) if w is not None else value))
        if gradients:
            g = loss.gradient(y, p, sample_weight=sw, mask=m)
            grads.append(g * np.asarray(w, g.dtype) if w is not None else g)
    return float(total), values, grads


def _writable(layer: Any) -> None:
    """Make every weight array of ``layer`` (nested models included) writable (the optimizer
    updates them in place)."""
    for sub in getattr(layer, "layers", None) or []:
        if sub is not layer:
            _writable(sub)
    if getattr(layer, "layers", None) is None and getattr(layer, "built", False) and \
            layer.weight_names():
        _train._writable_weights(layer)


def train_step(model: Any, xs: list, ys: list, sample_weight: Any = None) -> tuple:
    """One optimizer step; ``(total, [unweighted loss per output])`` before the update.  All
    or nothing up to the update: a forward, loss or backward that raises changes nothing."""
    _train._compiled(model, "train_on_batch")
    _writable(model)
    snapshot = model._snapshot()
    try:
        preds, masks = model._forward(xs, training=True)
        model._last_outputs = (preds, masks)
        total, values, grads = _losses(model, ys, preds, masks, sample_weight, True)
        total = _train.add_penalties(total, _backward.penalties(model), loss_dtype(model))
        acc = _backward.Accumulator()
        if model.trainable:
            _backward.backward_graph(model, model._record, grads, acc, trainable=True)
            _backward.add_weight_penalty_gradients(model, acc)
        pairs = acc.pairs(model.weights)
    except BaseException:
        model._restore(snapshot)
        raise
    if pairs:
        model.optimizer.apply_gradients(pairs)
    return total, values


def eval_step(model: Any, xs: list, ys: list, sample_weight: Any = None) -> tuple:
    """``(total, [unweighted loss per output])`` at inference."""
    _train._compiled(model, "evaluate")
    snapshot = model._snapshot()
    try:
        preds, masks = model._forward(xs, training=False)
        model._last_outputs = (preds, masks)
        total, values, _ = _losses(model, ys, preds, masks, sample_weight, False)
        total = _train.add_penalties(total, _backward.penalties(model), loss_dtype(model))
    except BaseException:
        model._restore(snapshot)
        raise
    return total, values
