"""Keras-named activations in NumPy.

``get(identifier)`` follows ``keras.activations.get``: ``None`` means ``linear``, strings are
looked up case-sensitively among Keras 3's names, and any callable is accepted as is.
Every function keeps the input dtype (float32 stays float32).
"""
from __future__ import annotations

import math
from typing import Callable, Union

import numpy as np

Activation = Callable[[np.ndarray], np.ndarray]


def linear(x: np.ndarray) -> np.ndarray:
    return x


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5 * (1 + tanh(x / 2)) is the logistic function, with no overflow for large |x|.
    return np.tanh(x * 0.5) * 0.5 + 0.5


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 3: ``relu6(x + 3) / 6 == clip(x / 6 + 0.5, 0, 1)`` (not Keras 2's ``0.2 x + 0.5``)."""
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0).astype(x.dtype, copy=False)


def hard_silu(x: np.ndarray) -> np.ndarray:
    return x * hard_sigmoid(x)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 6).astype(x.dtype, copy=False)


def leaky_relu(x: np.ndarray) -> np.ndarray:
    # TensorFlow's LeakyRelu op keeps its slope in a float32 attribute, so even a float64 layer
    # multiplies by float32(0.2) = 0.20000000298...; we do the same (measured: 3e-8 relative
    # difference in float64 otherwise).
    return np.where(x >= 0, x, x * np.asarray(np.float32(0.2), x.dtype))


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def selu(x: np.ndarray) -> np.ndarray:
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def celu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.minimum(0, np.expm1(np.minimum(x, 0)))


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x, np.zeros((), x.dtype))


def softsign(x: np.ndarray) -> np.ndarray:
    return x / (np.abs(x) + 1)


def silu(x: np.ndarray) -> np.ndarray:
    return x * sigmoid(x)


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU (Keras's default ``approximate=False``)."""
    x = np.asarray(x)
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))).astype(x.dtype)


def exponential(x: np.ndarray) -> np.ndarray:
    return np.exp(x)


def hard_tanh(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -1, 1).astype(x.dtype, copy=False)


def hard_shrink(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) > 0.5, x, np.zeros((), x.dtype))


def soft_shrink(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, np.zeros((), x.dtype)))


def tanh_shrink(x: np.ndarray) -> np.ndarray:
    return x - np.tanh(x)


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -softplus(-x)


def mish(x: np.ndarray) -> np.ndarray:
    return x * np.tanh(softplus(x))


def sparse_plus(x: np.ndarray) -> np.ndarray:
    return np.where(x <= -1, np.zeros((), x.dtype), np.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(0.5 * (x + 1), 0, 1).astype(x.dtype, copy=False)


def squareplus(x: np.ndarray) -> np.ndarray:
    return (x + np.sqrt(x * x + 4)) / 2


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def sparsemax(x: np.ndarray) -> np.ndarray:
    z = np.sort(x, axis=-1)[..., ::-1]
    k = np.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    cssv = np.cumsum(z, axis=-1)
    support = 1 + k * z > cssv
    k_z = np.sum(support, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cssv, k_z - 1, axis=-1) - 1) / k_z.astype(x.dtype)
    return np.maximum(x - tau, 0)


def glu(x: np.ndarray) -> np.ndarray:
    a, b = np.split(x, 2, axis=-1)
    return a * sigmoid(b)


_REGISTRY: dict[str, Activation] = {
    f.__name__: f
    for f in (
        celu, elu, exponential, gelu, glu, hard_shrink, hard_sigmoid, hard_silu, hard_tanh,
        leaky_relu, linear, log_sigmoid, log_softmax, mish, relu, relu6, selu, sigmoid, silu,
        soft_shrink, softmax, softplus, softsign, sparse_plus, sparse_sigmoid, sparsemax,
        squareplus, tanh, tanh_shrink,
    )
}
_REGISTRY["swish"] = silu
_REGISTRY["hard_swish"] = hard_silu

# Activations that change the shape of their input cannot be used inside a recurrent cell.
SHAPE_CHANGING = frozenset({"glu"})


def get(identifier: Union[str, Activation, None], argument: str = "activation") -> Activation:
    """Return the activation named ``identifier`` (Keras names, case-sensitive)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _REGISTRY.get(identifier)
        if fn is None:
            extra = (" (it needs `threshold` and `default_value` arguments; pass a callable)"
                     if identifier == "threshold" else "")
            raise ValueError(
                f"Could not interpret activation function identifier: `{argument}`="
                f"{identifier!r}{extra}. Expected one of {sorted(_REGISTRY)}, None or a callable."
            )
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(
        f"`{argument}` must be an activation name, None or a callable. "
        f"Received: {argument}={identifier!r} of type {type(identifier).__name__}"
    )


def serialize(fn: Activation) -> str:
    """Name of an activation, as stored in configs (the Keras name for built-ins)."""
    for name, f in _REGISTRY.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", repr(fn))


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _hard_sigmoid_(x: np.ndarray) -> np.ndarray:
    x /= 6.0
    x += 0.5
    return np.clip(x, 0.0, 1.0, out=x)


_IN_PLACE = {
    tanh: lambda x: np.tanh(x, out=x),
    sigmoid: _sigmoid_,
    hard_sigmoid: _hard_sigmoid_,
    relu: lambda x: np.maximum(x, 0, out=x),
    linear: lambda x: x,
}


def in_place(fn: Activation, x: np.ndarray) -> np.ndarray:
    """``fn(x)`` written into ``x`` (which may be a strided view); returns ``x``.

    The common activations run in place without temporaries; any other is computed and copied.
    Numerically identical to ``fn(x)``.
    """
    fast = _IN_PLACE.get(fn)
    if fast is not None:
        return fast(x)
    x[...] = fn(x)
    return x


def names() -> list[str]:
    return sorted(_REGISTRY)
