"""What the normalization layers share: the base class (build from the whole input shape, weights
of the normalized axes' shape, configs) and the maths Keras 3.15 runs on TensorFlow.

The maths, as ``keras/src/ops/nn.py`` and ``backend/tensorflow/nn.py`` compute it:

* ``moments``: ``tf.nn.moments``: ``mean = reduce_mean(x)``, ``variance = reduce_mean((x -
  mean)**2)`` (the biased variance; the mean is a constant for the variance's gradient);
* ``normalize``: ``tf.nn.batch_normalization`` / ``ops.layer_normalization``: ``inv = rsqrt(var
  + epsilon) * gamma``, ``y = x * inv + (beta - mean * inv)`` (in that order: the same formula,
  hence the same rounding, in float32);
* reductions of float32 arrays are accumulated in float64 and rounded once (TensorFlow's tree
  reductions are close to exact; a float32 running sum is not).  Not bit for bit: TensorFlow's
  vectorised ``rsqrt`` is 1 to 3 float32 ulp from ``1 / sqrt`` (measured on AVX-512) and its
  sums run in another order, so tests compare with the tolerance table.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ... import _validation as v
from ... import initializers
from ..base import Layer

#: ``keras.config.epsilon()``: BatchNormalization's masked moments divide by ``count + 1e-7``.
BACKEND_EPSILON = 1e-7


# -- arguments --------------------------------------------------------------------------------
def real(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    """``value`` as a float; TypeError naming ``name`` unless it is a real number."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number. Received: {name}={v._show(value)}")
    return float(value)


def axis_list(name: str, axis: Any) -> list[int]:
    """An int or a non-empty list / tuple of ints, as a list (Keras's ``axis`` arguments)."""
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not items or any(isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral)
                        for a in items):
        raise TypeError("Expected an int or a list/tuple of ints for the argument "
                        f"'{name}', but received: {axis!r}")
    return [int(a) for a in items]


def positive_axes(axes: list[int], ndim: int, shape: Any, axis: Any) -> list[int]:
    """``axes`` (negative allowed) as indices into a shape of rank ``ndim`` (order kept);
    ValueError in Keras's words when one is out of bounds, or when two name the same axis."""
    for a in axes:
        if a >= ndim or a < -ndim:
            raise ValueError(f"Axis {a} is out of bounds for input shape {shape}. "
                             f"Received: axis={axis}")
    out = [a % ndim for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"`axis` must name each axis once. Received: axis={axis} for an input "
                         f"of rank {ndim}")
    return out


def input_shape_arg(input_shape: Any) -> tuple:
    """A build shape: a list / tuple of positive ints or None (batch first), as a tuple."""
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, (list, tuple)):
        raise TypeError("`input_shape` must be a shape tuple (batch first, None for unknown "
                        f"sizes). Received: input_shape={v._show(input_shape)}")
    dims = tuple(input_shape)
    if not dims or any(d is not None and (isinstance(d, (bool, np.bool_))
                                          or not isinstance(d, numbers.Integral) or d < 0)
                       for d in dims):
        raise ValueError("`input_shape` must be a non-empty tuple of non-negative ints or None "
                         f"(batch first). Received: input_shape={input_shape!r}")
    return tuple(None if d is None else int(d) for d in dims)


# -- maths ------------------------------------------------------------------------------------
def acc_sum(a: np.ndarray, axes: Any, keepdims: bool = True) -> np.ndarray:
    """``a.sum(axes)`` in ``a``'s dtype; float32 accumulates in float64 and rounds once."""
    if a.dtype == np.float32:
        return a.sum(axis=tuple(axes), keepdims=keepdims, dtype=np.float64).astype(np.float32)
    return a.sum(axis=tuple(axes), keepdims=keepdims)


def count(shape: tuple, axes: Any) -> int:
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def acc_mean(a: np.ndarray, axes: Any) -> np.ndarray:
    """``reduce_mean(a, axes, keepdims=True)`` (float32 accumulated in float64)."""
    n = count(a.shape, axes)
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty batch: NaN, as TensorFlow
        if a.dtype == np.float32:
            s = a.sum(axis=tuple(axes), keepdims=True, dtype=np.float64)
            return (s / n).astype(np.float32)
        return a.sum(axis=tuple(axes), keepdims=True) / a.dtype.type(n)


def moments(x: np.ndarray, axes: Any) -> tuple[np.ndarray, np.ndarray]:
    """``tf.nn.moments(x, axes, keepdims=True)``: the mean and the biased variance."""
    mean = acc_mean(x, axes)
    d = x - mean
    return mean, acc_mean(d * d, axes)


def rsqrt(a: np.ndarray) -> np.ndarray:
    """``tf.math.rsqrt`` (``1 / sqrt``, in ``a``'s dtype; NaN below 0, inf at 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.reciprocal(np.sqrt(a))


def rsqrt_eps(variance: np.ndarray, epsilon: Any) -> np.ndarray:
    """``rsqrt(variance + epsilon)``, epsilon in the variance's dtype (Keras's expression)."""
    return rsqrt(variance + variance.dtype.type(epsilon))


def normalize(x: np.ndarray, mean: np.ndarray, r: np.ndarray, gamma: np.ndarray | None,
              beta: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``(y, inv)``: ``inv = r * gamma``, ``y = x * inv + (beta - mean * inv)`` (every array
    broadcast against ``x``; gamma / beta None when absent)."""
    inv = r * gamma if gamma is not None else r
    res = -mean * inv
    if beta is not None:
        res = res + beta
    return x * inv + res, inv


def sum_to(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` summed over the axes where ``shape`` (same rank) has 1: the gradient of an array
    of ``shape`` broadcast against ``a``."""
    axes = [i for i, (n, m) in enumerate(zip(a.shape, shape)) if m == 1 and n != 1]
    return acc_sum(a, axes).reshape(shape) if axes else a.reshape(shape)


def normalize_backward(g: np.ndarray, x: np.ndarray, mean: np.ndarray, r: np.ndarray,
                       gamma: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The gradients of :func:`normalize` given ``g`` = dL/dy, for fixed statistics:
    ``(d x, d gamma (broadcast as x; sum it to the weight's shape), d mean, d r)`` where the
    last two are still to be summed to the statistics' shape.  ``inv = r * gamma``:
    d inv = g * (x - mean) (centred, so the two terms of Keras's graph, ``g * x`` and
    ``-g * mean``, do not cancel in float32)."""
    inv = r * gamma if gamma is not None else r
    d_inv = g * (x - mean)  # (x.shape)
    d_gamma = d_inv * r if gamma is not None else None
    d_r = d_inv * gamma if gamma is not None else d_inv
    return g * inv, d_gamma, -g * inv, d_r


def rsqrt_backward(d_r: np.ndarray, r: np.ndarray) -> np.ndarray:
    """d(var) from d(r), ``r = rsqrt(var + eps)``: TensorFlow's ``RsqrtGrad``, ``-0.5 r**3 d_r``."""
    half = r.dtype.type(-0.5)
    return d_r * (half * (r * r * r))


def moments_backward(d_mean: np.ndarray, d_var: np.ndarray, x: np.ndarray, mean: np.ndarray,
                     n: int) -> np.ndarray:
    """d x from the gradients of ``tf.nn.moments``' mean and variance (keepdims shapes): the
    mean's ``d_mean / n``; the variance's ``2 (x - mean) d_var / n`` (no path through the mean:
    ``tf.nn.moments`` stops its gradient there)."""
    t = x.dtype.type
    return (d_mean / t(n)) + (x - mean) * (d_var * t(2) / t(n))


# -- the base class ---------------------------------------------------------------------------
class Normalization(Layer):
    """A normalization layer: weights of the shape of the normalized axes, built from the whole
    input shape (``builds_from_shape``; ``build_input_shape`` kept in the config, so a model
    rebuilt from its config is built), lazily on the first call otherwise.

    Subclasses set ``weight_names()``, ``_param_axes(ndim, shape)`` (the input axes the weights
    run along, in the weights' axis order), ``_INITIALIZERS`` (weight -> initializer argument)
    and ``_forward(x, mask, training)``.
    """

    builds_from_shape = True
    supports_masking = True
    #: Keras's InputSpec: a call must have the rank the layer was built for.
    _FIXED_RANK = False
    #: weight name -> the constructor argument holding its initializer.
    _INITIALIZERS: dict[str, str] = {}

    def __init__(self, *, initializers_: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._init_names = dict(initializers_ or {})
        self._inits = {k: initializers.get(val, k) for k, val in self._init_names.items()}
        self.param_shape: tuple | None = None

    def _finish_init(self, build_input_shape: Any) -> None:
        if build_input_shape is not None:
            self.build(build_input_shape)

    # -- shapes ------------------------------------------------------------------------------
    def _param_axes(self, ndim: int, shape: Any) -> list[int]:
        raise NotImplementedError

    def _param_shape_for(self, shape: tuple) -> tuple:
        """The weights' shape for an input of ``shape``; ValueError when a normalized axis has
        no known size."""
        axes = self._param_axes(len(shape), shape)
        dims = tuple(shape[a] for a in axes)
        if any(d is None for d in dims):
            raise ValueError(f"Layer '{self.name}': the normalized axes {axes} of the input must "
                             f"have a defined size. Received: input_shape={shape}")
        return dims

    def build(self, input_shape: Any) -> None:
        """Build for ``input_shape`` (batch first, None for unknown sizes); the weights are
        drawn on first use, so a layer built to receive ``set_weights`` allocates none."""
        shape = input_shape_arg(input_shape)
        param = self._param_shape_for(shape)
        self.build_input_shape = shape
        self.param_shape = param
        self.built = True
        self._drop_weights()

    def _shapes_for(self, features: Any = None) -> dict[str, tuple]:
        return {n: self.param_shape for n in self.weight_names()}

    def weight_shapes(self) -> dict[str, tuple]:
        return self._shapes_for()

    def _features_from_weights(self, weights: list) -> Any:
        raise ValueError(
            f"Layer '{self.name}' is not built yet, so it cannot take weights: its weights' "
            "shape follows from the input shape. Call it on an input, or build(input_shape), "
            f"first. Received: {len(weights)} weight(s)")

    def _initial_weights(self, features: Any = None) -> dict[str, np.ndarray]:
        return {n: self._inits[self._INITIALIZERS[n]](self.param_shape, self.dtype, self._rng)
                for n in self.weight_names()}

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """The input shape (checked against ``axis``, in Keras's words)."""
        shape = tuple(input_shape)
        self._param_axes(len(shape), shape)
        return shape

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask if self.supports_masking else None

    # -- calls -------------------------------------------------------------------------------
    def _check_input(self, x: np.ndarray) -> None:
        if self._FIXED_RANK and x.ndim != len(self.build_input_shape):
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                f"ndim={len(self.build_input_shape)}, found ndim={x.ndim}. Full shape received: "
                f"{x.shape}")
        axes = self._param_axes(x.ndim, x.shape)
        got = tuple(x.shape[a] for a in axes)
        if got != self.param_shape:
            raise ValueError(
                f"Layer '{self.name}' was built for an input whose normalized axes {axes} have "
                f"sizes {self.param_shape} (weights of that shape), but `inputs` has sizes {got} "
                f"there (shape {x.shape}).")

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``inputs`` (batch first) -> the normalized array, same shape, the layer dtype.

        ``training=True`` keeps what ``backward`` needs; an inference call forgets it.
        All or nothing: a call that raises leaves the layer as it was."""
        x = self._cast_input("inputs", inputs)
        training = bool(training)
        if mask is not None:
            mask = v.numeric_array("mask", mask).astype(bool, copy=False)
        snapshot = self._snapshot()
        try:
            if not self.built:
                self.build(x.shape)
            self._check_input(x)
            return self._forward(x, mask, training)
        except BaseException:
            self._restore(snapshot)
            raise

    def _forward(self, x: np.ndarray, mask: np.ndarray | None, training: bool) -> np.ndarray:
        raise NotImplementedError

    # -- config ------------------------------------------------------------------------------
    def _inits_config(self) -> dict:
        return {k: (val if isinstance(val, str) else initializers.serialize(self._inits[k]))
                for k, val in self._init_names.items()}

    def _shape_config(self) -> dict:
        shape = self.build_input_shape
        return {"build_input_shape": None if shape is None else list(shape)}
