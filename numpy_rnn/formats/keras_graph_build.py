"""Building a :class:`~numpy_rnn.formats.keras_graph.GraphPlan` into a ``numpy_rnn.Model``:
every call is made symbolically in dependency order (a layer's calls in their order, as Keras
rebuilds a config), so the layers are built without drawing weights; a call Keras would refuse
(merge inputs of incompatible shapes...), a reference to a missing call or tensor, a cycle and
an input no output uses are each listed, and nothing is returned when any is found."""
from __future__ import annotations

from typing import Any

from ..functional import Input, Model
from ..graph.symbolic import SymbolicTensor
from ..model import Sequential
from .keras_convert import input_spec, layer_label, short
from .keras_graph_refs import GraphNode, Ref, leaves, map_refs

__all__ = ["build_graph"]


def build_graph(plan: Any, problems: list[str]) -> Model | None:
    before = len(problems)
    made: dict[str, Any] = {}
    outputs: dict[tuple[str, int], list] = {}
    failed: set[tuple[str, int]] = set()
    for g in plan.layers:
        if g.is_input:
            cfg = g.entry.get("config") if isinstance(g.entry.get("config"), dict) else {}
            shape, dtype = input_spec(g.entry, problems)
            if shape is None:
                problems.append(f"{layer_label(g.entry)}: its shape is missing or not a shape "
                                f"({short(cfg.get('batch_shape', cfg.get('batch_input_shape')))})")
                continue
            try:
                outputs[(g.name, 0)] = [Input(shape, dtype=dtype or "float32", name=g.name)]
            except (ValueError, TypeError) as exc:
                problems.append(f"{layer_label(g.entry)}: {exc}")
        elif g.nested is not None:
            # a nested graph plan has nodes; a nested Sequential's plan has none
            made[g.name] = g.nested.build_model(problems) if hasattr(g.nested, "nodes") \
                else _sequential(g.nested, problems)
        elif g.layer is not None:
            made[g.name] = g.layer
    if len(problems) > before:
        return None
    pending: dict[str, list[GraphNode]] = {}
    for node in plan.nodes:
        pending.setdefault(node.layer, []).append(node)
    counts: dict[str, int] = {}
    while pending:
        progressed = False
        for name in list(pending):
            queue = pending[name]
            while queue:
                node = queue[0]
                state = _resolve_state(node, outputs, failed)
                if state == "wait":
                    break
                key = (name, counts.get(name, 0))
                counts[name] = key[1] + 1
                queue.pop(0)
                progressed = True
                if state == "failed" or name not in made:
                    failed.add(key)
                    _check_indices(node, outputs, problems, plan)
                    continue
                out = _call(made[name], node, outputs, problems, plan)
                if out is None:
                    failed.add(key)
                else:
                    outputs[key] = out
            if not queue:
                del pending[name]
        if not progressed:
            _explain_stuck(pending, outputs, failed, counts, plan, problems)
            return None
    ins = _resolve_io(plan.inputs, outputs, failed, problems, "input")
    outs = _resolve_io(plan.outputs, outputs, failed, problems, "output")
    if len(problems) > before or failed:
        return None
    _check_inputs_used(ins, outs, problems)
    if len(problems) > before:
        return None
    try:
        model = Model(ins, outs, name=plan.name)
    except (ValueError, TypeError) as exc:
        problems.append(f"the graph cannot be built: {exc}")
        return None
    kept = {layer.name for layer in model.layers}
    for g in plan.layers:
        if g.name not in kept and not g.is_input:
            problems.append(f"{layer_label(g.entry)} does not lead to any model output")
    return None if len(problems) > before else model


def _sequential(plan: Any, problems: list[str]) -> Sequential | None:
    if any(lp.layer is None for lp in plan.layers):
        return None
    try:
        return plan.build_model()
    except (ValueError, TypeError) as exc:
        problems.append(f"nested model '{plan.name}': {exc}")
        return None


def _check_indices(node: GraphNode, outputs: dict, problems: list[str], plan: Any) -> None:
    """The tensor indices a call that cannot be made would read, where the call they name
    was made (so one error lists them too)."""
    g = plan.layer_named(node.layer)
    where = layer_label(g.entry) if g is not None else f"layer '{node.layer}'"
    for r in leaves([node.args, node.kwargs]):
        if isinstance(r, Ref) and (r.layer, r.node) in outputs:
            _tensor(r, outputs, problems, where)


def _resolve_state(node: GraphNode, outputs: dict, failed: set) -> str:
    refs = [r for r in leaves([node.args, node.kwargs]) if isinstance(r, Ref)]
    if any((r.layer, r.node) in failed for r in refs):
        return "failed"
    return "ready" if all((r.layer, r.node) in outputs for r in refs) else "wait"


def _tensor(ref: Ref, outputs: dict, problems: list[str], where: str) -> SymbolicTensor | None:
    outs = outputs[(ref.layer, ref.node)]
    if ref.index >= len(outs):
        problems.append(f"{where} reads output {ref.index} of call {ref.node} of '{ref.layer}', "
                        f"which has {len(outs)} output(s)")
        return None
    return outs[ref.index]


def _call(layer: Any, node: GraphNode, outputs: dict, problems: list[str],
          plan: Any) -> list | None:
    g = plan.layer_named(node.layer)
    where = layer_label(g.entry) if g is not None else f"layer '{node.layer}'"
    bad = []

    def fill(r: Ref) -> Any:
        t = _tensor(r, outputs, problems, where)
        if t is None:
            bad.append(r)
        return t

    if any(leaf is None for leaf in leaves(node.args)):
        return None  # a reference that was already refused
    args = map_refs(node.args, fill)
    kwargs = map_refs(node.kwargs, fill)
    if bad:
        return None
    kwargs = {k: v for k, v in kwargs.items() if not (k == "training" and v in (False, None))}
    try:
        out = layer(*args, **kwargs)
    except (ValueError, TypeError, IndexError) as exc:
        problems.append(f"{where} cannot be called on its inputs "
                        f"{_shapes(args[0])}: {exc}")
        return None
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _shapes(value: Any) -> Any:
    if isinstance(value, SymbolicTensor):
        return value.shape
    if isinstance(value, (list, tuple)):
        return [_shapes(v) for v in value]
    return value


def _resolve_io(structure: Any, outputs: dict, failed: set, problems: list[str],
                what: str) -> Any:
    def conv(r: Any) -> Any:
        if r is None:
            return None
        if (r.layer, r.node) in failed:
            return None
        if (r.layer, r.node) not in outputs:
            problems.append(f"model {what} [{r.layer!r}, {r.node}, {r.index}] names a call "
                            f"that does not exist")
            return None
        return _tensor(r, outputs, problems, f"model {what}")
    return map_refs(structure, conv)


def _check_inputs_used(ins: Any, outs: Any, problems: list[str]) -> None:
    """Every model input must reach an output (Keras would keep an input nothing reads)."""
    reached: set[int] = set()
    stack = [t for t in leaves(outs) if isinstance(t, SymbolicTensor)]
    seen: set[int] = set()
    while stack:
        t = stack.pop()
        if id(t) in seen or t.node is None:
            continue
        seen.add(id(t))
        reached.add(id(t))
        if not t.node.is_input:
            stack.extend(t.node.input_tensors)
    for t in leaves(ins):
        if isinstance(t, SymbolicTensor) and id(t) not in reached:
            problems.append(f"model input '{t.name}' is not used by any output")


def _explain_stuck(pending: dict, outputs: dict, failed: set, counts: dict, plan: Any,
                   problems: list[str]) -> None:
    """Why the remaining calls cannot be made: a reference to a call that never comes (a
    dangling node) or a cycle."""
    calls: dict[str, int] = {g.name: 1 for g in plan.layers if g.is_input}
    for node in plan.nodes:
        calls[node.layer] = calls.get(node.layer, 0) + 1
    cyclic = []
    for name in sorted(pending):
        dangling = False
        for node in pending[name]:
            for r in leaves([node.args, node.kwargs]):
                if isinstance(r, Ref) and (r.layer, r.node) not in outputs and \
                        r.node >= calls.get(r.layer, 0):
                    dangling = True
                    problems.append(f"layer '{name}' reads call {r.node} of '{r.layer}', which "
                                    f"is called {calls.get(r.layer, 0)} time(s) in the model")
        if not dangling:
            cyclic.append(name)
    if cyclic:
        problems.append(f"the graph has a cycle: layers {cyclic} each wait on another's output")
