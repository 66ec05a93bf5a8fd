"""The CI gate's parts without TensorFlow: measurements, JSON schema, JUnit, baselines, random
draws, plot, CLI usage errors and the pytest plugin, all on fake reports."""
from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import io
import json
import math
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import parity
from parity import cli, gate
from parity.bridge import run as bridge_run
from parity.cases import Case
from parity.cases import random as cases_random
from parity.cli import parity_cmd
from parity.gate import baseline as bl
from parity.gate.junit import junit_xml
from parity.report import (ParityReport, add_observer, compare_outputs, diff_arrays,
                           growth_figures, json_safe, remove_observer)
from tests.helpers import check_junit_structure


# -- fakes ---------------------------------------------------------------------------------------
def seq_report(name: str, err_by_t: list[float], *, dtype=np.float32, kind="output") -> ParityReport:
    """A report whose sequence output has exactly ``err_by_t`` as its per-timestep max error."""
    t = len(err_by_t)
    expected = np.zeros((2, t, 3), dtype=np.float64)  # tolerance there: atol
    actual = expected.copy()
    actual[0, :, 0] += np.asarray(err_by_t)
    return compare_outputs(name, actual.astype(dtype), expected.astype(dtype), ["output"])


def fake_case(name: str, report=None, exc: Exception | None = None, group="core") -> Case:
    def run():
        if exc is not None:
            raise exc
        return report
    return Case(name, run, group)


def outcomes_mixed() -> list[gate.Outcome]:
    skipped = ParityReport("c/skip", [], skipped="tf_keras is not installed")
    cases = [
        fake_case("c/pass", seq_report("c/pass", [1e-8, 2e-8, 3e-8, 4e-8])),
        fake_case("c/fail", seq_report("c/fail", [1e-8, 1e-7, 5e-3, 9e-3])),
        fake_case("c/error", exc=RuntimeError("boom <&> \x01")),
        fake_case("c/skip", skipped, group="text"),
    ]
    return gate.run_cases(cases)


# -- measurements ----------------------------------------------------------------------------------
def test_diff_arrays_figures_on_a_sequence():
    d = seq_report("s", [0.0, 1e-7, 2e-7, 3e-6]).outputs[0]
    assert d.name == "sequence" and d.is_sequence
    assert d.max_abs_err == pytest.approx(3e-6, rel=1e-2)
    assert d.worst_index == (0, 3, 0)
    assert d.first_bad_timestep == 3 and not d.passed and d.n_bad == 1
    assert d.error_by_timestep[0] == 0.0 and len(d.error_by_timestep) == 4
    assert d.error_growth > 100 and d.error_slope > 0
    assert d.mean_abs_err == pytest.approx(np.mean([0, 1e-7, 2e-7, 3e-6]) / 6, rel=1e-2)
    assert "error growth x" in d.line()


def test_one_ulp_in_float32_reads_one_ulp():
    e = np.array([0.5, 1.0, 3.0], np.float32)
    a = np.nextafter(e, np.float32(10))
    d = diff_arrays("x", a, e)
    assert d.max_ulp == pytest.approx(1.0)
    assert d.dtype == "float32" and d.passed


def test_growth_figures():
    flat, slope = growth_figures([1e-7] * 8, atol=1e-6)
    assert flat == pytest.approx(1.0) and slope == pytest.approx(0.0, abs=1e-20)
    grow, slope = growth_figures([1e-8, 1e-8, 1e-7, 1e-6], atol=1e-6)
    assert grow == pytest.approx((1e-6 + 1e-9) / (1e-8 + 1e-9)) and slope > 0
    zero, _ = growth_figures([0.0, 0.0, 0.0, 0.0], atol=1e-6)
    assert zero == 1.0
    tiny, _ = growth_figures([0.0, 1e-12], atol=1e-6)  # below the floor: noise, not growth
    assert tiny == pytest.approx(1.0, rel=1e-2)
    assert growth_figures([5e-7], atol=1e-6)[1] == 0.0


def test_report_round_trips_through_strict_json():
    r = seq_report("s", [1e-8, 2e-8])
    bad = compare_outputs("shape", np.zeros((2, 3)), np.zeros((3, 3)), ["output"])
    for rep in (r, bad):
        text = rep.to_json()
        json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
        back = ParityReport.from_dict(json.loads(text))
        assert back.case == rep.case and back.passed == rep.passed
        assert [o.name for o in back.outputs] == [o.name for o in rep.outputs]
        assert back.outputs[0].worst_index == rep.outputs[0].worst_index
    assert math.isinf(ParityReport.from_dict(json.loads(bad.to_json())).max_abs_err)
    assert json_safe({"a": (1, float("nan")), "b": np.float32(2)}) == {"a": [1, "nan"], "b": 2.0}


def test_report_level_figures():
    r = seq_report("s", [1e-8, 4e-7])
    assert r.max_ulp == max(o.max_ulp for o in r.outputs)
    assert r.output("sequence") is r.outputs[0]
    with pytest.raises(KeyError, match="outputs: \\['sequence'\\]"):
        r.output("h")
    d = r.to_dict()
    assert {"max_abs_err", "max_rel_err", "max_ulp", "skipped", "outputs"} <= set(d)


def test_observer_sees_every_comparison_once(monkeypatch):
    seen = []
    add_observer(seen.append)
    try:
        compare_outputs("direct", np.zeros(3), np.zeros(3), ["output"])

        def fake_run_pair(np_obj, keras_obj, inputs, *, case, rtol=None, atol=None, **kw):
            return compare_outputs(case, np.ones(2), np.ones(2), ["output"])

        monkeypatch.setattr(bridge_run, "run_pair", fake_run_pair)
        parity.compare(object(), object(), None, case="via compare")
    finally:
        remove_observer(seen.append)
    assert [r.case for r in seen] == ["direct", "via compare"]
    compare_outputs("after", np.zeros(3), np.zeros(3), ["output"])
    assert len(seen) == 2


# -- running cases -----------------------------------------------------------------------------------
def test_run_case_statuses():
    by_name = {o.case: o for o in outcomes_mixed()}
    assert by_name["c/pass"].status == "pass"
    assert by_name["c/fail"].status == "FAIL" and by_name["c/fail"].failed
    assert by_name["c/error"].status == "ERROR" and "RuntimeError: boom" in by_name["c/error"].error
    assert "Traceback" in by_name["c/error"].traceback
    assert by_name["c/skip"].status == "skip" and by_name["c/skip"].group == "text"
    assert gate.counts(list(by_name.values()))["skip"] == 1


def test_select_matches_glob_and_substring():
    cases = [fake_case(n) for n in ("lstm/a [x]", "lstm/b", "gru/a")]
    assert [c.name for c in gate.select(cases, "gru")] == ["gru/a"]
    assert [c.name for c in gate.select(cases, "lstm/*,gru/a")] == ["lstm/a [x]", "lstm/b", "gru/a"]
    assert gate.select(cases, "nothing") == []
    assert gate.matches("anything", None)


# -- JSON report and schema ----------------------------------------------------------------------
def make_payload(outcomes=None, **kw) -> dict:
    outcomes = outcomes if outcomes is not None else outcomes_mixed()
    return gate.build_report(outcomes, seed=3, examples=0, reference="keras", only=None,
                             seconds=1.5, versions_=gate.versions(), **kw)


def test_report_validates_against_the_schema():
    payload = make_payload()
    assert gate.validate(payload, gate.REPORT_SCHEMA) == []
    text = json.dumps(payload, allow_nan=False)  # strict JSON
    assert gate.validate(json.loads(text), gate.REPORT_SCHEMA) == []
    assert payload["passed"] is False and payload["n_failed"] == 2 and payload["n_errors"] == 1
    assert payload["n_skipped"] == 1 and payload["n_passed"] == 1
    fail = next(c for c in payload["cases"] if c["case"] == "c/fail")
    out = fail["report"]["outputs"][0]
    assert out["first_bad_timestep"] == 2 and len(out["error_by_timestep"]) == 4


def test_validator_catches_what_is_wrong():
    payload = make_payload()
    payload["seed"] = "3"
    del payload["versions"]["numpy"]
    payload["cases"][0]["status"] = "passed"
    payload["cases"][1]["report"]["outputs"][0]["max_abs_err"] = "huge"
    errors = gate.validate(payload, gate.REPORT_SCHEMA)
    text = "\n".join(errors)
    assert "$.seed: '3' is not of type 'integer'" in text
    assert "$.versions: 'numpy' is a required property" in text
    assert "$.cases[0].status: 'passed' is not one of" in text
    assert "$.cases[1].report.outputs[0].max_abs_err: 'huge' is not valid" in text
    assert len(errors) == 4


def test_schema_is_plain_json_schema():
    """The printed schema is standard draft 2020-12 (no keyword of ours): any validator reads it."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(json.dumps(gate.REPORT_SCHEMA))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(make_payload(), schema)
    assert "enum_strings" not in json.dumps(schema)


def test_validate_without_jsonschema_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    with pytest.raises(ImportError, match=r"numpy-rnn\[test\]"):
        gate.validate(make_payload())


# -- JUnit -------------------------------------------------------------------------------------------
def test_junit_structure_and_content():
    outcomes = outcomes_mixed()
    xml = junit_xml(outcomes, properties={"seed": 3, "version.numpy": np.__version__})
    root = ET.fromstring(xml.encode("utf-8"))
    cases = check_junit_structure(root)
    assert set(cases) == {"c/pass", "c/fail", "c/error", "c/skip"}
    assert root.get("tests") == "4" and root.get("failures") == "1"
    assert root.get("errors") == "1" and root.get("skipped") == "1"
    assert cases["c/fail"].find("failure").get("type") == "ParityFailure"
    assert "parity FAILED: c/fail" in cases["c/fail"].find("failure").text
    assert "first bad timestep 2" in cases["c/fail"].find("failure").get("message")
    assert cases["c/error"].find("error").get("type") == "RuntimeError"
    assert "boom <&>" in cases["c/error"].find("error").get("message")  # escaped, \x01 dropped
    assert cases["c/skip"].find("skipped").get("message") == "tf_keras is not installed"
    assert cases["c/skip"].get("classname") == "text"
    assert cases["c/pass"].find("failure") is None
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["seed"] == "3"


def test_junit_regression_is_a_failure():
    base, now = base_and_now([1e-7, 1e-7], [1e-7, 5e-7])
    bl.compare_to_baseline(base, now, path="b", versions={})
    root = ET.fromstring(junit_xml(now).encode())
    cases = check_junit_structure(root)
    failure = cases["c/seq"].find("failure")
    assert root.get("failures") == "1" and failure.get("type") == "BaselineRegression"
    assert failure.get("message").startswith("REGRESSED: sequence max|err|")


def test_junit_structure_check_can_fail():
    root = ET.fromstring(junit_xml(outcomes_mixed()).encode())
    root.set("failures", "0")
    with pytest.raises(AssertionError):
        check_junit_structure(root)


# -- baselines --------------------------------------------------------------------------------------
def base_and_now(base_err: list[float], now_err: list[float], name="c/seq"):
    before = gate.run_cases([fake_case(name, seq_report(name, base_err))])
    base = bl.make_baseline(before, seed=0, examples=0, reference="keras",
                            versions={"tensorflow": "2.20.0", "numpy": "2.0"})
    now = gate.run_cases([fake_case(name, seq_report(name, now_err))])
    return base, now


def test_baseline_catches_growth_inside_tolerance():
    base, now = base_and_now([1e-7, 1e-7], [1e-7, 5e-7])  # 5x, still < atol 1e-6
    assert now[0].status == "pass"
    cmp = bl.compare_to_baseline(base, now, path="b.json", versions={"tensorflow": "2.21.0",
                                                                      "numpy": "2.0"})
    assert now[0].status == "REGRESSED" and cmp.regressions == ["c/seq"]
    assert now[0].baseline["growth"] == pytest.approx(5.0, rel=1e-2)
    assert now[0].baseline["ratio"] > 1
    assert "REGRESSED: sequence max|err| 1.000e-07 -> 5.000e-07" in now[0].baseline["message"]
    assert cmp.versions_changed == {"tensorflow": ["2.20.0", "2.21.0"]}
    assert any("tensorflow 2.20.0 -> 2.21.0" in line for line in cmp.summary_lines())


def test_baseline_growth_within_factor_passes():
    base, now = base_and_now([1e-7, 1e-7], [1e-7, 3.9e-7])
    bl.compare_to_baseline(base, now, path="b", versions={})
    assert now[0].status == "pass" and not now[0].baseline["regressed"]


def test_baseline_floor_zero_to_tiny_is_not_growth():
    base, now = base_and_now([0.0, 0.0], [0.0, 1e-9])
    bl.compare_to_baseline(base, now, path="b", versions={})
    assert now[0].status == "pass"
    assert math.isinf(now[0].baseline["growth"])  # measured growth, reported
    assert now[0].baseline["ratio"] == pytest.approx(1e-9 / (4 * 0.05 * 1e-6))
    base, now = base_and_now([0.0, 0.0], [0.0, 3e-7])  # past 4 x 0.05 x atol = 2e-7
    bl.compare_to_baseline(base, now, path="b", versions={})
    assert now[0].status == "REGRESSED"


def test_baseline_growth_factor_is_honoured():
    base, now = base_and_now([1e-7, 1e-7], [1e-7, 5e-7])
    bl.compare_to_baseline(base, now, path="b", versions={}, growth_factor=10.0)
    assert now[0].status == "pass"


def test_baseline_new_and_missing_cases():
    before = gate.run_cases([fake_case("a", seq_report("a", [1e-8])),
                             fake_case("gone", seq_report("gone", [1e-8]))])
    base = bl.make_baseline(before, seed=0, examples=0, reference="keras", versions={})
    now = gate.run_cases([fake_case("a", seq_report("a", [1e-8])),
                          fake_case("fresh", seq_report("fresh", [1e-8]))])
    cmp = bl.compare_to_baseline(base, now, path="b", versions={})
    assert cmp.new_cases == ["fresh"] and cmp.missing_cases == ["gone"]
    assert now[1].baseline["status"] == "new"
    cmp = bl.compare_to_baseline(base, now, path="b", versions={}, only="a,fresh")
    assert cmp.missing_cases == []  # --only left it out on purpose
    assert gate.validate(make_payload(now, baseline=cmp.to_dict()), gate.REPORT_SCHEMA) == []


def test_baseline_file_round_trip_and_errors(tmp_path):
    base, _ = base_and_now([1e-7], [1e-7])
    path = tmp_path / "base.json"
    bl.save_baseline(str(path), base)
    assert bl.load_baseline(str(path))["cases"]["c/seq"]["outputs"]["sequence"]["max_abs_err"] \
        == pytest.approx(1e-7, rel=1e-2)
    bad = {
        "not json": ("{oops", "not valid JSON"),
        "list": ("[1, 2]", "expected a JSON object, received a JSON list"),
        "other schema": ('{"schema": "x"}', "expected \"schema\": 'numpy-rnn-parity-baseline/1'"),
        "report": ('{"schema": "numpy-rnn-parity-report/1"}', "this is a --json report"),
        "malformed": (json.dumps({**base, "cases": {"c": {"outputs": [1]}}}),
                      "malformed baseline"),
    }
    for label, (text, message) in bad.items():
        p = tmp_path / f"{label}.json"
        p.write_text(text)
        with pytest.raises(bl.BaselineError, match=message) as info:
            bl.load_baseline(str(p))
        assert str(p) in str(info.value), label
    with pytest.raises(bl.BaselineError, match="cannot read"):
        bl.load_baseline(str(tmp_path / "missing.json"))


# -- random sweeps ----------------------------------------------------------------------------------
def test_random_draws_are_reproducible_and_prefix_stable():
    a = [cases_random.draw_random_lstm(5, i) for i in range(30)]
    b = [cases_random.draw_random_lstm(5, i) for i in range(30)]
    assert a == b
    assert [cases_random.draw_random_lstm(6, i) for i in range(30)] != a
    cases = cases_random.random_cases(5, 4)
    assert [c.name for c in cases] == [f"random/lstm-{i:03d} [keras]" for i in range(4)]
    assert cases[2].params == a[2].params() and cases[2].group == "random"


def test_random_draws_stay_well_conditioned_and_reference_safe():
    for i in range(300):
        spec = cases_random.draw_random_lstm(1, i, "tf_keras")
        if spec.config["activation"] not in cases_random.BOUNDED_ACTIVATIONS:
            assert spec.shape[1] <= cases_random.UNBOUNDED_MAX_TIMESTEPS
            assert spec.config["recurrent_activation"] in cases_random.POSITIVE_GATES
            assert spec.input_scale <= 1.0
    drawn = {cases_random.draw_random_lstm(1, i).config["recurrent_activation"] for i in range(300)}
    assert "hard_sigmoid" in drawn


def test_versions_has_every_key():
    v = gate.versions()
    assert set(v) == {"python", "numpy", "numpy_rnn", "tensorflow", "keras", "tf_keras", "jax",
                      "torch"}
    assert v["numpy"] == np.__version__
    assert gate.versions("keras,keras-jax")["backend"] == "tensorflow,jax"


# -- plot --------------------------------------------------------------------------------------------
def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from parity.gate.plot import plot_error_by_timestep

    path = tmp_path / "err.png"
    outcomes = outcomes_mixed() + gate.run_cases([fake_case(
        "f64", seq_report("f64", [1e-16, 0.0, 3e-16], dtype=np.float64))])
    assert plot_error_by_timestep(outcomes, str(path), title="t") == 3
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = tmp_path / "empty.png"
    assert plot_error_by_timestep([], str(empty)) == 0 and empty.stat().st_size > 0


def test_plot_without_matplotlib_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    from parity.gate.plot import require_matplotlib

    with pytest.raises(gate.GateError, match=r"numpy-rnn\[plot\]"):
        require_matplotlib()
    assert cli.main(["parity", "--plot", "x.png"]) == 2
    assert "numpy-rnn[plot]" in capsys.readouterr().err


# -- CLI paths that stop before TensorFlow --------------------------------------------------------
def test_cli_schema_prints_the_schema(capsys):
    assert cli.main(["parity", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["$id"] == gate.REPORT_SCHEMA_ID


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "--seed: expected a non-negative integer, received -1"),
    (["--growth-factor", "1"], "--growth-factor: expected a number > 1, received 1.0"),
    (["--reference", "torch"], "--reference: expected one of ['keras', 'keras-jax', "
                               "'keras-numpy', 'keras-torch', 'tf_keras'] (or a comma list of "
                               "them), received 'torch'"),
    (["--reference", "keras,"], "--reference: expected a reference or a comma list of them"),
    (["--reference", "keras,keras-jax,keras"], "--reference: each reference once, received "
                                               "'keras' 2 times"),
    (["--growth-floor", "-1"], "--growth-floor: expected a number >= 0, received -1.0"),
    (["--json", "/no/such/dir/r.json"], "--json: expected a file in an existing directory"),
    (["--junit", "/no/such/dir/r.xml"], "--junit: expected a file in an existing directory"),
])
def test_cli_usage_errors_exit_2(argv, message, capsys):
    assert cli.main(["parity", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--examples", "-1"], "expected a non-negative integer, received -1"),
    (["--examples", "x"], "expected a non-negative integer, received 'x'"),
    (["--growth-factor", "big"], "expected a number, received 'big'"),
])
def test_cli_argparse_errors_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["parity", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_bad_baseline_exits_2(tmp_path, capsys):
    p = tmp_path / "b.json"
    p.write_text("not json")
    assert cli.main(["parity", "--baseline", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"--baseline {p}: not valid JSON" in err
    base, _ = base_and_now([1e-7], [1e-7])  # seed 0, reference keras
    bl.save_baseline(str(p), base)
    assert cli.main(["parity", "--baseline", str(p), "--seed", "4"]) == 2
    assert "taken with --seed 0, this run has --seed 4" in capsys.readouterr().err
    assert cli.main(["parity", "--baseline", str(p), "--reference", "tf_keras"]) == 2
    assert "taken with --reference keras" in capsys.readouterr().err


def test_cli_without_tensorflow_exits_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    assert cli.main(["parity", "--only", "lstm/default"]) == 2
    assert "numpy-rnn[keras]" in capsys.readouterr().err


def test_progress_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    live, plain = Tty(), io.StringIO()
    for stream in (live, plain):
        p = parity_cmd.Progress(3, stream)
        p.start(0, "lstm/x")
        p.clear()
    assert "[1/3] lstm/x" in live.getvalue() and "\r" in live.getvalue()
    assert plain.getvalue() == ""


# -- the pytest plugin ---------------------------------------------------------------------------
def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_plugin_is_registered_and_cheap_to_import():
    eps = importlib.metadata.entry_points()
    group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", [])
    assert "parity.pytest_plugin" in {ep.value for ep in group}
    proc = _run("import sys, parity.pytest_plugin, parity.cli, parity.gate, parity.cases\n"
                "parity.cli.build_parser()\nparity.gate.versions()\n"
                "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                "('tensorflow', 'keras', 'tf_keras', 'matplotlib')))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


PLUGIN_TESTS = '''
import numpy as np
import parity

def test_fixture_and_direct_compare(parity_check):
    assert parity_check.reference == "{reference}"
    report = parity.compare_outputs("direct ok", np.zeros((2, 3, 1)), np.zeros((2, 3, 1)),
                                    ["output"])
    assert report.passed

def test_failing_comparison():
    report = parity.compare_outputs("made to fail", np.ones(3), np.zeros(3), ["output"])
    assert report.passed, "see the parity reports section"
'''


def test_plugin_collects_every_comparison_and_shows_failures(tmp_path):
    reference = "tf_keras" if importlib.util.find_spec("tf_keras") else "keras"
    (tmp_path / "test_uses_plugin.py").write_text(PLUGIN_TESTS.format(reference=reference))
    out = tmp_path / "parity-report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), "--parity-report", str(out), "--parity-reference", reference,
         str(tmp_path / "test_uses_plugin.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 1 passed" in proc.stdout
    assert "parity reports" in proc.stdout and "parity FAILED: made to fail" in proc.stdout
    assert "parity: 2 comparison(s), 1 failed, written to" in proc.stdout
    data = json.loads(out.read_text())
    assert data["n_comparisons"] == 2 and data["n_failed"] == 1 and data["passed"] is False
    by_case = {c["case"]: c for c in data["comparisons"]}
    assert by_case["direct ok"]["test"].endswith("::test_fixture_and_direct_compare")
    assert by_case["made to fail"]["report"]["outputs"][0]["max_abs_err"] == 1.0
    assert by_case["direct ok"]["report"]["outputs"][0]["error_by_timestep"] == [0.0] * 3


def test_plugin_rejects_a_bad_report_path(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), "--parity-report", str(tmp_path / "no" / "dir.json"),
         str(tmp_path / "test_x.py")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "--parity-report: expected a file in an existing directory" in proc.stderr


def test_a_case_whose_outputs_were_renamed_is_not_silently_compared():
    """A case in the baseline whose outputs now have other names (e.g. Keras's layer-name counter
    leaking across cases) compares nothing: it is reported as new, never as 'compared'."""
    base, _ = base_and_now([1e-7, 1e-7], [1e-7, 1e-7])
    report = seq_report("c/seq", [1e-7, 9e-7])
    report = ParityReport("c/seq", [dataclasses.replace(d, name="d lstm_1/kernel")
                                    for d in report.outputs])
    now = gate.run_cases([fake_case("c/seq", report)])
    cmp = bl.compare_to_baseline(base, now, path="b.json", versions={})
    assert now[0].baseline["status"] == "new" and cmp.new_cases == ["c/seq"]
    assert "no output in common" in now[0].baseline["message"]
    assert "d lstm_1/kernel" in now[0].baseline["message"]
