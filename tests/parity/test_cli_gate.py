"""``numpy-rnn parity`` as a CI gate, run in-process against tf.keras on a few cases each
(``--only``): exit codes, JSON against its schema, JUnit structure, baselines, random sweeps,
the reference switch, the plot, and the parity_check fixture."""
from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")

import importlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import xml.etree.ElementTree as ET  # noqa: E402

import numpy as np  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity import cli, gate  # noqa: E402
from parity.cases import random as cases_random, reference as cases_reference  # noqa: E402
from parity.gate.baseline import load_baseline  # noqa: E402

from tests.helpers import check_junit_structure  # noqa: E402

LAST = "lstm/default [keras->numpy]"          # last output only: (batch, units)
SEQ = "lstm/return_sequences [keras->numpy]"  # a sequence: per-timestep figures


def run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(["parity", *argv])
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory):
    """One run with every output file, shared by the tests that read them."""
    d = tmp_path_factory.mktemp("gate")
    paths = {k: str(d / n) for k, n in (("json", "r.json"), ("junit", "r.xml"),
                                         ("base", "b.json"), ("plot", "p.png"))}
    argv = ["parity", "--only", f"{SEQ},random", "--examples", "3", "--seed", "0",
            "--json", paths["json"], "--junit", paths["junit"], "--save-baseline", paths["base"]]
    if importlib.util.find_spec("matplotlib"):
        argv += ["--plot", paths["plot"]]
    out = io.StringIO()
    old, sys.stdout = sys.stdout, out
    try:
        code = cli.main(argv)
    finally:
        sys.stdout = old
    return code, out.getvalue(), paths


def test_passing_run_exits_0_with_a_table(gate_run):
    code, out, _ = gate_run
    assert code == 0, out
    for name in (SEQ, "random/lstm-000 [keras]", "random/lstm-002 [keras]"):
        assert name in out
    assert "4 passed, 0 failed" in out
    assert "\r" not in out  # not a terminal: plain lines


def test_json_report_matches_its_schema(gate_run):
    _, _, paths = gate_run
    data = json.loads(open(paths["json"]).read(), parse_constant=lambda c: pytest.fail(c))
    assert gate.validate(data, gate.REPORT_SCHEMA) == []
    assert data["passed"] is True and data["n_cases"] == 4 and data["seed"] == 0
    assert data["reference"] == "keras" and data["versions"]["tensorflow"] == tf.__version__
    by_case = {c["case"]: c for c in data["cases"]}
    seq = by_case[SEQ]["report"]["outputs"][0]
    assert seq["name"] == "sequence" and len(seq["error_by_timestep"]) == seq["shape"][1]
    assert seq["error_growth"] is not None and seq["max_ulp"] >= 0
    assert by_case["random/lstm-001 [keras]"]["params"]["index"] == 1
    data["cases"][0]["report"]["outputs"][0].pop("max_ulp")
    assert gate.validate(data, gate.REPORT_SCHEMA)  # the check can fail


def test_junit_file_structure(gate_run):
    _, _, paths = gate_run
    root = ET.parse(paths["junit"]).getroot()
    cases = check_junit_structure(root)
    assert set(cases) == {SEQ} | {f"random/lstm-00{i} [keras]" for i in range(3)}
    assert cases[SEQ].get("classname") == "core"
    assert cases["random/lstm-000 [keras]"].get("classname") == "random"
    assert root.get("failures") == "0" and root.get("tests") == "4"


def test_plot_file(gate_run):
    pytest.importorskip("matplotlib")
    _, out, paths = gate_run
    assert open(paths["plot"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "plot:" in out


def test_broken_layer_exits_1_naming_the_case(monkeypatch, capsys, tmp_path):
    step = numpy_rnn.LSTM.step

    def broken(self, x, states):  # a wrong output, as a gate-order bug would give
        h, new_states = step(self, x, states)
        return h * 1.05, new_states

    monkeypatch.setattr(numpy_rnn.LSTM, "step", broken)
    junit = tmp_path / "r.xml"
    code, out = run(capsys, "--only", f"{LAST},random", "--examples", "1", "--junit", str(junit))
    assert code == 1, out
    assert f"failed: {LAST}; random/lstm-000 [keras]" in out
    assert "parity FAILED: lstm/default [keras->numpy]" in out
    cases = check_junit_structure(ET.parse(junit).getroot())
    failure = cases[LAST].find("failure")
    assert failure is not None and "parity FAILED" in failure.text
    assert cases["random/lstm-000 [keras]"].find("failure") is not None


def test_baseline_catches_small_growth_inside_tolerance(monkeypatch, capsys, tmp_path):
    base = tmp_path / "base.json"
    code, out = run(capsys, "--only", LAST, "--save-baseline", str(base))
    assert code == 0, out
    assert LAST in load_baseline(str(base))["cases"]

    step = numpy_rnn.LSTM.step

    def nudged(self, x, states):  # scale the output by 1 + 4e-6: inside rtol 1e-5
        h, new_states = step(self, x, states)
        return h * np.float32(1 + 4e-6), new_states

    monkeypatch.setattr(numpy_rnn.LSTM, "step", nudged)
    report = tmp_path / "r.json"
    code, out = run(capsys, "--only", LAST, "--baseline", str(base), "--json", str(report))
    assert code == 1, out
    assert "REGRESSED" in out and f"REGRESSED {LAST}" in out
    data = json.loads(report.read_text())
    assert gate.validate(data, gate.REPORT_SCHEMA) == []
    case = data["cases"][0]
    assert case["status"] == "REGRESSED" and case["report"]["passed"] is True  # in tolerance
    assert case["baseline"]["growth"] > 4 and data["baseline"]["regressions"] == [LAST]


def test_baseline_reports_new_and_missing(capsys, tmp_path):
    base = tmp_path / "base.json"
    assert run(capsys, "--only", "random", "--examples", "2", "--save-baseline", str(base))[0] == 0
    code, out = run(capsys, "--only", "random", "--examples", "1", "--baseline", str(base))
    assert code == 0 and "missing   random/lstm-001 [keras]" in out, out
    code, out = run(capsys, "--only", "random", "--examples", "1", "--baseline", str(base),
                    "--fail-on-missing")
    assert code == 1, out
    code, out = run(capsys, "--only", "random", "--examples", "3", "--baseline", str(base))
    assert code == 0 and "new       random/lstm-002 [keras]" in out, out


def test_random_sweep_is_reproducible_from_the_seed(capsys, tmp_path):
    figures = []
    for seed in (11, 11, 12):
        path = tmp_path / f"{len(figures)}.json"
        code, out = run(capsys, "--only", "random", "--examples", "2", "--seed", str(seed),
                        "--json", str(path))
        assert code == 0, out
        data = json.loads(path.read_text())
        figures.append([(c["params"], c["report"]["max_abs_err"]) for c in data["cases"]])
    assert figures[0] == figures[1] and figures[0] != figures[2]
    code, out = run(capsys, "--list", "--examples", "2")
    assert code == 0 and "random/lstm-001 [keras]" in out and LAST in out


def test_reference_tf_keras_builds_tf_keras_layers(monkeypatch, capsys, tmp_path):
    pytest.importorskip("tf_keras")
    built = []
    real = parity.from_keras

    def spy(obj):
        built.append(type(obj).__module__.split(".")[0])
        return real(obj)

    monkeypatch.setattr(cases_random, "from_keras", spy)
    monkeypatch.setattr(cases_reference, "from_keras", spy)
    junit = tmp_path / "r.xml"
    code, out = run(capsys, "--reference", "tf_keras", "--examples", "2", "--only",
                    "random,tf_keras/lstm default,tf_keras/lstm relu", "--junit", str(junit))
    assert code == 0, out
    assert "against tf_keras" in out and "random/lstm-001 [tf_keras]" in out
    assert built and set(built) == {"tf_keras"}, built
    cases = check_junit_structure(ET.parse(junit).getroot())
    # tf_keras's hard_sigmoid is Keras 2's clip(0.2x + 0.5): from_keras maps it to
    # keras2_hard_sigmoid, so the row runs (and passes) instead of being skipped
    hard = cases["tf_keras/lstm relu/hard_sigmoid"]
    assert hard.find("skipped") is None and hard.find("failure") is None


def test_missing_reference_exits_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tf_keras", None)
    code = cli.main(["parity", "--reference", "tf_keras", "--only", LAST])
    assert code == 2
    err = capsys.readouterr().err
    assert "--reference tf_keras: tf_keras is not installed" in err and "numpy-rnn[legacy]" in err


def test_only_matching_nothing_exits_2(capsys):
    assert cli.main(["parity", "--only", "no-such-case-anywhere"]) == 2
    assert "matches no case" in capsys.readouterr().err


def test_progress_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.main(["parity", "--only", "random", "--examples", "2"]) == 0
    assert "\r\x1b[K[2/2] random/lstm-001 [keras] ..." in out.getvalue()


def test_parity_check_fixture(parity_check, request):
    # --parity-reference, else Keras 3 on this process's backend (TensorFlow here)
    assert parity_check.reference == (request.config.getoption("parity_reference") or "keras")
    k, n = parity_check.lstm_pair(4, 3, seed=1, return_sequences=True)
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    report = parity_check.assert_parity(n, k, x)
    assert report.passed and report.outputs[0].is_sequence
    n.bias[:] += 0.5  # break the twin: the failure message is the report
    with pytest.raises(AssertionError, match="parity FAILED"):
        parity_check.assert_parity(n, k, x)


# -- TensorFlow's start-up lines stay off the terminal ---------------------------------------------
# What counts as a start-up line is parity.bridge._tf.TF_NOISE_PATTERNS (proven on literal lines of
# other CPUs and GPUs in tests/unit/test_tf_noise.py); here the real TensorFlow, on this machine.
from parity.bridge._tf import is_tensorflow_noise  # noqa: E402

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _child_env(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _cli(tmp_path, *args):
    import subprocess

    return subprocess.run([sys.executable, "-m", "parity.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=_child_env(tmp_path),
                          cwd=tmp_path)


def _assert_no_tensorflow_noise(proc):
    __tracebackhide__ = True
    noise = [line for line in (proc.stdout + proc.stderr).splitlines() if is_tensorflow_noise(line)]
    assert not noise, proc.stderr


def test_parity_prints_no_tensorflow_startup_lines(tmp_path):
    """A masked LSTM case too: on an AVX-512 Xeon TensorFlow 2.21 writes its ERROR-level oneDNN
    DT_BOOL notice when it runs one."""
    proc = _cli(tmp_path, "parity", "--only",
                "dense/2-D activation=None [keras->numpy],lstm/mask right-pad [keras->numpy]")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed, 0 failed" in proc.stdout
    _assert_no_tensorflow_noise(proc)


def test_port_and_check_trace_print_no_tensorflow_startup_lines(tmp_path):
    """``numpy-rnn port`` (which runs the model in Keras) and ``check --trace`` (which runs the
    bundle's model in Keras layer by layer), each in a fresh process."""
    import keras

    model = keras.Sequential([keras.Input((5,), dtype="int32"),
                              keras.layers.Embedding(12, 4, mask_zero=True),
                              keras.layers.LSTM(3), keras.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    proc = _cli(tmp_path, "port", "m.keras", "-o", "m.npz", "--samples", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _assert_no_tensorflow_noise(proc)
    proc = _cli(tmp_path, "check", "--trace", "m.npz", "--samples", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "trace PASSED" in proc.stdout
    _assert_no_tensorflow_noise(proc)


def test_the_pytest_plugin_quiets_tensorflow_before_collection(tmp_path):
    """Run pytest with output uncaptured (-s) on a test module that imports TensorFlow at
    collection and predicts with a masked Keras LSTM (on an AVX-512 Xeon, TensorFlow 2.21 writes
    its ERROR-level oneDNN DT_BOOL notice there): the plugin quieted TensorFlow before
    collection, so none of its start-up lines reach pytest's progress line."""
    import subprocess

    (tmp_path / "test_tf_import.py").write_text(
        "import tensorflow as tf\nimport keras\nimport parity.pytest_plugin as plugin\n\n"
        f"def test_masked_lstm():\n    assert plugin.__file__.startswith({str(ROOT)!r})\n"
        "    model = keras.Sequential([keras.Input((5,), dtype='int32'),\n"
        "                              keras.layers.Embedding(12, 4, mask_zero=True),\n"
        "                              keras.layers.LSTM(3)])\n"
        "    assert model.predict(tf.constant([[0, 1, 2, 3, 4]]), verbose=0).shape == (1, 3)\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           "test_tf_import.py"],  # the plugin comes in by its pytest11 entry point
                          capture_output=True, text=True, timeout=300,
                          env=_child_env(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _assert_no_tensorflow_noise(proc)
