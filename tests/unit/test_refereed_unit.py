"""A row the float64 referee passed says so: in its text line, in the JSON report (``refereed``
per output, schema backward compatible), in ``numpy-rnn parity``'s table and summary, and in the
``--plot`` legend.  Without TensorFlow: the referee's judgement on synthetic arrays."""
from __future__ import annotations

import json

import numpy as np
import pytest

from parity import cli, gate
from parity.bridge.referee import referee
from parity.cases import Case
from parity.cli import parity_cmd
from parity.gate.consistency import output_contradictions
from parity.gate.plot import curve_label, sequence_curves
from parity.report import ParityReport, compare_outputs


def _arrays():
    """keras float32 2e-6 from the exact answer at one element, numpy 1e-6 on the other side:
    they disagree by 3e-6 (> atol 1e-6), numpy is the closer one."""
    exact = np.zeros((2, 4, 3), np.float64)
    exact[0, 3, 0] = 0.01
    keras = exact.copy()
    keras[0, 3, 0] += 2e-6
    numpy = exact.copy()
    numpy[0, 3, 0] -= 1e-6
    return numpy.astype(np.float32), keras.astype(np.float32), exact


def refereed_report(case: str = "lstm/softsign/linear", *, numpy_off: float = 0.0) -> ParityReport:
    a, e, r = _arrays()
    a = a + np.float32(numpy_off)
    report = compare_outputs(case, a, e, ["sequence"])
    assert not report.passed  # the plain table fails it
    return ParityReport(case, [referee(report.outputs[0], a, e, r, case)])


def test_referee_marks_the_row():
    report = refereed_report()
    (d,) = report.outputs
    assert d.passed and d.refereed and report.passed
    assert report.refereed == [d]
    assert "refereed by float64 Keras" in d.line()
    assert "refereed by float64 Keras" in str(report)


def test_referee_marks_a_row_it_fails_too():
    report = refereed_report(numpy_off=1e-3)
    assert not report.passed and report.outputs[0].refereed


def test_a_plain_row_is_not_marked():
    a, e, _ = _arrays()
    report = compare_outputs("plain", e, e, ["sequence"])
    assert report.passed and report.refereed == [] and not report.outputs[0].refereed
    assert "refereed" not in report.outputs[0].line()


def test_json_carries_refereed_and_old_reports_still_read():
    report = refereed_report()
    d = json.loads(report.to_json())
    out = d["outputs"][0]
    assert out["refereed"] is True
    back = ParityReport.from_dict(d)
    assert back.outputs[0].refereed and back.passed
    old = dict(out)
    del old["refereed"]  # a report written before the field: its note says it
    assert ParityReport.from_dict({**d, "outputs": [old]}).outputs[0].refereed
    plain = dict(old, note="")
    assert not ParityReport.from_dict({**d, "outputs": [plain]}).outputs[0].refereed
    # a passing refereed row is consistent even though its plain figures lie outside the table
    assert output_contradictions("sequence", out) == []
    assert output_contradictions("sequence", dict(out, refereed=False, note="")) != []


def _outcomes():
    good = compare_outputs("c/plain", *(_arrays()[1],) * 2, ["sequence"])
    cases = [Case("c/plain", lambda: good, "core"), Case("c/refereed", refereed_report, "core")]
    return gate.run_cases(cases)


def test_report_schema_accepts_refereed_and_its_absence():
    pytest.importorskip("jsonschema")
    outcomes = _outcomes()
    payload = json.loads(json.dumps(gate.build_report(
        outcomes, seed=0, examples=0, reference="keras", only=None, seconds=1.0,
        versions_=gate.versions())))
    assert gate.validate(payload) == []
    rows = {c["case"]: c for c in payload["cases"]}
    assert rows["c/refereed"]["report"]["outputs"][0]["refereed"] is True
    assert rows["c/plain"]["report"]["outputs"][0]["refereed"] is False
    for c in payload["cases"]:  # backward compatible: a report without the field validates
        del c["report"]["outputs"][0]["refereed"]
    assert gate.validate(payload) == []
    payload["cases"][0]["report"]["outputs"][0]["refereed"] = "yes"
    assert gate.validate(payload) != []


def test_plot_names_a_refereed_curve():
    curves = {c["case"]: c for c in sequence_curves(_outcomes())}
    assert curves["c/refereed"]["refereed"] and not curves["c/plain"]["refereed"]
    assert "refereed by float64 Keras" in curve_label(curves["c/refereed"])
    assert "refereed" not in curve_label(curves["c/plain"])


def test_plot_draws_it(tmp_path):
    pytest.importorskip("matplotlib")
    from parity.gate.plot import plot_error_by_timestep
    assert plot_error_by_timestep(_outcomes(), str(tmp_path / "p.png")) == 2


def test_the_sweep_table_says_refereed(monkeypatch, capsys, tmp_path):
    cases = [Case("c/plain", lambda: compare_outputs("c/plain", *(_arrays()[1],) * 2,
                                                     ["sequence"]), "core"),
             Case("c/refereed", refereed_report, "core")]
    monkeypatch.setattr(parity_cmd, "sweep_cases", lambda *a, **k: list(cases))
    monkeypatch.setattr(parity_cmd, "_check_environment", lambda args: None)
    path = tmp_path / "r.json"
    assert cli.main(["parity", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("c/")}
    assert "refereed by float64 Keras" in lines["c/refereed"], out
    assert "refereed" not in lines["c/plain"], out
    assert "max|numpy-exact|" in out  # the figures the verdict rests on
    assert "1 case(s) refereed by float64 Keras" in out, out
    rows = {c["case"]: c for c in json.loads(path.read_text())["cases"]}
    assert rows["c/refereed"]["report"]["outputs"][0]["refereed"] is True
