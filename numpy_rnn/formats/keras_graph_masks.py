"""Masks in a functional config: Keras 3 writes the masks it computed by itself as ``mask=``
arguments made by operations (``NotEqual``, ``Any``, ``LogicalOr``...); numpy_rnn's graph
computes the same masks itself, so such arguments are dropped once checked to be Keras's own
mask computations.  Keras 2 masks a recurrent layer called with ``initial_state``; Keras 3 and
numpy_rnn do not, so that case is refused for Keras 2 files."""
from __future__ import annotations

from typing import Any

from .. import registry as _registry
from .keras_convert import short
from .keras_graph_refs import GraphNode, Ref, leaves, raw_refs, raw_tensors
from .keras_layers import KERAS_LAYER_RULES

__all__ = ["MASK_OPS", "is_op", "maybe_op", "mask_only_ops", "drop_mask_ops",
           "keras2_state_masks"]

NESTED_CLASSES = ("Functional", "Model", "Sequential")


def is_op(entry: Any) -> bool:
    """A Keras 3 operation (``keras.ops``) rather than a layer, by its module."""
    module = entry.get("module") if isinstance(entry, dict) else None
    return isinstance(module, str) and module.startswith(("keras.src.ops", "keras.ops"))


def maybe_op(entry: dict) -> bool:
    """Keras 3's legacy ``.h5`` config drops the module: an entry of a class neither the table
    nor the registry knows, called the Keras 3 way, may be an operation."""
    return ("module" not in entry and entry.get("class_name") not in KERAS_LAYER_RULES
            and entry.get("class_name") not in NESTED_CLASSES + ("InputLayer",)
            and _registry.lookup(entry.get("class_name"), entry.get("registered_name")) is None
            and all(isinstance(n, dict) for n in entry.get("inbound_nodes") or [None]))


def mask_only_ops(candidates: set[str], entries: dict, config: dict) -> set[str]:
    """The candidates whose outputs feed nothing but ``mask=`` arguments (directly or through
    other such candidates) and no model output."""
    io = {r[0] for r in raw_refs(config.get("output_layers"))}
    uses: dict[str, list[tuple[str, bool]]] = {n: [] for n in candidates}
    for name, entry in entries.items():
        for data in entry.get("inbound_nodes") or []:
            if not isinstance(data, dict):
                continue
            kwargs = data.get("kwargs") if isinstance(data.get("kwargs"), dict) else {}
            for key, value in [("", data.get("args"))] + list(kwargs.items()):
                for raw in raw_tensors(value):
                    if raw[0] in uses:
                        uses[raw[0]].append((name, key == "mask"))
    keep = {n for n in candidates if n not in io}
    changed = True
    while changed:
        changed = False
        for n in list(keep):
            if not all(is_mask or user in keep for user, is_mask in uses[n]):
                keep.discard(n)
                changed = True
    return keep


#: The operations Keras's own ``compute_mask`` methods use (Embedding, Masking, the merges).
MASK_OPS = ("NotEqual", "Any", "All", "LogicalOr", "LogicalAnd", "Squeeze", "ExpandDims",
            "Concatenate", "OnesLike", "ZerosLike", "Cast")


def _mask_sources(nodes: list[GraphNode], entries: dict) -> set[tuple]:
    """``(tensor, constant)`` pairs a Keras mask may compare: the input of an
    ``Embedding(mask_zero=True)`` with 0, the input of a ``Masking`` with its ``mask_value``."""
    out = set()
    for node in nodes:
        entry = entries.get(node.layer, {})
        cfg = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        first = node.args[0] if node.args else None
        if not isinstance(first, Ref):
            continue
        if entry.get("class_name") == "Embedding" and cfg.get("mask_zero"):
            out.add((first, 0))
        elif entry.get("class_name") == "Masking":
            out.add((first, cfg.get("mask_value", 0.0)))
    return out


def _automatic(ref: Ref, op_nodes: dict, entries: dict, sources: set, seen: set) -> str | None:
    """Why the mask ``ref`` (made by operations) is not one Keras computed by itself, or None."""
    if ref.layer not in op_nodes:
        return None  # a model tensor read by an operation (ones_like(x)...): its values unused
    if (ref.layer, ref.node) in seen:
        return None
    seen.add((ref.layer, ref.node))
    cls = entries[ref.layer].get("class_name")
    if cls not in MASK_OPS:
        return f"operation '{ref.layer}' ({cls}) is not one of Keras's mask computations"
    calls = op_nodes[ref.layer]
    node = calls[ref.node] if ref.node < len(calls) else None
    if node is None:
        return f"operation '{ref.layer}' has no call {ref.node}"
    if cls == "NotEqual":
        args = list(node.args)
        pair = (args[0], args[1]) if len(args) == 2 else (None, None)
        if not isinstance(pair[0], Ref) or isinstance(pair[1], (Ref, dict, list)) or not any(
                pair[0] == t and pair[1] == c for t, c in sources):
            return (f"operation '{ref.layer}' compares {short(args)}, which is not the input "
                    "of an Embedding(mask_zero=True) with 0 nor of a Masking with its "
                    "mask_value")
        return None
    for r in leaves([node.args, node.kwargs]):
        if isinstance(r, Ref):
            why = _automatic(r, op_nodes, entries, sources, seen)
            if why:
                return why
    return None


def drop_mask_ops(nodes: list[GraphNode], op_nodes: dict, entries: dict,
                   problems: list[str]) -> None:
    """Keras 3 writes the masks it computed as ``mask=`` arguments made by operations; numpy_rnn
    computes them itself, so those arguments go -- once checked to be Keras's own mask
    computations.  An operation used any other way is refused."""
    used_by_layers: dict[str, list[str]] = {}
    sources = _mask_sources(nodes, entries)
    for node in nodes:
        mask = node.kwargs.get("mask")
        refs = [r for r in leaves(mask) if isinstance(r, Ref)]
        if refs and all(r.layer in op_nodes for r in refs):
            if any(isinstance(r, Ref) for k, v in node.kwargs.items() if k != "mask"
                   for r in leaves(v)):
                problems.append(f"layer '{node.layer}' is called with initial_state and a mask "
                                "computed by Keras operations; numpy_rnn computes masks itself "
                                "and gives none to a call with other tensor arguments (as Keras "
                                "3 does by itself)")
            for r in refs:
                why = _automatic(r, op_nodes, entries, sources, set())
                if why:
                    problems.append(f"layer '{node.layer}' does not receive the automatic mask "
                                    f"of its input ({why}); only Keras's automatic masks are "
                                    "supported")
                    break
            del node.kwargs["mask"]
        for key, value in [("args", node.args)] + [(k, v) for k, v in node.kwargs.items()]:
            for r in leaves(value):
                if isinstance(r, Ref) and r.layer in op_nodes:
                    used_by_layers.setdefault(r.layer, []).append(node.layer)
    for name in sorted(used_by_layers):
        cls = entries[name].get("class_name")
        problems.append(f"operation '{name}' ({cls}) is an input of "
                        f"{sorted(set(used_by_layers[name]))}; numpy_rnn runs layers, not Keras "
                        "operations (only the masks Keras computes by itself are recomputed)")


#: Layers through which a mask reaches the next layer unchanged (or merged), by Keras class.
_MASK_PASSING = ("Dense", "Dropout", "Activation", "Add", "Subtract", "Multiply", "Average",
                 "Maximum", "Minimum", "Concatenate", "LSTM", "GRU", "SimpleRNN", "Bidirectional",
                 "TimeDistributed", "SpatialDropout1D", "GaussianNoise", "GaussianDropout")


#: Keras 2 merges whose output mask differs from Keras 3's (``Dot`` makes none in either).
_KERAS2_MERGE_MASKS = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                       "Concatenate")


def keras2_state_masks(nodes: list[GraphNode], entries: dict, problems: list[str]) -> None:
    """Where Keras 2's masks differ from Keras 3's (which numpy_rnn's graph follows), a call on
    masked inputs is refused rather than computed the other way: Keras 2 masks a recurrent
    layer called with ``initial_state`` (the states travel with the inputs), Keras 3 does not;
    Keras 2's merges AND the masks they are given, Keras 3's OR them (none unless every input
    has one)."""
    made_by: dict[str, list[GraphNode]] = {}
    for node in nodes:
        made_by.setdefault(node.layer, []).append(node)

    def masked(ref: Any, depth: int = 0) -> str | None:
        if not isinstance(ref, Ref) or depth > 200:
            return None
        entry = entries.get(ref.layer, {})
        cls, cfg = entry.get("class_name"), entry.get("config") or {}
        if (cls == "Embedding" and cfg.get("mask_zero")) or cls == "Masking":
            return ref.layer
        if cls in ("LSTM", "GRU", "SimpleRNN") and not cfg.get("return_sequences"):
            return None
        if cls == "Bidirectional" and not ((cfg.get("layer") or {}).get("config") or {}).get(
                "return_sequences"):
            return None
        if cls not in _MASK_PASSING:
            return None
        calls = made_by.get(ref.layer, [])
        node = calls[ref.node] if ref.node < len(calls) else None
        if node is None or "initial_state" in node.kwargs:
            return None
        for r in leaves(node.args):
            source = masked(r, depth + 1)
            if source:
                return source
        return None

    for node in nodes:
        entry = entries.get(node.layer, {})
        if entry.get("class_name") in _KERAS2_MERGE_MASKS and isinstance(node.args[0], list):
            sources = [s for r in node.args[0] if (s := masked(r))]
            if sources:
                problems.append(
                    f"layer '{node.layer}' ({entry.get('class_name')}) merges inputs masked by "
                    f"{sorted(set(sources))}: Keras 2 combines a merge's masks with AND over "
                    "the masks given, Keras 3 (and numpy_rnn) with OR, and only when every "
                    "input has one; load the file in Keras 3 and save it as .keras")
        if "initial_state" in node.kwargs:
            source = masked(node.args[0] if not isinstance(node.args[0], list) else None)
            if source:
                problems.append(
                    f"layer '{node.layer}' is called with initial_state on an input masked by "
                    f"'{source}': Keras 2 applies that mask, Keras 3 (and numpy_rnn) does not; "
                    "load the file in Keras 3, pass mask= explicitly if you want it, and save it "
                    "as .keras")
