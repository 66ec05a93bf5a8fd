"""One Keras layer config -> one numpy_rnn layer, for the model-file readers, by the one table of
Keras layers and options (:mod:`numpy_rnn.formats.keras_layers`, which ``parity``'s bridge reads
too); plus dtype policies, activation names and the per-layer plans the readers build.
"""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import numpy as np
from .. import _validation as _v
from .. import activations as _activations
from .. import registry as _registry
from ..model import LAYER_CLASSES, Sequential
from .keras_layers import (KERAS_LAYER_RULES, RECURRENT_CLASSES, REFUSED_LAYERS, WRAPPERS,
                           Dialect, is_inference_neutral, only_value, rename_keras2,
                           supported_keras_layers)

RNN_CLASSES = RECURRENT_CLASSES


_FLOAT_POLICIES = ("float32", "float64")
MASK_OPS = ("NotEqual", "Any")


def short(value: Any, limit: int = 120) -> str:
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
        return None, f"dtype policy {short(policy)} is not understood"
    if "Quantized" in kind or name.startswith(("int8", "int4", "float8")):
        return None, f"quantized dtype policy {name!r} is not supported"
    if name in _FLOAT_POLICIES and kind in ("DTypePolicy", "FloatDTypePolicy", "Policy"):
        return name, None
    if name.startswith("mixed_"):
        return None, (f"mixed precision dtype policy {name!r} is not supported (numpy_rnn "
                      "computes in float32 or float64)")
    return None, f"dtype policy {name!r} is not supported (float32 or float64 only)"


def activation_name(value: Any, dialect: Dialect | None = None) -> tuple[str | None, str | None]:
    """``(numpy_rnn name, None)`` for a built-in activation of the Keras that wrote the config
    (``dialect``; default Keras 3), else ``(None, reason)``.  A Keras 2 name is mapped through
    ``dialect.activations`` (Keras 2's ``hard_sigmoid`` is ``keras2_hard_sigmoid``)."""
    table = dialect.activations if dialect is not None else None
    known = list(table) if table is not None else _activations.names()
    if value is None:
        return "linear", None
    if isinstance(value, dict):
        module = value.get("module")
        if (value.get("class_name") == "function" and isinstance(module, str)
                and module.split(".")[0] == "keras" and value.get("config") in known
                and value.get("registered_name") in (None, "function", value.get("config"))):
            value = value["config"]  # a Keras built-in serialized as a function object
        else:
            if value.get("class_name") == "function":
                what = f"function {value.get('config')!r}"
                if value.get("registered_name") not in (None, "function"):
                    what += f" (registered as {value.get('registered_name')!r})"
            else:
                what = f"{value.get('class_name')!r} object"
            return None, (f"is a custom activation ({what}); only Keras's built-in activations "
                          "(by name) are supported")
    if isinstance(value, str) and value in known:
        return (table[value] if table is not None else value), None
    if table is not None:
        return None, f"= {short(value)} is not a {dialect.name} activation numpy_rnn has"
    return None, f"= {short(value)} is not an activation numpy_rnn has"


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
            if isinstance(lp.layer, Deferred):
                lp.layer = lp.layer.make()
        return Sequential([lp.layer for lp in self.layers], name=self.name,
                          input_shape=self.input_shape, input_dtype=self.input_dtype)


@dataclasses.dataclass
class Deferred:
    """A layer whose constructor would allocate its weights (Embedding), kept as its class and
    checked arguments until the weights file has confirmed the shapes it declares."""

    np_class: str
    kwargs: dict

    def make(self) -> Any:
        return LAYER_CLASSES[self.np_class](**self.kwargs)

    def get_config(self) -> dict:
        return dict(self.kwargs)


def layer_label(cfg: dict) -> str:
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


def registered_twin(cfg: dict, label: str, problems: list[str]):
    """The twin a user registered for this layer (``numpy_rnn.register_layer``): ``(True,
    layer or None)``; ``(False, None)`` when none is registered."""
    reg = _registry.lookup(cfg.get("class_name"), cfg.get("registered_name"))
    if reg is None:
        return False, None
    config = cfg.get("config")
    if not isinstance(config, dict):
        problems.append(f"{label} has no config")
        return True, None
    try:
        return True, reg.make(config)
    except Exception as exc:  # noqa: BLE001 - the user's factory: any failure is a problem
        problems.append(f"{label}: the twin registered as {reg.keras_name!r} refused its "
                        f"config: {type(exc).__name__}: {exc}")
        return True, None


def convert_layer(cfg: Any, problems: list[str], *, inner_of: str | None = None,
                  defer: bool = False, dialect: Dialect | None = None,
                  wrapper: str = "Bidirectional", graph: bool = False):
    """numpy_rnn layer for one serialized Keras layer, or None (problems appended).  With
    ``defer``, a layer whose constructor allocates its weights (Embedding) is checked and
    returned as a :class:`Deferred` instead, built only once the weights file agrees.
    ``dialect``: the Keras that wrote the config (default Keras 3; see ``keras_layers``).
    ``inner_of``: the name of the ``wrapper`` (a Keras class of ``WRAPPERS``) the layer sits in.
    ``graph``: the layer sits in a functional graph, where several outputs
    (``return_state``, ``merge_mode=None``) are fine.  A class the table lacks, or a custom
    one, is made by the twin registered for it (``numpy_rnn.register_layer``) if any."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("class_name"), str):
        problems.append(f"layer entry {short(cfg)} is not a serialized Keras layer")
        return None
    cls = cfg["class_name"]
    label = layer_label(cfg)
    if inner_of:
        label = f"{label} inside '{inner_of}'"
    custom = _is_custom(cfg)
    if (custom or cls not in KERAS_LAYER_RULES) and cls not in REFUSED_LAYERS and not inner_of:
        found, twin = registered_twin(cfg, label, problems)
        if found:
            return twin
    if custom:
        problems.append(f"{label} {custom}; numpy_rnn runs only Keras's built-in layers; "
                        + _registry.how_to_register(cls, cfg.get("registered_name")))
        return None
    if cls in REFUSED_LAYERS:
        problems.append(f"{label}: {REFUSED_LAYERS[cls]}")
        return None
    if dialect is not None and cls in dialect.refused:
        problems.append(f"{label} (written by {dialect.name}): {dialect.refused[cls]}")
        return None
    if cls in ("Sequential", "Functional", "Model"):
        problems.append(f"{label}: nested models are not supported; flatten the layers into one "
                        "model")
        return None
    rule = KERAS_LAYER_RULES.get(cls)
    wrappable = WRAPPERS.get(wrapper) if inner_of else None
    if rule is None or (wrappable is not None and cls not in wrappable):
        what = ", ".join(wrappable) if wrappable is not None else ", ".join(
            supported_keras_layers())
        hint = "" if inner_of else "; " + _registry.how_to_register(
            cls, cfg.get("registered_name"))
        problems.append(f"{label} is not supported; supported: {what}{hint}")
        return None
    config = cfg.get("config")
    if not isinstance(config, dict):
        problems.append(f"{label} has no config")
        return None
    mine: list[str] = []
    if dialect is not None:
        config = rename_keras2(cls, config, dialect.renames)
    for key, default in (dialect.defaults.get(cls, {}) if dialect else {}).items():
        if key not in config and default is None:
            mine.append(f"option {key} is missing from the config and the {dialect.name} "
                        "versions disagree on its default; add it to the config")
        elif key not in config:
            config = {**config, key: default}  # the default of the Keras that wrote the file
    kwargs: dict[str, Any] = {"name": config.get("name", cls.lower())}
    dtype, reason = dtype_from_policy(config.get("dtype"))
    if reason:
        mine.append(f"option dtype: {reason}")
    else:
        kwargs["dtype"] = dtype
    for key, value in config.items():
        restricted = only_value(key, in_model=True)
        if graph and key == "return_state":
            restricted = None
        if restricted is not None:
            allowed, why = restricted
            if value != allowed:
                mine.append(f"option {key}={short(value)} ({why})")
        elif key in rule.activations:
            name, why = activation_name(value, dialect)
            if why:
                mine.append(f"option {key} {why}")
            else:
                kwargs[key] = name
        elif key in rule.options:
            kwargs[key] = value
        elif key in rule.fixed:
            allowed, why = rule.fixed[key]
            if value != allowed:
                mine.append(f"option {key}={short(value)} ({why})")
        elif cls in WRAPPERS and key in ("layer", "backward_layer"):
            pass
        elif not is_inference_neutral(key):
            mine.append(f"option {key}={short(value)} is unknown to numpy_rnn")
    if cls == "Bidirectional":
        fw = convert_layer(config.get("layer"), problems, inner_of=kwargs["name"],
                           dialect=dialect, graph=graph)
        bw = None
        if config.get("backward_layer") is not None:
            bw = convert_layer(config["backward_layer"], problems, inner_of=kwargs["name"],
                               dialect=dialect, graph=graph)
        if kwargs.get("merge_mode", "concat") is None and not graph:
            mine.append("option merge_mode=None (two outputs; a layer with several outputs "
                        "cannot sit inside a model)")
        if fw is None or (config.get("backward_layer") is not None and bw is None):
            if mine:
                problems.append(f"{label}: " + "; ".join(mine))
            return None
        kwargs = {**kwargs, "layer": fw, "backward_layer": bw}
    if isinstance(kwargs.get("vocabulary"), str):
        mine.append(f"option vocabulary={short(kwargs['vocabulary'])} is a file path; a model "
                    "file's vocabulary is read from the config (a list) or the archive's assets, "
                    "never from a path it names")
    if cls == "TimeDistributed":
        inner = convert_layer(config.get("layer"), problems, inner_of=kwargs["name"],
                              dialect=dialect, wrapper=cls, graph=graph)
        if inner is None:
            if mine:
                problems.append(f"{label}: " + "; ".join(mine))
            return None
        kwargs = {**kwargs, "layer": inner}
    if mine:
        problems.append(f"{label}: " + "; ".join(mine))
        return None
    try:
        if defer and rule.np_class == "Embedding":
            for key in ("input_dim", "output_dim"):
                _v.positive_int(key, kwargs.get(key))
            LAYER_CLASSES[rule.np_class](**{**kwargs, "input_dim": 1, "output_dim": 1})
            return Deferred(rule.np_class, kwargs)
        layer = LAYER_CLASSES[rule.np_class](**kwargs)
        if getattr(layer, "builds_from_shape", False) and not layer.built:
            _build_from_config(layer, cfg.get("build_config"))
        return layer
    except (ValueError, TypeError) as exc:
        problems.append(f"{label}: numpy_rnn refuses its options: {exc}")
        return None


def build_shape(cfg: dict) -> Any:
    """The input shape a serialized Keras 3 layer was built for (its ``build_config``; a list
    of shapes for several inputs), or None."""
    build = cfg.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if not isinstance(shape, (list, tuple)):
        return None
    if shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [tuple(s) for s in shape]
    return tuple(shape)


def _build_from_config(layer: Any, build_config: Any) -> None:
    """Build a layer whose weight shapes need its whole input shape (EinsumDense, attention)
    from Keras's ``build_config``: ``{"input_shape": ...}`` or ``{"shapes_dict": {...}}``
    (MultiHeadAttention's ``query_shape`` ...).  Only shapes are worked out: no weight is
    drawn (the weights file then supplies them).  ValueError / TypeError for garbage."""
    if not isinstance(build_config, dict):
        return
    shapes = build_config.get("shapes_dict")
    if isinstance(shapes, dict):
        layer.build(**{str(k): v for k, v in shapes.items()})
        return
    shape = build_shape({"build_config": build_config})
    if shape is not None:
        layer.build(shape)


def _snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: the name of a layer's group in the weights file."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def h5_paths(class_names: list[str]) -> list[str]:
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


def input_spec(cfg: dict, problems: list[str]) -> tuple[tuple | None, str | None]:
    """``(shape without batch axis, dtype)`` from an InputLayer config."""
    config = cfg.get("config") if isinstance(cfg.get("config"), dict) else {}
    label = layer_label(cfg)
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    mine = []
    for key in ("sparse", "ragged"):
        if config.get(key):
            mine.append(f"option {key}=True ({only_value(key, in_model=True)[1]})")
    dtype = config.get("dtype", "float32")
    if dtype in ("string", "str"):  # a string input (read by a TextVectorization)
        dtype = "object"
    if isinstance(dtype, dict):
        dtype, reason = dtype_from_policy(dtype)
        if reason:
            mine.append(f"option dtype: {reason}")
    try:
        ok = dtype is not None and np.dtype(dtype).kind in "iufO" and \
            np.dtype(dtype).name not in ("float16",)
    except TypeError:
        ok = False
    if dtype is not None and not ok:
        mine.append(f"input dtype {dtype!r} is not supported (integer ids or float32/float64)")
    if mine:
        problems.append(f"{label}: " + "; ".join(mine))
    if isinstance(shape, (list, tuple)) and len(shape) >= 2:
        dims = dims_of(shape[1:])
        if dims is None:
            problems.append(f"{label}: input shape {short(shape)} is not a list of positive "
                            "integers or None")
        return dims, (dtype if ok else None)
    return None, (dtype if ok else None)


def dims_of(values: Any) -> tuple | None:
    """``values`` as a shape of positive ints / None, or None when it is not one."""
    if any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1)
           for d in values):
        return None
    return tuple(values)
