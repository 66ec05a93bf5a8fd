"""The reference for Keras 2 model files: ``tf_keras`` (Keras 2 on TensorFlow 2).

A Keras 2 / tf_keras ``.h5`` file is checked against what tf_keras computes with it, never
against Keras 3 with a reinterpreted config (Keras 3 refuses such files, and its
``hard_sigmoid`` is not Keras 2's).  tf_keras is imported inside the functions, so ``import
parity`` stays cheap; without it, an ImportError names the extra to install.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ._tf import REFERENCES, install_hint, require_tf
from .calling import _to_tensor, call_keras

__all__ = ["LEGACY_FORMATS", "load_tf_keras_model", "load_weights_only", "tf_keras_predict",
           "tf_keras_version", "tf_keras_gradients"]

#: ``KerasFile.format`` values whose reference is tf_keras.
LEGACY_FORMATS = ("keras2-h5",)


def _tf_keras() -> Any:
    require_tf()
    try:
        import tf_keras
    except ImportError as exc:
        raise ImportError(f"checking a Keras 2 .h5 file needs tf_keras: "
                          f"{install_hint(REFERENCES['tf_keras'])} (import failed: {exc})"
                          ) from None
    return tf_keras


def tf_keras_version() -> str:
    """The installed tf_keras version (ImportError when it is not installed)."""
    return str(_tf_keras().__version__)


def load_tf_keras_model(path: str | os.PathLike) -> Any:
    """``tf_keras.models.load_model(path, compile=False)``."""
    return _tf_keras().models.load_model(os.fspath(path), compile=False)


def tf_keras_predict(model: Any, x: Any) -> Any:
    """The tf_keras model's inference output on ``x`` (``training=False``), as NumPy: an array,
    or a list for a model with several outputs (``x`` a list for several inputs)."""
    import tensorflow as tf

    if isinstance(x, list):
        xs = [tf.convert_to_tensor(a) for a in x]
        out = model(xs if len(xs) > 1 else xs[0], training=False)
    else:
        out = model(tf.convert_to_tensor(x), training=False)
    if isinstance(out, dict):
        return [np.asarray(out[k]) for k in sorted(out)]
    if isinstance(out, (list, tuple)):
        return [np.asarray(o) for o in out]
    return np.asarray(out)


def load_weights_only(path: str | os.PathLike, config: dict, file_format: str) -> Any:
    """The reference model of a weights-only file: built from ``config`` (already read and
    checked by numpy_rnn, so no Lambda or custom object reaches Keras) by the Keras that wrote
    the weights, then ``load_weights(path)``: tf_keras for a Keras 2 ``.h5``
    (``file_format`` in LEGACY_FORMATS), Keras 3 for a ``.weights.h5``."""
    if file_format in LEGACY_FORMATS:
        model = _tf_keras().models.model_from_json(json.dumps(config))
    else:
        require_tf()
        import keras

        model = keras.models.model_from_json(json.dumps(config))
    model.load_weights(os.fspath(path))
    return model


def tf_keras_gradients(keras_obj: Any, variables: list, inputs: Any, k_loss: Any, targets: Any,
                       mask: Any, initial_state: Any, call_kwargs: dict | None
                       ) -> tuple[list, Any, list]:
    """``parity.bridge.grad.keras_gradients`` for a tf_keras (Keras 2) object:
    ``tf.GradientTape`` on ``variables``; the scalar is the sum of every output, or
    ``k_loss(targets, output)``.  ``inputs``: an array, or a multi-input layer's list (the
    input gradient is then a list, when every input is float)."""
    tf = require_tf()
    several = isinstance(inputs, (list, tuple))
    xs = [tf.convert_to_tensor(np.asarray(i)) for i in (inputs if several else [inputs])]
    floating = all(x.dtype.is_floating for x in xs)
    init = None if initial_state is None else [tf.convert_to_tensor(np.asarray(s))
                                               for s in initial_state]
    kwargs = {k: _to_tensor(v, keras_obj) for k, v in (call_kwargs or {}).items()}
    if isinstance(mask, (list, tuple)):  # one mask per input (None: that input has none)
        kwargs["mask"] = [None if m is None else tf.convert_to_tensor(np.asarray(m, bool))
                          for m in mask]
    elif mask is not None:
        kwargs["mask"] = tf.convert_to_tensor(np.asarray(mask, bool))
    if init is not None:
        kwargs["initial_state"] = init
    with tf.GradientTape() as tape:
        if floating:
            tape.watch(xs)
        if init is not None:
            tape.watch(init)
        out = call_keras(keras_obj, xs if several else xs[0], training=True, **kwargs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        if k_loss is None:
            value = tf.add_n([tf.reduce_sum(o) for o in outs])
        else:
            value = k_loss(tf.convert_to_tensor(np.asarray(targets)), out)
    sources = variables + (xs if floating else []) + (init or [])
    grads = tape.gradient(value, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    grads = [np.asarray(tf.convert_to_tensor(g)) for g in grads]
    n, n_x = len(variables), (len(xs) if floating else 0)
    dx = (grads[n:n + n_x] if several else grads[n]) if floating else None
    return grads[:n], dx, grads[n + n_x:]
