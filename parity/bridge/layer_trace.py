"""``trace``: which layer makes a NumPy model part ways with its Keras twin.

Both models run layer by layer on the same input, masks flowing as each framework does it:

* NumPy: ``numpy_rnn.Sequential``'s own step (``Sequential._apply``: Embedding ``mask_zero`` /
  Masking make the mask, Dense / Dropout pass it on, a recurrent layer consumes it and passes it
  on only with ``return_sequences``);
* Keras: each layer of the chain called eagerly on the previous layer's output tensor, so Keras's
  ``Layer.__call__`` takes the mask attached to that tensor (``_keras_mask``) and attaches the
  layer's output mask, as ``Sequential.call`` and a Functional graph do.  The last output is
  checked against ``keras_model(x)``: a layer-by-layer run that does not reproduce the model
  (a model that is not a chain) is refused rather than traced.

Two comparisons per layer (``parity.trace_report``): *chained*, each side fed its own previous
output, and *isolated*, the NumPy layer fed Keras's previous output and Keras's mask against the
Keras layer.  Chained errors grow through correct layers, so blame goes to the first layer that
diverges in isolation, given identical input.  Tolerances are the ``numpy_rnn.testing.TABLE``
entries of the kind ``parity.bridge.run.output_specs`` gives each output.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import numpy_rnn
from numpy_rnn.formats.keras_graph import GraphPlan
from numpy_rnn.formats.keras_layers import KERAS_LAYER_RULES
from numpy_rnn.keras_file import UnsupportedModelError, plan_model

from .. import report as _report  # diff_arrays looked up there: a swapped checker is seen
from ..trace_report import TraceReport, TraceRow, error_growth, mask_mismatch
from . import backend
from .graph_trace import trace_graph
from .run import output_specs

__all__ = ["trace", "keras_chain", "mask_mismatch"]


def _is_keras_model(obj: Any) -> bool:
    return hasattr(obj, "layers") and hasattr(obj, "inputs") and callable(obj)


def _is_keras_layer(obj: Any) -> bool:
    module = type(obj).__module__
    return callable(obj) and module.split(".")[0] in ("keras", "tf_keras") \
        and not _is_keras_model(obj)


def keras_chain(keras_model: Any) -> list:
    """The layers of a Keras ``Sequential`` or single-chain Functional model, input to output
    (``InputLayer`` and Keras's automatic mask ops left out).

    Keras 3 models are planned by the table the porter uses (``numpy_rnn.keras_file.plan_model``),
    so a branch, a merge or a subclassed model is refused with every reason; ``tf_keras`` models
    give their layers in order and the caller's check against ``keras_model(x)`` refuses a
    non-chain.

    Raises:
        ValueError: ``keras_model`` is not a chain of supported layers (every reason listed).
    """
    if type(keras_model).__module__.startswith("tf_keras"):
        return [lay for lay in keras_model.layers if type(lay).__name__ != "InputLayer"]
    keras = backend.require()

    where = f"trace: `keras_model` '{getattr(keras_model, 'name', '?')}'"
    try:
        config = keras.saving.serialize_keras_object(keras_model)
    except Exception as exc:  # noqa: BLE001 - a model Keras cannot serialize is not a chain
        raise ValueError(f"{where}: Keras cannot serialize it, so its layers cannot be put in "
                         f"order: {type(exc).__name__}: {exc}") from None
    try:
        plan = plan_model(config, where)
    except UnsupportedModelError as exc:
        raise ValueError(f"{where} is not a chain of layers numpy_rnn runs: "
                         + "; ".join(exc.problems)) from None
    if isinstance(plan, GraphPlan):
        raise ValueError(f"{where} is not a chain of layers but a graph (branches, merges or "
                         "several inputs / outputs); trace it against its numpy_rnn.Model twin "
                         "(parity.from_keras(keras_model)), node by node")
    return [keras_model.get_layer(lp.name) for lp in plan.layers]


def _kind(obj: Any) -> str:
    """``obj``'s class with its library (``keras Sequential``, ``numpy_rnn LSTM``)."""
    return f"{type(obj).__module__.split('.')[0]} {type(obj).__name__}"


def _pairs(np_model: Any, keras_model: Any) -> list[tuple[Any, Any]]:
    """``[(numpy layer, keras layer)]`` after checking both sides have the same layer types."""
    if isinstance(np_model, numpy_rnn.Sequential):
        if not _is_keras_model(keras_model):
            raise TypeError("trace: `keras_model` must be a Keras model (keras.Sequential or a "
                            "Functional chain) when `np_model` is a numpy_rnn.Sequential. "
                            f"Received: keras_model={_kind(keras_model)}")
        np_layers, k_layers = list(np_model.layers), keras_chain(keras_model)
        if not np_layers:
            raise ValueError(f"trace: `np_model` '{np_model.name}' has no layers")
        if len(np_layers) != len(k_layers):
            raise ValueError(
                f"trace: the models differ in length: `np_model` '{np_model.name}' has "
                f"{len(np_layers)} layers {[lay.name for lay in np_layers]}, `keras_model` "
                f"'{keras_model.name}' has {len(k_layers)} {[lay.name for lay in k_layers]}")
    elif isinstance(np_model, numpy_rnn.Layer):
        if not _is_keras_layer(keras_model):
            raise TypeError("trace: `keras_model` must be a Keras layer when `np_model` is a "
                            f"numpy_rnn layer ({type(np_model).__name__}). Received: "
                            f"keras_model={_kind(keras_model)}")
        np_layers, k_layers = [np_model], [keras_model]
    else:
        raise TypeError("trace: `np_model` must be a numpy_rnn.Sequential or a numpy_rnn layer. "
                        f"Received: np_model={_kind(np_model)}")
    for i, (n_layer, k_layer) in enumerate(zip(np_layers, k_layers)):
        k_cls = type(k_layer).__name__
        rule = KERAS_LAYER_RULES.get(k_cls)
        if rule is None or not isinstance(n_layer, getattr(numpy_rnn, rule.np_class)):
            raise ValueError(
                f"trace: layer {i} differs: `np_model` has '{n_layer.name}' "
                f"({type(n_layer).__name__}), `keras_model` has '{k_layer.name}' ({k_cls})")
    return list(zip(np_layers, k_layers))


def _expected_input(np_model: Any, keras_model: Any, first: Any) -> tuple[tuple | None, str]:
    """``(shape without the batch axis or None, "ids" or "floats")`` the model takes."""
    kind = "ids" if isinstance(first, numpy_rnn.Embedding) else "floats"
    shape = getattr(np_model, "input_shape", None) if isinstance(np_model,
                                                                 numpy_rnn.Sequential) else None
    if shape is None and getattr(keras_model, "inputs", None):
        shape = tuple(None if d is None else int(d) for d in keras_model.inputs[0].shape[1:])
    if shape is None:
        features = getattr(first, "features", None)
        if kind == "ids":
            shape = (None,)
        elif isinstance(first, (numpy_rnn.RNNBase, numpy_rnn.Bidirectional, numpy_rnn.Masking)):
            shape = (None, features)
    return (tuple(shape) if shape is not None else None), kind


def _check_x(x: Any, shape: tuple | None, kind: str) -> np.ndarray:
    """``x`` as an array after checking its dtype and shape against the model's input."""
    want = ("integer token ids" if kind == "ids" else "floats") + (
        f" of shape (batch, {', '.join('?' if d is None else str(d) for d in shape)})"
        if shape is not None else "")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - ragged lists and the like
        raise TypeError(f"trace: `x` must be {want}. Received: {type(x).__name__} that is not "
                        f"an array ({exc})") from None
    ok_dtype = arr.dtype.kind in ("iu" if kind == "ids" else "f")
    if not ok_dtype:
        raise TypeError(f"trace: `x` must be {want}. Received: dtype {arr.dtype}")
    if shape is not None and (arr.ndim != len(shape) + 1 or any(
            d is not None and d != got for d, got in zip(shape, arr.shape[1:]))):
        raise ValueError(f"trace: `x` must be {want}. Received: shape {arr.shape}")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"trace: `x` must hold at least one sample ({want}). Received: shape "
                         f"{arr.shape}")
    if kind == "floats" and not np.isfinite(arr).all():
        raise ValueError("trace: `x` must be finite. Received: an array holding NaN or infinity")
    return arr


def _keras_run(keras_model: Any, k_layers: list, x: np.ndarray, is_model: bool):
    """Keras's output and output mask after each layer (masks as NumPy bools or None)."""
    if is_model and getattr(keras_model, "inputs", None):
        dtype = keras_model.inputs[0].dtype
        x = x.astype(getattr(dtype, "name", None) or str(dtype), copy=False)
    y = backend.tensor_for(keras_model, x)
    outs, masks = [], []
    for layer in k_layers:
        y = layer(y, training=False)  # Layer.__call__ takes y's mask and attaches the new one
        if isinstance(y, (list, tuple)):
            outs.append([backend.to_numpy(t) for t in y])
            masks.append(None)
        else:
            outs.append(backend.to_numpy(y))
            masks.append(backend.keras_mask(y))
    if is_model:  # the layer-by-layer run must be the model's own computation
        whole = backend.to_numpy(keras_model(backend.tensor_for(keras_model, x),
                                             training=False))
        check = _report.diff_arrays("model output", outs[-1], whole)
        if not check.passed:
            raise ValueError(
                f"trace: running `keras_model` '{keras_model.name}' layer by layer does not "
                f"reproduce keras_model(x) (max|err| {check.max_abs_err:.3e}); it is not a "
                "single chain of layers, so it cannot be traced")
    return outs, masks, x


def _numpy_chain(np_model: Any, n_layers: list, x: np.ndarray, is_model: bool
                 ) -> tuple[list, list]:
    """NumPy's output and output mask after each layer, each layer fed NumPy's previous output
    and mask (``Sequential._apply``: the model's own step, Keras's mask rules)."""
    y, m, outs, masks = (np_model._cast_model_input(x) if is_model else x), None, [], []
    for layer in n_layers:
        y, m = numpy_rnn.Sequential._apply(layer, y, m, False)
        outs.append(y)
        masks.append(None if m is None else np.asarray(m, dtype=bool))
    return outs, masks


def _compare(name: str, actual: Any, expected: Any, layer: Any):
    """The worst ``ArrayDiff`` over a layer's outputs (one for a layer inside a model)."""
    a_list = actual if isinstance(actual, (list, tuple)) else [actual]
    e_list = expected if isinstance(expected, (list, tuple)) else [expected]
    if len(a_list) != len(e_list):
        raise ValueError(f"trace: layer '{name}' returned {len(a_list)} output(s) in numpy and "
                         f"{len(e_list)} in keras")
    diffs = []
    for (out_name, kind), a, e in zip(output_specs(layer, len(a_list)), a_list, e_list):
        label = name if len(a_list) == 1 else f"{name}:{out_name}"
        e = np.asarray(e)
        diffs.append(_report.diff_arrays(label, np.asarray(a), e, kind=kind,
                                         time_axis=1 if e.ndim == 3 else None))
    worst = max(diffs, key=lambda d: (not d.passed, d.max_abs_err / max(d.atol, 1e-300)))
    return worst, output_specs(layer, len(a_list))[diffs.index(worst)][1]


def trace(np_model: Any, keras_model: Any, x: Any, *, case: str | None = None) -> TraceReport:
    """Run ``np_model`` and ``keras_model`` layer by layer on ``x`` and find where they part.

    Args:
        np_model: a ``numpy_rnn.Sequential`` (or one numpy_rnn layer); a functional
            ``numpy_rnn.Model`` is traced node by node (``parity.bridge.graph_trace``).
        keras_model: its Keras twin: a ``keras.Sequential`` or single-chain Functional model
            with the same layers in the same order (or one Keras layer).
        x: the input, token ids ``(batch, timesteps)`` for an Embedding-first model, floats
            ``(batch, timesteps, features)`` / ``(batch, features)`` otherwise.
        case: the report's title (default: both models' names).

    Returns:
        a TraceReport: one row per layer with the chained error (each side fed its own
        previous output), its growth over the previous layer, the first failing timestep, and
        the isolated error (the NumPy layer fed Keras's previous output and mask);
        ``first_divergent`` is the first layer that fails in isolation (see
        ``parity.trace_report``).  The NumPy model's state is left as it was.

    Raises:
        TypeError: ``np_model`` / ``keras_model`` of the wrong kind, ``x`` of the wrong dtype.
        ValueError: models of different lengths or layer types, a Keras model that is not a
            chain, ``x`` of the wrong shape.
    """
    if not backend.is_tf_keras(keras_model):
        backend.require()
    if isinstance(np_model, numpy_rnn.Model):
        return trace_graph(np_model, keras_model, x, case=case)
    pairs = _pairs(np_model, keras_model)
    is_model = isinstance(np_model, numpy_rnn.Sequential)
    n_layers, k_layers = [p[0] for p in pairs], [p[1] for p in pairs]
    shape, kind = _expected_input(np_model, keras_model, n_layers[0])
    arr = _check_x(x, shape, kind)
    k_outs, k_masks, x_k = _keras_run(keras_model, k_layers, arr, is_model)
    snapshot = np_model._snapshot()
    try:
        n_outs, n_masks = _numpy_chain(np_model, n_layers, arr, is_model)
        np_model._restore(snapshot)
        rows: list[TraceRow] = []
        previous_err = None
        for i, (n_layer, k_layer) in enumerate(pairs):
            chained, out_kind = _compare(k_layer.name, n_outs[i], k_outs[i], n_layer)
            if i == 0:  # the same input on both sides: chained is isolated
                alone, alone_mask = n_outs[0], n_masks[0]
            else:
                alone, alone_mask = numpy_rnn.Sequential._apply(n_layer, k_outs[i - 1],
                                                                k_masks[i - 1], False)
            isolated, _ = _compare(k_layer.name, alone, k_outs[i], n_layer)
            rows.append(TraceRow(
                k_layer.name, type(k_layer).__name__, chained, isolated,
                growth=error_growth(previous_err, chained.max_abs_err, chained.atol),
                kind=out_kind, mask_mismatch=mask_mismatch(n_masks[i], k_masks[i]),
                isolated_mask_mismatch=mask_mismatch(alone_mask, k_masks[i])))
            previous_err = chained.max_abs_err
    finally:
        np_model._restore(snapshot)
    title = case or (f"numpy '{getattr(np_model, 'name', '?')}' vs keras "
                     f"'{getattr(keras_model, 'name', '?')}' on x {tuple(arr.shape)} "
                     f"{arr.dtype}")
    return TraceReport(title, rows)
