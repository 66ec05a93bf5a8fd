"""A float64 referee for float32 comparisons that disagree on ill-conditioned cases.

The tolerance table holds float32 results to ``atol + rtol * |keras|``, measured on well-conditioned
layers (bounded gate activations).  Unbounded activations (``recurrent_activation="linear"``,
``relu`` ...) can grow outputs to 1e6 and more within a few steps; then both float32 sides round
differently, and Keras is sometimes the one farther from the exact answer.  Measured (hypothesis
example with ``activation="elu"``, ``recurrent_activation="linear"``, 4 steps, output -5.8e6): Keras
float32 is 69 away from the float64 answer (1.2e-5 relative), numpy_rnn float32 16 away; the two
disagree by 85 = 1.5e-5 relative, above rtol 1e-5.

The referee settles such a disagreement with an independent float64 computation: the *Keras*
layer rebuilt with ``dtype="float64"`` and the same weights.  An element passes when NumPy is
within the table's tolerance of the float64 answer plus Keras's own distance from it:

    |numpy - exact| <= atol + rtol * |exact| + NOISE_FACTOR * max |keras - exact|

(the maximum over the whole output: rounding in an ill-conditioned recurrence scales with the
largest intermediate values, not with each element, so where Keras happens to land close to
exact on one element NumPy may still carry the output's typical rounding there).  NumPy may be
as wrong as Keras is, up to ``NOISE_FACTOR`` = 2: two float32 implementations of the same
ill-conditioned recurrence round independently, and which one lands closer to exact is chance.
Measured on the hypothesis examples that needed the referee (relu / elu / selu activations with a
linear recurrent activation, outputs 4e2 to 6e6): numpy_rnn's distance from exact was 0.24x to
1.23x Keras's (16 vs 69; 8.7e-4 vs 6.2e-4; 0.178 vs 0.145).  A real bug (a swapped gate, a dropped bias)
moves NumPy by orders of magnitude more than Keras's rounding and still fails.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..report import ParityReport
from . import backend
from .float64 import as_float64, exact_outputs, keras_float64_copy
from .run import assert_parity, compare, keras_call

#: Beyond this magnitude of the exact (float64) output, float32 parity is not defined here: the
#: recurrence has grown exponentially (a linear recurrent activation reaches 1e19 and float32
#: overflow within 9 steps) and both float32 sides carry errors larger than any tolerance table
#: (at 1e7 the spacing of float32 values is 1).
MAX_MAGNITUDE = 1e7


class OutOfFloat32Range(ArithmeticError):
    """The float32 sides disagree on a case whose exact output is huge or not finite."""


#: How many times Keras's own float32 error NumPy's may reach (see the module docstring).
NOISE_FACTOR = 2.0
#: The same, per Keras backend where its float32 is measured to land closer to exact than a plain
#: float32 implementation: XLA (JAX) fuses the cell's elementwise ops.  Measured on the grid's
#: ``softsign/linear`` LSTM (linear recurrent gate; batch 500, 12 steps, seed 0), distance from
#: the float64 answer, forward / input gradient: TensorFlow 1.20e-5 / 1.86e-4, numpy_rnn
#: 1.08e-5 / 1.74e-4 (0.9x TensorFlow's), JAX 2.89e-6 / 5.15e-5 (TensorFlow's / 4.1 and / 3.6).
#: So on JAX numpy_rnn lands 3.7x / 3.4x JAX's distance away while as close as TensorFlow: the
#: allowance is 2 x TensorFlow's, i.e. 2 x 4 = 8 x JAX's.
NOISE_FACTORS: dict[str, float] = {"jax": 8.0}


def noise_factor() -> float:
    """:data:`NOISE_FACTOR` for this process's Keras backend (:data:`NOISE_FACTORS`)."""
    return NOISE_FACTORS.get(backend.configured(), NOISE_FACTOR)


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def keras_error(expected: Any, exact: Any) -> float:
    """``max |keras - exact|`` over a row's finite elements: Keras's own float32 rounding."""
    with np.errstate(invalid="ignore", over="ignore"):
        own = np.abs(np.asarray(expected, np.float64) - np.asarray(exact, np.float64))
    return float(own[np.isfinite(own)].max(initial=0.0))


def excess_over(diff: Any, actual: np.ndarray, exact: np.ndarray, judged: np.ndarray,
                noise: float) -> np.ndarray:
    """``|actual - exact| - (atol + rtol * |exact| + noise_factor() * noise)`` on the ``judged``
    elements (-inf elsewhere): an element passes where it is <= 0."""
    with np.errstate(invalid="ignore", over="ignore"):
        allowed = diff.atol + diff.rtol * np.abs(exact) + noise_factor() * noise
        return np.where(judged, np.abs(actual - exact) - allowed, -np.inf)


def referee(diff: Any, actual: Any, expected: Any, exact: Any, case: str) -> Any:
    """Judge one failing float32 row by the float64 answer (module docstring): the elements that
    fail the table pass when ``|actual - exact| <= atol + rtol * |exact| + NOISE_FACTOR *
    max|expected - exact|``.  ``diff`` (an ``ArrayDiff``) gets ``passed`` and a note with the
    figures; returned for convenience.  Rows that are not float32 or do not fail on values (a
    wrong dtype, a shape) are returned unchanged.

    Raises ``OutOfFloat32Range`` when ``exact`` is not finite or exceeds ``MAX_MAGNITUDE``.
    """
    if diff.passed or diff.dtype != "float32" or actual is None or \
            np.shape(actual) != np.shape(exact):
        return diff
    a, e, r = (np.asarray(t, np.float64) for t in (actual, expected, exact))
    if not np.all(np.isfinite(r)) or np.abs(r).max() > MAX_MAGNITUDE:
        raise OutOfFloat32Range(
            f"{case}: {diff.name!r} reaches {np.abs(r).max():.3e} in float64 (limit "
            f"{MAX_MAGNITUDE:.0e}); float32 parity is not defined there")
    with np.errstate(invalid="ignore", over="ignore"):
        plain_bad = ~((a == e) | (np.abs(a - e) <= diff.atol + diff.rtol * np.abs(e)))
    if not plain_bad.any():  # failed for another reason (its dtype): not a rounding matter
        return diff
    own_max = keras_error(e, r)
    excess = excess_over(diff, a, r, plain_bad, own_max)
    ok = bool(np.all(excess <= 0))
    diff.passed = ok
    diff.refereed = True
    diff.note = ((diff.note + "; ") if diff.note else "") + (
        f"refereed by float64 Keras: max|numpy-exact|={np.abs(a - r)[plain_bad].max():.3e} "
        f"where numpy and keras disagree, max|keras-exact|={own_max:.3e}; "
        + ("numpy no farther from exact than keras" if ok else
           f"numpy farther from exact than keras allows by {excess.max():.3e}"))
    return diff


def refereed_parity(np_obj: Any, keras_obj: Any, inputs: Any, *, case: str | None = None,
                    **call_kwargs: Any) -> ParityReport:
    """``compare``; where a float32 comparison fails, the float64 referee decides (module doc).

    Raises ``OutOfFloat32Range`` when a failing output's exact values exceed ``MAX_MAGNITUDE``
    or are not finite.  Returns the plain report when it passes (or when the comparison is not float32); otherwise a
    report whose rows say, per output, whether NumPy stayed within tolerance of the float64
    answer plus Keras's own error, with the figures in the row's note.
    """
    report = compare(np_obj, keras_obj, inputs, case=case, **call_kwargs)
    if report.passed or report.skipped or all(d.dtype != "float32" for d in report.outputs):
        return report
    exact = exact_outputs(keras_obj, inputs, call_kwargs)
    np_out = [np.asarray(o, np.float64) for o in _as_list(np_obj(inputs, **call_kwargs))]
    k_out = [np.asarray(o, np.float64) for o in _as_list(keras_call(keras_obj, inputs,
                                                                      **call_kwargs))]
    rows = [diff if diff.passed else referee(diff, a, e, r, report.case)
            for diff, a, e, r in zip(report.outputs, np_out, k_out, exact)]
    return ParityReport(report.case, rows)


def assert_refereed_parity(np_obj: Any, keras_obj: Any, inputs: Any, **call_kwargs: Any) -> ParityReport:
    """``assert_parity`` with the float64 referee for float32 disagreements; inside a hypothesis
    test, an example out of float32 range is rejected (``hypothesis.reject``)."""
    __tracebackhide__ = True
    try:
        report = refereed_parity(np_obj, keras_obj, inputs, **call_kwargs)
    except OutOfFloat32Range:
        from hypothesis import reject  # only property tests call this with huge outputs

        reject()
    if not report.passed:
        raise AssertionError(str(report))
    return report


__all__ = ["OutOfFloat32Range", "MAX_MAGNITUDE", "NOISE_FACTOR", "NOISE_FACTORS", "noise_factor",
           "referee", "keras_error", "excess_over", "keras_float64_copy",
           "as_float64", "refereed_parity", "assert_refereed_parity", "assert_parity"]
