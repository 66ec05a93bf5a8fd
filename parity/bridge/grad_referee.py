"""The float64 referee for float32 gradient comparisons (``parity.bridge.referee`` for outputs).

The ``"gradient"`` tolerance holds a float32 gradient to ``1e-6 * max|keras| + rtol * |keras|``.
That scale is the array's largest element; an element that is a sum of many large terms that
cancel (a kernel gradient over one input feature, ``x^T dz``, whose terms are 20x its result) or
a recurrence with an unbounded gate (``recurrent_activation="linear"``) carries float32 rounding
on both sides that is larger than that.  Measured (hypothesis GRU example, ``reset_after=False``,
linear recurrent gate, one input feature): numpy_rnn and Keras float32 differ on ``d kernel`` by
1.9e-6 of its max, and each is about that far from the float64 answer.

The referee settles such a disagreement as the output referee does: the Keras layer or model is
rebuilt in float64 with the same weights (``keras_float64_twin``), its gradients are the exact
answer, and a failing element passes when

    |numpy - exact| <= atol + rtol * |exact| + NOISE_FACTOR * max |keras - exact|

(``atol`` the row's absolute allowance, ``NOISE_FACTOR`` = 2: two float32 implementations of the
same sums round independently).  A real bug (a dropped term, a swapped gate, a mask ignored)
moves NumPy by orders of magnitude more than Keras's own rounding and still fails.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..report import ParityReport, notify
from .grad import gradient_comparison, is_model, keras_gradients
from .referee import MAX_MAGNITUDE, NOISE_FACTOR, OutOfFloat32Range

__all__ = ["refereed_gradients", "assert_refereed_gradients", "keras_float64_copy"]


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


def keras_float64_copy(keras_obj: Any, inputs: np.ndarray) -> Any:
    """The same Keras layer or model (config and weights) computing in float64."""
    import keras

    cfg = _float64_config(keras.saving.serialize_keras_object(keras_obj))
    twin = keras.saving.deserialize_keras_object(cfg)
    if not is_model(keras_obj) and not twin.built:
        twin.build((None,) * (inputs.ndim - 1) + (inputs.shape[-1],)
                   if inputs.dtype.kind == "f" else (None,) * inputs.ndim)
    twin.set_weights([np.asarray(w, np.float64) if np.asarray(w).dtype.kind == "f"
                      else np.asarray(w) for w in keras_obj.get_weights()])
    return twin


def _f64(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_f64(v) for v in value]
    arr = np.asarray(value)
    return arr.astype(np.float64) if arr.dtype.kind == "f" else arr


def refereed_gradients(np_obj: Any, keras_obj: Any, inputs: Any, *, targets: Any = None,
                       loss: Any = None, mask: Any = None, initial_state: Any = None,
                       case: str | None = None, **call_kwargs: Any) -> ParityReport:
    """``compare_gradients``; where a float32 gradient fails, the float64 referee decides.

    Raises ``OutOfFloat32Range`` when a failing gradient's exact values exceed ``MAX_MAGNITUDE``
    or are not finite (float32 gradient parity is not defined there).
    """
    result = gradient_comparison(np_obj, keras_obj, inputs, targets=targets, loss=loss,
                                 mask=mask, initial_state=initial_state, case=case,
                                 **call_kwargs)
    report = result.report
    if report.passed or all(d.dtype != "float32" for d in report.outputs):
        notify(report)
        return report
    x = np.asarray(inputs)
    twin = keras_float64_copy(keras_obj, x)
    loss64 = None
    if result.loss is not None:
        loss64 = type(result.loss).from_config({**result.loss.get_config(), "dtype": "float64"})
    e_w, e_x, e_s = keras_gradients(twin, _f64(x), targets=_f64(targets), loss=loss64,
                                    mask=mask, initial_state=_f64(initial_state),
                                    call_kwargs={k: _f64(v) for k, v in call_kwargs.items()})

    def flat(sides: tuple) -> list:
        w, dx, st = sides
        return list(w) + ([dx] if dx is not None else []) + list(st)

    rows = []
    for diff, a, e, r in zip(report.outputs, flat(result.numpy), flat(result.keras),
                             flat((e_w, e_x, e_s))):
        if diff.passed or diff.dtype != "float32" or a is None or np.shape(a) != np.shape(r):
            rows.append(diff)
            continue
        a, e, r = (np.asarray(t, np.float64) for t in (a, e, r))
        if not np.all(np.isfinite(r)) or np.abs(r).max() > MAX_MAGNITUDE:
            raise OutOfFloat32Range(
                f"{report.case}: gradient {diff.name!r} reaches {np.abs(r).max():.3e} in "
                f"float64 (limit {MAX_MAGNITUDE:.0e}); float32 parity is not defined there")
        with np.errstate(invalid="ignore", over="ignore"):
            plain_bad = ~((a == e) | (np.abs(a - e) <= diff.atol + diff.rtol * np.abs(e)))
        if not plain_bad.any():  # failed for another reason (its dtype): not a rounding matter
            rows.append(diff)
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            own = np.abs(e - r)  # Keras's own float32 rounding
            own_max = float(own[np.isfinite(own)].max(initial=0.0))
            allowed = diff.atol + diff.rtol * np.abs(r) + NOISE_FACTOR * own_max
            excess = np.where(plain_bad, np.abs(a - r) - allowed, -np.inf)
        ok = bool(np.all(excess <= 0))
        diff.passed = ok
        diff.note = ((diff.note + "; ") if diff.note else "") + (
            f"refereed by float64 Keras: max|numpy-exact|={np.abs(a - r)[plain_bad].max():.3e} "
            f"where numpy and keras disagree, max|keras-exact|={own_max:.3e}; "
            + ("numpy no farther from exact than keras" if ok else
               f"numpy farther from exact than keras allows by {excess.max():.3e}"))
        rows.append(diff)
    report = ParityReport(report.case, rows)
    notify(report)
    return report


def assert_refereed_gradients(np_obj: Any, keras_obj: Any, inputs: Any,
                              **kwargs: Any) -> ParityReport:
    """``refereed_gradients`` that raises AssertionError (the report) unless it passed; inside
    a hypothesis test an example out of float32 range is rejected."""
    __tracebackhide__ = True
    try:
        report = refereed_gradients(np_obj, keras_obj, inputs, **kwargs)
    except OutOfFloat32Range:
        from hypothesis import reject

        reject()
    if not report.passed:
        raise AssertionError(str(report))
    return report
