"""Keras's other backends as references (docs/backends.md): JAX (in the ``test`` extra, so CI
runs these) and PyTorch (when installed).

Keras picks its backend once per process, so everything that runs Keras on JAX or PyTorch runs
in a subprocess started with ``KERAS_BACKEND`` -- with TensorFlow *blocked* there and in every
process it starts (a ``sitecustomize`` that makes ``tensorflow`` and ``tf_keras`` look not
installed: ``sys.modules[name] = None``, so ``import`` fails and ``find_spec`` finds nothing),
which proves those paths never need it.  The essentials, sized for CI (``-n auto`` on 2 cores):

* the in-process API under that backend, one process for all of it: ``from_keras`` /
  ``to_keras`` / ``compare`` / ``assert_parity`` on one layer of every family (recurrent,
  convolution, pooling, normalization, attention, reshaping, activation, regularization, core),
  ``compare_gradients`` (the backend's own autodiff) on a masked LSTM and on a functional graph,
  and ``port`` of a ``.keras`` file written there (checked against that backend, TensorFlow
  absent);
* a process whose backend disagrees with the reference it is asked for: a clear error (the API
  and the pytest plugin);
* teeth: a NumPy bug planted in every process (``sitecustomize``) fails the sweep's cheapest row
  against every reference (``--reference keras,keras-jax``: worker processes per backend), and
  the multi-reference drift report;
* the pytest plugin and strategies under ``KERAS_BACKEND``; Keras's NumPy backend's skips.

The broad checks -- the same process with float64, a model's loss gradients, ``trace``, the
float64 referee, ``compare_training`` and ``numpy-rnn parity`` in-process, and a port from a
TensorFlow process of a file tagged as JAX's -- run with ``NUMPY_RNN_BROAD_BACKENDS=1``; the
whole sweep against a backend is ``numpy-rnn parity --reference keras-jax`` (docs/backends.md
has its counts).
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


#: The in-process API on a backend, the essentials: a layer of every family both ways, an LSTM's
#: gradients with a mask, a functional graph's forward and gradients, the CLI in this process and
#: a port of a ``.keras`` file written here; argv: backend, a directory for the files it writes,
#: and ``broad`` to add the rest (float64, a model's loss gradients, trace, referee, training).
API_SCRIPT = """
    import json, os, sys, time
    import numpy as np
    import numpy_rnn, parity
    from parity.bridge import backend
    keras = backend.require()
    name, out_dir = sys.argv[1], sys.argv[2]
    broad = sys.argv[3:] == ["broad"]
    assert keras.backend.backend() == name, keras.backend.backend()
    assert sys.modules.get("tensorflow") is None  # not imported (or blocked)
    rng = np.random.default_rng(0)
    L = keras.layers
    results, times, t0 = {}, {}, time.perf_counter()

    def lap(label):
        global t0
        times[label], t0 = round(time.perf_counter() - t0, 2), time.perf_counter()

    def ok(report, dtype="float32"):  # float64 on PyTorch: Keras's float64-promotion
        excused = report.skipped and "float64-promotion" in report.skipped
        return report.passed or bool(dtype == "float64" and excused)

    def built(layer, shape, dtype="float32"):
        layer.build(shape)
        layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype(dtype)
                           for w in layer.get_weights()])
        return layer

    # one layer per family, forward both ways
    x = rng.normal(size=(2, 6, 4)).astype("float32")
    for label, k in {"recurrent": L.GRU(3, return_sequences=True),
                     "convolution": L.Conv1D(3, 2, padding="causal"),
                     "pooling": L.MaxPooling1D(2), "normalization": L.LayerNormalization(),
                     "reshaping": L.Flatten(), "activation": L.Softmax(),
                     "regularization": L.Dropout(0.5), "core": L.Dense(3)}.items():
        k = built(k, (None, 6, 4))
        n = parity.from_keras(k)
        results[f"{label} {type(k).__name__}"] = parity.compare(n, k, x).passed
        if label in ("recurrent", "convolution"):  # to_keras: the bridge is one table
            results[f"{label} to_keras"] = parity.compare(n, parity.to_keras(n), x).passed
    att = L.Attention()
    q, v = x[:, :3], x
    att([backend.convert(q), backend.convert(v)])  # built on its first call
    results["attention"] = parity.compare(parity.from_keras(att), att, [q, v]).passed
    lap("families")
    # one gradient: an LSTM with a mask and states (float64 too in the broad run)
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 1]], bool)
    for dtype in ("float32", "float64") if broad else ("float32",):
        k = built(L.LSTM(4, return_sequences=True, return_state=True, dtype=dtype),
                  (None, None, 4), dtype)
        n = parity.from_keras(k)
        xd = x.astype(dtype)
        if dtype == "float32":  # raises when it fails
            parity.assert_parity(n, k, xd, mask=mask)
            results[f"compare {dtype}"] = True
        else:
            results[f"compare {dtype}"] = ok(parity.compare(n, k, xd, mask=mask), dtype)
        results[f"gradients {dtype}"] = ok(parity.compare_gradients(n, k, xd, mask=mask), dtype)
    lap("lstm gradients")

    # one graph: forward and gradients of a functional model with two branches (a convolution:
    # the recurrent gradient is the LSTM's above, and a second scan costs a second compile)
    inp = keras.Input((6, 4))
    merged = L.Add()([L.Dense(3)(inp), L.Conv1D(3, 2, padding="causal")(inp)])
    graph = keras.Model(inp, L.Dense(2)(merged))
    g = parity.from_keras(graph)
    results["graph"] = parity.compare(g, graph, x).passed
    results["graph gradients"] = parity.compare_gradients(g, graph, [x]).passed
    lap("graph")

    # a model; in the broad run: gradients with a loss, the trace, the float64 referee, training
    model = keras.Sequential([keras.Input((6,), dtype="int32"),
                              L.Embedding(11, 4, mask_zero=True),
                              L.GRU(5, return_sequences=True), L.Dense(3)])
    ids = rng.integers(0, 11, size=(4, 6)).astype("int32")
    twin = parity.from_keras(model)
    y = rng.normal(size=(4, 6, 3)).astype("float32")
    if broad:
        results["model gradients mse"] = parity.compare_gradients(twin, model, ids, targets=y,
                                                                 loss="mse").passed
        results["trace"] = parity.trace(twin, model, ids).first_divergent is None
        from parity.bridge.referee import refereed_parity
        results["referee"] = refereed_parity(twin, model, ids).passed
        twin.compile(optimizer="sgd", loss="mse")
        results["training"] = parity.compare_training(twin, model, ids, y, steps=2).passed
        lap("model")

    # in the broad run, the CLI in this process (no worker: it runs this backend); a port of a
    # file written here
    if broad:
        from parity.cli import main
        report = os.path.join(out_dir, "r.json")
        results["cli"] = main(["parity", "--reference", f"keras-{name}", "--only",
                               "dense/2-D activation=None [keras", "--json", report]) == 0
        lap("cli")
    path = os.path.join(out_dir, "m.keras")
    model.save(path)
    from parity.bridge.port import port
    ported = port(path, os.path.join(out_dir, "m.npz"))
    results["port"] = bool(ported.passed and ported.bundle_path
                           and any(f" on {name}" in note for note in ported.notes))
    lap("port")
    print("TIMES " + json.dumps(times))
    print("RESULTS " + json.dumps(results))
    sys.exit(0 if all(results.values()) else 1)
"""

#: The broad checks (TensorFlow-free as well): ``NUMPY_RNN_BROAD_BACKENDS=1`` (CI's backend job
#: and ``numpy-rnn parity --reference keras-jax`` cover them; docs/backends.md).
BROAD = pytest.mark.skipif(os.environ.get("NUMPY_RNN_BROAD_BACKENDS") != "1",
                           reason="a broad backend check: set NUMPY_RNN_BROAD_BACKENDS=1")


@pytest.fixture(scope="module", params=OTHER_BACKENDS)
def api_run(request, tmp_path_factory):
    """:data:`API_SCRIPT` once per backend, TensorFlow blocked: ``(backend, process, dir)``."""
    name = request.param
    tmp = tmp_path_factory.mktemp(f"api-{name}")
    proc = run_python(API_SCRIPT, name, name, str(tmp), site=site_dir(tmp, BLOCK_TF))
    return name, proc, tmp


def _results(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.split("RESULTS ", 1)[1].splitlines()[0])


def test_in_process_api_on_the_backend_without_tensorflow(api_run):
    _, proc, _ = api_run
    results = _results(proc)
    assert len(results) >= 15 and all(results.values()), results


@BROAD
@pytest.mark.parametrize("name", OTHER_BACKENDS)
def test_broad_in_process_api_on_the_backend_without_tensorflow(name, tmp_path):
    """The same with float64, a model's loss gradients, trace, the referee and training."""
    proc = run_python(API_SCRIPT, name, name, str(tmp_path), "broad",
                      site=site_dir(tmp_path, BLOCK_TF))
    results = _results(proc)
    assert len(results) >= 22 and all(results.values()), results
    assert f"on {name}" in proc.stdout and " 0 failed" in proc.stdout  # the CLI in-process
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["n_cases"] == 1 and data["n_passed"] == 1
    assert data["reference"] == f"keras-{name}" and data["versions"]["backend"] == name
    assert data["versions"][name] is not None


def test_port_checks_a_keras_file_against_the_backend_that_wrote_it(api_run):
    name, proc, tmp = api_run
    assert _results(proc)["port"]
    assert (tmp / "m.npz").exists()


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


def test_keras_numpy_reference_skips_what_needs_autodiff(no_tf):
    """Keras's NumPy backend (in-process: KERAS_BACKEND=numpy, TensorFlow blocked): inference
    rows run, gradient rows are skipped with the reason."""
    pytest.importorskip("scipy")  # Keras's NumPy backend imports it
    proc = run_python(CLI, "numpy", "parity", "--reference", "keras-numpy", "--only",
                      "dense/2-D,grad/dense/2-D activation=None", site=no_tf)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 0 failed, 2 skipped" in proc.stdout  # both grad/dense/2-D rows
    assert "NoAutodiff" in proc.stdout and "no automatic differentiation" in proc.stdout


PLANTED = """
    import numpy_rnn
    _apply = numpy_rnn.Dense._apply
    def _broken(self, x, training=False):  # planted: a Dense's output 1% off
        return _apply(self, x, training) * 1.01
    numpy_rnn.Dense._apply = _broken
"""


@pytest.mark.skipif(not backend.installed("jax"), reason="jax is not installed")
def test_planted_bug_fails_against_every_reference_and_drift_is_reported(tmp_path):
    """Teeth: a planted Dense bug (in every process: the workers too) fails the sweep's cheapest
    row against Keras on TensorFlow and on JAX, a row without a Dense passes; the drift section
    compares the two references."""
    report = tmp_path / "r.json"
    proc = run_python(CLI, None, "parity", "--reference", "keras,keras-jax", "--only",
                      "dense/2-D activation=None [keras,act/ReLU float32 [keras", "--json",
                      str(report), site=site_dir(tmp_path, PLANTED))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(report.read_text())
    status = {(c["reference"], c["case"].split(" @")[0]): c["status"] for c in data["cases"]}
    for ref in ("keras", "keras-jax"):
        assert status[(ref, "dense/2-D activation=None [keras->numpy]")] == "FAIL", status
        assert status[(ref, "act/ReLU float32 [keras->numpy]")] == "pass", status
    drift = data["drift"]
    assert drift["references"] == ["keras", "keras-jax"]
    assert drift["n_cases"] == len(data["cases"]) // 2 == 2
    for case in drift["cases"]:
        (pair,) = case["pairs"]
        assert pair["passed"] is True and pair["rows"] >= 1, case  # the backends agree
        assert set(case["errors"]) == {"keras", "keras-jax"}
    assert "backend drift" in proc.stdout
    assert "against keras 3" in proc.stdout and " on jax " in proc.stdout  # a JAX worker


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

@settings(max_examples=1, deadline=None, derandomize=True, database=None,
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


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_plugin_reference_on_another_backend_is_a_usage_error(name, monkeypatch):
    """``--parity-reference keras`` in a process that runs ``name``: pytest's usage error
    (exit 4), never a switch -- decided from KERAS_BACKEND before Keras is imported."""
    from parity import pytest_plugin

    class Config:
        def getoption(self, option, default=None):
            return "keras" if option == "parity_reference" else default

    monkeypatch.setattr(backend, "configured", lambda: name)
    monkeypatch.setattr(pytest_plugin, "reference_missing", lambda reference: None)
    with pytest.raises(pytest.UsageError,
                       match=f"this process runs '{name}' \\(KERAS_BACKEND\\)"):
        pytest_plugin.pytest_configure(Config())


@BROAD
@pytest.mark.skipif(not backend.installed("jax"), reason="jax is not installed")
def test_port_runs_the_recorded_backend_in_its_own_process(api_run, tmp_path):
    """A ``.keras`` archive whose ``metadata.json`` names the backend that wrote it is checked on
    that backend even from a process that runs another (this one: Keras on TensorFlow, the file
    written on JAX), in a spawned process."""
    import zipfile

    from parity.bridge import port

    name, proc, tmp = api_run
    if name != "jax":
        pytest.skip("the file is tagged as JAX's")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tagged, out = tmp_path / "tagged.keras", tmp_path / "m.npz"
    with zipfile.ZipFile(tmp / "m.keras") as src, zipfile.ZipFile(tagged, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "metadata.json":
                meta = json.loads(data)
                meta["backend"] = "jax"
                data = json.dumps(meta).encode()
            dst.writestr(item, data)
    assert backend.configured() != "jax"
    result = port.port(tagged, out)
    assert result.passed and out.exists(), result.report
    assert any("on jax" in note and "(the backend that wrote the file)" in note
               for note in result.notes), result.notes
