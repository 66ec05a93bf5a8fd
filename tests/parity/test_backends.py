"""Keras's other backends as references (docs/backends.md): JAX (in the ``test`` extra, so CI
runs these) and PyTorch (when installed).

Keras picks its backend once per process, so everything that runs Keras on JAX or PyTorch runs
in a subprocess started with ``KERAS_BACKEND`` -- with TensorFlow *blocked* there and in every
process it starts (a ``sitecustomize`` that makes ``tensorflow`` and ``tf_keras`` look not
installed: ``sys.modules[name] = None``, so ``import`` fails and ``find_spec`` finds nothing),
which proves those paths never need it:

* the in-process API under that backend: ``from_keras`` / ``to_keras`` / ``compare`` /
  ``assert_parity`` / ``compare_gradients`` (the backend's own autodiff) / ``compare_training``
  / ``trace`` / the float64 referee, on small layers and a model;
* ``numpy-rnn parity --reference keras-jax`` on a few cases (worker processes), its JSON
  report naming the backend;
* ``numpy-rnn port`` of a ``.keras`` file written by Keras on JAX, checked against JAX;
* a process whose backend disagrees with the reference it is asked for: a clear error;
* teeth: a NumPy bug planted in every process (``sitecustomize``) fails the sweep against
  every reference, and the multi-reference drift report.

The shared CI budget: a few tens of seconds (tiny shapes; one subprocess per group).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from parity.bridge import backend, references

ROOT = Path(__file__).resolve().parents[2]
#: The Keras backends besides TensorFlow these tests run on when installed.
OTHER_BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(not backend.installed(b),
                                                           reason=f"{b} is not installed"))
                  for b in ("jax", "torch")]

#: In a ``sitecustomize``: TensorFlow and tf_keras are not installed, for this process and every
#: worker process it spawns.
BLOCK_TF = textwrap.dedent("""
    import sys
    for _name in ('tensorflow', 'tf_keras'):
        sys.modules[_name] = None
""")


def site_dir(tmp_path: Path, *sources: str) -> str:
    """A directory holding a ``sitecustomize.py`` made of ``sources`` (every Python process
    started with it on ``PYTHONPATH`` runs it at start-up)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text("\n".join(textwrap.dedent(s) for s in sources))
    return str(site)


def _env(keras_backend: str | None, extra_path: str | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, str(ROOT),
                                                    env.get("PYTHONPATH")) if p)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if keras_backend is None:
        env.pop("KERAS_BACKEND", None)
    else:
        env["KERAS_BACKEND"] = keras_backend
    return env


def run_python(code: str, keras_backend: str | None, *args: str, site: str | None = None,
               timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -c code args`` with ``KERAS_BACKEND`` and ``site`` (:func:`site_dir`)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env=_env(keras_backend, site), cwd=str(ROOT))


@pytest.fixture
def no_tf(tmp_path) -> str:
    """A site directory that blocks TensorFlow (:data:`BLOCK_TF`)."""
    return site_dir(tmp_path, BLOCK_TF)


CLI = "from parity.cli import main; import sys; sys.exit(main(sys.argv[1:]))"


#: The in-process API on a backend: every public entry point on tiny layers and a model.
API_SCRIPT = """
    import sys
    import numpy as np
    import numpy_rnn, parity
    from parity.bridge import backend
    keras = backend.require()
    assert keras.backend.backend() == sys.argv[1], keras.backend.backend()
    assert sys.modules.get("tensorflow") is None  # not imported (or blocked)
    rng = np.random.default_rng(0)
    results = {}

    def ok(report, dtype="float32"):  # float64 on JAX / PyTorch: Keras's float64-promotion
        excused = report.skipped and "float64-promotion" in report.skipped
        return report.passed or bool(dtype == "float64" and excused)

    # a layer: forward both ways, masks and initial state, float32 and float64
    for dtype in ("float32", "float64"):
        k = keras.layers.LSTM(4, return_sequences=True, return_state=True, dtype=dtype)
        k.build((None, None, 3))
        k.set_weights([rng.normal(size=w.shape).astype(dtype) for w in k.get_weights()])
        x = rng.normal(size=(3, 5, 3)).astype(dtype)
        mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 1, 0, 1]], bool)
        n = parity.from_keras(k)
        results[f"compare {dtype}"] = ok(parity.compare(n, k, x, mask=mask), dtype)
        back = parity.to_keras(n)
        results[f"to_keras {dtype}"] = ok(parity.compare(n, back, x), dtype)
        results[f"gradients {dtype}"] = ok(parity.compare_gradients(n, k, x, mask=mask), dtype)
        if dtype == "float32":
            parity.assert_parity(n, k, x, mask=mask)

    # a model: gradients with a loss, training steps, the trace, the float64 referee
    model = keras.Sequential([keras.Input((6,), dtype="int32"),
                              keras.layers.Embedding(11, 4, mask_zero=True),
                              keras.layers.GRU(5, return_sequences=True),
                              keras.layers.Dense(3)])
    ids = rng.integers(0, 11, size=(4, 6)).astype("int32")
    twin = parity.from_keras(model)
    y = rng.normal(size=(4, 6, 3)).astype("float32")
    results["model gradients mse"] = parity.compare_gradients(twin, model, ids, targets=y,
                                                             loss="mse").passed
    results["trace"] = parity.trace(twin, model, ids).first_divergent is None
    from parity.bridge.referee import refereed_parity
    results["referee"] = refereed_parity(twin, model, ids).passed
    twin.compile(optimizer="sgd", loss="mse")
    results["training"] = parity.compare_training(twin, model, ids, y, steps=2).passed
    print(results)
    sys.exit(0 if all(results.values()) else 1)
"""


@pytest.mark.parametrize("name", OTHER_BACKENDS)
def test_in_process_api_on_the_backend_without_tensorflow(name, no_tf):
    proc = run_python(API_SCRIPT, name, name, site=no_tf)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", OTHER_BACKENDS)
def test_cli_reference_runs_the_backend_in_workers(name, tmp_path, no_tf):
    report = tmp_path / "r.json"
    proc = run_python(CLI, None, "parity", "--reference", f"keras-{name}", "--only",
                      "dense/2-D,grad/dense/2-D activation=None,merging/maximum,"
                      "grad/merging/maximum", "--json", str(report), site=no_tf)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"on {name}" in proc.stdout and " 0 failed" in proc.stdout
    data = json.loads(report.read_text())
    assert data["n_cases"] == 5 and data["n_passed"] >= 4  # grad/merging/maximum too
    for case in data["cases"]:  # PyTorch's float64 maximum is float32: that row is excused
        assert case["status"] == "pass" or "float64-promotion" in case["skipped"], case
    assert data["reference"] == f"keras-{name}" and data["versions"]["backend"] == name
    assert data["versions"][name] is not None


@pytest.mark.parametrize("name", OTHER_BACKENDS)
def test_port_checks_a_keras_file_against_the_backend_that_wrote_it(name, tmp_path, no_tf):
    path, out = tmp_path / "m.keras", tmp_path / "m.npz"
    write = run_python("""
        import sys, numpy as np
        from parity.bridge import backend
        keras = backend.require()
        model = keras.Sequential([keras.Input((5,), dtype="int32"),
                                  keras.layers.Embedding(9, 4, mask_zero=True),
                                  keras.layers.LSTM(3), keras.layers.Dense(2)])
        model.save(sys.argv[1])
    """, name, str(path), site=no_tf)
    assert write.returncode == 0, write.stderr
    proc = run_python(CLI, name, "port", str(path), "-o", str(out), site=no_tf)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"checked against keras" in proc.stdout and f" on {name}" in proc.stdout
    assert "parity PASSED" in proc.stdout and out.exists()


def test_port_falls_back_to_an_installed_backend(tmp_path, monkeypatch):
    from parity.bridge import port

    monkeypatch.setattr(backend, "configured", lambda: "torch")
    monkeypatch.setattr(backend, "installed", lambda b: b in ("jax", "tensorflow"))
    chosen, why = port.choose_backend("jax")
    assert chosen == "jax" and why == "the backend that wrote the file"
    chosen, why = port.choose_backend(None)
    assert chosen == "tensorflow" and "does not record" in why and "torch is not installed" in why
    assert port.recorded_backend({"keras_version": "3.15.1"}) is None
    assert port.recorded_backend({"backend": "jax"}) == "jax"


def test_a_mismatched_backend_is_an_error_never_a_switch(monkeypatch):
    running = backend.configured()
    other = "jax" if running != "jax" else "tensorflow"
    with pytest.raises(backend.BackendMismatch, match=f"runs Keras on the '{running}' backend"):
        backend.require(other)
    monkeypatch.setattr(references, "missing", lambda name: None)  # as if installed
    with pytest.raises(backend.BackendMismatch, match=f"KERAS_BACKEND={other}"):
        references.reference_module("keras-jax" if other == "jax" else "keras")
    assert backend.configured() == running


def test_unknown_and_uninstalled_references_exit_2(monkeypatch, capsys):
    from parity.cli import main

    assert main(["parity", "--reference", "keras-mxnet"]) == 2
    assert "expected one of ['keras', 'keras-jax', 'keras-numpy', 'keras-torch', 'tf_keras']" \
        in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "torch", None)  # an import that fails: not installed
    assert main(["parity", "--reference", "keras-torch", "--only", "dense/2-D"]) == 2
    err = capsys.readouterr().err
    assert "--reference keras-torch: torch is not installed" in err and "numpy-rnn[torch]" in err


def test_keras_numpy_reference_skips_what_needs_autodiff():
    """Keras's NumPy backend: inference rows run, gradient rows are skipped with the reason."""
    pytest.importorskip("scipy")  # Keras's NumPy backend imports it
    proc = run_python(CLI, None, "parity", "--reference", "keras-numpy", "--only",
                      "dense/2-D,grad/dense/2-D activation=None")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 0 failed, 2 skipped" in proc.stdout  # both grad/dense/2-D rows
    assert "NoAutodiff" in proc.stdout and "no automatic differentiation" in proc.stdout


PLANTED = """
    import numpy_rnn
    _project = numpy_rnn.LSTM.project_inputs
    def _broken(self, x):  # planted: the LSTM's input projection 1% off (forward and backward)
        return _project(self, x) * 1.01
    numpy_rnn.LSTM.project_inputs = _broken
"""


BI = "bidirectional/lstm merge=concat"


@pytest.mark.skipif(not backend.installed("jax"), reason="jax is not installed")
def test_planted_bug_fails_against_every_reference_and_drift_is_reported(tmp_path):
    """Teeth: a planted LSTM bug (in every process: the workers too) fails the case against
    Keras on TensorFlow and on JAX; the drift section compares the two references."""
    report = tmp_path / "r.json"
    proc = run_python(CLI, None, "parity", "--reference", "keras,keras-jax", "--only",
                      f"{BI},grad/{BI},dense/2-D", "--json", str(report),
                      site=site_dir(tmp_path, PLANTED))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(report.read_text())
    status = {(c["reference"], c["case"].split(" @")[0]): c["status"] for c in data["cases"]}
    for ref in ("keras", "keras-jax"):
        assert status[(ref, f"{BI} sequences mask=holes")] == "FAIL", status
        assert status[(ref, f"grad/{BI} mask=holes")] == "FAIL", status
        assert status[(ref, "dense/2-D activation=None [keras->numpy]")] == "pass", status
    drift = data["drift"]
    assert drift["references"] == ["keras", "keras-jax"]
    assert drift["n_cases"] == len(data["cases"]) // 2 == 5  # grad/dense/2-D: two rows
    for case in drift["cases"]:
        (pair,) = case["pairs"]
        assert pair["passed"] is True and pair["rows"] >= 1, case  # the backends agree
        assert set(case["errors"]) == {"keras", "keras-jax"}
    assert "backend drift" in proc.stdout


#: A user's test module under KERAS_BACKEND=<backend>: the fixture and the strategies.
PLUGIN_USER = '''
import numpy as np
from hypothesis import HealthCheck, given, settings
from parity import strategies

def test_fixture(parity_check):
    assert parity_check.reference == "keras-{name}"
    assert parity_check.keras.backend.backend() == "{name}"
    k, n = parity_check.lstm_pair(4, 3, seed=1, return_sequences=True)
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    parity_check.assert_parity(n, k, x)

@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the fixture is stateless
@given(strategies.lstm_cases(dtypes=("float32",), masks=("none", "right")))
def test_strategy_examples(parity_check, case):
    layer = parity_check.layers.LSTM(**case.config)
    layer.build((None, None, case.inputs.shape[-1]))
    layer.set_weights(case.weights)
    parity_check.assert_parity(parity_check.from_keras(layer), layer, case.inputs,
                               **strategies.call_kwargs(case))
'''


@pytest.mark.parametrize("name", OTHER_BACKENDS)
def test_pytest_plugin_and_strategies_on_the_backend(name, tmp_path, no_tf):
    (tmp_path / "test_user.py").write_text(PLUGIN_USER.format(name=name))
    import importlib.metadata

    registered = any(ep.value == "parity.pytest_plugin"
                     for ep in importlib.metadata.entry_points(group="pytest11"))
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider",
            *([] if registered else ["-p", "parity.pytest_plugin"]),  # not pip-installed here
            "--rootdir", str(tmp_path), str(tmp_path / "test_user.py")]
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600,
                          env=_env(name, no_tf), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    # a reference on another backend than the process's is a usage error, not a switch
    # (TensorFlow not blocked here: else "not installed" is the error)
    proc = subprocess.run([sys.executable, *args, "--parity-reference", "keras"],
                          capture_output=True, text=True, timeout=600, env=_env(name),
                          cwd=str(tmp_path))
    if "tensorflow is not installed" in proc.stderr:
        pytest.skip("TensorFlow is not installed: the mismatch cannot be asked for")
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage-error exit
    assert f"this process runs '{name}' (KERAS_BACKEND)" in proc.stderr


@pytest.mark.skipif(not backend.installed("jax"), reason="jax is not installed")
def test_port_runs_the_recorded_backend_in_its_own_process(tmp_path, no_tf):
    """A ``.keras`` archive whose ``metadata.json`` names the backend that wrote it is checked on
    that backend even from a process that runs another (here: TensorFlow absent, and the file
    ported from a process configured for PyTorch, which is not what wrote it)."""
    import zipfile

    path, out = tmp_path / "m.keras", tmp_path / "m.npz"
    write = run_python("""
        import sys
        from parity.bridge import backend
        keras = backend.require()
        keras.Sequential([keras.Input((4, 3)), keras.layers.GRU(2)]).save(sys.argv[1])
    """, "jax", str(path), site=no_tf)
    assert write.returncode == 0, write.stderr
    tagged = tmp_path / "tagged.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tagged, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "metadata.json":
                meta = json.loads(data)
                meta["backend"] = "jax"
                data = json.dumps(meta).encode()
            dst.writestr(item, data)
    proc = run_python(CLI, "torch", "port", str(tagged), "-o", str(out), site=no_tf)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "on jax" in proc.stdout and "(the backend that wrote the file)" in proc.stdout
