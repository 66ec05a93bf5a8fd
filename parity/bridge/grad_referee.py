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

(``atol`` the row's absolute allowance, ``NOISE_FACTOR`` = 2: two float32 implementations of the
same sums round independently).  A real bug (a dropped term, a swapped gate, a mask ignored)
moves NumPy by orders of magnitude more than Keras's own rounding and still fails.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..report import ParityReport, notify
from .grad import exact_gradients, gradient_comparison
from .referee import OutOfFloat32Range, referee

__all__ = ["refereed_gradients", "assert_refereed_gradients"]


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
    if report.passed or report.skipped or all(d.dtype != "float32" for d in report.outputs):
        notify(report)
        return report
    e_w, e_x, e_s = exact_gradients(keras_obj, inputs, targets=targets, loss=result.loss,
                                    mask=mask, initial_state=initial_state,
                                    call_kwargs=call_kwargs)

    def flat(sides: tuple) -> list:
        w, dx, st = sides
        xs = list(dx) if isinstance(dx, (list, tuple)) else [dx] if dx is not None else []
        return list(w) + xs + list(st)

    rows = [referee(diff, a, e, r, report.case)
            for diff, a, e, r in zip(report.outputs, flat(result.numpy), flat(result.keras),
                                     flat((e_w, e_x, e_s)))]
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
