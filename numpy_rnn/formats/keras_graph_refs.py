"""The pieces of a functional config the graph planner shares (a leaf of ``formats``):
tensor references (:class:`Ref`), calls (:class:`GraphNode`) and walking nested structures."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

__all__ = ["Ref", "GraphNode", "leaves", "map_refs", "keras3_tensor", "io_refs", "raw_tensors",
           "raw_refs"]


@dataclasses.dataclass(frozen=True)
class Ref:
    """A tensor in the config: output ``index`` of the ``node``-th call of ``layer`` in this
    model (offsets of nested models removed)."""

    layer: str
    node: int
    index: int


@dataclasses.dataclass
class GraphNode:
    """One call: the layer, its positional and keyword arguments with :class:`Ref` leaves."""

    layer: str
    args: list
    kwargs: dict


def keras3_tensor(value: Any) -> tuple | None:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        hist = (value.get("config") or {}).get("keras_history")
        if isinstance(hist, (list, tuple)) and len(hist) == 3 and isinstance(hist[0], str) \
                and all(isinstance(i, int) and not isinstance(i, bool) for i in hist[1:]):
            return tuple(hist)
        return ("?", -1, -1)
    return None


def io_refs(value: Any) -> Any:
    """``input_layers`` / ``output_layers`` with each ``[name, node, index]`` as a tuple, in
    its structure (a single one, a list or a dict)."""
    if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str) \
            and all(isinstance(i, int) and not isinstance(i, bool) for i in value[1:]):
        return tuple(value)
    if isinstance(value, dict):
        return {k: io_refs(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [io_refs(v) for v in value]
    return value


def leaves(structure: Any) -> list:
    if isinstance(structure, dict):
        return [x for v in structure.values() for x in leaves(v)]
    if isinstance(structure, (list, tuple)) and not isinstance(structure, Ref):
        return [x for v in structure for x in leaves(v)]
    return [structure]


def map_refs(structure: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(structure, Ref):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: map_refs(v, fn) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [map_refs(v, fn) for v in structure]
    return structure


def raw_tensors(value: Any) -> list[tuple]:
    raw = keras3_tensor(value)
    if raw is not None:
        return [raw]
    if isinstance(value, dict):
        return [t for v in value.values() for t in raw_tensors(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in raw_tensors(v)]
    return []


def raw_refs(value: Any) -> list[tuple]:
    refs = io_refs(value)
    return [r for r in leaves(refs) if isinstance(r, tuple)] if not isinstance(refs, tuple) \
        else [refs]
