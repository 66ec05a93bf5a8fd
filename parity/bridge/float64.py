"""The float64 answer a float32 comparison is judged by: the same Keras layer or model (config
and weights) rebuilt in float64 on the process's backend, run on the inputs made float64.

Used by the float64 referees (``referee``: outputs, ``grad_referee``: gradients) and by the
backend drift report (``parity.gate.drift``: which of two disagreeing backends is right).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .calling import _to_tensor, as_list as _as_list, call_keras

__all__ = ["keras_float64_copy", "as_float64", "float64_call_kwargs", "exact_outputs"]


def _float64_config(cfg: Any) -> Any:
    """A serialized Keras object with every float dtype (and dtype policy) made float64;
    integer dtypes (a model's ``Input`` of token ids) are kept."""
    if isinstance(cfg, dict):
        out = {}
        for k, v in cfg.items():
            is_float = isinstance(v, dict) or (isinstance(v, str) and v.startswith(("float",
                                                                                   "bfloat")))
            out[k] = "float64" if k == "dtype" and is_float else _float64_config(v)
        return out
    if isinstance(cfg, list):
        return [_float64_config(v) for v in cfg]
    return cfg


def keras_float64_copy(keras_obj: Any, inputs: Any) -> Any:
    """The same Keras layer or model (config and weights) computing in float64 (``inputs``: an
    array, or the list a multi-input layer takes, to build it)."""
    if backend.is_tf_keras(keras_obj) and not hasattr(keras_obj, "layers"):
        # a tf_keras (Keras 2) layer: rebuilt by its own class, so Keras 2's semantics stay
        twin = type(keras_obj).from_config(_float64_config(keras_obj.get_config()))
    else:
        keras = backend.require()
        cfg = _float64_config(keras.saving.serialize_keras_object(keras_obj))
        twin = keras.saving.deserialize_keras_object(cfg)
    if isinstance(inputs, (list, tuple)) and not twin.built:
        # a multi-input layer (tf_keras's MultiHeadAttention builds on its first call)
        call_keras(twin, [_to_tensor(np.zeros(np.shape(x), np.float64), twin) for x in inputs])
    elif not hasattr(keras_obj, 'layers') and not twin.built:  # a layer, not a model
        twin.build((None,) * (inputs.ndim - 1) + (inputs.shape[-1],)
                   if inputs.dtype.kind == "f" else (None,) * inputs.ndim)
    twin.set_weights([np.asarray(w, np.float64) if np.asarray(w).dtype.kind == "f"
                      else np.asarray(w) for w in keras_obj.get_weights()])
    return twin


def as_float64(value: Any) -> Any:
    """Float arrays (or lists of them) as float64; anything else unchanged; None stays None."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [as_float64(v) for v in value]
    arr = np.asarray(value)
    return arr.astype(np.float64) if arr.dtype.kind == "f" else arr


def float64_call_kwargs(call_kwargs: dict) -> dict:
    """A call's ``mask=`` / ``initial_state=`` / other arguments as float64 backend tensors
    (flags, ``use_causal_mask=True``, stay as they are)."""
    out = {}
    for k, v in call_kwargs.items():
        if v is None or isinstance(v, (bool, str)):
            out[k] = v
        elif k == "mask" and isinstance(v, (list, tuple)):
            out[k] = [None if m is None else backend.convert(np.asarray(m)) for m in v]
        elif k == "mask":
            out[k] = backend.convert(np.asarray(v))
        else:
            out[k] = backend.convert(as_float64(v))
    return out


def exact_outputs(keras_obj: Any, inputs: Any, call_kwargs: dict | None = None
                  ) -> list[np.ndarray]:
    """Every output of ``keras_obj(inputs, **call_kwargs)`` computed in float64."""
    several = isinstance(inputs, (list, tuple))  # a multi-input layer's [query, value, ...]
    x = [np.asarray(i) for i in inputs] if several else np.asarray(inputs)
    twin = keras_float64_copy(keras_obj, x)
    kw = float64_call_kwargs(call_kwargs or {})
    return [np.asarray(backend.to_numpy(o), np.float64)
            for o in _as_list(call_keras(twin, _to_tensor(as_float64(x), twin), **kw))]
