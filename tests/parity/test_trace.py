"""``parity.trace`` and ``numpy-rnn check --trace``: the first layer where NumPy leaves Keras.

Clean models (weights copied by ``parity.to_keras`` / ``from_keras``) must trace clean; a bug
planted in one NumPy layer (a shifted forget-gate bias, a Dense bias, a GRU step nudged, a lost
Embedding mask) must be named as the first divergent layer while the layers before it pass.  Every
expected figure is Keras's output; the planted bugs are checked to move the model's output first
(so a test cannot pass on a bug that does nothing).  Teeth: with the comparison defanged (every
error 0) the planted-bug checks fail.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity import report as report_module  # noqa: E402
from parity.cli import main  # noqa: E402
from parity.trace_report import TraceReport  # noqa: E402

T, VOCAB = 9, 30


def _ids(n: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(n, T)).astype("int32")
    x[0, :4] = 0  # left padding: the mask matters
    x[2, :2] = 0
    return x


def three_layer() -> numpy_rnn.Sequential:
    """Embedding(mask_zero) -> LSTM -> Dense, non-zero biases (a bias bug must show)."""
    m = numpy_rnn.Sequential([
        numpy_rnn.Embedding(VOCAB, 8, mask_zero=True, name="embed"),
        numpy_rnn.LSTM(12, seed=1, name="lstm"),
        numpy_rnn.Dense(5, activation="tanh", seed=2, name="dense"),
    ], input_shape=(T,))
    m.build()
    rng = np.random.default_rng(3)
    m.layers[1].bias = rng.normal(0, 0.3, m.layers[1].bias.shape).astype("float32")
    m.layers[2].bias = rng.normal(0, 0.3, m.layers[2].bias.shape).astype("float32")
    return m


def deep() -> numpy_rnn.Sequential:
    """Masking -> Bidirectional(GRU, sequences) -> GRU -> Dense on floats with masked steps."""
    m = numpy_rnn.Sequential([
        numpy_rnn.Masking(0.0, name="masking"),
        numpy_rnn.Bidirectional(numpy_rnn.GRU(6, return_sequences=True, seed=4), name="bi_gru"),
        numpy_rnn.GRU(7, seed=5, name="gru"),
        numpy_rnn.Dense(3, seed=6, name="dense"),
    ], input_shape=(T, 4))
    m.build()
    return m


def _floats(n: int = 5, seed: int = 1) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, T, 4)).astype("float32")
    x[0, :3] = 0.0  # masked steps
    x[3, 5:] = 0.0
    return x


def _assert_names(report: TraceReport, culprit: str, layer_names: list[str]) -> None:
    """``culprit`` is the first divergent layer, every layer before it passes."""
    __tracebackhide__ = True
    assert not report.passed, str(report)
    assert report.first_divergent == culprit, str(report)
    assert report.blame == "layer", str(report)
    i = layer_names.index(culprit)
    assert [r.layer for r in report.rows] == layer_names
    assert all(r.passed for r in report.rows[:i]), str(report)
    assert report.rows[i].status == "DIVERGES", str(report)
    assert all(r.isolated_passed for r in report.rows[i + 1:]), str(report)


def _moves_output(np_model, keras_model, x) -> None:
    """The planted bug changes the model's output (else naming it would prove nothing)."""
    __tracebackhide__ = True
    got = np_model(x)
    want = np.asarray(keras_model(x))
    assert np.abs(got - want).max() > 1e-3


# -- clean --------------------------------------------------------------------------------------
def test_three_layer_model_traces_clean():
    m = three_layer()
    k = parity.to_keras(m)
    x = _ids()
    report = parity.trace(m, k, x)
    assert report.passed and report.first_divergent is None, str(report)
    assert [r.layer for r in report.rows] == ["embed", "lstm", "dense"]
    # shapes are Keras's own intermediate outputs
    want = [tuple(layer.output.shape[1:]) for layer in k.layers]
    assert [r.output_shape[1:] for r in report.rows] == want
    assert report.rows[0].growth is None and report.rows[1].growth is not None
    assert report.rows[0].max_abs_err == 0.0  # a table look-up
    assert report.rows[1].atol == numpy_rnn.testing.TABLE[("float32", "output")].atol
    assert report.rows[0].mask_mismatch == 0  # both Embeddings mask the padding alike
    assert report.rows[1].mask_mismatch is None  # the LSTM returns no sequence: no mask
    assert "<- first divergent" not in str(report)


def test_deep_model_with_masking_bidirectional_gru_traces_clean():
    m = deep()
    k = parity.to_keras(m)
    report = parity.trace(m, k, _floats())
    assert report.passed and report.first_divergent is None, str(report)
    assert [r.class_name for r in report.rows] == ["Masking", "Bidirectional", "GRU", "Dense"]
    assert report.row("bi_gru").output_shape == (5, T, 12)


def test_functional_chain_traces_clean():
    inp = keras.Input((T,), dtype="int32")
    h = keras.layers.Embedding(VOCAB, 8, mask_zero=True, name="emb")(inp)
    h = keras.layers.GRU(10, return_sequences=True, name="gru")(h)
    h = keras.layers.LSTM(6, name="lstm")(h)
    out = keras.layers.Dense(4, activation="softmax", name="out")(h)
    k = keras.Model(inp, out, name="chain")
    m = parity.from_keras(k)
    report = parity.trace(m, k, _ids())
    assert report.passed, str(report)
    assert [r.layer for r in report.rows] == ["emb", "gru", "lstm", "out"]
    assert report.rows[1].mask_mismatch == 0


def test_tf_keras_model_traces_and_names_a_bug():
    """A tf_keras (Keras 2) twin, weights set from the NumPy model: its masks flow too."""
    tf_keras = pytest.importorskip("tf_keras")
    m = three_layer()
    k = tf_keras.Sequential([tf_keras.Input((T,), dtype="int32"),
                             tf_keras.layers.Embedding(VOCAB, 8, mask_zero=True, name="embed"),
                             tf_keras.layers.LSTM(12, name="lstm"),
                             tf_keras.layers.Dense(5, activation="tanh", name="dense")])
    k.set_weights(m.get_weights())
    x = _ids()
    report = parity.trace(m, k, x)
    assert report.passed and report.rows[0].mask_mismatch == 0, str(report)
    _forget_gate_bug(m)
    _assert_names(parity.trace(m, k, x), "lstm", ["embed", "lstm", "dense"])


def test_single_layer():
    k = keras.layers.LSTM(5, return_sequences=True, return_state=True)
    x = np.random.default_rng(0).normal(size=(3, T, 4)).astype("float32")
    k(x)
    n = parity.from_keras(k)
    report = parity.trace(n, k, x)
    assert report.passed and len(report.rows) == 1, str(report)
    b = n.bias.copy()
    b[:5] += 0.5  # the input gate
    n.bias = b
    report = parity.trace(n, k, x)
    assert report.first_divergent == k.name, str(report)


# -- planted bugs -------------------------------------------------------------------------------
def _forget_gate_bug(m: numpy_rnn.Sequential) -> None:
    (lstm,) = [layer for layer in m.layers if layer.name == "lstm"]
    units = lstm.units
    b = lstm.bias.copy()
    b[units:2 * units] += 1.0  # gate order i, f, c, o
    lstm.bias = b


def test_bug_in_middle_layer_is_named_and_later_layers_inherit():
    m = three_layer()
    k = parity.to_keras(m)
    x = _ids()
    _forget_gate_bug(m)
    _moves_output(m, k, x)
    report = parity.trace(m, k, x)
    _assert_names(report, "lstm", ["embed", "lstm", "dense"])
    assert report.row("dense").status == "inherits", str(report)
    assert "'lstm'" in report.summary() and "<- first divergent" in str(report)
    # the LSTM's cell state starts at 0, so a forget-gate bug shows from timestep 1 at the
    # earliest; rows padded for 4 steps show it later
    assert report.row("lstm").isolated_first_bad_timestep is None  # 2-D output


def test_bug_in_last_layer_is_named():
    m = three_layer()
    k = parity.to_keras(m)
    x = _ids()
    m.layers[2].bias = m.layers[2].bias + np.float32(0.1)
    _moves_output(m, k, x)
    _assert_names(parity.trace(m, k, x), "dense", ["embed", "lstm", "dense"])


def test_gru_step_bug_in_middle_of_deep_model_is_named(monkeypatch):
    m = deep()
    k = parity.to_keras(m)
    x = _floats()
    target = m.layers[2]  # the plain GRU; the Bidirectional's GRUs stay correct
    original = numpy_rnn.GRU.step

    def nudged(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        if self is not target:
            return out
        h, states = out[0], out[1]
        return (h * np.float32(1.01), [s * np.float32(1.01) for s in states]) + tuple(out[2:])

    monkeypatch.setattr(numpy_rnn.GRU, "step", nudged)
    _moves_output(m, k, x)
    report = parity.trace(m, k, x)
    _assert_names(report, "gru", ["masking", "bi_gru", "gru", "dense"])


def test_bug_in_sequence_layer_gives_first_bad_timestep():
    m = numpy_rnn.Sequential([numpy_rnn.Embedding(VOCAB, 8, name="embed"),
                              numpy_rnn.LSTM(6, return_sequences=True, seed=1, name="lstm"),
                              numpy_rnn.Dense(3, seed=2, name="dense")], input_shape=(T,))
    m.build()
    k = parity.to_keras(m)
    _forget_gate_bug(m)
    report = parity.trace(m, k, _ids())
    _assert_names(report, "lstm", ["embed", "lstm", "dense"])
    # c_0 = 0: the forget gate multiplies nothing at step 0, so step 1 is the first bad one
    assert report.row("lstm").isolated_first_bad_timestep == 1, str(report)
    assert report.row("lstm").first_bad_timestep == 1


def test_lost_mask_is_blamed_on_the_layer_that_makes_it(monkeypatch):
    """The Embedding's values are right but its mask is lost: the LSTM, given Keras's mask in
    isolation, is right; the mask comparison names the Embedding."""
    m = three_layer()
    k = parity.to_keras(m)
    x = _ids()
    monkeypatch.setattr(numpy_rnn.Embedding, "compute_mask", lambda self, ids, mask=None: None)
    _moves_output(m, k, x)
    report = parity.trace(m, k, x)
    _assert_names(report, "embed", ["embed", "lstm", "dense"])
    assert report.row("embed").mask_mismatch == int((x == 0).sum())


def test_defanged_comparison_makes_the_planted_bug_checks_fail(monkeypatch):
    """Teeth: a trace whose comparison always reports 0 error must fail the tests above."""
    real = report_module.diff_arrays

    def blind(name, actual, expected, **kwargs):
        return real(name, np.asarray(expected), expected, **kwargs)

    monkeypatch.setattr(report_module, "diff_arrays", blind)
    m = three_layer()
    k = parity.to_keras(m)
    x = _ids()
    _forget_gate_bug(m)
    report = parity.trace(m, k, x)
    assert report.rows[1].max_abs_err == 0.0  # the defanged comparison is the one used
    with pytest.raises(AssertionError):
        _assert_names(report, "lstm", ["embed", "lstm", "dense"])


def test_trace_leaves_the_numpy_model_as_it_was():
    m = three_layer()
    k = parity.to_keras(m)
    before = [w.copy() for w in m.get_weights()]
    parity.trace(m, k, _ids())
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


# -- bad input ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair():
    m = three_layer()
    return m, parity.to_keras(m)


@pytest.mark.parametrize("x, exc, words", [
    (np.zeros((2, T), "float32"), TypeError, ["`x`", "integer token ids", "float32"]),
    (np.zeros((2, T + 1), "int32"), ValueError, ["`x`", f"(batch, {T})", "(2, 10)"]),
    (np.zeros((2, T, 1), "int32"), ValueError, ["`x`", "(2, 9, 1)"]),
    (np.zeros((0, T), "int32"), ValueError, ["`x`", "at least one sample"]),
    ([["a"] * T], TypeError, ["`x`", "<U1"]),
])
def test_bad_x(pair, x, exc, words):
    with pytest.raises(exc) as info:
        parity.trace(*pair, x)
    for w in words:
        assert w in str(info.value)


def test_models_of_different_lengths(pair):
    m, _ = pair
    k = keras.Sequential([keras.Input((T,), dtype="int32"),
                          keras.layers.Embedding(VOCAB, 8, mask_zero=True),
                          keras.layers.LSTM(12)])
    with pytest.raises(ValueError, match=r"differ in length.*3 layers.*has 2"):
        parity.trace(m, k, _ids())


def test_mismatched_layer_types(pair):
    m, _ = pair
    k = keras.Sequential([keras.Input((T,), dtype="int32"),
                          keras.layers.Embedding(VOCAB, 8, mask_zero=True),
                          keras.layers.GRU(12), keras.layers.Dense(5)])
    with pytest.raises(ValueError, match=r"layer 1 differs.*'lstm' \(LSTM\).*\(GRU\)"):
        parity.trace(m, k, _ids())


def test_non_chain_model_is_refused(pair):
    m, _ = pair
    inp = keras.Input((T,), dtype="int32")
    e = keras.layers.Embedding(VOCAB, 8)(inp)
    a = keras.layers.LSTM(12)(e)
    b = keras.layers.LSTM(12)(e)
    out = keras.layers.Dense(5)(keras.layers.Add()([a, b]))
    k = keras.Model(inp, out)
    with pytest.raises(ValueError, match=r"`keras_model`.*not a chain.*graph.*branches"):
        parity.trace(m, k, _ids())


def test_wrong_kinds_of_model(pair):
    m, k = pair
    with pytest.raises(TypeError, match=r"`np_model`.*Received: np_model=keras Sequential"):
        parity.trace(k, k, _ids())
    with pytest.raises(TypeError, match=r"`keras_model` must be a Keras model.*keras LSTM"):
        parity.trace(m, k.layers[1], _ids())
    with pytest.raises(TypeError, match=r"`keras_model` must be a Keras layer.*keras Sequential"):
        parity.trace(m.layers[1], k, _ids())


# -- the command line ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A bundle of the three-layer model whose test vectors are Keras's outputs."""
    m = three_layer()
    k = parity.to_keras(m)
    x = _ids(8, seed=5)
    path = tmp_path_factory.mktemp("trace") / "model.npz"
    numpy_rnn.save(m, path, None, x, np.asarray(k(x)), verified_by="keras (this test)")
    return path


def test_cli_bundle_clean(bundle, tmp_path, capsys):
    out_json = tmp_path / "trace.json"
    assert main(["check", "--trace", str(bundle), "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "trace PASSED" in out and "all 3 layers within tolerance" in out
    data = json.loads(out_json.read_text())
    assert data["passed"] is True and data["first_divergent"] is None
    assert [r["layer"] for r in data["rows"]] == ["embed", "lstm", "dense"]
    assert TraceReport.from_dict(data).passed


def test_cli_bundle_with_planted_bug(bundle, tmp_path, capsys, monkeypatch):
    original = numpy_rnn.LSTM.step

    def broken(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        return (out[0] + np.float32(0.01),) + tuple(out[1:])

    monkeypatch.setattr(numpy_rnn.LSTM, "step", broken)
    out_json = tmp_path / "trace.json"
    assert main(["check", str(bundle), "--trace", "--json", str(out_json)]) == 1
    out = capsys.readouterr().out
    assert "first divergent layer: 'lstm'" in out
    data = json.loads(out_json.read_text())
    assert data["first_divergent"] == "lstm" and data["passed"] is False
    assert data["rows"][0]["passed"] is True and data["rows"][1]["status"] == "DIVERGES"


def test_cli_keras_file(tmp_path, capsys, monkeypatch):
    m = deep()
    path = tmp_path / "deep.keras"
    parity.to_keras(m).save(path)
    assert main(["check", "--trace", str(path), "--samples", "3", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "generated inputs (3, 9, 4) float32" in out and "trace PASSED" in out
    monkeypatch.setattr(numpy_rnn.Dense, "__call__", _dense_plus)  # a bug in the last layer
    assert main(["check", "--trace", str(path)]) == 1
    assert "first divergent layer: 'dense'" in capsys.readouterr().out


_REAL_DENSE_CALL = numpy_rnn.Dense.__call__


def _dense_plus(self, *args, **kwargs):
    return _REAL_DENSE_CALL(self, *args, **kwargs) + np.float32(0.5)


@pytest.mark.parametrize("argv, words", [
    (["check", "--trace", "{tmp}/missing.npz"], ["no such file"]),
    (["check", "--trace", "{tmp}/model.txt"], ["expected a numpy-rnn bundle or a Keras model",
                                               ".txt"]),
    (["check", "{bundle}", "--json", "{tmp}/t.json"], ["--json: only with --trace"]),
    (["check", "{bundle}", "--samples", "16", "--seed", "0"], ["--samples, --seed: only with"]),
    (["check", "--trace", "{bundle}", "--json", "{tmp}/no/such/dir.json"], ["--json",
                                                                          "existing directory"]),
    (["check", "--trace", "{tmp}/fake.npz"], ["not a numpy-rnn bundle"]),
])
def test_cli_usage_errors(bundle, tmp_path, capsys, argv, words):
    (tmp_path / "model.txt").write_text("hello")
    (tmp_path / "fake.npz").write_text("{}")
    argv = [a.format(tmp=tmp_path, bundle=bundle) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("numpy-rnn check: error: ") and err.count("\n") == 1
    for w in words:
        assert w in err
