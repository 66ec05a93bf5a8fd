"""Keras's default weight initializers, in NumPy, driven by a ``numpy.random.Generator``.

They draw from the same distributions as Keras (not the same random numbers: Keras's RNG is
TensorFlow's). Fans follow Keras: for a 2-D shape ``(fan_in, fan_out)``.
"""
from __future__ import annotations

import math
from typing import Callable, Union

import numpy as np

Initializer = Callable[[tuple, np.dtype, np.random.Generator], np.ndarray]


def _fans(shape: tuple) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype, rng):
    return np.zeros(shape, dtype)


def ones(shape, dtype, rng):
    return np.ones(shape, dtype)


def random_uniform(shape, dtype, rng, minval=-0.05, maxval=0.05):
    return rng.uniform(minval, maxval, size=shape).astype(dtype)


def random_normal(shape, dtype, rng, stddev=0.05):
    return rng.normal(0.0, stddev, size=shape).astype(dtype)


def _truncated(shape, rng, stddev):
    out = rng.normal(0.0, stddev, size=shape)
    bad = np.abs(out) > 2 * stddev
    while bad.any():  # resample outside two standard deviations, as tf.random.truncated_normal
        out[bad] = rng.normal(0.0, stddev, size=int(bad.sum()))
        bad = np.abs(out) > 2 * stddev
    return out


def truncated_normal(shape, dtype, rng, stddev=0.05):
    return _truncated(shape, rng, stddev).astype(dtype)


def _variance_scaling(scale: float, mode: str, distribution: str):
    def init(shape, dtype, rng):
        fan_in, fan_out = _fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        var = scale / max(1.0, n)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return rng.uniform(-limit, limit, size=shape).astype(dtype)
        # Keras: truncated normal with stddev corrected for the truncation at 2 sigma.
        return _truncated(shape, rng, math.sqrt(var) / 0.87962566103423978).astype(dtype)
    return init


glorot_uniform = _variance_scaling(1.0, "fan_avg", "uniform")
glorot_normal = _variance_scaling(1.0, "fan_avg", "normal")
he_uniform = _variance_scaling(2.0, "fan_in", "uniform")
he_normal = _variance_scaling(2.0, "fan_in", "normal")
lecun_uniform = _variance_scaling(1.0, "fan_in", "uniform")
lecun_normal = _variance_scaling(1.0, "fan_in", "normal")


def orthogonal(shape, dtype, rng, gain=1.0):
    """Orthogonal over the whole flattened matrix, as Keras: for (H, 4H), ``W @ W.T == I_H``."""
    rows = int(np.prod(shape[:-1]))
    cols = shape[-1]
    a = rng.normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(dtype)


_REGISTRY = {
    "zeros": zeros, "ones": ones,
    "random_uniform": random_uniform, "uniform": random_uniform,
    "random_normal": random_normal, "normal": random_normal,
    "truncated_normal": truncated_normal,
    "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "he_uniform": he_uniform, "he_normal": he_normal,
    "lecun_uniform": lecun_uniform, "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}


def get(identifier: Union[str, Initializer], argument: str) -> Initializer:
    if isinstance(identifier, str):
        fn = _REGISTRY.get(identifier)
        if fn is None:
            raise ValueError(
                f"Could not interpret initializer identifier: `{argument}`={identifier!r}. "
                f"Expected one of {sorted(_REGISTRY)} or a callable (shape, dtype, rng) -> array."
            )
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(
        f"`{argument}` must be an initializer name or a callable. "
        f"Received: {argument}={identifier!r} of type {type(identifier).__name__}"
    )


def serialize(fn: Initializer) -> str:
    for name, f in _REGISTRY.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", repr(fn))
