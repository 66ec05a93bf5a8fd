"""``trace`` for functional models: which node of a graph makes it part ways with Keras.

Both graphs run node by node on the same inputs:

* NumPy: ``numpy_rnn.Model``'s own step for each node (``numpy_rnn.graph.run.run_node``: the
  node's inputs and masks in, its outputs and masks out), in the model's running order;
* Keras: every node of the functional model (Keras's own mask operations included) called
  eagerly in Keras's order, as ``Functional.call`` runs them (``_run_through_graph``), keeping
  each node's outputs and their masks; the model's outputs are checked against
  ``keras_model(x)``.

A NumPy node and a Keras node are the same call when they are the ``k``-th call of the layer of
the same name in the model.  Per node, as ``parity.bridge.layer_trace`` per layer: *chained*
(each side fed its own earlier outputs) and *isolated* (the NumPy node fed Keras's values and
masks of its inputs); ``first_divergent`` is the first node, in running order, that fails in
isolation.  A nested model is one node.  A layer called several times gives one row per call
(``name#2``...).
"""
from __future__ import annotations

from typing import Any

import numpy as np

import numpy_rnn
from numpy_rnn.graph.run import run_node

from .. import report as _report  # diff_arrays looked up there: a swapped checker is seen
from ..trace_report import TraceReport, TraceRow, error_growth, mask_mismatch
from . import backend
from .run import output_specs

__all__ = ["trace_graph"]


def _calls(np_model: Any) -> dict[int, tuple[str, int]]:
    """``id(node) -> (layer name, call index in this model)`` for the NumPy model's nodes."""
    counts: dict[str, int] = {}
    out = {}
    for node in sorted((n for n in np_model.nodes if not n.is_input), key=lambda n: n.id):
        k = counts.get(node.layer.name, 0)
        counts[node.layer.name] = k + 1
        out[id(node)] = (node.layer.name, k)
    return out


def _as_numpy(value: Any) -> Any:
    return None if value is None else np.asarray(backend.to_numpy(value))


def _keras_run(keras_model: Any, xs: list) -> dict:
    """Keras's outputs and output masks per call ``(layer name, call index)``."""
    from keras.src.backend.common.masking import get_keras_mask
    from keras.src.models.functional import operation_fn
    from keras.src.ops.function import make_node_key

    tensor_dict: dict[int, Any] = {}
    for t, x in zip(keras_model.inputs, xs):
        tensor_dict[id(t)] = backend.convert(x)
    index_of: dict[int, tuple[str, int]] = {}
    for op in keras_model.operations:
        k = 0
        for i, node in enumerate(op._inbound_nodes):
            if make_node_key(op, i) in keras_model._nodes:
                index_of[id(node)] = (op.name, k)
                k += 1
    per_call: dict[tuple[str, int], tuple[list, list]] = {}
    for depth in sorted(keras_model._nodes_by_depth, reverse=True):
        for node in keras_model._nodes_by_depth[depth]:
            if not node.operation or node.is_input:
                continue
            if any(id(x) not in tensor_dict for x in node.input_tensors):
                continue
            args, kwargs = node.arguments.fill_in(tensor_dict)
            outputs = operation_fn(node.operation, training=False)(*args, **kwargs)
            flat = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
            for x, y in zip(node.outputs, flat):
                tensor_dict[id(x)] = y
            if id(node) in index_of:
                per_call[index_of[id(node)]] = (
                    [_as_numpy(y) for y in flat],
                    [_as_numpy(get_keras_mask(y)) for y in flat])
    final = [_as_numpy(tensor_dict[id(t)]) for t in keras_model.outputs]
    whole = keras_model([backend.convert(x) for x in xs] if len(xs) > 1 else
                        backend.convert(xs[0]), training=False)
    whole = list(whole) if isinstance(whole, (list, tuple)) else (
        [whole[k] for k in sorted(whole)] if isinstance(whole, dict) else [whole])
    for a, e in zip(final, whole):
        check = _report.diff_arrays("model output", a, _as_numpy(e))
        if not check.passed:
            raise ValueError(f"trace: running `keras_model` '{keras_model.name}' node by node "
                             f"does not reproduce keras_model(x) (max|err| "
                             f"{check.max_abs_err:.3e}), so it cannot be traced")
    return per_call


def _compare(label: str, actual: list, expected: list, layer: Any):
    if len(actual) != len(expected):
        raise ValueError(f"trace: node '{label}' returned {len(actual)} output(s) in numpy and "
                         f"{len(expected)} in keras")
    specs = output_specs(layer, len(actual)) if not isinstance(
        layer, (numpy_rnn.Model, numpy_rnn.Sequential)) else [("output", "output")] * len(actual)
    diffs = []
    for (out_name, kind), a, e in zip(specs, actual, expected):
        name = label if len(actual) == 1 else f"{label}:{out_name}"
        diffs.append(_report.diff_arrays(name, np.asarray(a), e, kind=kind,
                                         time_axis=1 if e.ndim == 3 else None))
    worst = max(diffs, key=lambda d: (not d.passed, d.max_abs_err / max(d.atol, 1e-300)))
    return worst, specs[diffs.index(worst)][1]


def trace_graph(np_model: Any, keras_model: Any, x: Any, *, case: str | None = None
                ) -> TraceReport:
    """:func:`parity.trace` for a ``numpy_rnn.Model`` and its functional Keras twin; ``x``: one
    array per model input (a list or a dict by input name; an array for one input)."""
    if type(keras_model).__name__ != "Functional":
        raise TypeError("trace: `keras_model` must be a functional Keras model when `np_model` "
                        f"is a numpy_rnn.Model. Received: {type(keras_model).__name__}")
    xs = np_model._standardize_inputs(x, what="x")
    if xs[0].shape[0] == 0:
        raise ValueError("trace: `x` must hold at least one sample")
    for a in xs:
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError("trace: `x` must be finite. Received: an array holding NaN or "
                             "infinity")
    per_call = _keras_run(keras_model, xs)
    calls = _calls(np_model)
    totals: dict[str, int] = {}
    for name, _k in calls.values():
        totals[name] = totals.get(name, 0) + 1
    snapshot = np_model._snapshot()
    rows: list[TraceRow] = []
    try:
        values = {id(t): a for t, a in zip(np_model.inputs, xs)}
        masks = {id(t): None for t in np_model.inputs}
        k_values = dict(values)
        k_masks = dict(masks)
        previous_err = None
        for node in np_model.nodes:
            if node.is_input:
                continue
            key = calls[id(node)]
            if key not in per_call:
                raise ValueError(f"trace: call {key[1]} of layer '{key[0]}' has no twin in the "
                                 f"Keras model '{keras_model.name}'")
            k_outs, k_out_masks = per_call[key]
            outs, out_masks = run_node(node, values, masks, False)
            alone, alone_masks = run_node(node, k_values, k_masks, False)
            for t, y, m, ky, km in zip(node.outputs, outs, out_masks, k_outs, k_out_masks):
                values[id(t)], masks[id(t)] = y, m
                k_values[id(t)], k_masks[id(t)] = ky, km
            label = key[0] if totals[key[0]] == 1 else f"{key[0]}#{key[1] + 1}"
            chained, kind = _compare(label, outs, k_outs, node.layer)
            isolated, _ = _compare(label, alone, k_outs, node.layer)
            k_layer = keras_model.get_layer(key[0])
            rows.append(TraceRow(
                label, type(k_layer).__name__, chained, isolated,
                growth=error_growth(previous_err, chained.max_abs_err, chained.atol),
                kind=kind, mask_mismatch=mask_mismatch(out_masks[0], k_out_masks[0]),
                isolated_mask_mismatch=mask_mismatch(alone_masks[0], k_out_masks[0])))
            previous_err = chained.max_abs_err
    finally:
        np_model._restore(snapshot)
    title = case or (f"numpy '{np_model.name}' vs keras '{keras_model.name}' on "
                     f"{[tuple(a.shape) for a in xs]}")
    return TraceReport(title, rows)
