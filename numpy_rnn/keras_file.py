"""Read Keras 3 ``.keras`` model files without TensorFlow.

A ``.keras`` file is a zip archive (``keras/src/saving/saving_lib.py``) holding

* ``metadata.json``: ``{"keras_version": ..., "date_saved": ...}``;
* ``config.json``: the model config (``Sequential`` or ``Functional``), each layer as
  ``{"module", "class_name", "config", "registered_name", ...}``;
* ``model.weights.h5``: one HDF5 group per layer, at ``layers/<snake_case class name>[_N]`` (the
  ``_N`` suffix counts repeats of a class in ``model.layers`` order; a Functional model counts its
  ``InputLayer``), with the variables as datasets ``vars/0``, ``vars/1`` ... in the layer's
  weight order; a recurrent layer keeps them under ``cell/vars``, a ``Bidirectional`` under
  ``forward_layer/cell/vars`` and ``backward_layer/cell/vars``.

Only JSON and numeric HDF5 datasets are read: nothing in the file is executed (no pickle, no
Lambda bytecode), links to other files are refused, and a model that uses a layer or an option
numpy_rnn cannot reproduce is refused with one :class:`UnsupportedModelError` that lists every
problem found.  ``h5py`` (the ``[h5]`` extra) is imported only to read the weights.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import zipfile
from typing import Any

import numpy as np

from . import _limits
from . import _validation as _v
from . import activations as _activations
from .layers import Bidirectional
from .model import LAYER_CLASSES, Sequential, output_shape
from .layers.recurrent import RNNBase

__all__ = ["UnsupportedModelError", "KerasFileError", "KerasFile", "KerasLayerRule",
           "KERAS_LAYER_RULES", "load_keras_model", "read_keras_file", "read_keras_config",
           "plan_model", "supported_keras_layers"]

CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.h5"
#: Largest config.json / metadata.json we read (a real one is a few kB per layer).
MAX_JSON_BYTES = _limits.MAX_JSON_BYTES
#: Largest weights file we read into memory.
MAX_WEIGHTS_BYTES = _limits.MAX_MEMBER_BYTES
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class UnsupportedModelError(ValueError):
    """A model that uses layers, options or wiring numpy_rnn cannot reproduce.

    ``problems`` lists every one found (never only the first)."""

    def __init__(self, problems: list[str], where: str = "model") -> None:
        self.problems = list(problems)
        self.where = where
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{where} cannot be run by numpy_rnn: {len(self.problems)} unsupported "
            f"feature(s):\n{lines}\nnumpy_rnn runs Sequential models and Functional models that "
            f"are a single chain of these layers: {', '.join(supported_keras_layers())}."
        )


class KerasFileError(ValueError):
    """A model file that cannot be read: not a Keras archive, corrupt, or weights that disagree
    with the config."""


# ------------------------------------------------------------------------------------------------
# The table: Keras layer class -> numpy_rnn layer and how its config options map
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class KerasLayerRule:
    """One row of the Keras -> numpy_rnn table.

    Attributes:
        np_class: the numpy_rnn class name (``numpy_rnn.model.LAYER_CLASSES``).
        options: config keys passed to the numpy_rnn constructor under the same name.
        activations: config keys holding an activation (Keras built-in names only).

    Where the weights live in the HDF5 file follows from the numpy layer (``_weight_groups``).
    """

    np_class: str
    options: tuple = ()
    activations: tuple = ()


_RNN_OPTIONS = ("units", "use_bias", "return_sequences", "go_backwards", "zero_output_for_mask",
                "return_state", "stateful")
_RNN_CLASSES = ("LSTM", "GRU", "SimpleRNN")

#: Keras class name -> rule.  parity.bridge and this reader agree on these options.
KERAS_LAYER_RULES: dict[str, KerasLayerRule] = {
    "Embedding": KerasLayerRule("Embedding", ("input_dim", "output_dim", "mask_zero")),
    "LSTM": KerasLayerRule("LSTM", _RNN_OPTIONS + ("unit_forget_bias",),
                           ("activation", "recurrent_activation")),
    "GRU": KerasLayerRule("GRU", _RNN_OPTIONS + ("reset_after",),
                          ("activation", "recurrent_activation")),
    "SimpleRNN": KerasLayerRule("SimpleRNN", _RNN_OPTIONS, ("activation",)),
    "Bidirectional": KerasLayerRule("Bidirectional", ("merge_mode",)),
    "Dense": KerasLayerRule("Dense", ("units", "use_bias"), ("activation",)),
    "Dropout": KerasLayerRule("Dropout", ("rate", "noise_shape")),
    "Masking": KerasLayerRule("Masking", ("mask_value",)),
}

#: Options that only matter for training, initialisation or graph building: the weights come
#: from the file and inference runs without dropout, regularisers or constraints.
INFERENCE_NEUTRAL_OPTIONS = frozenset({
    "name", "trainable", "dtype", "seed", "implementation", "unroll", "dropout",
    "recurrent_dropout", "activity_regularizer", "input_length", "batch_input_shape",
    "batch_shape", "input_shape", "use_cudnn", "lora_alpha", "build_config",
})
_NEUTRAL_SUFFIXES = ("_initializer", "_regularizer", "_constraint")

#: Options whose listed value is the only one supported, with the reason shown when refused.
ONLY_VALUE_OPTIONS: dict[str, tuple[Any, str]] = {
    "time_major": (False, "numpy_rnn takes (batch, timesteps, features) inputs"),
    "quantization_config": (None, "quantized weights are not supported"),
    "lora_rank": (None, "LoRA adapters are not supported"),
    "ragged": (False, "ragged inputs are not supported"),
    "sparse": (False, "sparse inputs are not supported"),
    "return_state": (False, "a layer with several outputs cannot sit inside a model"),
    "stateful": (False, "the state lives outside the file and changes results from call to "
                        "call"),
}

_FLOAT_POLICIES = ("float32", "float64")
_MASK_OPS = ("NotEqual", "Any")


def supported_keras_layers() -> list[str]:
    return sorted(KERAS_LAYER_RULES)


def is_inference_neutral(key: str) -> bool:
    """True for options that only matter for training, initialization or graph building."""
    return key in INFERENCE_NEUTRAL_OPTIONS or key.endswith(_NEUTRAL_SUFFIXES)


_neutral = is_inference_neutral


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) \
        else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def dtype_from_policy(policy: Any) -> tuple[str | None, str | None]:
    """``(numpy dtype name, None)`` for a float32 / float64 Keras dtype policy, else
    ``(None, reason)``.  Accepts a policy name, a serialized ``DTypePolicy`` dict or None."""
    if policy is None:
        return "float32", None
    name, kind = policy, "DTypePolicy"
    if isinstance(policy, dict):
        kind = str(policy.get("class_name"))
        cfg = policy.get("config")
        name = cfg.get("name") if isinstance(cfg, dict) else None
    if not isinstance(name, str):
        return None, f"dtype policy {_short(policy)} is not understood"
    if "Quantized" in kind or name.startswith(("int8", "int4", "float8")):
        return None, f"quantized dtype policy {name!r} is not supported"
    if name in _FLOAT_POLICIES and kind in ("DTypePolicy", "FloatDTypePolicy", "Policy"):
        return name, None
    if name.startswith("mixed_"):
        return None, (f"mixed precision dtype policy {name!r} is not supported (numpy_rnn "
                      "computes in float32 or float64)")
    return None, f"dtype policy {name!r} is not supported (float32 or float64 only)"


def activation_name(value: Any) -> tuple[str | None, str | None]:
    """``(name, None)`` for a Keras built-in activation, else ``(None, reason)``."""
    if value is None:
        return "linear", None
    if isinstance(value, dict):
        module = value.get("module")
        if (value.get("class_name") == "function" and isinstance(module, str)
                and module.split(".")[0] == "keras" and value.get("config") in _activations.names()
                and value.get("registered_name") in (None, "function", value.get("config"))):
            return value["config"], None  # a Keras built-in serialized as a function object
        if value.get("class_name") == "function":
            what = f"function {value.get('config')!r}"
            if value.get("registered_name") not in (None, "function"):
                what += f" (registered as {value.get('registered_name')!r})"
        else:
            what = f"{value.get('class_name')!r} object"
        return None, (f"is a custom activation ({what}); only Keras's built-in activations (by "
                      "name) are supported")
    if isinstance(value, str) and value in _activations.names():
        return value, None
    return None, f"= {_short(value)} is not an activation numpy_rnn has"


# ------------------------------------------------------------------------------------------------
# Planning: config -> numpy layers (no weights yet), collecting every problem
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class LayerPlan:
    """A Keras layer and its numpy_rnn twin (weights not loaded yet)."""

    name: str
    class_name: str
    layer: Any
    #: HDF5 path of the layer's group in ``model.weights.h5`` (e.g. ``layers/lstm_1``).
    h5_path: str = ""


@dataclasses.dataclass
class ModelPlan:
    name: str
    kind: str
    input_shape: tuple | None
    input_dtype: str | None
    layers: list[LayerPlan]

    def build_model(self) -> Sequential:
        for lp in self.layers:
            if isinstance(lp.layer, _Deferred):
                lp.layer = lp.layer.make()
        return Sequential([lp.layer for lp in self.layers], name=self.name,
                          input_shape=self.input_shape, input_dtype=self.input_dtype)


@dataclasses.dataclass
class _Deferred:
    """A layer whose constructor would allocate its weights (Embedding), kept as its class and
    checked arguments until the weights file has confirmed the shapes it declares."""

    np_class: str
    kwargs: dict

    def make(self) -> Any:
        return LAYER_CLASSES[self.np_class](**self.kwargs)

    def get_config(self) -> dict:
        return dict(self.kwargs)


def _layer_label(cfg: dict) -> str:
    inner = cfg.get("config") if isinstance(cfg.get("config"), dict) else {}
    name = inner.get("name") or cfg.get("name") or "?"
    return f"layer '{name}' ({cfg.get('class_name')})"


def _is_custom(cfg: dict) -> str | None:
    """A reason when ``cfg`` is a custom / registered class rather than Keras's own."""
    cls = cfg.get("class_name")
    reg = cfg.get("registered_name")
    module = cfg.get("module")
    if reg not in (None, cls):
        return f"is a custom layer registered as {reg!r}"
    if module is not None and not (isinstance(module, str) and module.split(".")[0] == "keras"):
        return f"is a custom layer from module {module!r}"
    return None


def _convert_layer(cfg: Any, problems: list[str], *, inner_of: str | None = None,
                   defer: bool = False):
    """numpy_rnn layer for one serialized Keras layer, or None (problems appended).  With
    ``defer``, a layer whose constructor allocates its weights (Embedding) is checked and
    returned as a :class:`_Deferred` instead, built only once the weights file agrees."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("class_name"), str):
        problems.append(f"layer entry {_short(cfg)} is not a serialized Keras layer")
        return None
    cls = cfg["class_name"]
    label = _layer_label(cfg)
    if inner_of:
        label = f"{label} inside '{inner_of}'"
    custom = _is_custom(cfg)
    if custom:
        problems.append(f"{label} {custom}; numpy_rnn runs only Keras's built-in layers")
        return None
    if cls == "Lambda":
        problems.append(f"{label}: a Lambda layer holds Python code, which numpy_rnn never runs")
        return None
    if cls in ("Sequential", "Functional", "Model"):
        problems.append(f"{label}: nested models are not supported; flatten the layers into one "
                        "model")
        return None
    rule = KERAS_LAYER_RULES.get(cls)
    if rule is None or (inner_of and cls not in _RNN_CLASSES):
        what = "LSTM, GRU or SimpleRNN" if inner_of else ", ".join(supported_keras_layers())
        problems.append(f"{label} is not supported; supported: {what}")
        return None
    config = cfg.get("config")
    if not isinstance(config, dict):
        problems.append(f"{label} has no config")
        return None
    mine: list[str] = []
    kwargs: dict[str, Any] = {"name": config.get("name", cls.lower())}
    dtype, reason = dtype_from_policy(config.get("dtype"))
    if reason:
        mine.append(f"option dtype: {reason}")
    else:
        kwargs["dtype"] = dtype
    for key, value in config.items():
        if key in ONLY_VALUE_OPTIONS:
            allowed, why = ONLY_VALUE_OPTIONS[key]
            if value != allowed:
                mine.append(f"option {key}={_short(value)} ({why})")
        elif key in rule.activations:
            name, why = activation_name(value)
            if why:
                mine.append(f"option {key} {why}")
            else:
                kwargs[key] = name
        elif key in rule.options:
            kwargs[key] = value
        elif cls == "Bidirectional" and key in ("layer", "backward_layer"):
            pass
        elif not _neutral(key):
            mine.append(f"option {key}={_short(value)} is unknown to numpy_rnn")
    if cls == "Bidirectional":
        fw = _convert_layer(config.get("layer"), problems, inner_of=kwargs["name"])
        bw = None
        if config.get("backward_layer") is not None:
            bw = _convert_layer(config["backward_layer"], problems, inner_of=kwargs["name"])
        if kwargs.get("merge_mode", "concat") is None:
            mine.append("option merge_mode=None (two outputs; a layer with several outputs "
                        "cannot sit inside a model)")
        if fw is None or (config.get("backward_layer") is not None and bw is None):
            if mine:
                problems.append(f"{label}: " + "; ".join(mine))
            return None
        kwargs = {**kwargs, "layer": fw, "backward_layer": bw}
    if mine:
        problems.append(f"{label}: " + "; ".join(mine))
        return None
    try:
        if defer and rule.np_class == "Embedding":
            for key in ("input_dim", "output_dim"):
                _v.positive_int(key, kwargs.get(key))
            LAYER_CLASSES[rule.np_class](**{**kwargs, "input_dim": 1, "output_dim": 1})
            return _Deferred(rule.np_class, kwargs)
        return LAYER_CLASSES[rule.np_class](**kwargs)
    except (ValueError, TypeError) as exc:
        problems.append(f"{label}: numpy_rnn refuses its options: {exc}")
        return None


def _snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: the name of a layer's group in the weights file."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _h5_paths(class_names: list[str]) -> list[str]:
    """``layers/<snake>[_N]`` for each entry of ``model.layers`` (Keras's ``_get_unique_name``)."""
    used: dict[str, int] = {}
    out = []
    for cls in class_names:
        base = _snake_case(cls)
        if base in used:
            used[base] += 1
            out.append(f"layers/{base}_{used[base]}")
        else:
            used[base] = 0
            out.append(f"layers/{base}")
    return out


def _input_spec(cfg: dict, problems: list[str]) -> tuple[tuple | None, str | None]:
    """``(shape without batch axis, dtype)`` from an InputLayer config."""
    config = cfg.get("config") if isinstance(cfg.get("config"), dict) else {}
    label = _layer_label(cfg)
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    mine = []
    for key in ("sparse", "ragged"):
        if config.get(key):
            mine.append(f"option {key}=True ({ONLY_VALUE_OPTIONS[key][1]})")
    dtype = config.get("dtype", "float32")
    if isinstance(dtype, dict):
        dtype, reason = dtype_from_policy(dtype)
        if reason:
            mine.append(f"option dtype: {reason}")
    try:
        ok = dtype is not None and np.dtype(dtype).kind in "iuf" and \
            np.dtype(dtype).name not in ("float16",)
    except TypeError:
        ok = False
    if dtype is not None and not ok:
        mine.append(f"input dtype {dtype!r} is not supported (integer ids or float32/float64)")
    if mine:
        problems.append(f"{label}: " + "; ".join(mine))
    if isinstance(shape, (list, tuple)) and len(shape) >= 2:
        dims = _dims(shape[1:])
        if dims is None:
            problems.append(f"{label}: input shape {_short(shape)} is not a list of positive "
                            "integers or None")
        return dims, (dtype if ok else None)
    return None, (dtype if ok else None)


def _dims(values: Any) -> tuple | None:
    """``values`` as a shape of positive ints / None, or None when it is not one."""
    if any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1)
           for d in values):
        return None
    return tuple(values)


def plan_model(model_config: Any, where: str = "model") -> ModelPlan:
    """Turn a serialized Keras model (``config.json`` content) into numpy_rnn layers.

    Raises:
        UnsupportedModelError: listing every unsupported layer, option and wiring found.
        KerasFileError: not a serialized Keras model (or one nested too deeply to be one).
    """
    return _plan(model_config, where, defer=False)


def _plan(model_config: Any, where: str, defer: bool) -> ModelPlan:
    try:
        return _plan_model(model_config, where, defer)
    except RecursionError:
        raise KerasFileError(f"{where}: config.json nests too deeply to be a Keras model "
                             "config") from None


def _plan_model(model_config: Any, where: str, defer: bool) -> ModelPlan:
    problems: list[str] = []
    if not isinstance(model_config, dict) or not isinstance(model_config.get("config"), dict):
        raise KerasFileError(f"{where}: config.json does not hold a serialized Keras model "
                             f"(expected {{'class_name', 'config'}}). Received: "
                             f"{_short(model_config)}")
    kind = model_config.get("class_name")
    config = model_config["config"]
    name = config.get("name") if isinstance(config.get("name"), str) else "model"
    where = f"{where} '{name}'" if where == "model" else f"model '{name}' in {where}"
    if kind == "Sequential" and model_config.get("registered_name") in (None, "Sequential"):
        plan = _plan_sequential(name, config, problems, defer)
    elif kind in ("Functional", "Model") and "input_layers" in config:
        plan = _plan_functional(name, config, problems, defer)
    else:
        problems.append(f"model class {kind!r} (registered as "
                        f"{model_config.get('registered_name')!r}) is a subclassed or unknown "
                        "model; only Sequential and Functional models can be read")
        plan = None
    if problems:
        raise UnsupportedModelError(problems, where)
    return plan


def _plan_sequential(name: str, config: dict, problems: list[str], defer: bool) -> ModelPlan:
    items = config.get("layers")
    if not isinstance(items, list):
        raise KerasFileError(f"Sequential model '{name}': config has no 'layers' list")
    input_shape = input_dtype = None
    plans: list[LayerPlan] = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("class_name") == "InputLayer":
            if i != 0:
                problems.append(f"{_layer_label(item)} is not the first layer")
            input_shape, input_dtype = _input_spec(item, problems)
            continue
        layer = _convert_layer(item, problems, defer=defer)
        cls = str(item.get("class_name")) if isinstance(item, dict) else "?"
        plans.append(LayerPlan(_name_of(item), cls, layer))
    if input_shape is None:
        bis = config.get("build_input_shape")
        if bis is None and items and isinstance(items[0], dict):
            bis = (items[0].get("build_config") or {}).get("input_shape")
        if isinstance(bis, (list, tuple)) and len(bis) >= 2:
            input_shape = _dims(bis[1:])
    if not plans:
        problems.append("the model has no layers")
    for lp, path in zip(plans, _h5_paths([lp.class_name for lp in plans])):
        lp.h5_path = path
    return ModelPlan(name, "Sequential", input_shape, input_dtype, plans)


def _name_of(cfg: Any) -> str:
    if not isinstance(cfg, dict):
        return "?"
    inner = cfg.get("config") if isinstance(cfg.get("config"), dict) else {}
    return str(cfg.get("name") or inner.get("name") or "?")


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


def _plan_functional(name: str, config: dict, problems: list[str], defer: bool) -> ModelPlan:
    nodes = config.get("layers")
    if not isinstance(nodes, list):
        raise KerasFileError(f"Functional model '{name}': config has no 'layers' list")
    by_name: dict[str, dict] = {}
    for node in nodes:
        node_name = _name_of(node)
        if node_name in by_name:
            problems.append(f"two layers are named '{node_name}'")
        by_name[node_name] = node if isinstance(node, dict) else {}
    inputs = _io_refs(config.get("input_layers"))
    outputs = _io_refs(config.get("output_layers"))
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
            problems.append(f"{_layer_label(node)} is never called")
            continue
        if len(inbound) > 1:
            problems.append(f"{_layer_label(node)} is called {len(inbound)} times (a shared "
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
        input_shape, input_dtype = _input_spec(by_name[start], problems)
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
            problems.append(f"{_layer_label(by_name[extra])} is an extra input")
    off_chain = [n for n in by_name if n in layers and n not in chain]
    for n in off_chain:
        problems.append(f"{_layer_label(by_name[n])} is not on the single chain from the input "
                        "to the output (branches and merges are not supported)")

    # Per-layer call checks: one tensor argument from the previous chain element, no kwargs
    # but training=False and Keras's automatic mask.
    previous = start
    for n in chain:
        args, kwargs = calls.get(n, ([], {}))
        refs = _tensor_refs(args)
        if len(refs) != 1 or len(args) != 1:
            problems.append(f"{_layer_label(by_name[n])} takes {len(refs)} tensor inputs; "
                            "numpy_rnn layers take exactly one")
        elif refs[0][0] != previous or tuple(refs[0][1:]) != (0, 0):
            problems.append(f"{_layer_label(by_name[n])} is called on {refs[0]}, not on the "
                            f"output of '{previous}'")
        for key, value in kwargs.items():
            if key == "training" and value in (False, None):
                continue
            if key == "mask":
                continue
            problems.append(f"{_layer_label(by_name[n])} is called with {key}={_short(value)}; "
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
        if cls not in _MASK_OPS:
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
        layer = _convert_layer(by_name[n], problems, defer=defer)
        plans.append(LayerPlan(n, str(by_name[n].get("class_name")), layer))
    # Weights-file paths count every layer of model.layers (InputLayer included, ops excluded).
    model_layers = [n for n in by_name if n not in ops]
    paths = dict(zip(model_layers, _h5_paths([str(by_name[n].get("class_name"))
                                              for n in model_layers])))
    for lp in plans:
        lp.h5_path = paths.get(lp.name, "")
    return ModelPlan(name, "Functional", input_shape, input_dtype, plans)


def _check_masks(chain: list[str], by_name: dict, calls: dict, start: str | None,
                 problems: list[str]) -> None:
    """Each recurrent layer's ``mask`` kwarg must be exactly Keras's automatic mask."""
    source: tuple | None = None  # (kind, input tensor name, mask value, source layer)
    previous = start
    for n in chain:
        node = by_name[n]
        cls = node.get("class_name")
        cfg = node.get("config") if isinstance(node.get("config"), dict) else {}
        kwargs = calls.get(n, ([], {}))[1]
        mask_refs = _tensor_refs(kwargs.get("mask"))
        takes_mask = cls in _RNN_CLASSES or cls == "Bidirectional"
        if source is not None and takes_mask:
            if len(mask_refs) != 1 or not _mask_matches(mask_refs[0], source, by_name, calls):
                problems.append(f"{_layer_label(node)} does not receive the automatic mask of "
                                f"'{source[3]}' (it gets {_short(kwargs.get('mask'))}); only "
                                "Keras's automatic masks are supported")
        elif mask_refs:
            problems.append(f"{_layer_label(node)} is called with an explicit mask "
                            f"{[r[0] for r in mask_refs]}; only Keras's automatic masks are "
                            "supported")
        if cls == "Embedding":
            source = ("embedding", previous, 0, n) if cfg.get("mask_zero") else None
        elif cls == "Masking":
            source = ("masking", previous, cfg.get("mask_value", 0.0), n)
        elif cls in _RNN_CLASSES:
            source = source if cfg.get("return_sequences") else None
        elif cls == "Bidirectional":
            inner = (cfg.get("layer") or {}).get("config") or {}
            source = source if inner.get("return_sequences") else None
        elif cls not in ("Dense", "Dropout"):
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


# ------------------------------------------------------------------------------------------------
# Reading the archive
# ------------------------------------------------------------------------------------------------
class _Archive:
    """The members of a ``.keras`` zip archive, or of a directory saved with ``zipped=False``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self.zip: zipfile.ZipFile | None = None
        if os.path.isdir(self.path):
            self.names = sorted(os.listdir(self.path))
            return
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"No such Keras model file: {self.path!r}")
        with open(self.path, "rb") as fh:
            head = fh.read(8)
        if head == _HDF5_SIGNATURE:
            raise KerasFileError(
                f"{self.path!r} is a legacy HDF5 (Keras 2 '.h5') model file; numpy_rnn reads "
                "Keras 3 '.keras' archives: load it in Keras and save it as .keras"
            )
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise KerasFileError(f"{self.path!r} is not a Keras '.keras' archive (a zip file): "
                                 f"{exc}") from None
        self.names = self.zip.namelist()

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of member ``name``, never more than ``limit`` nor than it declares (read a
        chunk at a time: a member that lies about its size is refused after one chunk)."""
        if name not in self.names:
            raise KerasFileError(f"{self.path!r} has no {name!r} (members: {self.names})")
        try:
            if self.zip is None:
                return _limits.read_file(os.path.join(self.path, name), limit)
            return _limits.read_member(self.zip, name, limit)
        except _limits.LimitError as exc:
            raise KerasFileError(f"{self.path!r}: {exc}") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise KerasFileError(f"{self.path!r}: cannot read member {name!r} (truncated or "
                                 f"corrupt archive): {exc}") from None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _json_member(archive: _Archive, name: str) -> Any:
    raw = archive.read(name, MAX_JSON_BYTES)
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise KerasFileError(f"{archive.path!r}: {name} nests too deeply to be a Keras "
                             "config") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise KerasFileError(f"{archive.path!r}: {name} is not valid JSON: {exc}") from None


def read_keras_config(path: str | os.PathLike) -> tuple[dict, dict]:
    """``(config.json, metadata.json)`` of a ``.keras`` file, as dicts (no h5py needed)."""
    archive = _Archive(path)
    try:
        if CONFIG_NAME not in archive.names:
            raise KerasFileError(f"{archive.path!r} is not a Keras model archive: it has no "
                                 f"{CONFIG_NAME} (members: {archive.names})")
        config = _json_member(archive, CONFIG_NAME)
        metadata = _json_member(archive, METADATA_NAME) if METADATA_NAME in archive.names else {}
    finally:
        archive.close()
    return config, metadata if isinstance(metadata, dict) else {}


def _import_h5py():
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            "Reading the weights of a .keras file needs h5py: pip install 'numpy-rnn[h5]' "
            "(from a checkout: pip install -e '.[h5]') "
            f"(import failed: {exc})"
        ) from None
    return h5py


def _h5_group(h5py: Any, root: Any, path: str, where: str):
    """The group at ``path``, following hard links only (no external or soft links)."""
    node = root
    for part in [p for p in path.split("/") if p]:
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise KerasFileError(f"{where}: '{path}' goes through a {type(link).__name__}; "
                                 "links are refused (they can point outside the file)")
        node = node[part]
        if not isinstance(node, h5py.Group):
            raise KerasFileError(f"{where}: '{path}' is not a group")
    return node


def _h5_datasets(h5py: Any, group: Any, where: str) -> list:
    """The datasets ``0, 1, ...`` of a ``vars`` group, in order, checked to be plain numbers."""
    keys = list(group.keys())
    expected = [str(i) for i in range(len(keys))]
    if sorted(keys, key=lambda k: (len(k), k)) != expected:
        raise KerasFileError(f"{where}: expected variables named {expected}, found {keys}")
    out = []
    for key in expected:
        link = group.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise KerasFileError(f"{where}/{key} is a {type(link).__name__}; links are refused")
        ds = group[key]
        if not isinstance(ds, h5py.Dataset):
            raise KerasFileError(f"{where}/{key} is not a dataset")
        if ds.is_virtual or ds.external:
            raise KerasFileError(f"{where}/{key} stores its data outside the file; refused")
        if ds.dtype.kind != "f" or ds.dtype.itemsize not in (4, 8) or "dtype" in ds.attrs:
            raise KerasFileError(f"{where}/{key} has dtype {ds.dtype} "
                                 f"{dict(ds.attrs) or ''}; numpy_rnn reads float32/float64 "
                                 "weights".rstrip())
        out.append(ds)
    return out


def _weight_groups(layer: Any) -> list[tuple[str, str, Any]]:
    """``(group path below the layer's group, numpy layer class, its owner)`` for each group
    of weights: a Bidirectional has two (forward then backward), other layers one."""
    if isinstance(layer, Bidirectional):
        return [("forward_layer/cell/vars", type(layer.forward_layer).__name__,
                 layer.forward_layer),
                ("backward_layer/cell/vars", type(layer.backward_layer).__name__,
                 layer.backward_layer)]
    if isinstance(layer, _Deferred):
        return [("vars", layer.np_class, layer)]
    if isinstance(layer, RNNBase):
        return [("cell/vars", type(layer).__name__, layer)]
    return [("vars", type(layer).__name__, layer)]


def _class_and_config(layer: Any) -> tuple[str, dict]:
    if isinstance(layer, _Deferred):
        return layer.np_class, layer.get_config()
    return type(layer).__name__, layer.get_config()


def _find_layer_group(h5py: Any, root: Any, lp: LayerPlan, by_name: dict, where: str):
    group = _h5_group(h5py, root, lp.h5_path, where) if lp.h5_path else None
    vars_group = _h5_group(h5py, group, "vars", where) if group is not None else None
    stored = vars_group.attrs.get("name") if vars_group is not None else None
    if isinstance(stored, bytes):
        stored = stored.decode()
    if group is not None and stored in (None, lp.name):
        return group
    if lp.name in by_name:
        return _h5_group(h5py, root, by_name[lp.name], where)
    return group


def _stored_bytes(ds: Any) -> int | None:
    try:
        return int(ds.id.get_storage_size())
    except Exception:  # noqa: BLE001 - no figure: the declared shapes are still bounded
        return None


def _check_weights(h5py: Any, h5: Any, plan: ModelPlan, where: str) -> list:
    """Every weight the config declares (pure arithmetic, no layer built), against the shapes
    of the datasets (metadata only, no data read) and the size limits.

    Returns ``[(layer index, group owner, datasets)]`` for the weights to set; raises one
    :class:`KerasFileError` listing every mismatch."""
    layer_root = _h5_group(h5py, h5, "layers", where)
    by_name: dict[str, str] = {}
    if layer_root is not None:
        for key in layer_root.keys():
            link = layer_root.get(key, getlink=True)
            if isinstance(link, h5py.HardLink) and isinstance(layer_root[key], h5py.Group) \
                    and "vars" in layer_root[key]:
                stored = layer_root[key]["vars"].attrs.get("name")
                if isinstance(stored, bytes):
                    stored = stored.decode()
                if isinstance(stored, str):
                    by_name[stored] = f"layers/{key}"
    errors: list[str] = []
    pending: list[tuple[int, Any, list]] = []
    width = plan.input_shape[-1] if plan.input_shape else None
    total = 0
    for index, lp in enumerate(plan.layers):
        label = f"layer '{lp.name}' ({lp.class_name})"
        cls, cfg = _class_and_config(lp.layer)
        if index == 0 and cls == "Embedding":
            width = None
        group = _find_layer_group(h5py, h5, lp, by_name, where)
        found: list[tuple[str, Any, list | None]] = []
        for sub, _, owner in _weight_groups(lp.layer):
            vars_group = _h5_group(h5py, group, sub, where) if group is not None else None
            datasets = None
            if vars_group is not None:
                try:
                    datasets = _h5_datasets(h5py, vars_group, f"{lp.h5_path}/{sub}")
                except KerasFileError as exc:
                    errors.append(f"{label}: {exc}")
                    datasets = []
            found.append((sub, owner, datasets))
        stored = [tuple(ds.shape) for _, _, dss in found for ds in (dss or [])]
        try:
            declared, width = _limits.declared_weights(cls, cfg, width, stored)
        except _limits.LimitError as exc:
            errors.append(f"{label}: {exc}" if not str(exc).startswith("layer ") else str(exc))
            width = None
            continue
        total += sum(_limits.element_count(shape) for _, shape in declared)
        start = 0
        for sub, owner, datasets in found:
            count = len(owner.weight_names()) if not isinstance(owner, _Deferred) else 1
            mine = [(n.split("_", 1)[1] if cls == "Bidirectional" else n, shape)
                    for n, shape in declared[start:start + count]]
            start += count
            names = [n for n, _ in mine]
            if datasets is None:
                if names:
                    errors.append(f"{label}: weights file has no group '{lp.h5_path}/{sub}' "
                                  f"for its weights {names}")
                continue
            if len(datasets) != len(names):
                errors.append(f"{label}: expected {len(names)} weights {names} at "
                              f"'{lp.h5_path}/{sub}', found {len(datasets)}")
                continue
            problems = _limits.compare_shapes(
                label, mine, [tuple(ds.shape) for ds in datasets],
                lambda i, sub=sub: f"{lp.h5_path}/{sub}/{i}")
            for i, ((wname, shape), ds) in enumerate(zip(mine, datasets)):
                nbytes = _limits.element_count(shape) * ds.dtype.itemsize
                kept = _stored_bytes(ds)
                if not problems and kept is not None and nbytes > \
                        _limits.MAX_COMPRESSION_RATIO * kept + _limits.COMPRESSION_SLACK_BYTES:
                    problems.append(f"{label}: weight `{wname}` ({lp.h5_path}/{sub}/{i}) "
                                    f"declares {nbytes} bytes but the file stores {kept}; "
                                    "refusing a potential decompression bomb")
            errors += problems
            if not problems and names:
                pending.append((index, owner, datasets))
    if not errors:
        try:
            _limits.check_total(total, where)
        except _limits.LimitError as exc:
            errors.append(str(exc))
    if errors:
        hint = ("\n(a model saved before it was built holds no weights: build or train it, "
                "then save it again)" if any("found 0" in e for e in errors) else "")
        raise KerasFileError(f"{where}: the weights do not match the model config:\n"
                             + "\n".join(f"  - {e}" for e in errors) + hint)
    return pending


def _load_weights(h5py: Any, h5: Any, plan: ModelPlan, where: str) -> Sequential:
    """Check every declared weight first (:func:`_check_weights`), then build the model and
    set the weights."""
    pending = _check_weights(h5py, h5, plan, where)
    deferred = {id(lp.layer): i for i, lp in enumerate(plan.layers)
                if isinstance(lp.layer, _Deferred)}
    model = plan.build_model()
    for index, owner, datasets in pending:
        if id(owner) in deferred:
            owner = model.layers[index]
        arrays = [np.asarray(ds[()]) for ds in datasets]
        if not owner.built:
            owner.build(int(arrays[0].shape[0]))
        owner.set_weights(arrays)
    for layer in model.layers:
        if isinstance(layer, Bidirectional):
            layer.built = layer.forward_layer.built and layer.backward_layer.built
    return model


@dataclasses.dataclass
class KerasFile:
    """What ``read_keras_file`` found: the numpy model and where it came from."""

    model: Sequential
    path: str
    keras_version: str | None
    config: dict
    metadata: dict
    kind: str


def read_keras_file(path: str | os.PathLike) -> KerasFile:
    """Read a ``.keras`` file into a :class:`numpy_rnn.Sequential`, with its weights.

    Raises:
        UnsupportedModelError: the model uses layers/options numpy_rnn cannot reproduce (all
            of them listed).
        KerasFileError: not a Keras archive, corrupt, or weights that disagree with the config.
        ImportError: h5py (``pip install 'numpy-rnn[h5]'``) is needed to read the weights.
    """
    where = os.fspath(path)
    archive = _Archive(path)
    try:
        if CONFIG_NAME not in archive.names:
            raise KerasFileError(f"{where!r} is not a Keras model archive: it has no "
                                 f"{CONFIG_NAME} (members: {archive.names})")
        config = _json_member(archive, CONFIG_NAME)
        metadata = _json_member(archive, METADATA_NAME) if METADATA_NAME in archive.names else {}
        plan = _plan(config, where, defer=True)
        if WEIGHTS_NAME not in archive.names:
            other = [n for n in archive.names if n.startswith("model.weights")]
            why = ("Keras's npz weights hold pickled objects, which numpy_rnn never loads; save "
                   "with the default h5 weights" if "model.weights.npz" in other else
                   "sharded weights are not supported" if other else "the model has no weights")
            raise KerasFileError(f"{where!r} has no {WEIGHTS_NAME}: {why} (members: "
                                 f"{archive.names})")
        h5py = _import_h5py()
        raw = archive.read(WEIGHTS_NAME, MAX_WEIGHTS_BYTES)
    finally:
        archive.close()
    try:
        h5 = h5py.File(io.BytesIO(raw), "r")
    except (OSError, ValueError) as exc:
        raise KerasFileError(f"{where!r}: {WEIGHTS_NAME} is not a readable HDF5 file "
                             f"(truncated or corrupt): {exc}") from None
    with h5:
        try:
            model = _load_weights(h5py, h5, plan, where)
        except (OSError, KeyError) as exc:
            raise KerasFileError(f"{where!r}: cannot read the weights: {exc}") from None
        except MemoryError:
            raise KerasFileError(f"{where!r}: not enough memory to load the weights") from None
    metadata = metadata if isinstance(metadata, dict) else {}
    return KerasFile(model=model, path=where, keras_version=metadata.get("keras_version"),
                     config=config, metadata=metadata, kind=plan.kind)


def load_keras_model(path: str | os.PathLike) -> Sequential:
    """A :class:`numpy_rnn.Sequential` equal to the Keras model saved in ``path`` (a ``.keras``
    file), read with NumPy and h5py alone.  See :func:`read_keras_file` for the errors."""
    return read_keras_file(path).model
