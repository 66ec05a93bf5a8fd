"""Keras functional models <-> ``numpy_rnn.Model`` (graphs: branches, merges, several inputs and
outputs, shared layers, nested models, ``initial_state``).

``graph_from_keras`` reads the Keras model's config with the ``.keras`` reader's planner
(``numpy_rnn.formats.keras_graph``, the one layer table and the registry of users' twins), so a
live model and its file are accepted or refused alike, every problem listed; each layer's
weights are then copied from its Keras twin (a nested model's in its own order).
``graph_to_keras`` rebuilds the graph in Keras node by node: the same layers (Keras twins by
``layer_to_keras``, nested models recursively), called on the same tensors with the same
``initial_state`` / ``mask`` arguments, so the Keras model's ``layers`` and ``get_weights()``
follow numpy_rnn's order; that is checked.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import numpy_rnn
from numpy_rnn.graph.symbolic import SymbolicTensor, pack_like

from .text import text_vectorization_from_keras, text_vectorization_to_keras

__all__ = ["graph_from_keras", "graph_to_keras", "is_functional", "graph_output_specs",
           "copy_graph_weights"]


def is_functional(obj: Any) -> bool:
    """A ``numpy_rnn.Model`` (functional) rather than a layer or a ``Sequential``."""
    return isinstance(obj, numpy_rnn.Model)


def copy_graph_weights(np_model: Any, keras_model: Any, where: str) -> None:
    """Each layer's weights from its Keras twin (by name), all checked before any is set."""
    prepared, problems = [], []
    for layer in np_model.layers:
        if isinstance(layer, numpy_rnn.InputLayer) or not layer.weight_names():
            continue
        try:
            k_layer = keras_model.get_layer(layer.name)
        except ValueError:
            problems.append(f"layer '{layer.name}' has no twin in the Keras model")
            continue
        weights = [np.asarray(w) for w in k_layer.get_weights()]
        try:
            prepared.append((layer, layer._prepare_weights(weights)))
        except (ValueError, TypeError) as exc:
            problems.append(f"layer '{layer.name}': {exc}")
    if problems:
        raise ValueError(f"{where}: the weights cannot be copied: " + "; ".join(problems))
    for layer, ready in prepared:
        layer._commit_weights(ready)


def graph_from_keras(model: Any, plan: Any, where: str) -> numpy_rnn.Model:
    """The ``numpy_rnn.Model`` a :class:`~numpy_rnn.formats.keras_graph.GraphPlan` of
    ``model``'s config built, with ``model``'s weights copied."""
    np_model = plan.model if plan.model is not None else plan.build_model()
    _copy_vocabularies(np_model, model)
    copy_graph_weights(np_model, model, where)
    return np_model


def _copy_vocabularies(np_model: Any, keras_model: Any) -> None:
    """Each TextVectorization's options and vocabulary from the live Keras layer (the config
    holds no vocabulary once adapted)."""
    for layer in np_model.layers:
        if isinstance(layer, numpy_rnn.Model):
            _copy_vocabularies(layer, keras_model.get_layer(layer.name))
        elif isinstance(layer, numpy_rnn.TextVectorizationLayer):
            layer.vectorizer = text_vectorization_from_keras(keras_model.get_layer(layer.name))


def _keras_input(t: SymbolicTensor) -> Any:
    import keras

    dtype = "string" if t.dtype == "object" else t.dtype
    return keras.Input(t.shape[1:], dtype=dtype, name=t.name)


def graph_to_keras(np_model: numpy_rnn.Model, layer_to_keras: Any, sequential_to_keras: Any):
    """A ``keras.Model`` with the graph of ``np_model``, weights copied.

    ``layer_to_keras`` / ``sequential_to_keras``: the bridge's converters of one layer and of
    a ``Sequential`` (passed in, so this module needs no import of them)."""
    import keras

    tensors: dict[int, Any] = {id(t): _keras_input(t) for t in np_model.inputs}
    twins: dict[int, Any] = {}

    def fill(value: Any) -> Any:
        if isinstance(value, SymbolicTensor):
            return tensors[id(value)]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(fill(v) for v in value)
        return value

    for node in np_model.nodes:
        if node.is_input:
            continue
        layer = node.layer
        twin = twins.get(id(layer))
        if twin is None:
            if isinstance(layer, numpy_rnn.Model):
                twin = graph_to_keras(layer, layer_to_keras, sequential_to_keras)
            elif isinstance(layer, numpy_rnn.Sequential):
                twin = sequential_to_keras(layer)
            elif isinstance(layer, numpy_rnn.TextVectorizationLayer):
                twin = text_vectorization_to_keras(layer.vectorizer)
            else:
                twin = layer_to_keras(layer)
            twins[id(layer)] = twin
        out = twin(*fill(list(node.args)), **fill(dict(node.kwargs)))
        outs = [out] if node.single_output else list(out)
        for t, k in zip(node.outputs, outs):
            tensors[id(t)] = k
    inputs = pack_like(np_model._inputs_struct, [tensors[id(t)] for t in np_model.inputs])
    outputs = pack_like(np_model._outputs_struct, [tensors[id(t)] for t in np_model.outputs])
    k_model = keras.Model(inputs, outputs, name=np_model.name)
    # Keras counts its mask operations when it orders the layers, numpy_rnn does not: layers
    # without weights (an InputLayer) may sit elsewhere; the weights' order must agree.
    names = [lay.name for lay in k_model.layers if lay.weights]
    if names != [lay.name for lay in np_model.layers if lay.weight_names()]:
        raise RuntimeError(f"to_keras: Keras ordered the layers with weights of "
                           f"'{np_model.name}' as {names}, numpy_rnn as "
                           f"{[lay.name for lay in np_model.layers if lay.weight_names()]}")
    for np_w, k_w in zip(np_model.get_weights(), k_model.get_weights()):
        if np_w.shape != k_w.shape or not np.array_equal(np_w.astype(k_w.dtype), k_w):
            raise RuntimeError("to_keras: the Keras model's weights differ from the numpy "
                               "model's after building it")
    return k_model


def graph_output_specs(np_model: numpy_rnn.Model, output_specs: Any) -> list[tuple[str, str]]:
    """``(name, tolerance kind)`` of each model output: the output layer's name (with the
    output's place when that layer returns several), the kind its layer gives that output."""
    specs = []
    for t in np_model.outputs:
        node = t.node
        n = len(node.outputs)
        kind = output_specs(node.layer, n)[t.index][1] if not isinstance(
            node.layer, (numpy_rnn.Model, numpy_rnn.Sequential)) else "output"
        specs.append((node.layer.name if n == 1 else f"{node.layer.name}[{t.index}]", kind))
    seen: dict[str, int] = {}
    out = []
    for name, kind in specs:
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}#{seen[name]}", kind))
    return out
