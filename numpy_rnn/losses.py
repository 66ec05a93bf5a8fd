"""Keras 3 losses and their gradients with respect to ``y_pred``, in NumPy.

Every loss follows ``keras.losses`` (Keras 3.15) with its default reduction
``"sum_over_batch_size"``:

1. the per-sample loss drops the last axis: an output ``(B, T, D)`` gives a ``(B, T)`` tensor;
2. ``sample_weight`` multiplies it (not normalised); a ``mask`` (what a masked recurrent layer
   attaches to a sequence output, shape ``(B, T)``) gives valid entries the weight
   ``total / n_valid`` and masked ones 0;
3. the weighted tensor is summed and divided by its number of elements, so
   ``loss = sum_valid(loss * sample_weight) / n_valid`` with a mask, ``sum / (B*T)`` without
   (an empty batch or an all-masked batch gives 0.0, Keras's ``divide_no_nan``).

``sample_weight`` is a scalar or has the per-sample loss's rank: ``(B, 1)`` weighs whole
sequences, ``(B, T)`` single steps.  A ``(B,)`` weight on ``(B, T)`` losses is refused with a
``ValueError``: Keras (its loss object and ``fit`` alike) broadcasts it from the trailing axis,
which fails unless ``B == T`` and then silently weighs timesteps instead of samples.

Computation dtype: a Keras loss computes in its own dtype, float32 unless ``dtype="float64"`` is
given (a float64 model compiled with a loss string still computes its loss in float32).  These
losses do the same: ``y_true`` and ``y_pred`` are cast to ``dtype`` (default ``"float32"``), the
value is computed there, and :meth:`Loss.gradient` returns the gradient computed there, cast to
``y_pred``'s own float dtype (what ``tf.GradientTape`` returns through the cast).

Gradients are those TensorFlow's autodiff produces, term for term:

* cross-entropies on probabilities clip to ``[1e-7, 1 - 1e-7]``; the gradient passes where
  ``1e-7 <= p <= 1 - 1e-7`` (TensorFlow's ``clip_by_value`` gradient) and is 0 outside;
* the probability form of ``CategoricalCrossentropy`` first divides ``y_pred`` by its sum over the
  last axis, so ``dL/dy_pred`` carries an extra ``+1/sum(y_pred)`` on every class;
* ``CategoricalCrossentropy(from_logits=True)`` is TensorFlow's fused
  ``softmax_cross_entropy_with_logits``, whose gradient is ``softmax(z) - y_true`` (exact for
  labels that sum to 1; for labels that do not, this is still what TensorFlow returns).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _validation as check

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "SparseCategoricalCrossentropy",
           "CategoricalCrossentropy", "BinaryCrossentropy", "get", "EPSILON"]

#: Keras's ``backend.epsilon()``: the probability clip of the cross-entropies.
EPSILON = 1e-7


def _align(x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True):
    """Keras's ``squeeze_or_expand_to_same_rank``: fix a rank difference of 1 on a size-1 last axis."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _as_float_array(name: str, value: Any) -> np.ndarray:
    arr = check.numeric_array(name, value)
    if arr.ndim < 1:
        raise ValueError(f"`{name}` must be at least rank 1 (a batch). Received: {name} with shape ()")
    return arr


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None, mask=None) -> float``.

    Subclasses implement ``_values(t, p) -> (values, cache)`` (the per-sample loss, shape
    ``p.shape[:-1]``) and ``_values_grad(cache, dvalues) -> dp``, both on arrays already aligned
    and cast to :attr:`dtype`.
    """

    _default_name = "loss"

    def __init__(self, name: str | None = None, dtype: Any = "float32") -> None:
        self.name = name or self._default_name
        self.dtype = check.float_dtype("dtype", dtype)

    # -- public --------------------------------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None, mask=None) -> float:
        """The reduced loss as a Python float (computed in :attr:`dtype`).

        Args:
            y_true: targets, shape of ``y_pred`` (class ids of shape ``y_pred.shape[:-1]`` for the
                sparse loss).
            y_pred: predictions, shape ``(batch, ..., features)``.
            sample_weight: optional weights: a scalar, or the per-sample loss's rank and
                broadcastable to it: ``(batch, 1)`` or ``(batch, timesteps)`` for ``(B, T, D)``.
            mask: optional boolean mask of shape ``y_pred.shape[:-1]``, e.g. ``(batch, timesteps)``.
        """
        t, p, _ = self._prepare(y_true, y_pred)
        values, _ = self._values(t, p)  # y_pred.shape[:-1]
        weighted = self._weighted(values, sample_weight, mask)[0]
        if weighted.ndim == 0:  # Keras returns a scalar per-sample loss unreduced
            return float(weighted)
        n = _reduction_count(weighted.shape)
        return float(weighted.sum(dtype=self.dtype) / self.dtype.type(n)) if n else 0.0

    def gradient(self, y_true, y_pred, sample_weight=None, mask=None) -> np.ndarray:
        """``dLoss/dy_pred``: same shape as ``y_pred``, in ``y_pred``'s float dtype."""
        t, p, restore = self._prepare(y_true, y_pred)
        values, cache = self._values(t, p)
        weighted, weights, aligned = self._weighted(values, sample_weight, mask)
        dt = self.dtype.type
        n = _reduction_count(weighted.shape)
        scale = dt(1.0) if weighted.ndim == 0 else (dt(1.0) / dt(n) if n else dt(0.0))
        dweighted = np.full(weighted.shape, scale, dtype=self.dtype)  # d(sum / n) / d(weighted)
        if weights is not None:
            dweighted = dweighted * weights
        dvalues = _unbroadcast(dweighted, aligned).reshape(values.shape)
        grad = self._values_grad(cache, dvalues)
        out_dtype = np.asarray(y_pred).dtype
        out_dtype = out_dtype if out_dtype in (np.float32, np.float64) else self.dtype
        return restore(grad).astype(out_dtype, copy=False)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"

    # -- shared machinery ----------------------------------------------------------------------
    def _prepare(self, y_true, y_pred):
        """Cast to :attr:`dtype`, align ranks as Keras does, check shapes.

        Returns ``(t, p, restore)``; ``restore`` maps a gradient for ``p`` back to ``y_pred``'s shape.
        """
        p0 = _as_float_array("y_pred", y_pred)
        t0 = _as_float_array("y_true", y_true)
        t, p = _align(t0.astype(self.dtype, copy=False), p0.astype(self.dtype, copy=False))
        if t.shape != p.shape:
            raise ValueError(
                "`y_true` and `y_pred` must have the same shape. "
                f"Received: y_true.shape={t0.shape}, y_pred.shape={p0.shape}"
            )
        return t, p, (lambda g: g.reshape(p0.shape))

    def _weighted(self, values: np.ndarray, sample_weight, mask):
        """Keras's ``reduce_weighted_values`` up to the sum.

        Returns ``(values * weights, weights, aligned_shape)``: ``aligned_shape`` is the shape of
        ``values`` after rank alignment (Keras may add or drop a size-1 last axis).

        The mask becomes weights ``total / n_valid`` (valid) and 0 (masked), multiplied into
        ``sample_weight``; ranks are aligned with Keras's squeeze-or-expand rule.
        """
        dt = self.dtype
        sw = None
        if sample_weight is not None:
            sw = check.numeric_array("sample_weight", sample_weight).astype(dt, copy=False)
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != values.shape:
                raise ValueError(
                    "`mask` must have the shape of the per-sample loss, y_pred.shape[:-1] = "
                    f"{values.shape}. Received: mask.shape={m.shape}"
                )
            m = m.astype(bool)
            total, valid = dt.type(m.size), dt.type(np.count_nonzero(m))
            mask_weight = total / valid if valid else dt.type(0.0)  # divide_no_nan
            float_mask = np.where(m, mask_weight, dt.type(0.0)).astype(dt)  # (B, T)
            if sw is None:
                sw = float_mask
            else:
                float_mask, sw = _align(float_mask, sw)
                sw = _check_weight(sw, float_mask.shape) * float_mask
        if sw is None:
            return values, None, values.shape
        v, sw = _align(values, sw)
        return v * _check_weight(sw, v.shape), sw, v.shape


def _reduction_count(shape: tuple) -> int:
    """The divisor of ``"sum_over_batch_size"``: every element of the weighted per-sample loss
    (``B*T`` for a sequence output), 0 giving a 0 loss (``divide_no_nan``)."""
    return math.prod(shape)


def _check_weight(w: np.ndarray, shape: tuple) -> np.ndarray:
    """Keras broadcasts weights from the trailing axes, so a ``(B,)`` weight on ``(B, T)`` losses
    fails there unless ``B == T``, when it silently weights timesteps: refuse that case here."""
    if w.ndim not in (0, len(shape)):
        raise ValueError(
            "`sample_weight` must be a scalar or have the rank of the per-sample loss "
            f"{shape} (shape (batch, 1) gives one weight per sample). "
            f"Received: sample_weight.shape={w.shape}"
        )
    try:
        np.broadcast_shapes(w.shape, shape)
    except ValueError:
        raise ValueError(
            f"`sample_weight` of shape {w.shape} does not broadcast to the per-sample loss of "
            f"shape {shape}."
        ) from None
    return w


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _clip_probabilities(p: np.ndarray):
    """``clip(p, eps, 1 - eps)`` and the mask where TensorFlow's clip gradient passes."""
    lo, hi = p.dtype.type(EPSILON), p.dtype.type(1.0 - EPSILON)
    return np.clip(p, lo, hi), (p >= lo) & (p <= hi)


def _from_logits(value: Any) -> bool:
    return check.boolean("from_logits", value)


class MeanSquaredError(Loss):
    """``mean(square(y_true - y_pred), axis=-1)`` per sample."""

    _default_name = "mean_squared_error"

    def _values(self, t, p):
        diff = t - p  # (..., D)
        return np.mean(np.square(diff), axis=-1), (diff,)

    def _values_grad(self, cache, dv):
        (diff,) = cache
        d = self.dtype.type(diff.shape[-1])
        return -((dv / d)[..., None] * (self.dtype.type(2.0) * diff))  # (..., D)


class MeanAbsoluteError(Loss):
    """``mean(abs(y_true - y_pred), axis=-1)`` per sample (gradient 0 where they are equal)."""

    _default_name = "mean_absolute_error"

    def _values(self, t, p):
        diff = t - p  # (..., D)
        return np.mean(np.abs(diff), axis=-1), (diff,)

    def _values_grad(self, cache, dv):
        (diff,) = cache
        d = self.dtype.type(diff.shape[-1])
        return -((dv / d)[..., None] * np.sign(diff))  # (..., D)


class BinaryCrossentropy(Loss):
    """Per-element binary cross-entropy, averaged over the last axis.

    Probabilities: ``-(t*log(clip(p)) + (1-t)*log(1-clip(p)))``; logits (``from_logits=True``):
    TensorFlow's stable ``max(x, 0) - x*t + log1p(exp(-|x|))``.
    """

    _default_name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, name: str | None = None, dtype: Any = "float32"):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = _from_logits(from_logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}

    def _values(self, t, p):
        one = self.dtype.type(1.0)
        if self.from_logits:
            cond = p >= 0
            relu = np.where(cond, p, 0).astype(self.dtype)
            neg_abs = np.where(cond, -p, p)
            e = np.exp(neg_abs)
            per = (relu - p * t) + np.log1p(e)  # (..., D)
            return np.mean(per, axis=-1), (t, p, cond, e)
        pc, passes = _clip_probabilities(p)
        bce = t * np.log(pc)
        bce = bce + (one - t) * np.log(one - pc)
        return np.mean(-bce, axis=-1), (t, pc, passes)

    def _values_grad(self, cache, dv):
        one = self.dtype.type(1.0)
        g = (dv / self.dtype.type(cache[1].shape[-1]))[..., None]  # d/d(per element), (..., 1)
        if self.from_logits:
            t, x, cond, e = cache
            sig = np.where(cond, one / (one + e), e / (one + e))  # sigmoid(x), stable
            return g * (sig - t)  # (..., D)
        t, pc, passes = cache
        g = -g  # d/d(bce)
        dpc = (g * t) * np.reciprocal(pc) - (g * (one - t)) * np.reciprocal(one - pc)
        return np.where(passes, dpc, self.dtype.type(0.0))


class CategoricalCrossentropy(Loss):
    """Cross-entropy with one-hot (or soft) targets of the shape of ``y_pred``.

    Probabilities: ``q = y_pred / sum(y_pred, -1)``, ``-sum(t * log(clip(q)), -1)``;
    logits: TensorFlow's ``softmax_cross_entropy_with_logits``.
    """

    _default_name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, name: str | None = None, dtype: Any = "float32"):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = _from_logits(from_logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}

    def _values(self, t, p):
        if self.from_logits:
            shifted = p - np.max(p, axis=-1, keepdims=True)  # (..., C)
            e = np.exp(shifted)
            s = np.sum(e, axis=-1, keepdims=True)  # (..., 1)
            per = np.sum(t * (np.log(s) - shifted), axis=-1)
            return per, (t, e / s)
        s = np.sum(p, axis=-1, keepdims=True)  # (..., 1)
        q = p / s  # (..., C)
        qc, passes = _clip_probabilities(q)
        return -np.sum(t * np.log(qc), axis=-1), (t, p, s, qc, passes)

    def _values_grad(self, cache, dv):
        dv = dv[..., None]  # (..., 1)
        if self.from_logits:
            t, softmax = cache
            return dv * (softmax - t)  # TensorFlow's fused xent gradient
        t, p, s, qc, passes = cache
        dq = np.where(passes, (-dv * t) * np.reciprocal(qc), self.dtype.type(0.0))  # (..., C)
        # q = p / s with s = sum(p): dp_i = dq_i / s - sum_j(dq_j * p_j) / s^2 (the +1/sum term)
        return dq / s - np.sum(dq * p, axis=-1, keepdims=True) / (s * s)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class ids: ``y_true`` has shape ``y_pred.shape[:-1]`` (or a
    trailing axis of size 1).  Probabilities are clipped then logged and go through TensorFlow's
    ``sparse_softmax_cross_entropy_with_logits``, so ``loss = log(sum(clip(p))) - log(clip(p)[id])``.
    """

    _default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, name: str | None = None, dtype: Any = "float32"):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = _from_logits(from_logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}

    def _prepare(self, y_true, y_pred):
        p0 = _as_float_array("y_pred", y_pred)
        t0 = _as_float_array("y_true", y_true)
        p = p0.astype(self.dtype, copy=False)
        t = t0.astype(self.dtype, copy=False)  # Keras casts the ids to the loss dtype first
        t, p = _align(t, p)
        if t.ndim == p.ndim and t.shape[-1] == 1:
            t = t[..., 0]
        if t.shape != p.shape[:-1]:
            raise ValueError(
                "`y_true` must hold one class id per row of `y_pred`: shape y_pred.shape[:-1]. "
                f"Received: y_true.shape={t0.shape}, y_pred.shape={p0.shape}"
            )
        bad = ~np.isfinite(t) | (t != np.floor(np.where(np.isfinite(t), t, 0)))
        if bad.any():
            raise ValueError("`y_true` must hold integer class ids. "
                             f"Received: y_true with the value {t[bad].flat[0]!r}")
        ids = t.astype(np.int64)
        n_classes = p.shape[-1]
        if ids.size and (ids.min() < 0 or ids.max() >= n_classes):
            bad = ids[(ids < 0) | (ids >= n_classes)].flat[0]
            raise ValueError(f"`y_true` holds class id {int(bad)}, outside [0, {n_classes}) for "
                             f"y_pred with {n_classes} classes.")
        return ids, p, (lambda g: g.reshape(p0.shape))

    def _values(self, ids, p):
        passes = None
        if not self.from_logits:
            pc, passes = _clip_probabilities(p)
            p = np.log(pc)
        shifted = p - np.max(p, axis=-1, keepdims=True)  # (..., C)
        e = np.exp(shifted)
        s = np.sum(e, axis=-1, keepdims=True)  # (..., 1)
        picked = np.take_along_axis(shifted, ids[..., None], axis=-1)[..., 0]
        per = np.log(s[..., 0]) - picked
        return per, (ids, e / s, None if passes is None else (pc, passes))

    def _values_grad(self, cache, dv):
        ids, softmax, clip = cache
        onehot = np.zeros_like(softmax)
        np.put_along_axis(onehot, ids[..., None], 1.0, axis=-1)
        dlogits = dv[..., None] * (softmax - onehot)  # (..., C)
        if clip is None:
            return dlogits
        pc, passes = clip
        return np.where(passes, dlogits * np.reciprocal(pc), self.dtype.type(0.0))


_ALIASES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
}
_ALIASES.update({cls.__name__: cls for cls in set(_ALIASES.values())})


def get(identifier: Any) -> Loss:
    """A loss from a Keras name (``"mse"``, ``"sparse_categorical_crossentropy"``, a class name
    such as ``"MeanSquaredError"``) or a :class:`Loss` instance (returned as is)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _ALIASES:
        return _ALIASES[identifier]()
    raise ValueError(
        f"Could not interpret loss identifier: {identifier!r}. "
        f"Known identifiers: {sorted(_ALIASES)} or a numpy_rnn.losses.Loss instance."
    )

