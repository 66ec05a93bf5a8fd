"""A functional model's config: layers with their nodes, as Keras's ``Functional.get_config``
(smaller: a tensor is ``{"__tensor__": [layer name, node index, tensor index]}``, the node index
counting that layer's nodes in this model in the order they were made)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..model import LAYER_CLASSES, Sequential
from .input_layer import InputLayer
from .symbolic import SymbolicTensor

__all__ = ["serialize", "deserialize"]


def _class_name(layer: Any) -> str:
    return "Model" if hasattr(layer, "nodes") and hasattr(layer, "_run_graph") \
        else type(layer).__name__


def _node_indices(model: Any) -> dict[int, int]:
    out: dict[int, int] = {}
    per_layer: dict[int, int] = {}
    for node in sorted(model.nodes, key=lambda n: n.id):
        k = per_layer.get(id(node.layer), 0)
        out[id(node)] = k
        per_layer[id(node.layer)] = k + 1
    return out


def serialize(model: Any) -> dict:
    """``model.get_config()``: JSON-serialisable."""
    node_index = _node_indices(model)

    def ser(value: Any) -> Any:
        if isinstance(value, SymbolicTensor):
            return {"__tensor__": [value.layer.name, node_index[id(value.node)], value.index]}
        if isinstance(value, dict):
            return {str(k): ser(val) for k, val in value.items()}
        if isinstance(value, (list, tuple)):
            return [ser(item) for item in value]
        if isinstance(value, np.generic):
            return value.item()
        return value

    layers = []
    for layer in model.layers:
        nodes = sorted((n for n in model.nodes if n.layer is layer and not n.is_input),
                       key=lambda n: n.id)
        layers.append({"class_name": _class_name(layer), "name": layer.name,
                       "config": layer.get_config(),
                       "inbound_nodes": [{"args": ser(list(n.args)), "kwargs": ser(n.kwargs)}
                                         for n in nodes]})
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": ser(model.input), "output_layers": ser(model.output)}


def deserialize(cls: type, config: Any, model_classes: dict) -> Any:
    """Rebuild a model of class ``cls`` from ``serialize``'s output (fresh weights)."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise TypeError("`config` must be a dict from Model.get_config(). Received: "
                        f"{type(config).__name__}")
    classes = {**LAYER_CLASSES, "InputLayer": InputLayer, "Sequential": Sequential,
               **model_classes}
    made: dict[str, Any] = {}
    pending = []
    for i, item in enumerate(config["layers"]):
        name = item.get("class_name") if isinstance(item, dict) else None
        if name not in classes or not isinstance(item.get("config"), dict):
            raise ValueError(f"`config['layers'][{i}]['class_name']` must be one of "
                             f"{sorted(classes)} (with a 'config' dict). Received: {name!r}")
        layer = classes[name].from_config(dict(item["config"]))
        made[item.get("name", layer.name)] = layer
        pending += [(layer, data) for data in item.get("inbound_nodes", [])]
    outputs: dict[tuple, list] = {(layer.name, 0): [layer.output] for layer in made.values()
                                  if isinstance(layer, InputLayer)}
    counts: dict[str, int] = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and "__tensor__" in value:
            lname, k, j = value["__tensor__"]
            if (lname, k) not in outputs:
                raise KeyError((lname, k))
            return outputs[(lname, k)][j]
        if isinstance(value, dict):
            return {key: resolve(val) for key, val in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    while pending:  # a node is made once every tensor it reads exists
        left = []
        for layer, data in pending:
            try:
                args, kwargs = resolve(data["args"]), resolve(data["kwargs"])
            except KeyError:
                left.append((layer, data))
                continue
            out = layer(*args, **kwargs)
            k = counts.get(layer.name, 0)
            counts[layer.name] = k + 1
            outputs[(layer.name, k)] = out if isinstance(out, list) else [out]
        if len(left) == len(pending):
            raise ValueError("`config` describes a graph whose nodes cannot all be connected: "
                             f"{[layer.name for layer, _ in left]}")
        pending = left
    return cls(resolve(config["input_layers"]), resolve(config["output_layers"]),
               name=config.get("name"), trainable=config.get("trainable", True))
