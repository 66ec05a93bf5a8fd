"""Keras-named activations in NumPy.

``get(identifier)`` follows ``keras.activations.get``: ``None`` means ``linear``, strings are
looked up case-sensitively among Keras 3's names, and any callable is accepted as is.
Every function keeps the input dtype (float32 stays float32).
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Union

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


def keras2_hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 2 / tf_keras ``backend.hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)`` (multiply, add,
    clip in x's dtype, as TensorFlow does).  Not a Keras 3 name: it is what ``hard_sigmoid``
    means in a model file written by Keras 2 (numpy_rnn.formats.keras_h5)."""
    dt = x.dtype.type
    return np.clip(x * dt(0.2) + dt(0.5), 0.0, 1.0).astype(x.dtype, copy=False)


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




def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU (Keras's default ``approximate=False``), as TensorFlow computes it:
    ``0.5 * x * erfc(-x * c)`` with ``c = cast(0.7071067811865476, dtype)``, a float32 constant
    even for float64 (measured: the textbook ``1 + erf(x / sqrt(2))`` in float64 is ~1e-9
    relative from Keras, over the float64 tolerance)."""
    x = np.asarray(x)
    dt = x.dtype.type
    v = -x * dt(np.float32(0.7071067811865476))
    erfc_v = np.frompyfunc(math.erfc, 1, 1)(v.astype(np.float64)).astype(np.float64)
    return (dt(0.5) * x * erfc_v.astype(x.dtype)).astype(x.dtype, copy=False)


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

#: numpy_rnn's names for Keras 2 activations whose maths differ from Keras 3's of the same name:
#: accepted by ``get`` / written by ``serialize`` (so bundles keep them), but not in ``names()``
#: (the Keras 3 names): a Keras 3 config never selects one.
_LEGACY: dict[str, Activation] = {"keras2_hard_sigmoid": keras2_hard_sigmoid}

# Activations that change the shape of their input cannot be used inside a recurrent cell.
SHAPE_CHANGING = frozenset({"glu"})


def get(identifier: Union[str, Activation, None], argument: str = "activation") -> Activation:
    """Return the activation named ``identifier`` (Keras names, case-sensitive)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _REGISTRY.get(identifier, _LEGACY.get(identifier))
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
    for name, f in (*_REGISTRY.items(), *_LEGACY.items()):
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
    """The Keras 3 activation names (what ``keras.activations.get`` accepts)."""
    return sorted(_REGISTRY)


def legacy_names() -> list[str]:
    """numpy_rnn's own names for Keras 2 activations that differ from Keras 3's
    (``keras2_hard_sigmoid``)."""
    return sorted(_LEGACY)


# ---------------------------------------------------------------------------------------------
# Backward: dL/dx from dL/dy, written the way TensorFlow's registered gradients compute it (same
# operations in the same order, same choice at kinks), so float64 agrees to ~1e-16 and float32
# to an ulp or so. Each entry is ``(x, y, g) -> dL/dx`` in g's dtype; ``x`` may be None only for
# the activations in ``_FROM_OUTPUT`` (TF's gradient of those is a function of the output).
# Every array here has grad_y's shape (..., F), except glu's x: (..., 2F).
# ---------------------------------------------------------------------------------------------

Backward = Callable[[Optional[np.ndarray], np.ndarray, np.ndarray], np.ndarray]


def _mask(cond: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return cond.astype(dtype)


def _hard_sigmoid_inside(s: np.ndarray) -> np.ndarray:
    """Relu6Grad's mask ``0 < s < 6`` (open at both edges) for ``s = x + 3``, as 0/1 floats."""
    return _mask((s > 0) & (s < 6), s.dtype)


def _tf_hard_sigmoid(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras-on-TF ``relu6(x + 3) / 6`` and its Relu6Grad mask."""
    s = x + x.dtype.type(3)  # rounded in x's dtype, as TF does
    return np.clip(s, 0, 6) / x.dtype.type(6), _hard_sigmoid_inside(s)


def _d_hard_silu(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    # Keras: x * hard_sigmoid(x). Mul grad: g * hs; the hs branch: (x * g) / 6 through Relu6Grad.
    hs, inside = _tf_hard_sigmoid(x)
    return g * hs + (x * g) / x.dtype.type(6) * inside


def _d_keras2_hard_sigmoid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    s = x * x.dtype.type(0.2) + x.dtype.type(0.5)  # rounded in x's dtype, as TF does
    return g * _mask((s >= 0) & (s <= 1), g.dtype) * g.dtype.type(0.2)


def _d_elu(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    # EluGrad: (a < 0) ? (a + 1) * g : g, with TF's forward a = exp(x) - 1 (not expm1).
    a = np.exp(x) - 1 if x is not None else y
    return np.where(a < 0, (a + 1) * g, g)


_SELU_SCALE = 1.0507009873554804934193349852946  # TF's SeluGrad constants, cast to the dtype
_SELU_SCALE_ALPHA = 1.7580993408473768599402175208123


def _d_selu(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    # SeluGrad: (a < 0) ? g * (a + scale*alpha) : g * scale, TF's a = scale*alpha * (exp(x) - 1).
    dt = g.dtype.type
    sa = dt(_SELU_SCALE_ALPHA)
    a = sa * (np.exp(x) - 1) if x is not None else y
    return np.where(a < 0, g * (a + sa), g * dt(_SELU_SCALE))


def _d_celu(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    # Keras: maximum(x, 0) + expm1(minimum(x, 0)). Maximum's gradient goes to x where x >= 0 and
    # Minimum's where x <= 0, so at exactly 0 TF adds both: celu'(0) = 1 + exp(0) = 2.
    m = np.minimum(x, 0)
    return g * _mask(x >= 0, g.dtype) + g * np.exp(m) * _mask(x <= 0, g.dtype)


def _d_softplus(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    return g / (np.exp(-x) + 1)  # SoftplusGrad


def _d_gelu(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """TF's exact gelu is ``0.5 * x * erfc(-x * c)``; its gradient term by term.

    TF builds c with ``cast(0.7071067811865476, dtype)`` from a float32 constant, so even in
    float64 c = float32(1/sqrt(2)) (TF's float64 gelu' is off by up to ~5e-9 relative; we match).
    """
    dt = x.dtype.type
    c = dt(np.float32(0.7071067811865476))
    v = -x * c
    erfc_v = _erfc(v.astype(np.float64)).astype(np.float64).astype(x.dtype)
    ge = (dt(0.5) * x) * g  # dL/d erfc
    gv = ge * dt(-2 / math.sqrt(math.pi)) * np.exp(-(v * v))
    return dt(0.5) * (g * erfc_v) - gv * c


_erfc = np.frompyfunc(math.erfc, 1, 1)


def _d_squareplus(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    # (x + sqrt(x^2 + 4)) / 2: RealDiv, Add, SqrtGrad (0.5 * dy / s), SquareGrad (dy * (x * 2)).
    dt = x.dtype.type
    h = g / dt(2)
    s = np.sqrt(x * x + dt(4))
    return h + (dt(0.5) * h) / s * (x * dt(2))


def _d_mish(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    # x * tanh(softplus(x)): g * t + SoftplusGrad(TanhGrad(x * g)).
    t = np.tanh(softplus(x))
    return g * t + (x * g) * (1 - t * t) / (np.exp(-x) + 1)


def _d_silu(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    # tf.nn.silu's custom gradient: g * (s * (1 + x * (1 - s))), s = sigmoid(x).
    s = sigmoid(x)
    return g * (s * (1 + x * (1 - s)))


def _d_softmax(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    return (g - np.sum(g * y, axis=-1, keepdims=True)) * y  # SoftmaxGrad


def _d_log_softmax(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    return g - np.sum(g, axis=-1, keepdims=True) * np.exp(y)  # LogSoftmaxGrad


def _d_glu(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    a, b = np.split(x, 2, axis=-1)
    s = sigmoid(b)
    return np.concatenate([g * s, (a * g) * s * (1 - s)], axis=-1)  # SigmoidGrad on b


def _d_sparsemax(x: Optional[np.ndarray], y: np.ndarray, g: np.ndarray) -> np.ndarray:
    # Exact VJP of sparsemax: on the support S (y > 0), g - mean_S(g); 0 off it.
    on = _mask(y > 0, g.dtype)
    k = np.sum(on, axis=-1, keepdims=True)
    return on * (g - np.sum(g * on, axis=-1, keepdims=True) / np.maximum(k, 1))


_BACKWARD: dict[Activation, Backward] = {
    linear: lambda x, y, g: g.copy(),
    tanh: lambda x, y, g: g * (1 - y * y),  # TanhGrad
    sigmoid: lambda x, y, g: g * y * (1 - y),  # SigmoidGrad
    exponential: lambda x, y, g: g * y,  # ExpGrad
    relu: lambda x, y, g: g * _mask(y > 0, g.dtype),  # ReluGrad on the output: relu'(0) = 0
    relu6: lambda x, y, g: g * _mask((y > 0) & (y < 6), g.dtype),  # Relu6Grad: 0 at 0 and 6
    hard_sigmoid: lambda x, y, g: g / g.dtype.type(6) * _hard_sigmoid_inside(x + x.dtype.type(3)),
    hard_silu: _d_hard_silu,
    # tf_keras: clip_by_value(x * 0.2 + 0.5, 0, 1). clip_by_value is minimum(maximum(...)), whose
    # gradients pass at both edges (inclusive); then Mul's gradient: (g * inside) * 0.2.
    keras2_hard_sigmoid: lambda x, y, g: _d_keras2_hard_sigmoid(x, g),
    # LeakyReluGrad: x > 0 ? g : g * float32(0.2) (the slope is a float32 attribute); 0.2 at 0.
    leaky_relu: lambda x, y, g: np.where(y > 0, g, g * g.dtype.type(np.float32(0.2))),
    elu: _d_elu,
    selu: _d_selu,
    celu: _d_celu,
    softplus: _d_softplus,
    log_sigmoid: lambda x, y, g: -(-g / (np.exp(x) + 1)),  # -softplus(-x)
    softsign: lambda x, y, g: g / np.square(np.abs(x) + 1),  # SoftsignGrad
    silu: _d_silu,
    gelu: _d_gelu,
    mish: _d_mish,
    # clip_by_value is minimum(maximum(...)): both edges pass the gradient, hard_tanh'(+-1) = 1.
    hard_tanh: lambda x, y, g: g * _mask((x >= -1) & (x <= 1), g.dtype),
    hard_shrink: lambda x, y, g: np.where(np.abs(x) > 0.5, g, 0),
    soft_shrink: lambda x, y, g: np.where((x > 0.5) | (x < -0.5), g, 0),
    tanh_shrink: lambda x, y, g: g - g * (1 - np.tanh(x) ** 2),
    # Keras: where(x <= -1, 0, where(x < 1, 0.25 * (x + 1)**2, x)); PowGrad gives g*0.25*2*(x+1).
    sparse_plus: lambda x, y, g: np.where(
        x <= -1, 0, np.where(x < 1, g * g.dtype.type(0.5) * (x + 1), g)),
    sparse_sigmoid: lambda x, y, g: g * g.dtype.type(0.5) * _mask((x > -1) & (x < 1), g.dtype),
    squareplus: _d_squareplus,
    softmax: _d_softmax,
    log_softmax: _d_log_softmax,
    glu: _d_glu,
    sparsemax: _d_sparsemax,
}

# Activations whose backward needs only the output y (so a layer may overwrite x in place).
_FROM_OUTPUT = frozenset({linear, tanh, sigmoid, exponential, relu, relu6, leaky_relu, elu, selu,
                          softmax, log_softmax, sparsemax})


def needs_input(fn: Activation) -> bool:
    """True if ``backward(fn, ...)`` needs the pre-activation ``x`` (not just ``y = fn(x)``).

    Layers that run ``in_place(fn, z)`` must keep a copy of ``z`` when this is True.
    """
    return fn not in _FROM_OUTPUT


def backward(fn: Activation, x: Optional[np.ndarray], y: Optional[np.ndarray],
             grad_y: np.ndarray) -> np.ndarray:
    """dL/dx of ``y = fn(x)`` given ``grad_y = dL/dy``; same shape and dtype as ``grad_y``.

    ``fn`` is an activation from ``get``; ``y`` may be None (recomputed from ``x``); ``x`` may be
    None when ``needs_input(fn)`` is False. Elementwise activations give ``grad_y * fn'(x)``;
    softmax, log_softmax, sparsemax (last axis) and glu (splits the last axis) give the exact
    vector-Jacobian product. Kinks follow TensorFlow's gradients (relu'(0) = 0, ...).
    """
    rule = _BACKWARD.get(fn)
    if rule is None:
        name = getattr(fn, "__name__", repr(fn))
        raise NotImplementedError(
            f"numpy_rnn cannot differentiate the custom activation {name}; use a Keras-named one"
        )
    if x is None and needs_input(fn):
        raise ValueError(f"backward of activation {serialize(fn)!r} needs its input `x`; "
                         "received x=None")
    if x is None and y is None:
        raise ValueError(f"backward of activation {serialize(fn)!r} needs `x` or `y`; "
                         "received neither")
    grad_y = np.asarray(grad_y)
    if y is None:
        y = fn(x)
    if np.shape(y) != grad_y.shape:
        raise ValueError(f"`grad_y` must have the shape of the activation's output {np.shape(y)}. "
                         f"Received: grad_y.shape={grad_y.shape}")
    dt = grad_y.dtype
    if x is not None:
        x = np.asarray(x, dt)
    y = np.asarray(y, dt)
    with np.errstate(over="ignore"):  # exp(-x) -> inf gives a 0 gradient, as in TF
        return np.asarray(rule(x, y, grad_y), dt)
