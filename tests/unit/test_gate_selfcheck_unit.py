"""The gate's own row of ``numpy-rnn parity`` (``parity.gate.selfcheck``), NumPy only: three
synthetic cases sharded two ways and merged equal the unsharded report, the row is part of the
canonical sweep, and merges planted with a bug (rows filed in the wrong order, with or without
the fingerprint check; a status lost on the way) turn the row red."""
from __future__ import annotations

from parity import gate
from parity.cases import all_cases
from parity.gate import catalog, merge, selfcheck, shard


def _row() -> gate.Outcome:
    (case,) = selfcheck.gate_cases(0)
    return gate.run_case(case)


def test_the_row_passes_and_measures_what_it_says():
    outcome = _row()
    assert outcome.status == "pass", outcome.text()
    names = [o.name for o in outcome.report.outputs]
    assert names[:3] == ["case order", "unsharded statuses", "rows (status, error, figures)"]
    assert {"passed", "n_failed", "n_errors", "sweep", "one shard missing is refused"} <= set(names)


def test_the_row_is_in_the_sweep_after_the_cases_groups():
    names = [c.name for c in catalog.sweep_cases(0, 2, "keras", None)]
    n = len(all_cases(0))
    assert names[n] == selfcheck.SHARDS_NAME
    assert names[:n] == [c.name for c in all_cases(0)]
    assert [c.name for c in catalog.sweep_cases(0, 0, "keras", "reach/gate*")] == [
        selfcheck.SHARDS_NAME]


def _contiguous(total: int, k: int, n: int) -> list[int]:
    """Planted: shard K's rows filed as a contiguous block (the merge's row order wrong)."""
    size = -(-total // n)
    return list(range((k - 1) * size, min(k * size, total)))


def test_teeth_rows_in_the_wrong_order_are_refused_by_the_fingerprint(monkeypatch):
    monkeypatch.setattr(merge, "shard_positions", _contiguous)
    outcome = _row()
    assert outcome.status == "ERROR" and "fingerprint" in outcome.error, outcome.text()


def test_teeth_rows_in_the_wrong_order_fail_the_row(monkeypatch):
    monkeypatch.setattr(merge, "shard_positions", _contiguous)
    monkeypatch.setattr(merge, "fingerprint", lambda names: selfcheck_fingerprint())
    outcome = _row()
    assert outcome.status == "FAIL", outcome.text()
    assert "case order" in [o.name for o in outcome.report.outputs if not o.passed]


def selfcheck_fingerprint() -> str:
    return shard.fingerprint([c.name for c in selfcheck.synthetic_cases()])


def test_teeth_a_status_lost_in_the_merge_fails_the_row(monkeypatch):
    real = merge.outcome_from_row

    def forgiving(row):
        o = real(row)
        if o.status == "FAIL":
            o.status = "pass"
        return o
    monkeypatch.setattr(merge, "outcome_from_row", forgiving)
    outcome = _row()
    assert outcome.status == "FAIL", outcome.text()
    bad = [o.name for o in outcome.report.outputs if not o.passed]
    assert "rows (status, error, figures)" in bad and "n_failed" in bad, bad


def test_teeth_a_merge_that_accepts_a_missing_shard_fails_the_row(monkeypatch):
    real = merge.merge_reports
    monkeypatch.setattr(selfcheck, "merge_reports",
                        lambda reports, allow_partial=False: real(reports, allow_partial=True))
    outcome = _row()
    assert outcome.status == "FAIL", outcome.text()
    assert "one shard missing is refused" in [o.name for o in outcome.report.outputs
                                              if not o.passed]
