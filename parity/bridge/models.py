"""Keras models <-> ``numpy_rnn.Sequential`` / ``numpy_rnn.Model``.

``model_from_keras`` accepts a Keras ``Sequential`` model or a ``Functional`` model: a single
chain of supported layers becomes a ``Sequential`` as before, any other graph a
``numpy_rnn.Model`` (``parity.bridge.graph``).  The model's config is checked by the same table the file
reader uses (``numpy_rnn.keras_file.plan_model``, on ``numpy_rnn.formats.keras_layers``), so a live model and its ``.keras`` file are
accepted or refused alike, with every problem listed; each layer's weights are then copied by
``parity.bridge.layers``.  ``model_to_keras`` is the reverse, always giving a
``keras.Sequential`` with an ``Input``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import numpy_rnn
from numpy_rnn.formats.keras_graph import GraphPlan
from numpy_rnn.formats.keras_plan import SUBCLASSED_HINT
from numpy_rnn.keras_file import UnsupportedModelError, plan_model

from . import backend
from .graph import graph_from_keras, graph_to_keras
from .layers import UnsupportedKerasFeature, layer_from_keras, layer_to_keras


class UnsupportedKerasModel(UnsupportedKerasFeature, UnsupportedModelError):
    """A Keras model numpy_rnn cannot reproduce; ``problems`` lists every reason.

    Both a ``parity.UnsupportedKerasFeature`` and a ``numpy_rnn.UnsupportedModelError``."""

    def __init__(self, problems: list[str], where: str = "model") -> None:
        UnsupportedModelError.__init__(self, problems, where)


def _input_from_keras(model: Any) -> tuple[tuple | None, str | None]:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None, None
    shape = tuple(inputs[0].shape)[1:]
    return tuple(None if d is None else int(d) for d in shape), str(inputs[0].dtype)


def model_from_keras(model: Any) -> Any:
    """A ``numpy_rnn.Sequential`` twin of a Keras Sequential / single-chain Functional model,
    a ``numpy_rnn.Model`` twin of any other Functional model.

    Raises:
        UnsupportedKerasModel: every unsupported layer, option and branch, in one error.
        ValueError: the model is not built (it has no weights yet).
    """
    keras = backend.require()
    where = f"Keras model '{model.name}'"
    if type(model).__name__ not in ("Sequential", "Functional") and not hasattr(
            model, "_inputs_struct"):
        raise UnsupportedKerasModel([f"{type(model).__name__} is a subclassed keras.Model: "
                                     f"{SUBCLASSED_HINT}"], where)
    if not model.built:
        raise ValueError(f"{where} is not built, so it has no weights to copy: call it on an "
                         "input or give it a keras.Input first.")
    try:
        config = keras.saving.serialize_keras_object(model)
    except Exception as exc:  # noqa: BLE001 - a model Keras cannot serialize is not portable
        raise UnsupportedKerasModel([f"Keras cannot serialize the model: {exc}"], where) from None
    try:
        plan = plan_model(config, where)
    except UnsupportedModelError as exc:
        raise UnsupportedKerasModel(exc.problems, exc.where) from None
    if isinstance(plan, GraphPlan):
        return graph_from_keras(model, plan, where)
    problems: list[str] = []
    layers = []
    for lp in plan.layers:
        try:
            layers.append(layer_from_keras(model.get_layer(lp.name)))
        except UnsupportedKerasFeature as exc:
            problems.append(str(exc))
    if problems:
        raise UnsupportedKerasModel(problems, where)
    input_shape, input_dtype = plan.input_shape, plan.input_dtype
    if input_shape is None:
        input_shape, input_dtype = _input_from_keras(model)
    return numpy_rnn.Sequential(layers, name=model.name, input_shape=input_shape,
                                input_dtype=input_dtype)


def _default_input(np_model: numpy_rnn.Sequential) -> tuple[tuple, str]:
    first = np_model.layers[0]
    if np_model.input_shape is not None:
        dtype = np_model.input_dtype or (
            "int32" if isinstance(first, numpy_rnn.Embedding) else first.dtype.name)
        return np_model.input_shape, dtype
    if isinstance(first, numpy_rnn.Embedding):
        return (None,), "int32"
    features = getattr(first, "features", None)
    if isinstance(first, (numpy_rnn.RNNBase, numpy_rnn.Bidirectional)) and features:
        return (None, features), first.dtype.name
    if isinstance(first, numpy_rnn.Dense) and features:
        return (features,), first.dtype.name
    built_for = getattr(first, "build_input_shape", None)  # layers built from a full shape
    if getattr(first, "builds_from_shape", False) and built_for is not None:
        return tuple(built_for)[1:], first.dtype.name
    raise ValueError(f"to_keras: the input shape of model '{np_model.name}' is unknown; give "
                     "Sequential(input_shape=...) or build the model first.")


def model_to_keras(np_model: Any):
    """A ``keras.Sequential`` (with a ``keras.Input``) equal to a ``numpy_rnn.Sequential``, or
    a functional ``keras.Model`` equal to a ``numpy_rnn.Model``; weights copied."""
    keras = backend.require()
    if isinstance(np_model, numpy_rnn.Model):
        return graph_to_keras(np_model, layer_to_keras, model_to_keras)

    if not np_model.layers:
        raise ValueError(f"to_keras: model '{np_model.name}' has no layers.")
    if not np_model.built:
        np_model.build()
    shape, dtype = _default_input(np_model)
    layers = [layer_to_keras(layer) for layer in np_model.layers]
    k_model = keras.Sequential([keras.Input(shape, dtype=dtype), *layers], name=np_model.name)
    # Building the Sequential must not re-initialise the copied weights: check it did not.
    for np_w, k_w in zip(np_model.get_weights(), k_model.get_weights()):
        if np_w.shape != k_w.shape or not np.array_equal(np_w.astype(k_w.dtype), k_w):
            raise RuntimeError("to_keras: Keras re-initialised weights while building the model")
    return k_model
