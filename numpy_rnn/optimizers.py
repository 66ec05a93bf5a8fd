"""Keras 3 optimizers in NumPy: SGD, RMSprop, Adam, AdamW, equal to Keras 3.15 to the last bit.

One ``apply_gradients`` call does what Keras's ``BaseOptimizer.apply`` does, in its order:

1. pairs whose gradient is ``None`` are skipped (all ``None`` is an error);
2. clipping, at most one of ``clipnorm`` (per array), ``global_clipnorm``, ``clipvalue``;
3. weight decay when set: ``var -= var * weight_decay * lr``;
4. the optimizer's update step on each array, **in place**;
5. ``iterations += 1``.

State.  The first call builds the optimizer on the arrays it is given: per-array slots (momenta,
velocities) are keyed by the array's identity, so pass the *same* arrays every step (the layers'
own weight arrays, which ``set_weights`` keeps); an array the optimizer was not built with raises
``ValueError``, as in Keras.  Arrays must be writable float32 / float64 ndarrays.

Rounding.  To be equal to Keras in float64, coefficients are rounded the way Keras rounds them.
Keras turns a hyper-parameter into a tensor of the variable's dtype with ``ops.cast(value,
var.dtype)``; on a Python float that makes a float32 tensor first, so the value is rounded to
float32 and then widened.  That happens to SGD's ``momentum``, ``weight_decay``, the ``beta_1`` /
``beta_2`` inside ``beta**t`` and a Python float returned by a schedule, whatever the floatx.  A
float ``learning_rate`` is held in a Keras variable of ``keras.config.floatx()`` as it was when the
optimizer was *constructed* (float32 by default: rounded, even for float64 weights; float64 under
``set_floatx("float64")``: exact), then cast to each weight's dtype; NumPy has no floatx, so
the optimizers take it as an argument, ``floatx="float32"`` (Keras's default).  Where
Keras instead multiplies a tensor by a Python float (``(1 - beta_1)``, ``(1 - beta_2)``, RMSprop's
``rho``, ``1 - rho`` and ``momentum``, every ``epsilon``, the clip thresholds), the float is
converted straight to the variable's dtype: exact in float64.  :func:`_through_float32` and
:func:`_exact` below mark each case.

Sparse gradients.  A gradient may be a :class:`numpy_rnn.sparse.IndexedSlices` (one slice per
occurrence of a row, as TensorFlow gives an Embedding's gradient and as
``Sequential.train_on_batch`` / ``fit`` pass it).  Keras 3.15 squares IndexedSlices per slice:
Adam's ``v`` and RMSprop's velocity receive ``sum_i g_i**2`` for a row read ``k`` times, where
the dense gradient would give ``(sum_i g_i)**2``; every other place where slices change the
arithmetic (per-slice scaling, ``scatter_sub``, clipping) is listed in :mod:`numpy_rnn.sparse`
and reproduced in the update steps below.  A dense gradient of the same table gives Keras's
result for a dense gradient, which differs.

Non-finite gradients are applied as Keras applies them: a NaN or inf reaches the weights (and with
``global_clipnorm`` a non-finite global norm turns every clipped gradient into NaN).  Check
``np.isfinite`` on the loss or the gradients before the call if a run must stop on them.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable, Iterable

import numpy as np

from . import sparse
from .sparse import IndexedSlices

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "IndexedSlices", "get"]


def _through_float32(value: Any, dtype: np.dtype) -> np.generic:
    """``ops.cast(value, dtype)`` as Keras's TensorFlow backend does it: a Python float becomes a
    float32 tensor first (rounded to float32); a NumPy scalar keeps its own precision."""
    if isinstance(value, (np.generic, np.ndarray)):
        return np.asarray(value).astype(dtype)[()]
    return np.float32(value).astype(dtype)


def _exact(value: float, dtype: np.dtype) -> np.generic:
    """A Python float meeting a tensor in ``ops.multiply`` / ``ops.add``: converted to the
    tensor's dtype directly (exact in float64)."""
    return dtype.type(value)


def _real(name: str, value: Any, *, allow_none: bool = False, minimum: float | None = None):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be a finite float. Received: {name}={value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"Argument `{name}` must be >= {minimum}. Received: {name}={value!r}")
    return float(value)


class Optimizer:
    """Base class: clipping, weight decay, slots, ``iterations`` and the learning rate.

    Args:
        learning_rate: a float, or a schedule ``lr(iterations) -> float`` called with the number
            of steps taken so far (step k uses ``lr(k)``).  A Python float is rounded through
            float32 like Keras's learning-rate variable; return a NumPy float64 from a schedule to
            keep it exact.
        weight_decay: when set, ``var -= var * weight_decay * lr`` before each update.
        clipnorm / clipvalue / global_clipnorm: gradient clipping; at most one may be set.
        floatx: the dtype Keras's learning-rate variable would have: ``keras.config.floatx()``
            when the Keras optimizer is constructed.  ``"float32"`` (Keras's default) rounds a
            float learning rate through float32, even for float64 weights; ``"float64"`` keeps
            it exact (a Keras optimizer made under ``set_floatx("float64")``).
    """

    #: names of the per-array slots the update step keeps (zeros of the array's shape and dtype)
    _slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float | Callable[[int], Any], weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None,
                 floatx: str = "float32"):
        if str(floatx) not in ("float32", "float64"):
            raise ValueError(f'Argument `floatx` must be "float32" or "float64". Received: '
                             f"floatx={floatx!r}")
        self.floatx = str(floatx)
        if callable(learning_rate):
            self._learning_rate: Any = learning_rate
        else:
            self._learning_rate = _real("learning_rate", learning_rate)
        self.weight_decay = _real("weight_decay", weight_decay, allow_none=True)
        self.clipnorm = _real("clipnorm", clipnorm, allow_none=True)
        self.clipvalue = _real("clipvalue", clipvalue, allow_none=True)
        self.global_clipnorm = _real("global_clipnorm", global_clipnorm, allow_none=True)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self.built = False
        self._slots: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    # -- learning rate ---------------------------------------------------------------------------
    @property
    def learning_rate(self) -> Any:
        """The learning rate for the next step (a schedule is evaluated at ``iterations``)."""
        if callable(self._learning_rate):
            return self._learning_rate(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self._learning_rate = value if callable(value) else _real("learning_rate", value)

    def _lr(self, dtype: np.dtype) -> np.generic:
        """The learning rate as Keras's ``ops.cast(learning_rate, var.dtype)`` sees it: a float
        held in a ``floatx`` variable; a schedule's value cast directly (a Python float through
        float32, a NumPy float64 exact)."""
        if callable(self._learning_rate) or self.floatx == "float32":
            return _through_float32(self.learning_rate, dtype)
        return np.float64(self.learning_rate).astype(dtype)

    # -- building and slots ----------------------------------------------------------------------
    def build(self, variables: Iterable[np.ndarray]) -> None:
        """Create the slots for ``variables`` (done by the first ``apply_gradients``)."""
        for var in variables:
            _check_variable(var)
            self._slots[id(var)] = (var, {n: np.zeros_like(var) for n in self._slot_names})
        self.built = True

    def slots(self, var: np.ndarray) -> dict[str, np.ndarray]:
        """The optimizer's state for ``var`` (e.g. ``{"momentum": ..., "velocity": ...}``)."""
        entry = self._slots.get(id(var))
        if entry is None or entry[0] is not var:
            raise ValueError(
                f"Unknown variable: an array of shape {np.shape(var)} that optimizer "
                f"'{self.name}' was not built with. This optimizer can only be called for the "
                "arrays it was originally built with: pass the same arrays every step (update "
                "weights in place, e.g. with set_weights, rather than replacing them)."
            )
        return entry[1]

    # -- the step --------------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, np.ndarray]]) -> int:
        """Update each array in place from its gradient; returns the new ``iterations``.

        Args:
            grads_and_vars: pairs ``(gradient, array)``; a ``None`` gradient skips its array;
                a gradient is an array of the variable's shape or an :class:`IndexedSlices`
                whose ``dense_shape`` is that shape (Keras's arithmetic on slices, above).
        """
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError("`grads_and_vars` must hold (gradient, variable) pairs. "
                                 f"Received an item: {pair!r}"[:200])
        variables = [v for _, v in pairs]
        if not self.built:
            self.build(variables)
        for var in variables:
            self.slots(var)
        kept = [(g, v) for g, v in pairs if g is not None]
        if not kept:
            raise ValueError("No gradients provided for any variable.")
        if len(kept) < len(pairs):
            warnings.warn(f"Gradients do not exist for {len(pairs) - len(kept)} of the variables "
                          "when minimizing the loss; they are left unchanged.", stacklevel=2)
        grads = [_check_gradient(g, v, i) for i, (g, v) in enumerate(kept)]
        variables = [v for _, v in kept]
        grads = self._clip(grads)
        if self.weight_decay is not None:
            for var in variables:
                lr = self._lr(var.dtype)
                wd = _through_float32(self.weight_decay, var.dtype)
                var -= var * wd * lr  # Keras: variable.assign_sub(variable * wd * lr)
        for grad, var in zip(grads, variables):
            self.update_step(grad.astype(var.dtype, copy=False), var, self._lr(var.dtype),
                             self.slots(var))
        self.iterations += 1
        return self.iterations

    def update_step(self, gradient: np.ndarray | IndexedSlices, variable: np.ndarray,
                    lr: np.generic, slots: dict[str, np.ndarray]) -> None:
        """Update ``variable`` (and ``slots``) in place; ``lr`` is already in its dtype; the
        gradient is dense or :class:`IndexedSlices` (treated as Keras treats them)."""
        raise NotImplementedError

    def _clip(self, grads: list) -> list:
        """Keras's ``_clip_gradients``.  Slices: ``tf.clip_by_norm`` takes the norm of the slice
        values (duplicates counted separately) and scales them; ``clipvalue`` clips each slice;
        ``global_clipnorm`` returns dense gradients (``_clip_by_global_norm``)."""
        if self.clipnorm and self.clipnorm > 0:
            return [g.with_values(_clip_by_norm(g.values, self.clipnorm))
                    if isinstance(g, IndexedSlices) else _clip_by_norm(g, self.clipnorm)
                    for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            def clip(g: np.ndarray) -> np.ndarray:
                return np.clip(g, _exact(-self.clipvalue, g.dtype), _exact(self.clipvalue, g.dtype))
            return [g.with_values(clip(g.values)) if isinstance(g, IndexedSlices) else clip(g)
                    for g in grads]
        return grads

    # -- config ----------------------------------------------------------------------------------
    def get_config(self) -> dict:
        lr = self._learning_rate
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "floatx": self.floatx}

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        return cls(**config)

    def __repr__(self) -> str:
        cfg = self.get_config()
        cfg.pop("name")
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in cfg.items()) + ")"


def _check_variable(var: Any) -> None:
    if not isinstance(var, np.ndarray) or var.dtype not in (np.float32, np.float64):
        raise TypeError("Each variable must be a float32 or float64 numpy.ndarray updated in "
                        f"place. Received: {type(var).__name__} "
                        f"{getattr(var, 'dtype', '')}".rstrip())
    if not var.flags.writeable:
        raise ValueError(f"Variable of shape {var.shape} is read-only; the optimizer updates "
                         "arrays in place.")


def _check_gradient(g: Any, var: np.ndarray, index: int) -> np.ndarray | IndexedSlices:
    if isinstance(g, IndexedSlices):
        if g.dense_shape != var.shape:
            raise ValueError(f"`gradient` {index} must have the shape of its variable "
                             f"{var.shape}. Received: IndexedSlices with dense_shape "
                             f"{g.dense_shape}")
        return g
    g = np.asarray(g)
    if g.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(g.dtype, np.integer) or g.dtype == np.bool_):
            raise TypeError(f"`gradient` {index} must be a float array. Received dtype {g.dtype}")
        g = g.astype(var.dtype)
    if g.shape != var.shape:
        raise ValueError(f"`gradient` {index} must have the shape of its variable {var.shape}. "
                         f"Received: gradient.shape={g.shape}")
    return g


def _reduce_sum(x: np.ndarray) -> np.generic:
    """``sum(x)``: the one reduction of the optimizers (the clip norms), see below."""
    return np.sum(x)


def _sum_of_squares(g: np.ndarray) -> np.generic:
    """``sum(g * g)`` (through :func:`_reduce_sum`), the clip norms' reduction.

    TensorFlow's ``reduce_sum`` adds in an order of its own (SIMD packets, and blocks per thread
    on large arrays, so it depends on the machine); NumPy's pairwise order differs in the last
    bits, so clipped steps agree with Keras to ~1e-14 relative in float64, not bit for bit.
    Every other step is bitwise equal (the parity tests also run with TensorFlow's sum patched
    into ``_reduce_sum`` and then require 0.0)."""
    return _reduce_sum(g * g)


def _clip_by_norm(g: np.ndarray, clipnorm: float) -> np.ndarray:
    """``tf.clip_by_norm``: ``g * c / max(||g||, c)`` (a zero gradient stays zero)."""
    c = _exact(clipnorm, g.dtype)
    l2sum = _sum_of_squares(g)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    return (g * c) / np.maximum(l2norm, c)


def _clip_by_global_norm(grads: list, clipnorm: float) -> list[np.ndarray]:
    """Keras's ``clip_by_global_norm``: every ``g * c * min(1/N, 1/c)``, N the global norm; NaN
    everywhere when N is not finite (the ``+ (N - N)`` term).  Slices: ``ops.sum(ops.square)``
    sums the densified per-slice squares (``sum_i g_i**2`` per row), and ``g * scale`` (a Python
    operator on a ``tf.IndexedSlices``) densifies ``g``: the clipped gradient is dense."""
    dtype = np.result_type(*[g.dtype for g in grads])
    squares = [_reduce_sum(sparse.square(g).dense()) if isinstance(g, IndexedSlices)
               else _sum_of_squares(g) for g in grads]
    grads = [sparse.dense(g) for g in grads]
    norm = np.sqrt(np.sum(np.stack(squares).astype(dtype)))
    c = _exact(clipnorm, dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # 1/0 = inf and inf - inf = NaN, as in TF
        scale = c * np.minimum(dtype.type(1.0) / norm, _exact(1.0 / clipnorm, dtype)) + (norm - norm)
    return [g * scale.astype(g.dtype) for g in grads]


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    ``m = momentum * m - lr * g``; ``var += m`` (plain) or ``var += momentum * m - lr * g``
    (Nesterov, with the new ``m``); without momentum ``var -= lr * g``.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name: str | None = None, floatx: str = "float32"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         floatx)
        if (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)
                or not 0 <= momentum <= 1):
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self._slot_names = ("momentum",) if self.momentum != 0 else ()

    def update_step(self, gradient, variable, lr, slots):
        # slices: g * lr per slice; a plain step is a scatter_sub, slice by slice; with
        # momentum the scaled slices are summed per row (densified) before meeting m
        step = sparse.scale(gradient, lr)  # g * lr
        if self.momentum == 0:
            sparse.scatter_sub(variable, step)
            return
        step = sparse.dense(step)
        mu = _through_float32(self.momentum, variable.dtype)  # Keras: ops.cast(self.momentum)
        m = slots["momentum"]
        m[...] = m * mu - step
        if self.nesterov:
            variable += m * mu - step
        else:
            variable += m

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop: ``v = rho*v + (1-rho)*g**2``; ``inc = lr * g / sqrt(v + eps)`` (eps inside the
    root); centered: also ``mg = rho*mg + (1-rho)*g`` and ``sqrt(v - mg**2 + eps)``; with
    momentum ``mom = momentum*mom + inc; var -= mom``, else ``var -= inc``."""

    def __init__(self, learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name: str | None = None,
                 floatx: str = "float32"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         floatx)
        self.rho = _real("rho", rho)
        self.momentum = _real("momentum", momentum)
        self.epsilon = _real("epsilon", epsilon)
        self.centered = bool(centered)
        self._slot_names = ("velocity",) + (("momentum",) if self.momentum > 0 else ()) + (
            ("average_gradient",) if self.centered else ())

    def update_step(self, gradient, variable, lr, slots):
        dt = variable.dtype
        rho, one_minus_rho = _exact(self.rho, dt), _exact(1 - self.rho, dt)  # Python floats in Keras
        eps = _exact(self.epsilon, dt)
        # slices: squared and scaled one by one, summed per row when added to v (so v gets
        # sum_i g_i**2 for a row read several times); the increment is per slice, summed into
        # the momentum or subtracted slice by slice (scatter_sub)
        v = slots["velocity"]
        v[...] = rho * v + sparse.dense(sparse.scale(sparse.square(gradient), one_minus_rho))
        if self.centered:
            mg = slots["average_gradient"]
            mg[...] = rho * mg + sparse.dense(sparse.scale(gradient, one_minus_rho))
            denominator = v - np.square(mg) + eps
        else:
            denominator = v + eps
        increment = sparse.divide(sparse.scale(gradient, lr), np.sqrt(denominator))  # lr*g/sqrt
        if self.momentum > 0:
            mom = slots["momentum"]
            mom[...] = _exact(self.momentum, dt) * mom + sparse.dense(increment)
            variable -= mom
        else:
            sparse.scatter_sub(variable, increment)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Adam with Keras's "epsilon hat": with ``t = iterations + 1``,
    ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``, ``m += (g - m) * (1 - beta_1)``,
    ``v += (g**2 - v) * (1 - beta_2)``, ``var -= m * alpha / (sqrt(v) + eps)`` (eps outside the
    root, not bias-corrected); ``amsgrad`` uses ``v_hat = max(v_hat, v)`` in place of ``v``."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name: str | None = None,
                 floatx: str = "float32"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         floatx)
        self.beta_1 = _real("beta_1", beta_1)
        self.beta_2 = _real("beta_2", beta_2)
        self.epsilon = _real("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)
        self._slot_names = ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def update_step(self, gradient, variable, lr, slots):
        dt = variable.dtype
        t = dt.type(self.iterations + 1)
        # Keras: ops.power(ops.cast(beta, dtype), t): the betas are rounded through float32 here
        beta_1_power = _through_float32(self.beta_1, dt) ** t
        beta_2_power = _through_float32(self.beta_2, dt) ** t
        one = dt.type(1)
        alpha = lr * np.sqrt(one - beta_2_power) / (one - beta_1_power)
        m, v = slots["momentum"], slots["velocity"]
        # (1 - beta) stays an exact Python float.  Slices meet m summed per row; they are
        # squared before that, so v gets sum_i g_i**2 for a row read several times
        m += (sparse.dense(gradient) - m) * _exact(1 - self.beta_1, dt)
        v += (sparse.dense(sparse.square(gradient)) - v) * _exact(1 - self.beta_2, dt)
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        variable -= (m * alpha) / (np.sqrt(v) + _exact(self.epsilon, dt))

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``weight_decay`` 0.004 by default), applied before the
    Adam step as ``var -= var * weight_decay * lr``."""

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None,
                 floatx: str = "float32"):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm,
                         clipvalue, global_clipnorm, name, floatx)


_ALIASES: dict[str, type[Optimizer]] = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get(identifier: Any) -> Optimizer:
    """An optimizer from a Keras name (``"sgd"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``, any case,
    with Keras's defaults) or an :class:`Optimizer` instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _ALIASES:
        return _ALIASES[identifier.lower()]()
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. "
        f"Known identifiers: {sorted(_ALIASES)} or a numpy_rnn.optimizers.Optimizer instance."
    )
