"""Calling a Keras object the way its NumPy twin was called, on this process's backend: NumPy
data in as the backend's tensors (:func:`_to_tensor`), a list of inputs spread over a layer whose
``call`` takes them as positional arguments (:func:`call_keras`).  Shared by ``run`` (the
comparisons) and ``float64`` (the referees' float64 twin).
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from . import backend

__all__ = ["call_keras", "takes_input_list", "as_list"]


def as_list(out: Any) -> list:
    """A call's outputs as a list (one output: a list of one)."""
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _to_tensor(x: Any, keras_obj: Any = None):
    """Arrays (and lists / dicts of them) as tensors of this process's backend (TensorFlow's for
    a tf_keras ``keras_obj``); None and Python scalars (``use_causal_mask=True``,
    ``return_attention_scores=True``) stay as they are, as Keras expects its flags."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, (list, tuple)):
        return [_to_tensor(i, keras_obj) for i in x]
    if isinstance(x, dict):
        return {k: _to_tensor(v, keras_obj) for k, v in x.items()}
    return backend.tensor_for(keras_obj, np.asarray(x))


def takes_input_list(keras_obj: Any) -> bool:
    """True when a Keras layer's ``call`` takes several inputs as one list (``call(inputs,
    ...)``: Attention, the merge layers, models), False when it takes them as positional
    arguments (MultiHeadAttention's ``call(query, value, key=None, ...)``)."""
    call = getattr(keras_obj, "call", None)
    try:
        params = [p for p in inspect.signature(call).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return True
    return not params or params[0].name == "inputs"


def call_keras(keras_obj: Any, inputs: Any, mask: Any = None, **kwargs: Any):
    """Call ``keras_obj`` on ``inputs`` (tensors, or a list of them) as the NumPy twin was
    called.  A list of inputs for a layer whose ``call`` takes positional inputs is spread over
    them, and a ``mask`` list then travels as each input's Keras mask (``_keras_mask``), which
    is how a functional graph hands masks to such a layer (Keras 3.15's MultiHeadAttention
    reads the query's mask only from the tensor)."""
    if isinstance(inputs, (list, tuple)) and not takes_input_list(keras_obj):
        from keras.src.backend.common.masking import set_keras_mask

        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * (mask is not None)
        for tensor, m in zip(inputs, masks):
            if m is not None:
                set_keras_mask(tensor, m)
        return keras_obj(*inputs, **kwargs)
    if mask is not None:
        kwargs["mask"] = mask
    return keras_obj(inputs, **kwargs)
