"""Keras's default object names, and ``get_layer`` by name or index (``keras/src/utils/naming.py``): the class name in snake case
(``LSTM`` -> ``lstm``, ``BatchNormalization`` -> ``batch_normalization``, ``Conv1D`` ->
``conv1d``), made unique per name within the process: ``lstm``, ``lstm_1``, ``lstm_2``...
"""
from __future__ import annotations

import collections
import re
import threading
from typing import Any

__all__ = ["auto_name", "uniquify", "to_snake_case", "reset_uids", "find_layer"]

_uids: collections.defaultdict = collections.defaultdict(int)
_lock = threading.Lock()


def to_snake_case(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def uniquify(name: str) -> str:
    """``name`` the first time, then ``name_1``, ``name_2``..."""
    with _lock:
        unique = f"{name}_{_uids[name]}" if name in _uids else name
        _uids[name] += 1
    return unique


def auto_name(prefix: str) -> str:
    return uniquify(to_snake_case(prefix))


def reset_uids() -> None:
    """Start every name's count again (Keras's ``backend.clear_session`` does this)."""
    with _lock:
        _uids.clear()


def find_layer(model: Any, name: str | None, index: int | None) -> Any:
    """Keras's ``get_layer``: by ``name`` or by ``index`` of ``model.layers``, not both."""
    if index is not None and name is not None:
        raise ValueError("Provide only a layer name or a layer index. Received: "
                         f"index={index}, name={name!r}")
    if index is not None:
        if not isinstance(index, int) or not -len(model.layers) <= index < len(model.layers):
            raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                             f"has {len(model.layers)} layers.")
        return model.layers[index]
    if name is None:
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")
    for layer in model.layers:
        if layer.name == name:
            return layer
    raise ValueError(f"No such layer: {name}. Existing layers are: "
                     f"{[layer.name for layer in model.layers]}.")
