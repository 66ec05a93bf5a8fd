"""Rows that contradict themselves: a ``"status": "pass"`` whose own figures say otherwise.

``merge-reports`` and ``--baseline`` read JSON written by other runs (other machines, other
versions, hand edits).  A row is trusted only when its status agrees with its figures: a passing
row has ``report.passed``, every output ``passed`` with ``n_bad == 0`` and its worst element
within ``atol + rtol * |expected|`` -- unless the float64 referee passed it, which its note says
(``refereed by float64 Keras``; the referee judges against the float64 answer, not Keras's
float32 one, so the plain figures may lie outside the table there).
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["REFEREED", "output_contradictions", "row_contradictions"]

#: The note the float64 referee writes on a row it judged (``parity.bridge.referee``).
REFEREED = "refereed by float64 Keras"


def _num(x: Any) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if x in ("inf", "-inf", "nan"):
        return float(x)
    return None


def output_contradictions(name: str, out: dict) -> list[str]:
    """Why one passing output's figures say it failed (empty: consistent)."""
    if not isinstance(out, dict):
        return []
    refereed = out.get("refereed") is True or REFEREED in str(out.get("note") or "")
    problems = []
    if out.get("passed") is False:
        problems.append(f"output {name!r} has \"passed\": false")
    if refereed:
        return problems
    n_bad = out.get("n_bad")
    if isinstance(n_bad, int) and not isinstance(n_bad, bool) and n_bad > 0:
        problems.append(f"output {name!r} counts {n_bad} element(s) out of tolerance")
    err = _num(out.get("max_abs_err"))
    if err is not None and not math.isfinite(err):
        problems.append(f"output {name!r} has max_abs_err {out.get('max_abs_err')!r}")
    a, e = _num(out.get("actual_at_worst")), _num(out.get("expected_at_worst"))
    atol, rtol = _num(out.get("atol")), _num(out.get("rtol"))
    if None not in (a, e, atol, rtol) and not (a == e or abs(a - e) <= atol + rtol * abs(e)):
        problems.append(f"output {name!r}: worst element numpy={a!r} keras={e!r} is outside "
                        f"atol={atol:g} + rtol={rtol:g} x |keras|")
    return problems


def row_contradictions(row: dict) -> list[str]:
    """Why a JSON report row with ``"status": "pass"`` contradicts its own report (empty when
    it does not, or when the row does not claim to pass)."""
    if not isinstance(row, dict) or row.get("status") != "pass":
        return []
    report = row.get("report")
    if not isinstance(report, dict):
        return []
    problems = []
    if report.get("passed") is False:
        problems.append("its report has \"passed\": false")
    for out in report.get("outputs") or []:
        if isinstance(out, dict):
            problems += output_contradictions(str(out.get("name")), out)
    return problems
