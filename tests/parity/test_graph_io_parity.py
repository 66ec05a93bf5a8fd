"""Functional graphs everywhere the chain works, against Keras itself: ``.keras`` and legacy
``.h5`` files (Keras 3 and tf_keras), ``parity.from_keras`` / ``to_keras``, ``compare``,
``compare_gradients``, ``compare_training``, ``trace``, bundles, ``numpy-rnn port / check /
predict``, and a user's own layer registered with its NumPy twin.

The models are :mod:`parity.cases.graph_models`' (seq2seq with states, residual add, two inputs
with two masks merged, two outputs, nested, shared); weights are random and gate-distinct.
"""
from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn import losses, optimizers  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402
from parity.cases.graph_models import GRAPHS, graph_inputs  # noqa: E402
from parity.cases.graphs import keras_graph  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager"),
              pytest.mark.filterwarnings("ignore:.*does not support masking")]


def failing(report):
    return [d.line() for d in report.outputs if not d.passed]


# -- files -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", list(GRAPHS))
def test_keras_file_reads_equal_to_keras(tmp_path, kind, dtype):
    k, xs = keras_graph(kind, 1, dtype)
    k.save(tmp_path / "m.keras")
    model = numpy_rnn.load_keras_model(tmp_path / "m.keras")
    assert isinstance(model, numpy_rnn.Model)
    for a, b in zip(model.get_weights(), k.get_weights(), strict=True):  # Keras's order
        np.testing.assert_array_equal(a, b)
    with floatx(dtype):
        report = parity.compare(model, k, xs)
    assert report.passed, failing(report)
    assert len(report.outputs) == len(k.outputs)
    assert all(np.asarray(o).dtype == np.dtype(dtype) for o in
               (model.predict(xs) if len(k.outputs) > 1 else [model.predict(xs)]))


@pytest.mark.parametrize("kind", ["seq2seq with states", "nested", "shared"])
def test_keras3_legacy_h5_reads_equal_to_keras(tmp_path, kind):
    k, xs = keras_graph(kind, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k.save(tmp_path / "m.h5")
    source = numpy_rnn.read_keras_file(tmp_path / "m.h5")
    assert source.format == "keras3-h5"
    report = parity.compare(source.model, k, xs)
    assert report.passed, failing(report)


def _tf_keras_model(kind, seed=3):
    import tf_keras

    from parity.cases.graphs import _tf_keras_namespace

    tf_keras.backend.clear_session()
    rng = np.random.default_rng(seed)
    k = GRAPHS[kind](_tf_keras_namespace(tf_keras), "float32")
    for v in k.weights:
        v.assign(rng.normal(scale=0.4, size=tuple(v.shape)).astype("float32"))
    return k, graph_inputs(k, rng)


@pytest.mark.parametrize("kind", ["residual add", "two outputs", "nested", "shared"])
def test_tf_keras_h5_reads_equal_to_tf_keras(tmp_path, kind):
    pytest.importorskip("tf_keras")
    k, xs = _tf_keras_model(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k.save(tmp_path / "m.h5")
    source = numpy_rnn.read_keras_file(tmp_path / "m.h5")
    assert source.format == "keras2-h5"
    expected = k([tf.convert_to_tensor(x) for x in xs] if len(xs) > 1 else xs[0],
                 training=False)
    expected = [np.asarray(e) for e in (expected if isinstance(expected, list) else [expected])]
    got = source.model.predict(xs if len(xs) > 1 else xs[0])
    got = got if isinstance(got, list) else [got]
    for a, e in zip(got, expected):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, words", [
    ("seq2seq with states", "Keras 2 applies that mask"),
    ("two inputs", "Keras 2 combines a merge's masks with AND")])
def test_tf_keras_masks_that_differ_from_keras3_are_refused(tmp_path, kind, words):
    """Measured: tf_keras masks a decoder called with initial_state and ANDs a merge's masks;
    Keras 3 (numpy_rnn) does neither.  Such files are refused, not computed the other way."""
    pytest.importorskip("tf_keras")
    k, _ = _tf_keras_model(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k.save(tmp_path / "m.h5")
    with pytest.raises(numpy_rnn.UnsupportedModelError, match=words):
        numpy_rnn.load_keras_model(tmp_path / "m.h5")


# -- the bridge ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(GRAPHS))
def test_from_keras_and_to_keras(kind):
    k, xs = keras_graph(kind, 4)
    twin = parity.from_keras(k)
    assert isinstance(twin, numpy_rnn.Model)
    back = parity.to_keras(twin)
    for a, b in zip(back.get_weights(), k.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for ref in (k, back):
        report = parity.compare(twin, ref, xs)
        assert report.passed, failing(report)


@pytest.mark.parametrize("kind", ["seq2seq with states", "two inputs", "shared"])
def test_compare_gradients(kind):
    k, xs = keras_graph(kind, 5, "float64")
    with floatx("float64"):
        report = parity.compare_gradients(parity.from_keras(k), k, xs)
    assert report.passed, failing(report)
    floats = sum(x.dtype.kind == "f" for x in xs)
    assert len(report.outputs) == len(k.weights) + floats


def test_compare_gradients_with_a_loss():
    k, xs = keras_graph("residual add", 6, "float64")
    y = np.random.default_rng(0).normal(size=(xs[0].shape[0], 3))
    with floatx("float64"):
        report = parity.compare_gradients(parity.from_keras(k), k, xs, targets=y, loss="mse")
    assert report.passed, failing(report)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compare_training_two_outputs(dtype):
    k, xs = keras_graph("two outputs", 7, dtype)
    rng = np.random.default_rng(1)
    xs = graph_inputs(k, rng, n=8, dtype=dtype)
    y = [rng.normal(size=(8, 2)).astype(dtype), rng.normal(size=(8, 6, 2)).astype(dtype)]
    twin = parity.from_keras(k)
    twin.compile(optimizers.SGD(0.125), [losses.MeanSquaredError(dtype=dtype),
                                         losses.MeanAbsoluteError(dtype=dtype)],
                 loss_weights=[0.5, 2.0])
    report = parity.compare_training(twin, k, xs, y, steps=3, batch_size=4)
    assert report.passed, failing(report)
    assert report.outputs[1].name == "step 1 cls_loss"


# -- trace -----------------------------------------------------------------------------------------
def test_trace_clean_and_names_the_planted_node(monkeypatch):
    k, xs = keras_graph("shared", 8)
    twin = parity.from_keras(k)
    clean = parity.trace(twin, k, xs)
    assert clean.passed and clean.first_divergent is None
    assert [r.layer for r in clean.rows] == ["shared_lstm#1", "shared_lstm#2", "diff", "score"]
    monkeypatch.setattr(numpy_rnn.Subtract, "_merge",
                        lambda self, xs, masks: (xs[1] - xs[0], None))
    planted = parity.trace(twin, k, xs)
    assert not planted.passed and planted.first_divergent == "diff"


def test_trace_blames_a_lost_mask_on_the_merge(monkeypatch):
    k, xs = keras_graph("two inputs", 9)
    twin = parity.from_keras(k)
    monkeypatch.setattr(numpy_rnn.layers.Merge, "compute_mask", lambda self, x, mask=None: None)
    report = parity.trace(twin, k, xs)
    assert report.first_divergent == "merge"


# -- bundles and the command line ------------------------------------------------------------------
def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "parity.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_port_check_trace_predict_two_input_graph(tmp_path):
    k, xs = keras_graph("seq2seq with states", 10)
    k.save(tmp_path / "s2s.keras")
    port = _cli("port", tmp_path / "s2s.keras", "-o", tmp_path / "s2s.npz")
    assert port.returncode == 0, port.stderr
    assert "parity PASSED" in port.stdout and "next " in port.stdout
    check = _cli("check", tmp_path / "s2s.npz")
    assert check.returncode == 0, check.stderr
    assert "test inputs: (16, 6) int32, (16, 6) int32" in check.stdout
    trace = _cli("check", "--trace", tmp_path / "s2s.npz")
    assert trace.returncode == 0, trace.stdout + trace.stderr
    assert "decoder" in trace.stdout
    (tmp_path / "in.json").write_text(json.dumps(
        {"encoder_ids": xs[0][:2].tolist(), "decoder_ids": xs[1][:2].tolist()}))
    pred = _cli("predict", tmp_path / "s2s.npz", "--input", tmp_path / "in.json", "--json")
    assert pred.returncode == 0, pred.stderr
    values = np.array([row["values"] for row in json.loads(pred.stdout)["predictions"]])
    np.testing.assert_allclose(values, np.asarray(k(xs))[:2], rtol=1e-5, atol=1e-6)
    bad = _cli("predict", tmp_path / "s2s.npz", "--input", tmp_path / "in.json", "--as",
               "values", "--top", "1")
    assert bad.returncode == 0
    (tmp_path / "one.json").write_text(json.dumps(xs[0][:2].tolist()))
    refused = _cli("predict", tmp_path / "s2s.npz", "--input", tmp_path / "one.json")
    assert refused.returncode == 2 and "JSON object" in refused.stderr


def test_two_output_bundle_and_predict(tmp_path):
    k, xs = keras_graph("two outputs", 11)
    twin = parity.from_keras(k)
    path = numpy_rnn.save(twin, tmp_path / "two.npz", test_inputs=xs,
                          test_outputs=[np.asarray(o) for o in k(xs[0])], verified_by="keras")
    loaded = numpy_rnn.load(path)
    report = parity.compare(loaded, k, xs)
    assert report.passed, failing(report)
    np.save(tmp_path / "x.npy", xs[0][:1])
    pred = _cli("predict", path, "--input", tmp_path / "x.npy", "--json")
    doc = json.loads(pred.stdout)
    assert set(doc["outputs"]) == {"cls", "per_step"}


# -- a user's own layer ----------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="graph_tests")
class ResidualDense(keras.layers.Layer):
    """A user's Keras layer: ``x + Dense(units)(x)`` (a residual block of built-in layers)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.proj = keras.layers.Dense(units, activation="tanh")
        self.add = keras.layers.Add()

    def build(self, input_shape):
        self.proj.build(input_shape)

    def call(self, x):
        return self.add([x, self.proj(x)])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def residual_dense_twin(config):
    """The NumPy twin, from numpy_rnn layers; weights in the Keras layer's order."""
    x = numpy_rnn.Input((None, config["units"]))
    proj = numpy_rnn.Dense(config["units"], activation="tanh", name="proj")
    return numpy_rnn.Model(x, numpy_rnn.Add(name="add")([x, proj(x)]), name=config["name"])


def _user_model():
    keras.backend.clear_session()
    x = keras.Input((6, 4), name="x")
    h = ResidualDense(4, name="block")(keras.layers.Dense(4, name="inp")(x))
    k = keras.Model(x, keras.layers.LSTM(3, name="rnn")(h))
    rng = np.random.default_rng(12)
    for v in k.weights:
        v.assign(rng.normal(scale=0.5, size=tuple(v.shape)).astype("float32"))
    return k, rng.normal(size=(3, 6, 4)).astype("float32")


def test_user_layer_is_refused_until_registered_then_ported(tmp_path):
    k, x = _user_model()
    with pytest.raises(parity.UnsupportedKerasModel,
                       match=r"register_layer\('graph_tests>ResidualDense', factory\)"):
        parity.from_keras(k)
    numpy_rnn.register_layer("graph_tests>ResidualDense", residual_dense_twin)
    try:
        twin = parity.from_keras(k)
        report = parity.compare(twin, k, x)
        assert report.passed, failing(report)
        k.save(tmp_path / "user.keras")
        from_file = numpy_rnn.load_keras_model(tmp_path / "user.keras")
        assert parity.compare(from_file, k, x).passed
        grads = parity.compare_gradients(twin, k, x)
        assert grads.passed, failing(grads)
    finally:
        numpy_rnn.unregister_layer("graph_tests>ResidualDense")


def test_subclassed_keras_model_is_refused_saying_how():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Tiny()
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(parity.UnsupportedKerasModel, match="rebuild it as a functional model"):
        parity.from_keras(model)
