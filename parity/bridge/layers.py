"""Keras <-> NumPy: the table of which Keras layer becomes which NumPy layer, and the weight copies.

TensorFlow / Keras are imported inside functions only, so that ``import parity`` stays cheap.
Every copy checks shapes first and names the weight and both shapes when they differ.
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable

import numpy as np

import numpy_rnn
from numpy_rnn import activations as np_activations
from numpy_rnn import keras_file


class UnsupportedKerasFeature(ValueError):
    """A Keras layer, or an option of one, that numpy_rnn cannot reproduce exactly."""


def _require_tf():
    try:
        import tensorflow as tf  # noqa: F401
        import keras  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised without TF
        raise ImportError(
            "parity needs TensorFlow with Keras 3: pip install 'numpy-rnn[keras]' "
            "(from a checkout of numpy-rnn: pip install -e '.[keras]') "
            f"(import failed: {exc})"
        ) from None
    return tf


# -- options: one table, shared with the .keras reader (numpy_rnn.keras_file) ----------------
#: Options refused inside a model file but fine on a single live layer (its states are copied).
_SINGLE_LAYER_OK = frozenset({"return_state", "stateful"})
#: Config keys whose listed value is the only one supported (anything else is refused).
_ONLY_VALUE = {key: value for key, (value, _why) in keras_file.ONLY_VALUE_OPTIONS.items()
               if key not in _SINGLE_LAYER_OK}


def _inference_neutral(key: str) -> bool:
    """Training / initialization / graph-building options, ignored once weights are copied."""
    return keras_file.is_inference_neutral(key) or key in ("input_dim_", "noise_shape")


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One row of the bridge table: the NumPy class and how its options map."""

    np_cls: Callable
    #: Keras config keys taken over as NumPy constructor arguments (same name).
    options: tuple
    #: Keras config keys that hold activations (checked against numpy_rnn.activations).
    activations: tuple = ()


def _spec_table() -> dict[str, LayerSpec]:
    rnn = ("units", "use_bias", "return_sequences", "return_state", "go_backwards", "stateful",
           "zero_output_for_mask", "dropout", "recurrent_dropout", "unroll")
    return {
        "LSTM": LayerSpec(numpy_rnn.LSTM, rnn + ("unit_forget_bias",),
                          ("activation", "recurrent_activation")),
        "Embedding": LayerSpec(numpy_rnn.Embedding, ("input_dim", "output_dim", "mask_zero")),
        "GRU": LayerSpec(numpy_rnn.GRU, rnn + ("reset_after",),
                         ("activation", "recurrent_activation")),
        "SimpleRNN": LayerSpec(numpy_rnn.SimpleRNN, rnn, ("activation",)),
        # Bidirectional's inner layers go through their own rows (see _bidirectional_from_keras).
        "Bidirectional": LayerSpec(numpy_rnn.Bidirectional, ("merge_mode",)),
        "Dense": LayerSpec(numpy_rnn.Dense, ("units", "use_bias"), ("activation",)),
        "Masking": LayerSpec(numpy_rnn.Masking, ("mask_value",)),
        "Dropout": LayerSpec(numpy_rnn.Dropout, ("rate", "noise_shape")),
    }


def supported_layers() -> list[str]:
    return sorted(_spec_table())


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
    if not isinstance(value, str) or value not in np_activations.names():
        raise UnsupportedKerasFeature(
            f"layer '{layer.name}' ({type(layer).__name__}): option {key}={value!r} is not a "
            f"supported activation; supported: {np_activations.names()}"
        )
    return value


def _np_kwargs(layer: Any, spec: LayerSpec) -> dict:
    cfg = layer.get_config()
    kwargs: dict[str, Any] = {}
    problems = []
    for key, value in cfg.items():
        if key in spec.options:
            kwargs[key] = value
        elif key in spec.activations:
            try:
                kwargs[key] = _activation_name(layer, key, value)
            except UnsupportedKerasFeature as exc:
                problems.append(str(exc))
        elif key in _ONLY_VALUE:
            if value != _ONLY_VALUE[key]:
                problems.append(f"option {key}={value!r}")
        elif not _inference_neutral(key):
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


def _layer_from_keras(layer: Any):
    cls = type(layer).__name__
    spec = _spec_table().get(cls)
    if spec is None:
        raise UnsupportedKerasFeature(
            f"layer '{getattr(layer, 'name', '?')}' of type {cls} is not supported; supported "
            f"layers: {supported_layers()}"
        )
    if cls == "Bidirectional":
        return _bidirectional_from_keras(layer)
    kwargs = _np_kwargs(layer, spec)
    np_layer = spec.np_cls(**kwargs)
    if not layer.built:
        if cls == "Embedding":
            layer.build()
        else:
            raise ValueError(f"Keras layer '{layer.name}' is not built, so it has no weights to "
                             "copy: call it on an input (or build it) first.")
    weights = [np.asarray(w) for w in layer.get_weights()]
    if not np_layer.built:
        np_layer._build_from_weights(weights)
    copy_weights(weights, np_layer.weight_names(), np_layer.weight_shapes(),
                 f"from_keras('{layer.name}')")
    np_layer.set_weights(weights)
    states = getattr(layer, "states", None)
    if getattr(np_layer, "stateful", False) and states and states[0] is not None:
        np_layer.states = [np.asarray(s.numpy() if hasattr(s, "numpy") else s, dtype=np_layer.dtype)
                           for s in states]
    return np_layer


def _bidirectional_from_keras(layer: Any):
    """Both inner layers through their own rows, then the wrapper; weights forward first."""
    if not layer.built or not layer.forward_layer.built or not layer.backward_layer.built:
        raise ValueError(f"Keras layer '{layer.name}' is not built, so it has no weights to "
                         "copy: call it on an input (or build it) first.")
    forward = _layer_from_keras(layer.forward_layer)
    backward = _layer_from_keras(layer.backward_layer)
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


def _is_tokenizer(obj: Any) -> bool:
    return type(obj).__name__ == "Tokenizer" and hasattr(obj, "word_index")


def from_keras(obj: Any):
    """A NumPy twin of a Keras layer / model / Tokenizer / TextVectorization, weights copied."""
    if _is_tokenizer(obj):
        from .text_bridge import vocabulary_from_tokenizer
        return vocabulary_from_tokenizer(obj)
    if type(obj).__name__ == "TextVectorization":
        from .text_bridge import text_vectorization_from_keras
        return text_vectorization_from_keras(obj)
    if type(obj).__name__ in ("Sequential", "Functional", "Model"):
        from .model_bridge import model_from_keras  # type: ignore[import-not-found]
        return model_from_keras(obj)
    return _layer_from_keras(obj)


def _keras_kwargs(np_layer: Any, keras_cls: Any, spec: LayerSpec) -> dict:
    cfg = np_layer.get_config()
    accepted = set(inspect.signature(keras_cls.__init__).parameters)
    kwargs = {k: cfg[k] for k in spec.options + spec.activations if k in cfg}
    dropped = {k for k in kwargs if k not in accepted}
    if "zero_output_for_mask" in dropped:  # Keras 3 takes it through **kwargs of RNN
        dropped.discard("zero_output_for_mask")
    for k in dropped:
        del kwargs[k]
    for key in spec.activations:
        name = kwargs.get(key)
        if name is not None and name not in np_activations.names():
            raise UnsupportedKerasFeature(
                f"layer '{np_layer.name}': activation {key}={name!r} is a custom callable with no "
                "Keras equivalent"
            )
    kwargs["dtype"] = np_layer.dtype.name
    kwargs["name"] = np_layer.name
    return kwargs


def to_keras(np_obj: Any):
    """A Keras (Keras 3) twin of a NumPy layer or model, weights copied."""
    _require_tf()
    import keras

    if isinstance(np_obj, numpy_rnn.Vocabulary):
        from .text_bridge import vocabulary_to_tokenizer
        return vocabulary_to_tokenizer(np_obj)
    if isinstance(np_obj, numpy_rnn.TextVectorization):
        from .text_bridge import text_vectorization_to_keras
        return text_vectorization_to_keras(np_obj)
    if type(np_obj).__name__ == "Sequential":
        from .model_bridge import model_to_keras  # type: ignore[import-not-found]
        return model_to_keras(np_obj)
    cls = type(np_obj).__name__
    if cls == "EmbeddingLayer":
        cls = "Embedding"
    spec = _spec_table().get(cls)
    if spec is None:
        raise UnsupportedKerasFeature(f"to_keras: NumPy layer type {type(np_obj).__name__} has "
                                      f"no Keras twin; supported: {supported_layers()}")
    if cls == "Bidirectional":
        return _bidirectional_to_keras(np_obj)
    keras_cls = getattr(keras.layers, cls)
    layer = keras_cls(**_keras_kwargs(np_obj, keras_cls, spec))
    if not np_obj.built:
        return layer
    if cls == "Embedding":
        layer.build()
    elif cls == "Dense":
        layer.build((None, np_obj.features))
    elif cls in ("Masking", "Dropout"):
        pass  # weightless, built at construction
    else:
        batch = np_obj.states[0].shape[0] if getattr(np_obj, "states", None) else None
        if getattr(np_obj, "stateful", False) and batch is None:
            raise ValueError(f"to_keras: stateful layer '{np_obj.name}' has not run yet, so its "
                             "batch size is unknown; call it once (or reset_state(states)) first.")
        layer.build((batch, None, np_obj.features))
    weights = copy_weights(np_obj.get_weights(), [w.path.split("/")[-1] for w in layer.weights],
                           {w.path.split("/")[-1]: tuple(w.shape) for w in layer.weights},
                           f"to_keras('{np_obj.name}')")
    layer.set_weights(weights)
    if getattr(np_obj, "stateful", False) and np_obj.states is not None:
        for var, value in zip(layer.states, np_obj.states):
            var.assign(value)
    return layer


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


# -- running both sides ----------------------------------------------------------------------
def _to_tensor(x: Any):
    import tensorflow as tf

    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [_to_tensor(i) for i in x]
    return tf.convert_to_tensor(np.asarray(x))


def _numpy(x: Any):
    if isinstance(x, (list, tuple)):
        return [_numpy(i) for i in x]
    return np.asarray(x)


def run_pair(np_obj: Any, keras_obj: Any, inputs: Any, *, case: str, rtol=None, atol=None,
             **call_kwargs: Any):
    """Run both objects on ``inputs`` and build a ParityReport (used by ``compare``)."""
    from .compare import ParityReport, compare_outputs, diff_arrays, output_names

    if isinstance(np_obj, numpy_rnn.Vocabulary) or _is_tokenizer(keras_obj):
        from .text_bridge import compare_text
        return compare_text(np_obj, keras_obj, inputs, case=case)
    if isinstance(np_obj, numpy_rnn.TextVectorization):
        a = np.asarray(np_obj(inputs))
        e = np.asarray(keras_obj(inputs))
        return ParityReport(case, [diff_arrays("ids", a, e, rtol=0, atol=0)])
    _require_tf()
    np_out = np_obj(inputs, **call_kwargs)
    k_kwargs = {k: _to_tensor(v) for k, v in call_kwargs.items()}
    keras_out = _numpy(keras_obj(_to_tensor(inputs), **k_kwargs))
    n = len(np_out) if isinstance(np_out, (list, tuple)) else 1
    return compare_outputs(case, np_out, keras_out, output_names(np_obj, n), rtol=rtol, atol=atol)
