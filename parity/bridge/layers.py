"""Keras layers <-> numpy_rnn layers, weights copied.

Which Keras layer becomes which numpy_rnn layer, and which options carry over, is the table the
``.keras`` reader uses too (``numpy_rnn.formats.keras_layers``).  TensorFlow / Keras are imported
inside functions only, so that ``import parity`` stays cheap.  Every copy checks shapes first and
names the weight and both shapes when they differ.
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable

import numpy as np

import numpy_rnn
from numpy_rnn import activations as np_activations
from numpy_rnn.formats import keras_layers

from . import backend


class UnsupportedKerasFeature(ValueError):
    """A Keras layer, or an option of one, that numpy_rnn cannot reproduce exactly."""


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One row of the bridge table: the NumPy class and how its options map."""

    np_cls: Callable
    #: Keras config keys taken over as NumPy constructor arguments (same name).
    options: tuple
    #: Keras config keys that hold activations (checked against numpy_rnn.activations).
    activations: tuple = ()
    #: Keras config keys accepted at one value only (key -> (value, why)).
    fixed: dict = dataclasses.field(default_factory=dict)


def _spec_table() -> dict[str, LayerSpec]:
    """``numpy_rnn.formats.keras_layers.KERAS_LAYER_RULES`` with the classes resolved."""
    return {name: LayerSpec(getattr(numpy_rnn, rule.np_class), rule.options, rule.activations,
                            rule.fixed)
            for name, rule in keras_layers.KERAS_LAYER_RULES.items()}


def supported_layers() -> list[str]:
    """The Keras layer class names ``from_keras`` / ``to_keras`` convert, sorted."""
    return keras_layers.supported_keras_layers()


def _keras_dtype(layer: Any) -> str:
    compute = str(getattr(layer, "compute_dtype", "float32"))
    variable = str(getattr(layer, "variable_dtype", compute))
    if compute != variable or compute not in ("float32", "float64"):
        raise UnsupportedKerasFeature(
            f"layer '{layer.name}' ({type(layer).__name__}): dtype policy with compute dtype "
            f"{compute} and variable dtype {variable} is not supported; numpy_rnn supports "
            "float32 and float64."
        )
    return compute


def _activation_name(layer: Any, key: str, value: Any) -> str:
    if isinstance(value, dict):  # a serialized function, lambda or activation layer: custom
        what = (value.get("config") if value.get("class_name") == "function"
                else value.get("class_name", "a lambda"))
        raise UnsupportedKerasFeature(
            f"layer '{layer.name}' ({type(layer).__name__}): option {key} is a custom activation "
            f"({what!r}); only Keras's built-in activations by name are supported: "
            f"{np_activations.names()}"
        )
    if value is None:
        return "linear"
    if type(layer).__module__.split(".")[0] == "tf_keras" and isinstance(value, str) \
            and value in keras_layers.KERAS2_ACTIVATIONS:  # Keras 2's names mean Keras 2's maths
        return keras_layers.KERAS2_ACTIVATIONS[value]     # (hard_sigmoid: clip(0.2x + 0.5))
    if not isinstance(value, str) or value not in np_activations.names():
        raise UnsupportedKerasFeature(
            f"layer '{layer.name}' ({type(layer).__name__}): option {key}={value!r} is not a "
            f"supported activation; supported: {np_activations.names()}"
        )
    return value


def _np_kwargs(layer: Any, spec: LayerSpec) -> dict:
    cfg = layer.get_config()
    if type(layer).__module__.split(".")[0] == "tf_keras":  # Keras 2's option names
        cfg = keras_layers.rename_keras2(type(layer).__name__, cfg)
    kwargs: dict[str, Any] = {}
    problems = []
    wrapper = type(layer).__name__ in keras_layers.WRAPPERS
    for key, value in cfg.items():
        if wrapper and key in ("layer", "backward_layer"):
            continue  # the wrapped layers go through their own rows
        if key in spec.options:
            kwargs[key] = value
        elif key in spec.activations:
            try:
                kwargs[key] = _activation_name(layer, key, value)
            except UnsupportedKerasFeature as exc:
                problems.append(str(exc))
        elif key in spec.fixed:
            if value != spec.fixed[key][0]:
                problems.append(f"option {key}={value!r} ({spec.fixed[key][1]})")
        elif keras_layers.only_value(key, in_model=False) is not None:
            if value != keras_layers.only_value(key, in_model=False)[0]:
                problems.append(f"option {key}={value!r}")
        elif not keras_layers.is_inference_neutral(key):
            problems.append(f"option {key}={value!r} (unknown to numpy_rnn)")
    if problems:
        raise UnsupportedKerasFeature(
            f"layer '{layer.name}' ({type(layer).__name__}) uses what numpy_rnn does not "
            "support: " + "; ".join(problems)
        )
    kwargs["dtype"] = _keras_dtype(layer)
    kwargs["name"] = layer.name
    return kwargs


def copy_weights(src: list, dst_names: list[str], dst_shapes: dict, where: str) -> list[np.ndarray]:
    """Check that ``src`` arrays match the destination's weights one to one; return them."""
    if len(src) != len(dst_names):
        raise ValueError(
            f"{where}: expected {len(dst_names)} weights {dst_names}, received {len(src)}"
        )
    out = []
    for name, w in zip(dst_names, src):
        w = np.asarray(w)
        want = tuple(dst_shapes[name])
        if tuple(w.shape) != want:
            raise ValueError(f"{where}: weight `{name}` has shape {tuple(w.shape)} in the source "
                             f"but {want} in the destination")
        out.append(w)
    return out


def layer_from_keras(layer: Any):
    """A numpy_rnn twin of one built Keras layer (weights and stored states copied)."""
    cls = type(layer).__name__
    spec = _spec_table().get(cls)
    if spec is None:
        raise UnsupportedKerasFeature(
            f"layer '{getattr(layer, 'name', '?')}' of type {cls} is not supported; supported "
            f"layers: {supported_layers()}"
        )
    if cls == "Bidirectional":
        return _bidirectional_from_keras(layer)
    if cls == "TimeDistributed":
        return _time_distributed_from_keras(layer, spec)
    kwargs = _np_kwargs(layer, spec)
    np_layer = spec.np_cls(**kwargs)
    if not layer.built:
        if cls == "Embedding":
            layer.build()
        elif np_layer.built and not np_layer.weight_names():
            pass  # weightless (the reshaping layers): Keras builds it on its first call
        else:
            raise ValueError(f"Keras layer '{layer.name}' is not built, so it has no weights to "
                             "copy: call it on an input (or build it) first.")
    weights = [np.asarray(w) for w in layer.get_weights()]
    backend.check_weight_dtypes(layer, weights, kwargs["dtype"])
    if not np_layer.built:
        shape = _keras_build_shape(layer)
        if getattr(np_layer, "builds_from_shape", False) and isinstance(shape, _ShapesDict):
            np_layer.build(**shape)  # build(query_shape=..., value_shape=...), as Keras's
        elif getattr(np_layer, "builds_from_shape", False) and shape is not None:
            np_layer.build(shape)  # the layers around the recurrent ones: Keras's build shape
        else:
            np_layer.build_from_weights(weights)
    copy_weights(weights, np_layer.weight_names(), np_layer.weight_shapes(),
                 f"from_keras('{layer.name}')")
    np_layer.set_weights(weights)
    states = getattr(layer, "states", None)
    if getattr(np_layer, "stateful", False) and states and states[0] is not None:
        np_layer.states = [np.asarray(backend.to_numpy(s), dtype=np_layer.dtype)
                           for s in states]
    return np_layer


class _ShapesDict(dict):
    """A Keras build config's ``shapes_dict``: the layer was built as ``build(**shapes)``
    (e.g. MultiHeadAttention's ``query_shape`` / ``value_shape`` / ``key_shape``)."""


def _keras_build_shape(layer: Any) -> Any:
    """The input shape a built Keras layer was built for (batch first), a :class:`_ShapesDict`
    for a layer built from several named shapes, or None."""
    try:
        cfg = layer.get_build_config() or {}
    except Exception:  # noqa: BLE001 - tf_keras layers and unbuilt ones have none
        return None
    if isinstance(cfg.get("shapes_dict"), dict):
        return _ShapesDict({k: None if v is None else tuple(v)
                            for k, v in cfg["shapes_dict"].items()})
    shape = cfg.get("input_shape")
    if isinstance(shape, dict) or shape is None:
        return shape
    if shape and isinstance(shape[0], (list, tuple)):  # several inputs
        return [tuple(s) for s in shape]
    return tuple(shape)


def _bidirectional_from_keras(layer: Any):
    """Both inner layers through their own rows, then the wrapper; weights forward first."""
    if not layer.built or not layer.forward_layer.built or not layer.backward_layer.built:
        raise ValueError(f"Keras layer '{layer.name}' is not built, so it has no weights to "
                         "copy: call it on an input (or build it) first.")
    forward = layer_from_keras(layer.forward_layer)
    backward = layer_from_keras(layer.backward_layer)
    np_layer = numpy_rnn.Bidirectional(forward, merge_mode=layer.merge_mode,
                                       backward_layer=backward, name=layer.name,
                                       dtype=_keras_dtype(layer))
    # The NumPy wrapper rebuilds its forward layer from the config, as Keras does: copy again.
    weights = copy_weights([np.asarray(w) for w in layer.get_weights()], np_layer.weight_names(),
                           np_layer.weight_shapes(), f"from_keras('{layer.name}')")
    np_layer.set_weights(weights)
    np_layer.forward_layer.states = None if forward.states is None else [
        s.copy() for s in forward.states]
    return np_layer


#: Options Keras 3 takes through ``**kwargs`` (not in the signature): RNN's
#: ``zero_output_for_mask``, LayerNormalization's deprecated ``rms_scaling``.
_THROUGH_KWARGS = frozenset({"zero_output_for_mask", "rms_scaling"})
def _time_distributed_from_keras(layer: Any, spec: LayerSpec):
    """The wrapped layer through its own row, then the wrapper around it (the same layer, so
    the weights are the wrapped layer's, already copied)."""
    kwargs = _np_kwargs(layer, spec)
    inner = layer_from_keras(layer.layer)
    try:
        np_layer = numpy_rnn.TimeDistributed(inner, **kwargs)
    except ValueError as exc:
        raise UnsupportedKerasFeature(f"layer '{layer.name}' (TimeDistributed): {exc}") from None
    shape = _keras_build_shape(layer)
    if isinstance(shape, tuple) and len(shape) >= 3:
        np_layer.build_input_shape = shape
    return np_layer


def _keras_kwargs(np_layer: Any, keras_cls: Any, spec: LayerSpec) -> dict:
    cfg = np_layer.get_config()
    accepted = set(inspect.signature(keras_cls.__init__).parameters)
    kwargs = {k: cfg[k] for k in spec.options + spec.activations if k in cfg}
    dropped = {k for k in kwargs if k not in accepted}
    dropped -= _THROUGH_KWARGS  # options Keras takes through **kwargs
    for k in dropped:
        del kwargs[k]
    for key in spec.activations:
        name = kwargs.get(key)
        if name == "keras2_hard_sigmoid":
            raise UnsupportedKerasFeature(
                f"layer '{np_layer.name}': activation {key}='keras2_hard_sigmoid' is Keras 2's "
                "hard_sigmoid (clip(0.2x + 0.5, 0, 1)); Keras 3 has no such activation (its "
                "hard_sigmoid is clip(x/6 + 0.5, 0, 1)). Compare this layer with tf_keras "
                "(tf_keras.models.load_model of the original .h5) instead"
            )
        if name is not None and name not in np_activations.names():
            raise UnsupportedKerasFeature(
                f"layer '{np_layer.name}': activation {key}={name!r} is a custom callable with no "
                "Keras equivalent"
            )
    for key, why in keras_layers.KERAS2_ONLY_OPTIONS.items():
        if cfg.get(key) is not None:
            raise UnsupportedKerasFeature(
                f"layer '{np_layer.name}': option {key}={cfg[key]!r} is tf_keras's ({why}); "
                "Keras 3 has no twin. Compare this layer with tf_keras instead")
    kwargs.pop("softmax_robust_masking", None)
    kwargs["dtype"] = np_layer.dtype.name
    kwargs["name"] = np_layer.name
    return kwargs


def layer_to_keras(np_obj: Any):
    """A Keras (Keras 3) twin of one numpy_rnn layer, weights (and stored states) copied."""
    keras = backend.require()
    cls = type(np_obj).__name__
    if cls == "EmbeddingLayer":
        cls = "Embedding"
    spec = _spec_table().get(cls)
    if spec is None:
        raise UnsupportedKerasFeature(f"to_keras: NumPy layer type {type(np_obj).__name__} has "
                                      f"no Keras twin; supported: {supported_layers()}")
    if cls == "Bidirectional":
        return _bidirectional_to_keras(np_obj)
    if cls == "TimeDistributed":
        return _time_distributed_to_keras(np_obj)
    keras_cls = getattr(keras.layers, cls)
    layer = keras_cls(**_keras_kwargs(np_obj, keras_cls, spec))
    if not np_obj.built or not np_obj.weight_names():
        return layer  # weightless layers build on their first call, as Keras's own
    if cls == "Embedding":
        layer.build()
    elif cls == "Dense":
        layer.build((None, np_obj.features))
    elif getattr(np_obj, "builds_from_shape", False) and isinstance(np_obj.build_input_shape,
                                                                     dict):
        layer.build(**np_obj.build_input_shape)  # named shapes (MultiHeadAttention)
    elif not np_obj.weight_names():
        pass  # weightless: nothing to build (Keras builds these at construction or call)
    elif getattr(np_obj, "builds_from_shape", False):
        layer.build(np_obj.build_input_shape)  # the shape the NumPy layer was built for
    else:
        batch = np_obj.states[0].shape[0] if getattr(np_obj, "states", None) else None
        if getattr(np_obj, "stateful", False) and batch is None:
            raise ValueError(f"to_keras: stateful layer '{np_obj.name}' has not run yet, so its "
                             "batch size is unknown; call it once (or reset_state(states)) first.")
        layer.build((batch, None, np_obj.features))
    names = [keras_weight_path(layer, w) for w in layer.weights]  # kernel, query/kernel ...
    weights = copy_weights(np_obj.get_weights(), names,
                           {n: tuple(w.shape) for n, w in zip(names, layer.weights)},
                           f"to_keras('{np_obj.name}')")
    layer.set_weights(weights)
    if getattr(np_obj, "stateful", False) and np_obj.states is not None:
        for var, value in zip(layer.states, np_obj.states):
            var.assign(value)
    return layer


def keras_weight_path(layer: Any, variable: Any) -> str:
    """A variable's path inside ``layer``: ``kernel``, or ``query/kernel`` for a weight of a
    sublayer (MultiHeadAttention); a recurrent layer's ``*_cell`` level is left out, so the
    names are unique within the layer and equal to the NumPy twin's ``weight_names()``."""
    parts = str(getattr(variable, "path", variable.name)).split("/")
    if layer.name in parts:
        parts = parts[parts.index(layer.name) + 1:]
    kept = [p for p in parts if not p.endswith("_cell")]
    return "/".join(kept) or parts[-1]


def _stateful_batch(np_layer: Any) -> int | None:
    batch = np_layer.states[0].shape[0] if getattr(np_layer, "states", None) else None
    if getattr(np_layer, "stateful", False) and batch is None:
        raise ValueError(f"to_keras: stateful layer '{np_layer.name}' has not run yet, so its "
                         "batch size is unknown; call it once (or reset_state(states)) first.")
    return batch


def _bidirectional_to_keras(np_obj: Any):
    """keras.layers.Bidirectional around Keras twins of both inner layers, weights copied."""
    import keras

    inner = []
    for np_inner in (np_obj.forward_layer, np_obj.backward_layer):
        cls = type(np_inner).__name__
        spec = _spec_table().get(cls)
        if spec is None or cls == "Bidirectional":
            raise UnsupportedKerasFeature(f"to_keras: layer '{np_inner.name}' of type {cls} "
                                          "cannot be wrapped in Bidirectional")
        keras_cls = getattr(keras.layers, cls)
        inner.append(keras_cls(**_keras_kwargs(np_inner, keras_cls, spec)))
    layer = keras.layers.Bidirectional(inner[0], merge_mode=np_obj.merge_mode,
                                       backward_layer=inner[1], name=np_obj.name,
                                       dtype=np_obj.dtype.name)
    if not np_obj.built:
        return layer
    layer.build((_stateful_batch(np_obj.forward_layer), None, np_obj.features))
    names = ["/".join(w.path.split("/")[-3::2]) for w in layer.weights]  # e.g. forward_gru/kernel
    weights = copy_weights(np_obj.get_weights(), names,
                           {n: tuple(w.shape) for n, w in zip(names, layer.weights)},
                           f"to_keras('{np_obj.name}')")
    layer.set_weights(weights)
    for k_inner, np_inner in ((layer.forward_layer, np_obj.forward_layer),
                              (layer.backward_layer, np_obj.backward_layer)):
        if np_inner.stateful and np_inner.states is not None:
            for var, value in zip(k_inner.states, np_inner.states):
                var.assign(value)
    return layer


def _time_distributed_to_keras(np_obj: Any):
    """keras.layers.TimeDistributed around the Keras twin of the wrapped layer (weights copied
    there), built for the shape the NumPy wrapper was built for when it is known."""
    import keras

    inner = layer_to_keras(np_obj.layer)
    layer = keras.layers.TimeDistributed(inner, name=np_obj.name, dtype=np_obj.dtype.name)
    if np_obj.built:
        shape = np_obj.build_input_shape
        if shape is None:
            features = getattr(np_obj.layer, "features", None)
            shape = (None, None, features)
        layer.build(tuple(shape))  # the wrapped layer is built already: Keras leaves it
    return layer
