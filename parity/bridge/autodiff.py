"""The Keras side of a gradient comparison, on whatever backend the process runs: Keras's
stateless call (``keras.StatelessScope``: each trainable weight reads a differentiated value)
differentiated by :func:`parity.bridge.backend.gradients` (``tf.GradientTape``, ``jax.grad``,
``torch.autograd``); a tf_keras (Keras 2) object through ``tf.GradientTape``
(``legacy.tf_keras_gradients``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, legacy
from . import calling as _run
from .calling import as_list as _as_list
from .grad_checks import graph_targets

__all__ = ["keras_loss", "keras_variables", "keras_gradients", "weighted_gradients"]


def _is_model(obj: Any) -> bool:
    return type(obj).__name__ in ("Sequential", "Functional", "Model")


def keras_loss(np_loss: Any) -> Any:
    """The Keras loss of the same class, ``from_logits`` and dtype as the numpy_rnn loss."""
    import keras

    cls = getattr(keras.losses, type(np_loss).__name__, None)
    if cls is None:
        raise ValueError(f"`loss`: Keras has no loss class {type(np_loss).__name__!r} to compare "
                         "with")
    config = np_loss.get_config()
    kwargs = {k: config[k] for k in ("from_logits", "dtype") if k in config}
    return cls(**kwargs)


def keras_variables(keras_obj: Any) -> list:
    """A Keras layer's weights, or every weight of a model's layers in model order."""
    if _is_model(keras_obj) and type(keras_obj).__name__ != "Functional":
        return [v for layer in keras_obj.layers for v in layer.weights]
    return list(keras_obj.weights)  # a functional model's: get_weights() order, shared once


def keras_gradients(keras_obj: Any, inputs: Any, *, targets: Any = None, loss: Any = None,
                    mask: Any = None, initial_state: Any = None,
                    call_kwargs: dict | None = None) -> tuple[list, Any, list]:
    """``(weight gradients, input gradient or None, initial-state gradients)`` of a Keras layer
    or model (spec keras-semantics.md section 4): the sum of every output, or
    ``keras_loss(loss)(targets, output)`` for a numpy_rnn ``loss``.

    Keras 3 objects are differentiated on the process's backend through Keras's stateless call
    (``keras.StatelessScope`` mapping each trainable weight to a differentiated value, the object
    called with training=True) and :func:`parity.bridge.backend.gradients`; a tf_keras (Keras 2)
    object through ``tf.GradientTape`` on its variables.  A weight the output does not use gets
    zeros, and so does a non-trainable one (BatchNormalization's moving statistics).

    ``inputs``: one array, a list for a multi-input layer (``[query, value, key]``; the input
    gradient is then a list, when every input is float), or a list / dict (by input name) for a
    functional model (a list of its float inputs' gradients when it has several inputs)."""
    if backend.is_tf_keras(keras_obj):
        return legacy.tf_keras_gradients(keras_obj, keras_variables(keras_obj), inputs,
                                         None if loss is None else keras_loss(loss), targets,
                                         mask, initial_state, call_kwargs)
    graph = isinstance(inputs, (list, tuple, dict)) and type(keras_obj).__name__ == "Functional"
    if graph:
        flat = [inputs[t.name] for t in keras_obj.inputs] if isinstance(inputs, dict) \
            else list(inputs)
        xs = [np.asarray(x) for x in flat]
        several = len(xs) > 1
        diff_x = [i for i, x in enumerate(xs) if x.dtype.kind == "f"]
    else:
        several = isinstance(inputs, (list, tuple))  # a multi-input layer: [query, value, key]
        xs = [np.asarray(x) for x in (inputs if several else [inputs])]
        diff_x = list(range(len(xs))) if all(x.dtype.kind == "f" for x in xs) else []
    init = None if initial_state is None else [np.asarray(s) for s in initial_state]
    variables = keras_variables(keras_obj)
    trainable = [v for v in variables if getattr(v, "trainable", True)]
    n, n_x = len(trainable), len(diff_x)
    fixed = {k: _run._to_tensor(v) for k, v in (call_kwargs or {}).items()}
    if isinstance(mask, (list, tuple)):  # one mask per input (None: that input has none)
        fixed["mask"] = [None if m is None else backend.convert(np.asarray(m, bool))
                         for m in mask]
    elif mask is not None:
        fixed["mask"] = backend.convert(np.asarray(mask, bool))
    x_fixed = [None if i in diff_x else backend.convert(x) for i, x in enumerate(xs)]
    k_loss = None if loss is None else keras_loss(loss)
    # one target per output (None: that output adds no loss; the loss is the sum), as numpy_rnn's
    # side reads them (grad_checks.graph_targets)
    ys = None if loss is None else graph_targets(targets, len(keras_obj.outputs)) if graph \
        else [targets]
    y_true = None if ys is None else [None if y is None else backend.convert(np.asarray(y))
                                      for y in ys]

    keras = backend.require()

    def scalar(tensors: list) -> Any:
        kwargs = dict(fixed)
        if init is not None:
            kwargs["initial_state"] = list(tensors[n + n_x:])
        x_in = list(x_fixed)
        for i, t in zip(diff_x, tensors[n:n + n_x]):
            x_in[i] = t
        # Keras's stateless call, through __call__ (input casting, masks, the training flag as
        # a plain call has them): every trainable weight reads the differentiated value
        with keras.StatelessScope(state_mapping=list(zip(trainable, tensors[:n]))):
            if graph:
                out = keras_obj(x_in if several else x_in[0], training=True, **kwargs)
            else:
                out = _run.call_keras(keras_obj, x_in if several else x_in[0], training=True,
                                      **kwargs)
        ops = keras.ops
        if k_loss is None:
            total = None
            for o in _as_list(out):
                total = ops.sum(o) if total is None else total + ops.sum(o)
            return total
        outs = _as_list(out) if len(y_true) > 1 else [out]
        total = None
        for y, o in zip(y_true, outs):
            if y is not None:
                term = k_loss(y, o)
                total = term if total is None else total + term
        return total

    wrt = [np.asarray(v.numpy()) for v in trainable] + [xs[i] for i in diff_x] + (init or [])
    grads = backend.gradients(scalar, wrt)
    taken = iter(grads[:n])
    weight_grads = [next(taken) if getattr(v, "trainable", True)
                    else np.zeros(tuple(v.shape), np.dtype(str(v.dtype))) for v in variables]
    x_grads = grads[n:n + n_x]
    if graph:
        dx = x_grads if several else (x_grads or [None])[0]
        return weight_grads, dx, []
    dx = (x_grads if several else x_grads[0]) if n_x else None
    return weight_grads, dx, grads[n + n_x:]



def weighted_gradients(layer: Any, x: np.ndarray, w: np.ndarray, *, training: bool = False,
                       **call: Any) -> tuple[np.ndarray, list, np.ndarray]:
    """``(y, [d trainable weight], d x)`` of ``sum(layer(x) * w)`` on this process's backend
    (``call``: NumPy arguments such as ``mask=``, made tensors)."""
    keras = backend.require()
    trainable = list(layer.trainable_weights)
    n = len(trainable)
    kwargs = {k: _run._to_tensor(v) for k, v in call.items()}
    w_t = backend.convert(np.asarray(w))

    def scalar(tensors: list) -> Any:
        with keras.StatelessScope(state_mapping=list(zip(trainable, tensors[:n]))):
            y = layer(tensors[n], training=training, **kwargs)
        return keras.ops.sum(y * keras.ops.cast(w_t, y.dtype))

    grads = backend.gradients(scalar, [np.asarray(v.numpy()) for v in trainable]
                              + [np.asarray(x)])
    y = backend.to_numpy(layer(backend.convert(np.asarray(x)), training=training, **kwargs))
    return np.asarray(y), grads[:n], grads[n]
