"""The float64 referee for float32 gradient comparisons (``parity.bridge.referee`` for outputs).

The ``"gradient"`` tolerance holds a float32 gradient to ``1e-6 * max|keras| + rtol * |keras|``.
That scale is the array's largest element; an element that is a sum of many large terms that
cancel (a kernel gradient over one input feature, ``x^T dz``, whose terms are 20x its result) or
a recurrence with an unbounded gate (``recurrent_activation="linear"``) carries float32 rounding
on both sides that is larger than that.  Measured (hypothesis GRU example, ``reset_after=False``,
linear recurrent gate, one input feature): numpy_rnn and Keras float32 differ on ``d kernel`` by
1.9e-6 of its max, and each is about that far from the float64 answer.

The referee settles such a disagreement as the output referee does: the Keras layer or model is
rebuilt in float64 with the same weights (``keras_float64_copy``), its gradients are the exact
answer, and a failing element passes when

    |numpy - exact| <= atol + rtol * |exact| + NOISE_FACTOR * max |keras - exact|

(``atol`` the row's absolute allowance, ``NOISE_FACTOR`` = 2, 8 against JAX: two float32
implementations of the same sums round independently; ``referee.NOISE_FACTORS``).

The second rule: Keras's noise measured, not drawn once.  ``max |keras - exact|`` is one draw of
Keras's float32 rounding, and on a cancelling sum over few independent elements that draw can be
lucky.  Measured (hypothesis MHA example, dev profile, now ``tests/parity/
test_grad_referee_noise.py``: one key, so the softmax is exactly 1; ``d attention_output/kernel``,
max 0.013, sums 9 terms of 0.4 to 1.5 that cancel): numpy_rnn 1.36e-7 from the float64 answer,
Keras 1.6e-8, both far inside the classic float32 bound ``n * eps * sum|terms|`` (~5e-6).  Over
300 points 1 ulp away (every input and weight moved 1 ulp up or down at random) Keras's distance
is 2.6e-8 / 1.6e-7 / 3.4e-7 / 6.0e-7 (10th percentile / median / 90th / largest) and numpy_rnn's
8.2e-8 / 3.1e-7 / 5.8e-7 / 7.7e-7: the same float32 rounding of the terms (summing numpy_rnn's
float32 terms in float64 leaves 3.5e-7 rms against its 3.8e-7), so the first draw says little.

So where a row fails the first rule, the referee measures Keras's float32 noise around the point
(``noise_floors``): at ``NOISE_RUNS`` = 8 points, each input, weight, initial state and target
moved 1 ulp of its own dtype up or down (independently per element, seeded by ``NOISE_SEED``,
zeros and integer ids kept), Keras's float32 gradients are compared with the float64 twin's *at
the same moved point* (the move itself changes the exact answer of an ill-conditioned sum by up
to 2e-6 here, more than the rounding), and the row's floor is the largest of those distances.
A failing element then passes when

    |numpy - exact| <= atol + rtol * |exact| + NOISE_FACTOR * max(max |keras - exact|, floor)

and the row's note names the rule and the floor ("passed by the noise-floor rule").  On the
example the floor is 1.9e-7 (allowance 4.1e-7 against numpy_rnn's 1.36e-7).  With 8 points,
resampling the 300 above, numpy_rnn at a random point fails the rule 3.8% of the time (4 points:
10%): the floor estimates the tail of Keras's noise, and numpy_rnn's rounding on this sum is ~1.5x
Keras's (rms 3.8e-7 vs 2.5e-7); NOISE_FACTOR was not raised for it.

Teeth: the floor is Keras's honest float32 rounding, bounded by ``n * eps * sum|terms|``, so a
bug larger than that still fails: numpy_rnn's d attention_output/kernel scaled by 1 +- 1e-4
(1.3e-6 off) or missing one term fails on the example (tests/parity/test_grad_referee_noise.py),
as do the planted bugs of tests/property/test_teeth.py.  Cost: 2 x NOISE_RUNS extra gradient
evaluations, only for a case where some float32 row fails the first rule.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..report import ParityReport, notify
from .autodiff import keras_gradients
from .float64 import as_float64, keras_float64_copy
from .grad import exact_gradients, gradient_comparison
from .referee import OutOfFloat32Range, excess_over, keras_error, noise_factor, referee

__all__ = ["refereed_gradients", "assert_refereed_gradients", "noise_floors", "NOISE_RUNS",
           "NOISE_SEED"]

#: How many 1-ulp-perturbed points the noise floor is measured at (module docstring).
NOISE_RUNS = 8
#: The seed of the perturbations (the referee's verdict is reproducible).
NOISE_SEED = 0


def _flat(sides: tuple) -> list:
    """``(weights, input gradient(s), states)`` as one list in the report's row order."""
    w, dx, st = sides
    xs = list(dx) if isinstance(dx, (list, tuple)) else [dx] if dx is not None else []
    return list(w) + xs + list(st)


def _nudge(value: Any, rng: np.random.Generator) -> Any:
    """Every nonzero element of a float array (or of each array of a list) moved 1 ulp of its
    own dtype up or down, independently at random; zeros, integer arrays and None unchanged."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_nudge(v, rng) for v in value]
    a = np.asarray(value)
    if a.dtype.kind != "f":
        return a
    up = rng.integers(0, 2, a.shape).astype(bool)
    moved = np.where(up, np.nextafter(a, np.inf), np.nextafter(a, -np.inf)).astype(a.dtype)
    return np.where(a == 0, a, moved).astype(a.dtype)


def noise_floors(keras_obj: Any, inputs: Any, *, targets: Any = None, loss: Any = None,
                 mask: Any = None, initial_state: Any = None, call_kwargs: dict | None = None,
                 runs: int = NOISE_RUNS, seed: int = NOISE_SEED) -> list[float]:
    """Per report row, ``max |keras - exact|`` over ``runs`` points near the compared one: the
    inputs, weights, initial states and targets each moved 1 ulp (``_nudge``, seeded), Keras's
    float32 gradients there against the float64 twin's at the same point.  Keras's weights are
    restored afterwards."""
    rng = np.random.default_rng(seed)
    several = isinstance(inputs, (list, tuple))
    x = [np.asarray(i) for i in inputs] if several else np.asarray(inputs)
    original = keras_obj.get_weights()
    twin = keras_float64_copy(keras_obj, x)
    loss64 = None if loss is None else type(loss).from_config(
        {**loss.get_config(), "dtype": "float64"})
    kw64 = {k: as_float64(v) for k, v in (call_kwargs or {}).items()}
    floors: list[float] = []
    try:
        for _ in range(runs):
            w, xi = _nudge(original, rng), _nudge(x, rng)
            ti, si = _nudge(targets, rng), _nudge(initial_state, rng)
            keras_obj.set_weights(w)
            twin.set_weights(as_float64(w))
            k = _flat(keras_gradients(keras_obj, xi, targets=ti, loss=loss, mask=mask,
                                      initial_state=si, call_kwargs=call_kwargs))
            e = _flat(keras_gradients(twin, as_float64(xi), targets=as_float64(ti),
                                      loss=loss64, mask=mask, initial_state=as_float64(si),
                                      call_kwargs=kw64))
            errs = [keras_error(a, b) if a is not None and b is not None and
                    np.shape(a) == np.shape(b) else 0.0 for a, b in zip(k, e)]
            floors = [max(f, g) for f, g in zip(floors, errs)] if floors else errs
    finally:
        keras_obj.set_weights(original)
    return floors


def _rejudge(diff: Any, actual: Any, expected: Any, exact: Any, floor: float) -> None:
    """A row the first rule failed, judged again with Keras's error over the perturbed points
    (``floor``) as the noise; the note gets the figures either way."""
    a, e, r = (np.asarray(t, np.float64) for t in (actual, expected, exact))
    with np.errstate(invalid="ignore", over="ignore"):
        judged = ~((a == e) | (np.abs(a - e) <= diff.atol + diff.rtol * np.abs(e)))
    noise = max(keras_error(e, r), floor)
    excess = excess_over(diff, a, r, judged, noise)
    diff.passed = bool(np.all(excess <= 0))
    diff.note += (
        f"; float32 noise floor (keras over {NOISE_RUNS} points 1 ulp away, each against "
        f"float64 there): max|keras-exact|={floor:.3e}; " + (
            f"numpy within {noise_factor():g}x it: passed by the noise-floor rule"
            if diff.passed else
            f"numpy farther from exact than that allows by {excess.max():.3e}"))


def refereed_gradients(np_obj: Any, keras_obj: Any, inputs: Any, *, targets: Any = None,
                       loss: Any = None, mask: Any = None, initial_state: Any = None,
                       case: str | None = None, **call_kwargs: Any) -> ParityReport:
    """``compare_gradients``; where a float32 gradient fails, the float64 referee decides: first
    by Keras's own distance from exact, then, for a row that still fails, by Keras's float32
    noise measured around the point (:func:`noise_floors`; module docstring).

    Raises ``OutOfFloat32Range`` when a failing gradient's exact values exceed ``MAX_MAGNITUDE``
    or are not finite (float32 gradient parity is not defined there).
    """
    result = gradient_comparison(np_obj, keras_obj, inputs, targets=targets, loss=loss,
                                 mask=mask, initial_state=initial_state, case=case,
                                 **call_kwargs)
    report = result.report
    if report.passed or report.skipped or all(d.dtype != "float32" for d in report.outputs):
        notify(report)
        return report
    e_w, e_x, e_s = exact_gradients(keras_obj, inputs, targets=targets, loss=result.loss,
                                    mask=mask, initial_state=initial_state,
                                    call_kwargs=call_kwargs)

    rows = [referee(diff, a, e, r, report.case)
            for diff, a, e, r in zip(report.outputs, _flat(result.numpy), _flat(result.keras),
                                     _flat((e_w, e_x, e_s)))]
    failed = [i for i, d in enumerate(rows) if d.refereed and not d.passed]
    if failed:  # the second rule: Keras's float32 noise measured around this point
        floors = noise_floors(keras_obj, inputs, targets=targets, loss=result.loss, mask=mask,
                              initial_state=initial_state, call_kwargs=call_kwargs)
        n_f, k_f, e_f = _flat(result.numpy), _flat(result.keras), _flat((e_w, e_x, e_s))
        for i in failed:
            if i < len(floors):
                _rejudge(rows[i], n_f[i], k_f[i], e_f[i], floors[i])
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
