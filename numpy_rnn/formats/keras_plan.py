"""Plan a whole Keras model config: ``Sequential``; a ``Functional`` model that is a single
chain of supported layers (Keras's automatic mask plumbing allowed) becomes a ``Sequential``
as before; any other ``Functional`` model is planned as a graph (:mod:`keras_graph`) that
becomes a ``numpy_rnn.Model``.  Nothing is built until the weights are checked (layers are
deferred; a graph's layers are built symbolically, which draws no weights).
"""
from __future__ import annotations

from typing import Any

from .. import registry
from .errors import KerasFileError, UnsupportedModelError
from .keras_convert import (MASK_OPS, RNN_CLASSES, LayerPlan, ModelPlan, convert_layer, dims_of,
                            h5_paths, input_spec, layer_label, short)
from .keras_graph import GraphPlan, plan_graph
from .keras_layers import KERAS_LAYER_RULES, Dialect

#: What a subclassed model's refusal says to do instead.
SUBCLASSED_HINT = ("a subclassed keras.Model has no config numpy_rnn can read (its call() is "
                   "Python code); to port it, rebuild it as a functional model "
                   "(keras.Model(inputs, outputs)) or a Sequential from the same layers and "
                   "copy the weights (new.set_weights(old.get_weights())), registering a twin "
                   "for any layer of your own with numpy_rnn.register_layer")

def plan_model(model_config: Any, where: str = "model") -> ModelPlan | GraphPlan:
    """Turn a serialized Keras model (``config.json`` content) into numpy_rnn layers.

    Raises:
        UnsupportedModelError: listing every unsupported layer, option and wiring found.
        KerasFileError: not a serialized Keras model (or one nested too deeply to be one).
    """
    return plan_config(model_config, where, defer=False)


def plan_config(model_config: Any, where: str, defer: bool,
                dialect: Dialect | None = None) -> ModelPlan | GraphPlan:
    """:func:`plan_model` for the readers: ``defer`` Embedding's allocation until the weights
    are checked; ``dialect``: the Keras that wrote the config (default Keras 3)."""
    try:
        return _plan_model(model_config, where, defer, dialect)
    except RecursionError:
        raise KerasFileError(f"{where}: config.json nests too deeply to be a Keras model "
                             "config") from None


def _registered_layers(config: dict) -> list[str]:
    """The layers of a functional config made by twins users registered."""
    items = config.get("layers") if isinstance(config.get("layers"), list) else []
    return [_name_of(item) for item in items if isinstance(item, dict)
            and item.get("class_name") not in KERAS_LAYER_RULES
            and registry.lookup(item.get("class_name"), item.get("registered_name"))]


def _strings_in(config: dict) -> bool:
    """A model that reads strings (a TextVectorization): numpy_rnn runs it as a graph."""
    items = config.get("layers") if isinstance(config.get("layers"), list) else []
    return any(isinstance(item, dict) and item.get("class_name") == "TextVectorization"
               for item in items)


def _sequential_as_functional(config: dict) -> dict:
    """A Sequential config written as the Functional config of the same chain (Keras 3's
    format), so the graph planner reads it."""
    items = [item for item in config.get("layers") or [] if isinstance(item, dict)]
    layers, previous = [], None
    if not items or items[0].get("class_name") != "InputLayer":
        shape = config.get("build_input_shape") or ((items[0].get("build_config") or {}).get(
            "input_shape") if items else None)
        items = [{"class_name": "InputLayer", "config": {
            "batch_shape": shape, "dtype": "string", "name": "input_layer"}}] + items
    for item in items:
        name = _name_of(item)
        node = [] if previous is None else [{"args": [{
            "class_name": "__keras_tensor__", "config": {"keras_history": [previous, 0, 0]}}],
            "kwargs": {}}]
        layers.append({**item, "name": name, "inbound_nodes": node})
        previous = name
    return {"name": config.get("name"), "layers": layers,
            "input_layers": [[layers[0]["name"], 0, 0]], "output_layers": [[previous, 0, 0]]}


def _nested_planner(dialect: Dialect | None, keras2: bool):
    """``plan(entry, problems, prefix)`` for a model nested in a graph: a ``Sequential`` (its
    own plan, weights under ``prefix``) or a ``Functional`` (a graph of its own)."""
    def plan(entry: dict, problems: list[str], prefix: str) -> Any:
        config = entry["config"]
        name = config.get("name") if isinstance(config.get("name"), str) else _name_of(entry)
        if entry.get("class_name") == "Sequential":
            mine: list[str] = []
            seq = _plan_sequential(name, config, mine, False, dialect)
            problems += [f"inside nested model '{name}': {p}" for p in mine]
            for lp in seq.layers:
                lp.h5_path = prefix + lp.h5_path
            return seq
        return plan_graph(name, config, problems, dialect=dialect, keras2=keras2,
                          plan_nested=plan, prefix=prefix)
    return plan


def _plan_model(model_config: Any, where: str, defer: bool,
                dialect: Dialect | None) -> ModelPlan | GraphPlan:
    problems: list[str] = []
    if not isinstance(model_config, dict) or not isinstance(model_config.get("config"), dict):
        raise KerasFileError(f"{where}: config.json does not hold a serialized Keras model "
                             f"(expected {{'class_name', 'config'}}). Received: "
                             f"{short(model_config)}")
    kind = model_config.get("class_name")
    config = model_config["config"]
    name = config.get("name") if isinstance(config.get("name"), str) else "model"
    where = f"{where} '{name}'" if where == "model" else f"model '{name}' in {where}"
    if kind == "Sequential" and model_config.get("registered_name") in (None, "Sequential") \
            and _strings_in(config):  # a Sequential that reads strings: run as a graph
        plan = plan_graph(name, _sequential_as_functional(config), problems, dialect=dialect,
                          keras2=False, plan_nested=_nested_planner(dialect, False))
        if plan is not None:
            plan.kind = "Sequential"
            plan.build_model(problems)
    elif kind == "Sequential" and model_config.get("registered_name") in (None, "Sequential"):
        plan = _plan_sequential(name, config, problems, defer, dialect)
    elif kind in ("Functional", "Model") and "input_layers" in config:
        keras2 = _legacy_graph(config)
        chain = _plan_legacy_functional if keras2 else _plan_functional
        scratch: list[str] = []
        plan = chain(name, config, scratch, defer, dialect)
        if scratch or _registered_layers(config) or _strings_in(config):  # not a single chain:
            # a graph (which lists its own problems, if any; users' layers read by path)
            plan = plan_graph(name, config, problems, dialect=dialect, keras2=keras2,
                              plan_nested=_nested_planner(dialect, keras2))
            if plan is not None:  # the calls too (refused layers' calls are skipped)
                plan.build_model(problems)
    else:
        problems.append(f"model class {kind!r} (registered as "
                        f"{model_config.get('registered_name')!r}) is a subclassed or unknown "
                        f"model; only Sequential and Functional models can be read: "
                        f"{SUBCLASSED_HINT}")
        plan = None
    if problems:
        raise UnsupportedModelError(problems, where)
    return plan


def _plan_sequential(name: str, config: dict, problems: list[str], defer: bool,
                     dialect: Dialect | None) -> ModelPlan:
    items = config.get("layers")
    if not isinstance(items, list):
        raise KerasFileError(f"Sequential model '{name}': config has no 'layers' list")
    input_shape = input_dtype = None
    plans: list[LayerPlan] = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("class_name") == "InputLayer":
            if i != 0:
                problems.append(f"{layer_label(item)} is not the first layer")
            input_shape, input_dtype = input_spec(item, problems)
            continue
        layer = convert_layer(item, problems, defer=defer, dialect=dialect)
        cls = str(item.get("class_name")) if isinstance(item, dict) else "?"
        plans.append(LayerPlan(_name_of(item), cls, layer))
    if input_shape is None:
        bis = config.get("build_input_shape")
        if bis is None and items and isinstance(items[0], dict):
            bis = (items[0].get("build_config") or {}).get("input_shape")
        if isinstance(bis, (list, tuple)) and len(bis) >= 2:
            input_shape = dims_of(bis[1:])
    if not plans:
        problems.append("the model has no layers")
    for lp, path in zip(plans, h5_paths([lp.class_name for lp in plans])):
        lp.h5_path = path
    return ModelPlan(name, "Sequential", input_shape, input_dtype, plans)


def _name_of(cfg: Any) -> str:
    if not isinstance(cfg, dict):
        return "?"
    inner = cfg.get("config") if isinstance(cfg.get("config"), dict) else {}
    return str(cfg.get("name") or inner.get("name") or "?")


# -- Keras 2 Functional (legacy graph format): a single chain, masks implicit -------------------
def _legacy_graph(config: dict) -> bool:
    """True for Keras 2's graph format: ``inbound_nodes`` as lists of ``[name, node, tensor,
    kwargs]`` (Keras 3 writes ``{"args", "kwargs"}`` dicts)."""
    nodes = config.get("layers")
    return isinstance(nodes, list) and any(
        isinstance(n, dict) and isinstance(n.get("inbound_nodes"), list) and n["inbound_nodes"]
        and isinstance(n["inbound_nodes"][0], list) for n in nodes)


def _graph(nodes: list, config: dict, problems: list[str]) -> tuple[dict, list, list]:
    """A functional config's layers by name (a repeated name is a problem), its input and
    output references."""
    by_name: dict[str, dict] = {}
    for node in nodes:
        node_name = _name_of(node)
        if node_name in by_name:
            problems.append(f"two layers are named '{node_name}'")
        by_name[node_name] = node if isinstance(node, dict) else {}
    return by_name, _io_refs(config.get("input_layers")), _io_refs(config.get("output_layers"))


def _plan_legacy_functional(name: str, config: dict, problems: list[str], defer: bool,
                            dialect: Dialect | None) -> ModelPlan:
    nodes = config.get("layers")
    by_name, inputs, outputs = _graph(nodes, config, problems)
    if len(inputs) != 1 or len(outputs) != 1:
        problems.append(f"the model has {len(inputs)} inputs and {len(outputs)} outputs; "
                        "numpy_rnn runs models with one input and one output")
    source: dict[str, str] = {}  # layer -> the layer whose output it is called on
    for node_name, node in by_name.items():
        if node.get("class_name") == "InputLayer":
            continue
        inbound = node.get("inbound_nodes")
        if not isinstance(inbound, list) or len(inbound) != 1:
            problems.append(f"{layer_label(node)} is called {len(inbound or [])} times; "
                            "numpy_rnn runs a single chain (each layer called once)")
            continue
        call = inbound[0]
        ok = (isinstance(call, list) and len(call) == 1 and isinstance(call[0], list)
              and len(call[0]) in (3, 4) and isinstance(call[0][0], str))
        if not ok:
            problems.append(f"{layer_label(node)} is called on {short(call)}; numpy_rnn "
                            "layers take exactly one tensor from the previous layer")
            continue
        src, node_index, tensor_index = call[0][:3]
        kwargs = call[0][3] if len(call[0]) == 4 else {}
        if (node_index, tensor_index) != (0, 0):
            problems.append(f"{layer_label(node)} is called on output {tensor_index} of call "
                            f"{node_index} of '{src}'; numpy_rnn runs a single chain")
        for key, value in (kwargs.items() if isinstance(kwargs, dict) else [("?", kwargs)]):
            if not (key == "training" and value in (False, None)):
                problems.append(f"{layer_label(node)} is called with {key}={short(value)}; "
                                "numpy_rnn layers are called on one input only")
        source[node_name] = src
    start = inputs[0][0] if len(inputs) == 1 else None
    input_shape = input_dtype = None
    chain: list[str] = []
    if start in by_name:
        input_shape, input_dtype = input_spec(by_name[start], problems)
        current = start
        while True:
            nxt = [n for n, src in source.items() if src == current]
            if len(nxt) > 1:
                problems.append(f"the output of '{current}' feeds {len(nxt)} layers {nxt}: "
                                "branches are not supported (a single chain only)")
            if not nxt or nxt[0] in chain:
                break
            chain.append(nxt[0])
            current = nxt[0]
        if len(outputs) == 1 and chain and outputs[0][0] != chain[-1]:
            problems.append(f"the model output '{outputs[0][0]}' is not the end of the chain "
                            f"'{chain[-1]}'")
    for n, node in by_name.items():
        if n != start and n not in chain:
            problems.append(f"{layer_label(node)} is not on the single chain from the input "
                            "to the output (branches and merges are not supported)")
    plans = [LayerPlan(n, str(by_name[n].get("class_name")),
                       convert_layer(by_name[n], problems, defer=defer, dialect=dialect))
             for n in chain]
    if not plans:
        problems.append("the model has no layers")
    return ModelPlan(name, "Functional", input_shape, input_dtype, plans)


# -- Functional: a single chain, with Keras's automatic mask plumbing allowed ----------------------
def _tensor_refs(value: Any) -> list[tuple]:
    """Every ``__keras_tensor__`` reference in ``value``: ``(layer name, node, index)``."""
    out: list[tuple] = []
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            hist = (value.get("config") or {}).get("keras_history")
            if isinstance(hist, (list, tuple)) and len(hist) == 3:
                out.append(tuple(hist))
            return out
        for item in value.values():
            out.extend(_tensor_refs(item))
    elif isinstance(value, (list, tuple)):
        for item in value:
            out.extend(_tensor_refs(item))
    return out


def _io_refs(value: Any) -> list[tuple]:
    """``input_layers`` / ``output_layers``: ``[name, 0, 0]`` or a list / dict of them."""
    if isinstance(value, dict):
        return [r for item in value.values() for r in _io_refs(item)]
    if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str):
        return [tuple(value)]
    if isinstance(value, (list, tuple)):
        return [r for item in value for r in _io_refs(item)]
    return []


def _is_op(cfg: dict) -> bool:
    module = cfg.get("module") or ""
    return isinstance(module, str) and (module.startswith("keras.src.ops")
                                        or module.startswith("keras.ops"))


def _plan_functional(name: str, config: dict, problems: list[str], defer: bool,
                     dialect: Dialect | None = None) -> ModelPlan:
    nodes = config.get("layers")
    if not isinstance(nodes, list):
        raise KerasFileError(f"Functional model '{name}': config has no 'layers' list")
    by_name, inputs, outputs = _graph(nodes, config, problems)
    if len(inputs) != 1:
        problems.append(f"the model has {len(inputs)} inputs {[r[0] for r in inputs]}; "
                        "numpy_rnn runs models with one input")
    if len(outputs) != 1:
        problems.append(f"the model has {len(outputs)} outputs {[r[0] for r in outputs]}; "
                        "numpy_rnn runs models with one output")

    # Each node's single call: (tensor args, kwargs).
    calls: dict[str, tuple[list, dict]] = {}
    legacy = False
    for node_name, node in by_name.items():
        inbound = node.get("inbound_nodes") or []
        if node.get("class_name") == "InputLayer":
            continue
        if not isinstance(inbound, list) or not inbound:
            problems.append(f"{layer_label(node)} is never called")
            continue
        if len(inbound) > 1:
            problems.append(f"{layer_label(node)} is called {len(inbound)} times (a shared "
                            "layer); numpy_rnn runs a single chain")
        call = inbound[0]
        if not isinstance(call, dict) or "args" not in call:
            legacy = True
            continue
        calls[node_name] = (list(call.get("args") or []), dict(call.get("kwargs") or {}))
    if legacy:
        problems.append("the config uses the legacy (Keras 2) graph format; load the model in "
                        "Keras 3 and save it again as .keras")

    # Classify: input, layers, ops.  Children of each tensor (through positional args).
    children: dict[str, list[str]] = {n: [] for n in by_name}
    for node_name, (args, _kw) in calls.items():
        refs = _tensor_refs(args)
        for ref in refs:
            if ref[0] in children:
                children[ref[0]].append(node_name)
    ops = {n for n, node in by_name.items() if _is_op(node)}
    layers = {n for n, node in by_name.items()
              if n not in ops and node.get("class_name") != "InputLayer"}
    input_nodes = [n for n, node in by_name.items() if node.get("class_name") == "InputLayer"]

    # Walk the chain from the input.
    input_shape = input_dtype = None
    chain: list[str] = []
    start = inputs[0][0] if len(inputs) == 1 else (input_nodes[0] if input_nodes else None)
    if start in by_name:
        input_shape, input_dtype = input_spec(by_name[start], problems)
        current = start
        seen = {start}
        while True:
            layer_children = [c for c in children.get(current, []) if c in layers]
            if len(layer_children) > 1:
                problems.append(f"the output of '{current}' feeds {len(layer_children)} layers "
                                f"{layer_children}: branches are not supported (a single chain "
                                "only)")
            if not layer_children:
                break
            nxt = layer_children[0]
            if nxt in seen:
                break
            seen.add(nxt)
            chain.append(nxt)
            current = nxt
        if outputs and len(outputs) == 1 and chain and outputs[0][0] != chain[-1]:
            problems.append(f"the model output '{outputs[0][0]}' is not the end of the chain "
                            f"'{chain[-1]}'")
    for extra in sorted(set(input_nodes) - {start}):
        if len(inputs) == 1:
            problems.append(f"{layer_label(by_name[extra])} is an extra input")
    off_chain = [n for n in by_name if n in layers and n not in chain]
    for n in off_chain:
        problems.append(f"{layer_label(by_name[n])} is not on the single chain from the input "
                        "to the output (branches and merges are not supported)")

    # Per-layer call checks: one tensor argument from the previous chain element, no kwargs
    # but training=False and Keras's automatic mask.
    previous = start
    for n in chain:
        args, kwargs = calls.get(n, ([], {}))
        refs = _tensor_refs(args)
        if len(refs) != 1 or len(args) != 1:
            problems.append(f"{layer_label(by_name[n])} takes {len(refs)} tensor inputs; "
                            "numpy_rnn layers take exactly one")
        elif refs[0][0] != previous or tuple(refs[0][1:]) != (0, 0):
            problems.append(f"{layer_label(by_name[n])} is called on {refs[0]}, not on the "
                            f"output of '{previous}'")
        for key, value in kwargs.items():
            if key == "training" and value in (False, None):
                continue
            if key == "mask":
                continue
            problems.append(f"{layer_label(by_name[n])} is called with {key}={short(value)}; "
                            "numpy_rnn layers are called on one input only")
        previous = n

    # Ops: only Keras's automatic mask computations (NotEqual / Any) are allowed.
    mask_users: dict[str, list[str]] = {n: [] for n in by_name}
    for node_name, (args, kwargs) in calls.items():
        for ref in _tensor_refs(kwargs.get("mask")):
            if ref[0] in mask_users:
                mask_users[ref[0]].append(node_name)
    for n in sorted(ops):
        cls = by_name[n].get("class_name")
        if cls not in MASK_OPS:
            problems.append(f"operation '{n}' ({cls}) is not a layer; numpy_rnn runs a single "
                            "chain of layers")
            continue
        users = mask_users[n] + [c for c in children.get(n, []) if c in ops]
        arg_users = [c for c in children.get(n, []) if c not in ops]
        if arg_users or not users:
            problems.append(f"operation '{n}' ({cls}) is used as a layer input "
                            f"({arg_users or 'unused'}); only Keras's automatic masks are "
                            "supported")
    _check_masks(chain, by_name, calls, start, problems)

    plans = []
    for n in chain:
        layer = convert_layer(by_name[n], problems, defer=defer)
        plans.append(LayerPlan(n, str(by_name[n].get("class_name")), layer))
    # Weights-file paths count every layer of model.layers (InputLayer included, ops excluded).
    model_layers = [n for n in by_name if n not in ops]
    paths = dict(zip(model_layers, h5_paths([str(by_name[n].get("class_name"))
                                              for n in model_layers])))
    for lp in plans:
        lp.h5_path = paths.get(lp.name, "")
    return ModelPlan(name, "Functional", input_shape, input_dtype, plans)


def _check_masks(chain: list[str], by_name: dict, calls: dict, start: str | None,
                 problems: list[str]) -> None:
    """Each ``mask`` kwarg of a layer whose Keras ``call`` takes one (``KerasLayerRule.call_mask``:
    the recurrent layers, Bidirectional, GlobalAveragePooling1D) must be exactly Keras's automatic
    mask."""
    source: tuple | None = None  # (kind, input tensor name, mask value, source layer)
    previous = start
    for n in chain:
        node = by_name[n]
        cls = node.get("class_name")
        cfg = node.get("config") if isinstance(node.get("config"), dict) else {}
        kwargs = calls.get(n, ([], {}))[1]
        mask_refs = _tensor_refs(kwargs.get("mask"))
        rule = KERAS_LAYER_RULES.get(cls) if isinstance(cls, str) else None
        takes_mask = rule is not None and rule.call_mask
        if source is not None and takes_mask:
            if len(mask_refs) != 1 or not _mask_matches(mask_refs[0], source, by_name, calls):
                problems.append(f"{layer_label(node)} does not receive the automatic mask of "
                                f"'{source[3]}' (it gets {short(kwargs.get('mask'))}); only "
                                "Keras's automatic masks are supported")
        elif mask_refs:
            problems.append(f"{layer_label(node)} is called with an explicit mask "
                            f"{[r[0] for r in mask_refs]}; only Keras's automatic masks are "
                            "supported")
        if cls == "Embedding":
            source = ("embedding", previous, 0, n) if cfg.get("mask_zero") else None
        elif cls == "Masking":
            source = ("masking", previous, cfg.get("mask_value", 0.0), n)
        elif cls in RNN_CLASSES:
            source = source if cfg.get("return_sequences") else None
        elif cls == "Bidirectional":
            inner = (cfg.get("layer") or {}).get("config") or {}
            source = source if inner.get("return_sequences") else None
        elif not (cls in KERAS_LAYER_RULES and KERAS_LAYER_RULES[cls].passes_mask):
            source = None
        previous = n


def _mask_matches(ref: tuple, source: tuple, by_name: dict, calls: dict) -> bool:
    kind, tensor_name, value, _ = source

    def not_equal_ok(node_name: str) -> bool:
        if by_name.get(node_name, {}).get("class_name") != "NotEqual":
            return False
        args, kwargs = calls.get(node_name, ([], {}))
        refs = _tensor_refs(args)
        return (len(args) == 2 and len(refs) == 1 and refs[0][0] == tensor_name
                and not isinstance(args[1], (dict, list)) and args[1] == value and not kwargs)

    if kind == "embedding":
        return not_equal_ok(ref[0])
    node = by_name.get(ref[0], {})
    if node.get("class_name") != "Any":
        return False
    cfg = node.get("config") or {}
    if cfg.get("axis", -1) != -1 or cfg.get("keepdims", False):
        return False
    refs = _tensor_refs(calls.get(ref[0], ([], {}))[0])
    return len(refs) == 1 and not_equal_ok(refs[0][0])
