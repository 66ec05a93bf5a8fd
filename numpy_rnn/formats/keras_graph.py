"""Plan a Keras functional model config as a graph: a :class:`GraphPlan` that builds a
``numpy_rnn.Model`` (branches, merges, several inputs and outputs, shared layers, nested
models, ``initial_state`` / ``mask`` / ``training`` call arguments).

Both dialects of ``inbound_nodes`` are read:

* Keras 3: one ``{"args": [...], "kwargs": {...}}`` per call, each tensor a
  ``{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, index]}}``;
  the masks Keras computes by itself appear as ``mask=`` arguments made by operations
  (``NotEqual``, ``Any``, ``LogicalOr``...).  numpy_rnn's graph computes the same masks itself
  (``numpy_rnn.functional``), so such operations, when they feed nothing but ``mask=``
  arguments, are left out; any other operation is refused.
* Keras 2 / tf_keras: one list of ``[layer, node, index, kwargs]`` per call; a recurrent
  layer's extra inputs are its ``initial_state``.  Where Keras 2's masks differ from Keras 3's
  (a masked recurrent layer called with ``initial_state``, a merge of masked inputs) the file
  is refused (``keras_graph_masks``).

Node indices count a layer's calls in this model; a nested ``Functional`` starts with a node of
its own, which Keras counts (Keras 2 everywhere, also for a ``Sequential`` that starts with an
``InputLayer``; Keras 3 only in ``input_layers`` / ``output_layers``).

Every problem is collected (unknown layers, a cycle, a reference to a missing layer, call or
tensor, duplicate names, merge inputs of incompatible shapes, an input no output uses) and
raised together by the caller; nothing is returned half built.  Weights are not read here
(:mod:`numpy_rnn.formats.keras_graph_weights`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from ..functional import Model
from ..graph.symbolic import signature
from .keras_convert import convert_layer, h5_paths, input_spec, layer_label, short
from .keras_graph_build import build_graph
from .keras_graph_masks import (NESTED_CLASSES, drop_mask_ops, is_op, keras2_state_masks,
                                mask_only_ops, maybe_op)
from .keras_graph_refs import GraphNode, Ref, io_refs, keras3_tensor, leaves
from .keras_layers import Dialect

__all__ = ["Ref", "GraphLayer", "GraphNode", "GraphPlan", "plan_graph", "is_op", "io_refs"]


@dataclasses.dataclass
class GraphLayer:
    """One entry of ``config["layers"]`` (operations left out)."""

    name: str
    class_name: str
    entry: dict
    #: the numpy_rnn layer (None: refused, problems listed); a nested model's plan in ``nested``
    layer: Any = None
    nested: Any = None
    #: the group of its weights in a ``.keras`` file (``layers/lstm``, nested:
    #: ``layers/functional/layers/dense``)
    h5_path: str = ""

    @property
    def is_input(self) -> bool:
        return self.class_name == "InputLayer"


@dataclasses.dataclass
class GraphPlan:
    """A functional config, checked; :meth:`build_model` makes the ``numpy_rnn.Model``."""

    name: str
    layers: list[GraphLayer]
    nodes: list[GraphNode]
    inputs: Any
    outputs: Any
    kind: str = "Functional"
    input_shape: Any = None
    input_dtype: Any = None
    #: filled by :meth:`build_model`
    model: Any = None

    def layer_named(self, name: str) -> GraphLayer | None:
        return next((g for g in self.layers if g.name == name), None)

    def build_model(self, problems: list[str] | None = None) -> Model | None:
        """The ``numpy_rnn.Model`` of this plan (nested models built first); every call is
        made symbolically, so the layers are built without drawing weights.  Problems
        (a call Keras would refuse: incompatible merge shapes...) go to ``problems``; with
        ``problems=None`` they raise ``ValueError`` together."""
        own = [] if problems is None else problems
        model = build_graph(self, own)
        if problems is None and own:
            raise ValueError("; ".join(own))
        self.model = model
        return model


def _name_of(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "?"
    inner = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    return str(entry.get("name") or inner.get("name") or "?")


def _node_offset(entry: dict, keras2: bool) -> int:
    """The node a nested model made for itself when it was built (counted by Keras)."""
    cls = entry.get("class_name")
    if cls in ("Functional", "Model"):
        return 1
    if keras2 and cls == "Sequential":
        layers = (entry.get("config") or {}).get("layers")
        return int(bool(layers) and isinstance(layers[0], dict)
                   and layers[0].get("class_name") == "InputLayer")
    return 0


# -- reading the calls ---------------------------------------------------------------------------
class _Reader:
    """Turns one model's ``inbound_nodes`` into :class:`GraphNode` s with :class:`Ref` s."""

    def __init__(self, entries: dict[str, dict], keras2: bool, problems: list[str]) -> None:
        self.entries, self.keras2, self.problems = entries, keras2, problems

    def ref(self, raw: tuple, where: str, io: bool = False) -> Any:
        name, node, index = raw
        entry = self.entries.get(name)
        if entry is None:
            self.problems.append(f"{where} reads a tensor of layer {name!r}, which the config "
                                 "does not have")
            return None
        offset = _node_offset(entry, self.keras2) if (self.keras2 or io) else 0
        if node - offset < 0 or index < 0:
            self.problems.append(f"{where} reads [{name!r}, {node}, {index}]: no such call or "
                                 "tensor")
            return None
        return Ref(name, node - offset, index)

    def keras3(self, value: Any, where: str) -> Any:
        raw = keras3_tensor(value)
        if raw is not None:
            return self.ref(raw, where)
        if isinstance(value, dict) and "class_name" in value and "config" in value:
            return value  # a serialized constant; the call decides
        if isinstance(value, dict):
            return {k: self.keras3(v, where) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.keras3(v, where) for v in value]
        return value

    def keras2_kwarg(self, value: Any, where: str) -> Any:
        if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str) \
                and value[0] in self.entries and all(isinstance(i, int) for i in value[1:]):
            return self.ref(tuple(value), where)
        if isinstance(value, (list, tuple)):
            return [self.keras2_kwarg(v, where) for v in value]
        return value

    def node(self, name: str, data: Any, takes_state: bool) -> GraphNode | None:
        where = layer_label(self.entries[name])
        if isinstance(data, dict) and "args" in data:
            args = self.keras3(list(data.get("args") or []), where)
            kwargs = self.keras3(dict(data.get("kwargs") or {}), where)
            return GraphNode(name, args, kwargs)
        if not isinstance(data, list) or not data or not all(
                isinstance(d, list) and len(d) in (3, 4) for d in data):
            self.problems.append(f"{where} has a call the reader does not understand: "
                                 f"{short(data)}")
            return None
        refs, kwargs = [], {}
        for item in data:
            if item[0] == "_CONSTANT_VALUE" or not isinstance(item[0], str):
                self.problems.append(f"{where} is called on a constant ({short(item[2])}); "
                                     "numpy_rnn layers are called on tensors")
                return None
            refs.append(self.ref(tuple(item[:3]), where))
            if len(item) == 4 and isinstance(item[3], dict):
                kwargs = {k: self.keras2_kwarg(v, where) for k, v in item[3].items()}
        if takes_state and len(refs) > 1:  # tf_keras puts initial_state among the inputs
            kwargs = {**kwargs, "initial_state": refs[1:]}
            refs = refs[:1]
        return GraphNode(name, [refs[0] if len(refs) == 1 else refs], kwargs)


# -- planning ------------------------------------------------------------------------------------
def plan_graph(name: str, config: dict, problems: list[str], *, dialect: Dialect | None,
               keras2: bool, plan_nested: Callable[[dict, list[str]], Any],
               prefix: str = "") -> GraphPlan | None:
    """A :class:`GraphPlan` of a functional config (``config`` of a ``Functional`` entry), or
    None; every problem found is appended to ``problems``.

    ``plan_nested(entry, problems)`` plans a nested model entry (``Sequential`` or
    ``Functional``; from :mod:`keras_plan`).  ``prefix``: the path of this model's group in the
    weights file (``""`` for the top model)."""
    items = config.get("layers")
    if not isinstance(items, list):
        problems.append(f"functional model '{name}': config has no 'layers' list")
        return None
    entries: dict[str, dict] = {}
    for item in items:
        if not isinstance(item, dict):
            problems.append(f"layer entry {short(item)} is not a serialized Keras layer")
            continue
        n = _name_of(item)
        if n in entries:
            problems.append(f"two layers are named '{n}'")
            continue
        entries[n] = item
    ops = {n for n, e in entries.items() if is_op(e)}
    ops |= mask_only_ops({n for n, e in entries.items() if n not in ops and maybe_op(e)},
                      entries, config)
    layers: list[GraphLayer] = []
    for n, entry in entries.items():
        if n in ops:
            continue
        cls = str(entry.get("class_name"))
        layers.append(GraphLayer(n, cls, entry))
    for g, path in zip(layers, h5_paths([g.class_name for g in layers])):
        g.h5_path = f"{prefix}{path}"
    for g in layers:
        if g.is_input:
            continue
        if g.class_name in NESTED_CLASSES and isinstance(g.entry.get("config"), dict) and \
                "layers" in g.entry["config"] and g.entry.get("registered_name") in (
                    None, g.class_name, "Functional", "Sequential"):
            g.nested = plan_nested(g.entry, problems, f"{g.h5_path}/")
        else:
            g.layer = convert_layer(g.entry, problems, dialect=dialect, graph=True)

    reader = _Reader(entries, keras2, problems)
    nodes: list[GraphNode] = []
    for g in layers:
        inbound = g.entry.get("inbound_nodes") or []
        if g.is_input:
            continue
        if not isinstance(inbound, list) or not inbound:
            problems.append(f"{layer_label(g.entry)} is never called (no inbound node)")
            continue
        takes_state = g.layer is not None and "initial_state" in signature(
            type(g.layer).__call__).parameters
        for data in inbound:
            node = reader.node(g.name, data, takes_state)
            if node is not None:
                nodes.append(node)
    op_nodes = {n: [reader.node(n, d, False) for d in (entries[n].get("inbound_nodes") or [])]
                for n in ops}
    drop_mask_ops(nodes, op_nodes, entries, problems)
    if keras2:
        keras2_state_masks(nodes, entries, problems)
    inputs = _io(reader, config.get("input_layers"), "input_layers")
    outputs = _io(reader, config.get("output_layers"), "output_layers")
    for ref in leaves(inputs):
        if isinstance(ref, Ref) and not (ref.layer in entries and entries[ref.layer].get(
                "class_name") == "InputLayer"):
            problems.append(f"model input {ref.layer!r} is not an InputLayer")
    for ref in leaves(outputs):
        if isinstance(ref, Ref) and ref.layer in ops:
            problems.append(f"model output {ref.layer!r} is made by a Keras operation "
                            f"({entries[ref.layer].get('class_name')}); numpy_rnn runs layers")
    shape = dtype = None
    flat_in = [r for r in leaves(inputs) if isinstance(r, Ref)]
    if len(flat_in) == 1 and flat_in[0].layer in entries:
        shape, dtype = input_spec(entries[flat_in[0].layer], [])
    return GraphPlan(name, layers, nodes, inputs, outputs, input_shape=shape, input_dtype=dtype)


def _io(reader: _Reader, value: Any, key: str) -> Any:
    refs = io_refs(value)
    if refs is None or refs == [] or refs == {}:
        reader.problems.append(f"the config's {key!r} is empty")
        return []

    def conv(leaf: Any) -> Any:
        if isinstance(leaf, tuple):
            return reader.ref(leaf, f"the config's {key!r}", io=True)
        reader.problems.append(f"the config's {key!r} holds {short(leaf)}, not a "
                               "[layer, node, tensor] reference")
        return None

    if isinstance(refs, tuple):
        return conv(refs)
    if isinstance(refs, dict):
        return {k: _io_leaf(v, conv) for k, v in refs.items()}
    return [_io_leaf(v, conv) for v in refs]


def _io_leaf(v: Any, conv: Callable) -> Any:
    if isinstance(v, tuple):
        return conv(v)
    if isinstance(v, list):
        return [_io_leaf(i, conv) for i in v]
    return conv(v)


