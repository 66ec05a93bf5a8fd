"""TraceReport / TraceRow without TensorFlow: who is blamed, the table, the JSON.

Rows are built from ``numpy_rnn.testing.diff`` on hand-made arrays whose errors are chosen here
(0, 1e-7 inside float32 tolerance, 0.1 far outside), so every expected verdict is hand-derived.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from numpy_rnn.testing import GROWTH_FLOOR_FRACTION, diff
from parity.trace_report import TraceReport, TraceRow, error_growth

E = np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4)  # "keras": (batch, t, features)


def _d(name: str, err: float, at_t: int = 2) -> object:
    a = E.copy()
    a[1, at_t, 0] += np.float32(err)
    return diff(name, a, E, time_axis=1)


def _row(name: str, chained: float, isolated: float, **kw) -> TraceRow:
    return TraceRow(name, "LSTM", _d(name, chained), _d(name, isolated), **kw)


def test_error_growth_by_hand():
    assert error_growth(None, 1e-7, 1e-6) is None
    floor = GROWTH_FLOOR_FRACTION * 1e-6
    assert error_growth(1e-7, 4e-7, 1e-6) == pytest.approx((4e-7 + floor) / (1e-7 + floor))
    assert error_growth(0.0, 0.0, 1e-6) == 1.0
    assert error_growth(0.0, 1e-9, 1e-6) == pytest.approx(2.0)  # one floor over one floor
    assert error_growth(1e-7, math.inf, 1e-6) == math.inf


def test_blame_goes_to_the_first_layer_failing_alone():
    rows = [_row("a", 0.0, 0.0), _row("b", 0.1, 0.1), _row("c", 0.2, 1e-7)]
    r = TraceReport("case", rows)
    assert not r.passed and r.first_divergent == "b" and r.blame == "layer"
    assert [x.status for x in rows] == ["ok", "DIVERGES", "inherits"]
    assert [x.passed for x in rows] == [True, False, False]
    assert rows[1].first_bad_timestep == 2 and rows[1].isolated_first_bad_timestep == 2
    text = str(r)
    assert text.count("<- first divergent") == 1
    (marked,) = [line for line in text.splitlines() if "<- first divergent" in line]
    assert marked.split()[:2] == ["1", "b"]
    assert "first divergent layer: 'b' (LSTM, layer 1)" in text


def test_a_layer_failing_only_in_the_chain_is_not_blamed_before_one_failing_alone():
    # 'b' inherits a large chained error from nowhere visible, 'c' fails alone: 'c' is blamed
    rows = [_row("a", 0.0, 0.0), _row("b", 0.1, 1e-7), _row("c", 0.1, 0.1)]
    assert TraceReport("case", rows).first_divergent == "c"


def test_accumulated_error_without_a_failing_layer():
    rows = [_row("a", 1e-7, 1e-7), _row("b", 0.1, 1e-7)]
    r = TraceReport("case", rows)
    assert r.first_divergent == "b" and r.blame == "accumulated"
    assert "no layer diverges given identical input" in r.summary()


def test_all_pass():
    r = TraceReport("case", [_row("a", 0.0, 0.0), _row("b", 1e-7, 1e-7)])
    assert r.passed and r.first_divergent is None and r.blame is None
    assert r.summary() == "all 2 layers within tolerance"
    assert "trace PASSED: case" in r.format() and "<-" not in r.format()


def test_an_empty_trace_does_not_pass():
    assert not TraceReport("case", []).passed


def test_a_mask_mismatch_fails_the_row():
    rows = [_row("embed", 0.0, 0.0, mask_mismatch=3, isolated_mask_mismatch=3),
            _row("lstm", 0.1, 1e-7)]
    r = TraceReport("case", rows)
    assert r.first_divergent == "embed"
    assert "output mask differs from Keras's in 3 entries" in r.summary()
    assert "3 off" in r.format()


def test_json_is_strict_and_round_trips():
    shape_bug = diff("x", np.zeros((2, 3)), np.zeros((2, 4)))  # inf error
    rows = [_row("a", 0.0, 0.0), TraceRow("b", "Dense", shape_bug, shape_bug, growth=math.inf)]
    r = TraceReport("case", rows)
    text = r.to_json()
    data = json.loads(text)  # strict JSON: no NaN / Infinity literals
    assert "Infinity" not in text
    assert data["first_divergent"] == "b" and data["passed"] is False
    assert data["rows"][1]["max_abs_err"] == "inf" and data["rows"][1]["growth"] == "inf"
    back = TraceReport.from_dict(data)
    assert back.first_divergent == "b" and back.rows[1].max_abs_err == math.inf
    assert back.rows[0].output_shape == (2, 3, 4)
    assert back.format() == r.format()


def test_row_lookup_names_the_layers():
    r = TraceReport("case", [_row("a", 0.0, 0.0)])
    with pytest.raises(KeyError, match=r"'zz'.*\['a'\]"):
        r.row("zz")
