"""The backend machinery without any backend: reference names, the known deviations' rules, the
drift report's comparisons and referee (NumPy only; tests/parity/test_backends.py runs them)."""
from __future__ import annotations

import numpy as np
import pytest

from parity.bridge import backend, deviations, references
from parity.gate import drift
from parity.report import ParityReport, capturing, diff_arrays


def test_parse_references():
    assert references.parse_references("keras") == ["keras"]
    assert references.parse_references(" keras-jax, keras ") == ["keras-jax", "keras"]
    for bad, message in (("", "expected a reference"), ("keras,,keras-jax", "expected a reference"),
                         ("jax", "received 'jax'"), ("keras,keras", "each reference once")):
        with pytest.raises(ValueError, match=message):
            references.parse_references(bad)
    assert {references.reference_backend(r) for r in references.REFERENCES} == {
        "tensorflow", "jax", "torch", "numpy"}


def test_configured_follows_keras_backend_rules(monkeypatch, tmp_path):
    monkeypatch.delitem(__import__("sys").modules, "keras", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert backend.configured() == "tensorflow"
    (tmp_path / "keras.json").write_text('{"backend": "torch"}')
    assert backend.configured() == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert backend.configured() == "jax"
    with pytest.raises(backend.BackendMismatch, match="KERAS_BACKEND=torch"):
        backend.require("torch")  # refused before anything is imported


def _failing(dtype: str, err: float = 1e-7) -> ParityReport:
    e = np.linspace(-1, 1, 8).astype(dtype)
    return ParityReport("case", [diff_arrays("output", e + dtype_type(dtype)(err), e)])


def dtype_type(dtype: str):
    return np.dtype(dtype).type


@pytest.mark.parametrize("running, excused", [("jax", True), ("torch", True), ("numpy", True),
                                              ("tensorflow", False)])
def test_float64_promotion_excuses_only_float64_failures_on_its_backends(monkeypatch, running,
                                                                          excused):
    monkeypatch.setattr(backend, "configured", lambda: running)
    report = deviations.excuse(_failing("float64"))
    assert bool(report.skipped) is excused and not report.passed
    if excused:
        assert "float64-promotion" in report.skipped and f"Keras on {running}" in report.skipped
    assert deviations.excuse(_failing("float32", 1e-3)).skipped is None  # a float32 failure
    assert deviations.excuse(_failing("float64", 0.0)).skipped is None   # a pass stays a pass


def test_masked_step_output_needs_a_mask_and_a_state(monkeypatch):
    monkeypatch.setattr(backend, "configured", lambda: "jax")
    mask = np.ones((2, 3), bool)
    assert deviations.excuse(_failing("float32", 1e-3), mask=mask).skipped is None
    assert deviations.excuse(_failing("float32", 1e-3), initial_state=[0]).skipped is None
    for kw in ({"initial_state": [0]}, {"stateful": True}):
        assert "masked-step-output" in deviations.excuse(_failing("float32", 1e-3), mask=mask,
                                                         **kw).skipped
    monkeypatch.setattr(backend, "configured", lambda: "torch")
    assert deviations.excuse(_failing("float32", 1e-3), mask=mask, stateful=True).skipped is None


def _rows(values: dict, numpy_side: np.ndarray | None = None, exact: dict | None = None) -> list:
    """Capture rows as a worker writes them: expected arrays, NumPy's digest, float64 answers."""
    with capturing() as cap:
        for name, e in values.items():
            diff_arrays(name, e if numpy_side is None else numpy_side, e)
    return [{"name": n, "array": a, "how": h, "exact": (exact or {}).get(n)}
            for n, a, h in cap.rows]


def test_compare_rows_measures_each_row_at_its_tolerance():
    e = np.linspace(-1, 1, 10).astype("float32")
    same = drift.compare_rows(_rows({"y": e}, e), _rows({"y": e + np.float32(2e-7)}, e))
    assert same["passed"] is True and same["worst_row"] == "y"
    apart = drift.compare_rows(_rows({"y": e}, e), _rows({"y": e + np.float32(1e-4)}, e))
    assert apart["passed"] is False and apart["disagreeing"] == [0]
    assert apart["max_abs_diff"] == pytest.approx(1e-4, rel=1e-3)


def test_runs_on_different_weights_are_not_compared():
    e = np.linspace(-1, 1, 10).astype("float32")
    result = drift.compare_rows(_rows({"y": e}, e), _rows({"y": e + 1}, e + 1))
    assert result["passed"] is None and result["note"].startswith("not comparable")


def test_referee_names_the_backend_closer_to_the_float64_answer():
    exact = np.linspace(-1, 1, 10)
    near = (exact + 1e-6).astype("float32")
    far = (exact + 1e-4).astype("float32")
    a = _rows({"y": near}, near, {"y": exact})
    b = _rows({"y": far}, near, {"y": exact + 1e-15})
    (row,) = drift.referee_rows("keras-jax", "keras-torch", a, b, [0])
    assert row["closer"] == "keras-jax" and row["float64_gap"] < 1e-14
    # a float64 row: only a trusted (TensorFlow) float64 answer judges it
    a64 = _rows({"y": exact + 1e-7}, exact, {"y": exact + 1e-7})  # its own float64: itself
    b64 = _rows({"y": exact}, exact, {"y": exact})
    (undecided,) = drift.referee_rows("keras-jax", "keras-torch", a64, b64, [0])
    assert undecided["closer"] is None and "no independent" in undecided["note"]
    assert undecided["float64_gap"] == pytest.approx(1e-7)
    trusted = ("keras", _rows({"y": exact}, exact, {"y": exact}))
    (judged,) = drift.referee_rows("keras-jax", "keras-torch", a64, b64, [0], trusted)
    assert judged["closer"] == "keras-torch" and judged["exact_from"] == "keras"
    # a float64 row no comparison gave a float64 answer for: TensorFlow's own row is one
    plain = [[dict(r, exact=None) for r in rows] for rows in (a64, b64, trusted[1])]
    (judged,) = drift.referee_rows("keras-jax", "keras-torch", plain[0], plain[1], [0],
                                   ("keras", plain[2]))
    assert judged["closer"] == "keras-torch" and judged["exact_from"] == "keras"


def test_case_drift_and_markdown():
    e = np.linspace(-1, 1, 10).astype("float32")
    caps = {"keras": _rows({"y": e}, e), "keras-jax": _rows({"y": e + 1e-3}, e)}

    class O:  # an Outcome's two fields the drift entry reads
        status, report = "pass", ParityReport("c", [diff_arrays("y", e, e)])

    entry = drift.case_drift("c", ["keras", "keras-jax"], {"keras": O, "keras-jax": O}, caps)
    (pair,) = entry["pairs"]
    assert pair["passed"] is False and pair["disagreeing_rows"] == ["y"]
    assert pair["referee"][0]["note"].startswith("no float64 answer")
    md = drift.drift_markdown({"references": ["keras", "keras-jax"], "n_cases": 1,
                               "n_disagreeing": 1, "cases": [entry]})
    assert "| `c` | 0.00e+00 | 0.00e+00 | 1.00e-03 DIFFER |" in md


def test_family_table_counts_statuses_skip_reasons_drift_and_verdicts():
    """``python -m parity.gate.drift --families``: per family, each reference's pass / skip /
    fail, the skips by deviation, the pairs' agree / DIFFER / n/c and the referee's verdicts."""
    assert drift.family_of("grad/conv/Conv1D/x @keras-jax") == "conv"
    assert drift.family_of("masking(0.5) -> gru") == "masking"
    assert drift.skip_label("known deviation of Keras on jax ('float64-promotion', docs): x") \
        == "float64-promotion"
    assert drift.skip_label("BackendUnsupported: Keras supports it on TensorFlow only") \
        .startswith("TensorFlow-only: Keras supports")
    cases = [{"case": "lstm/a @keras", "reference": "keras", "status": "pass"},
             {"case": "lstm/a @keras-jax", "reference": "keras-jax", "status": "skip",
              "skipped": "known deviation of Keras on jax ('float64-promotion', x)"},
             {"case": "grad/lstm/b @keras", "reference": "keras", "status": "pass"},
             {"case": "grad/lstm/b @keras-jax", "reference": "keras-jax", "status": "FAIL"}]
    pairs = [{"a": "keras", "b": "keras-jax", "passed": False, "max_abs_diff": 2e-7,
              "referee": [{"closer": "keras"}, {"closer": "keras"}]},
             {"a": "keras", "b": "keras-jax", "passed": True, "max_abs_diff": 1e-8}]
    report = {"cases": cases, "drift": {"references": ["keras", "keras-jax"], "cases": [
        {"case": "lstm/a", "pairs": [pairs[0]]}, {"case": "grad/lstm/b", "pairs": [pairs[1]]}]}}
    md = drift.family_markdown(report)
    assert ("| `lstm` | 2 | 2 / 0 / 0 | 0 / 1 / 1 | 1 / 1 / 0 (2.00e-07) | keras 2 | "
            "keras-jax: 1 `float64-promotion` |") in md, md
