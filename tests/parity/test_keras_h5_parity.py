"""Keras 2 / tf_keras ``.h5`` files read by numpy_rnn compute what ``tf_keras.models.load_model``
computes with them (float32 / float64 tolerance from numpy_rnn.testing), and ``numpy-rnn port``
checks them against tf_keras, never Keras 3.

The files are written by tf_keras itself (``model.save("m.h5")``, ``save_weights``) in one
session fixture, with random non-zero weights (different per gate block, non-zero biases) so a
gate-order, direction or activation mix-up shows.  Every expected value comes from tf_keras (or
Keras 3 for Keras 3 files).  About 40 s on 2 cores, mostly TensorFlow's graph building.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("tensorflow")
tf_keras = pytest.importorskip("tf_keras")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
from numpy_rnn.formats import keras_h5, keras_layers  # noqa: E402
from numpy_rnn.testing import assert_close, diff  # noqa: E402
from parity.cli import main  # noqa: E402

K = tf_keras
L = tf_keras.layers
T, VOCAB = 7, 30


def randomize(model, seed):
    """Normal weights, scaled per tensor, biases non-zero."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.6, w.shape).astype(w.dtype) for w in model.get_weights()])


def ids(seed=0, n=6):
    x = np.random.default_rng(seed).integers(1, VOCAB, size=(n, T))
    x[1, :3] = 0  # left padding
    x[2, -2:] = 0  # right padding
    return x.astype("int32")


def floats(seed=0, n=6, f=4, dtype="float32"):
    x = np.random.default_rng(seed).normal(size=(n, T, f)).astype(dtype)
    x[1, :2] = 0.0  # masked by Masking(0.0)
    return x


def _models():
    """name -> (tf_keras model, input)."""
    m = {}
    m["seed"] = (K.Sequential([L.Embedding(VOCAB, 8, input_length=T),
                               L.LSTM(16, recurrent_activation="hard_sigmoid"),
                               L.Dense(5)], name="seed"), ids())
    m["gru_stacked"] = (K.Sequential([
        L.Embedding(VOCAB, 6, mask_zero=True, input_length=T),
        L.GRU(8, reset_after=True, return_sequences=True),
        L.GRU(5, reset_after=False, recurrent_activation="hard_sigmoid"),
        L.Dense(4, activation="softmax")]), ids(1))
    m["simple_masking"] = (K.Sequential([
        L.Masking(0.0, input_shape=(T, 4)),
        L.SimpleRNN(6, activation="hard_sigmoid", return_sequences=True),
        L.Dropout(0.3), L.SimpleRNN(3), L.Dense(2)]), floats(2))
    for mode in ("concat", "sum", "mul", "ave"):
        m[f"bidi_{mode}"] = (K.Sequential([
            L.Embedding(VOCAB, 5, mask_zero=True, input_length=T),
            L.Bidirectional(L.LSTM(4, recurrent_activation="hard_sigmoid",
                                   return_sequences=True), merge_mode=mode),
            L.Bidirectional(L.GRU(3, reset_after=False), merge_mode=mode),
            L.Dense(2)]), ids(3))
    m["dense_dropout"] = (K.Sequential([
        L.Dense(5, activation="relu", input_shape=(T, 4)), L.Dropout(0.5),
        L.LSTM(4, return_sequences=True, go_backwards=True), L.Dense(3, activation="tanh")]),
        floats(4))
    m["float64"] = (K.Sequential([
        L.Embedding(VOCAB, 6, input_length=T, dtype="float64"),
        L.LSTM(5, recurrent_activation="hard_sigmoid", dtype="float64"),
        L.Dense(3, dtype="float64")]), ids(5))
    m["activations"] = (K.Sequential(
        [L.Dense(4, activation=a, input_shape=(T, 4)) for a in sorted(
            set(keras_layers.KERAS2_ACTIVATIONS) - {"softmax_v2"})]), floats(6) * 0.5)
    inp = K.Input((T,), dtype="int32")
    out = L.Dense(3)(L.LSTM(4, recurrent_activation="hard_sigmoid")(
        L.Embedding(VOCAB, 5, mask_zero=True)(inp)))
    m["functional"] = (K.Model(inp, out), ids(7))
    # ~70 KB of layer names: tf_keras splits layer_names into layer_names0, layer_names1, ...
    m["long_names"] = (K.Sequential(
        [L.Dense(3, input_shape=(T, 4), name="first")]
        + [L.Dropout(0.1, name=f"dropout_{i:03d}_" + "x" * 990) for i in range(70)]
        + [L.Dense(2, name="last")]), floats(8))
    return m


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """name -> (path, input, tf_keras.models.load_model(path)'s output)."""
    root = tmp_path_factory.mktemp("h5")
    out = {}
    for i, (name, (model, x)) in enumerate(_models().items()):
        if not model.built:
            model.build((None,) + x.shape[1:])
        randomize(model, i)
        path = str(root / f"{name}.h5")
        model.save(path)
        loaded = K.models.load_model(path, compile=False)
        out[name] = (path, x, np.asarray(loaded(x, training=False)))
    seed, _ = _models()["seed"]
    seed.build((None, T))
    randomize(seed, 0)
    seed.save_weights(str(root / "seed_weights.h5"))
    (root / "seed_config.json").write_text(seed.to_json())
    out["seed_weights"] = (str(root / "seed_weights.h5"), ids(), np.asarray(seed(ids())))
    return out


@pytest.mark.parametrize("name", ["seed", "gru_stacked", "simple_masking", "bidi_concat",
                                  "bidi_sum", "bidi_mul", "bidi_ave", "dense_dropout",
                                  "float64", "activations", "functional", "long_names"])
def test_h5_file_matches_tf_keras(files, name):
    path, x, expected = files[name]
    found = numpy_rnn.read_keras_file(path)
    assert found.format == "keras2-h5"
    actual = found.model.predict(x)
    assert actual.dtype == expected.dtype
    assert_close(actual, expected, name=name)


def test_long_layer_names_are_split(files):
    import h5py

    with h5py.File(files["long_names"][0]) as f:
        attrs = set(f["model_weights"].attrs)
    assert "layer_names" not in attrs and {"layer_names0", "layer_names1"} <= attrs


def test_keras2_weights_only_file(files):
    path, x, expected = files["seed_weights"]
    config = os.path.join(os.path.dirname(path), "seed_config.json")
    assert_close(numpy_rnn.load_keras_model(path, config=config).predict(x), expected)


def test_keras3_files(tmp_path):
    """Keras 3's own .weights.h5 (with its config) and legacy .h5: Keras 3 semantics."""
    model = keras.Sequential([keras.Input((T,), dtype="int32"), keras.layers.Embedding(VOCAB, 5),
                              keras.layers.LSTM(4, recurrent_activation="hard_sigmoid"),
                              keras.layers.Dense(3)])
    randomize(model, 11)
    expected = np.asarray(model(ids()))
    model.save_weights(tmp_path / "k3.weights.h5")
    found = numpy_rnn.read_keras_file(tmp_path / "k3.weights.h5", config=model.to_json())
    assert found.format == "keras3-weights-h5"
    assert_close(found.model.predict(ids()), expected)
    model.save(tmp_path / "k3.h5")
    found = numpy_rnn.read_keras_file(tmp_path / "k3.h5")
    assert found.format == "keras3-h5"
    assert found.model.layers[1].get_config()["recurrent_activation"] == "hard_sigmoid"
    assert_close(found.model.predict(ids()), expected)


def test_keras3_refuses_the_seed_and_its_hard_sigmoid_is_far(files):
    """The issue's done-when: Keras 3.15 cannot load the tf_keras file, and Keras 3's
    hard_sigmoid with the same weights is far from what tf_keras computes."""
    path, x, expected = files["seed"]
    with pytest.raises(Exception) as info:
        keras.saving.load_model(path, compile=False)
    print(f"\nKeras {keras.__version__} on the tf_keras seed .h5: "
          f"{type(info.value).__name__}: {str(info.value)[:300]}")
    assert "time_major" in str(info.value)
    k3 = keras.Sequential([keras.Input((T,), dtype="int32"), keras.layers.Embedding(VOCAB, 8),
                           keras.layers.LSTM(16, recurrent_activation="hard_sigmoid"),
                           keras.layers.Dense(5)])
    k3.set_weights(K.models.load_model(path, compile=False).get_weights())
    far = diff("keras3", np.asarray(k3(x)), expected)
    print(f"Keras 3 hard_sigmoid, same weights: max|err| = {far.max_abs_err:.3g} "
          f"(tolerance atol={far.atol:g})")
    assert not far.passed and far.max_abs_err > 100 * far.atol


def test_port_checks_against_tf_keras(files, tmp_path, capsys):
    path, _, _ = files["seed"]
    out = tmp_path / "seed.npz"
    assert main(["port", path, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "numpy vs tf_keras" in printed
    bundle = numpy_rnn.read_bundle(out)
    assert "tf_keras" in bundle.verified_by
    assert bundle.provenance["source_format"] == "keras2-h5 Sequential"
    expected = K.models.load_model(path, compile=False)(bundle.test_inputs).numpy()
    np.testing.assert_array_equal(bundle.test_outputs, expected)  # tf_keras's, stored as is
    assert main(["check", str(out)]) == 0


# -- teeth: each planted bug turns a test above red -------------------------------------------------
def test_teeth_keras3_hard_sigmoid(files, monkeypatch):
    monkeypatch.setitem(keras_layers.KERAS2_ACTIVATIONS, "hard_sigmoid", "hard_sigmoid")
    with pytest.raises(AssertionError):
        test_h5_file_matches_tf_keras(files, "seed")


def test_teeth_bidirectional_halves_swapped(files, monkeypatch):
    real = keras_h5.weight_owners
    monkeypatch.setattr(keras_h5, "weight_owners", lambda layer: real(layer)[::-1])
    with pytest.raises(AssertionError):
        test_h5_file_matches_tf_keras(files, "bidi_concat")


def test_teeth_gru_reset_after_default_flipped(files, monkeypatch):
    """A GRU(reset_after=False) read as reset_after=True is refused by the shape check."""
    import h5py

    path = files["gru_stacked"][0]
    with h5py.File(path) as f:
        config = json.loads(f.attrs["model_config"])
    del config["config"]["layers"][3]["config"]["reset_after"]
    weights = os.path.join(os.path.dirname(path), "gru_weights.h5")
    K.models.load_model(path, compile=False).save_weights(weights)
    monkeypatch.setitem(keras_layers.KERAS2_DEFAULTS[2][2]["GRU"], "reset_after", True)
    with pytest.raises(numpy_rnn.KerasFileError, match="bias"):
        numpy_rnn.load_keras_model(weights, config=config)


def test_keras2_hard_sigmoid_gradient_matches_tf_keras():
    """numpy_rnn's backward of keras2_hard_sigmoid against tf.GradientTape through
    tf_keras.activations.hard_sigmoid, edges (x = +-2.5, where clip_by_value passes) included."""
    import tensorflow as tf

    from numpy_rnn import activations as A

    for dtype in ("float32", "float64"):
        x = np.concatenate([np.linspace(-4, 4, 161), [-2.5, 2.5, np.nextafter(2.5, 3)]])
        x = x.astype(dtype)
        g = np.random.default_rng(0).normal(size=x.shape).astype(dtype)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf_keras.activations.hard_sigmoid(xt)
        expected = tape.gradient(y, xt, output_gradients=tf.constant(g)).numpy()
        fn = A.get("keras2_hard_sigmoid")
        np.testing.assert_array_equal(fn(x), y.numpy())
        np.testing.assert_array_equal(A.backward(fn, x, None, g), expected)


def test_trace_of_an_h5_file_is_against_tf_keras(files, capsys, monkeypatch):
    """`numpy-rnn check --trace legacy.h5` traces against tf_keras (Keras 2 semantics); read with
    Keras 3's hard_sigmoid, the LSTM is named as the first layer that diverges."""
    from parity.cli import main

    path = files["seed"][0]
    assert main(["check", "--trace", path, "--samples", "4"]) == 0
    out = capsys.readouterr().out
    assert "tf_keras.models.load_model" in out and "trace PASSED" in out
    monkeypatch.setitem(keras_layers.KERAS2_ACTIVATIONS, "hard_sigmoid", "hard_sigmoid")
    assert main(["check", "--trace", path, "--samples", "4"]) == 1
    assert "first divergent layer: 'lstm" in capsys.readouterr().out


def test_from_keras_of_a_tf_keras_layer_keeps_keras2_semantics():
    """parity.from_keras of a tf_keras LSTM(recurrent_activation='hard_sigmoid') computes Keras 2's
    hard_sigmoid (what that layer computes), never Keras 3's; to_keras of it says why it cannot."""
    import parity

    layer = K.layers.LSTM(5, recurrent_activation="hard_sigmoid", return_sequences=True)
    x = floats(9, f=3) * 2.0
    layer.build(x.shape)
    rng = np.random.default_rng(9)
    layer.set_weights([rng.normal(0, 0.6, w.shape).astype("float32") for w in layer.get_weights()])
    twin = parity.from_keras(layer)
    assert twin.recurrent_activation is numpy_rnn.activations.keras2_hard_sigmoid
    assert_close(twin(x), np.asarray(layer(x)), name="tf_keras hard_sigmoid LSTM")
    with pytest.raises(parity.UnsupportedKerasFeature, match="Keras 2's hard_sigmoid"):
        parity.to_keras(twin)


def test_port_a_weights_only_file_with_its_config(files, tmp_path, capsys):
    """`numpy-rnn port w.h5 --config model.json`: the Keras 2 weights-only file is read with its
    config and checked against tf_keras built from the same config; the bundle then checks."""
    from parity.cli import main

    path = files["seed_weights"][0]
    config = os.path.join(os.path.dirname(path), "seed_config.json")
    out = tmp_path / "w.npz"
    assert main(["port", path, "--config", config, "-o", str(out), "--samples", "4"]) == 0
    text = capsys.readouterr().out
    assert "tf_keras" in text and out.exists()
    assert main(["check", str(out)]) == 0
    assert main(["port", path, "-o", str(tmp_path / "x.npz")]) == 2  # no config: a usage error
    assert "config" in capsys.readouterr().err
    assert main(["port", path, "--config", str(tmp_path / "missing.json"),
                 "-o", str(tmp_path / "y.npz")]) == 2


def test_port_a_keras3_weights_file_with_its_config(tmp_path, capsys):
    from parity.cli import main

    import keras

    model = keras.Sequential([keras.Input((T,), dtype="int32"), keras.layers.Embedding(VOCAB, 4),
                              keras.layers.GRU(3), keras.layers.Dense(2)])
    model.save_weights(str(tmp_path / "m.weights.h5"))
    (tmp_path / "m.json").write_text(model.to_json())
    out = tmp_path / "m.npz"
    assert main(["port", str(tmp_path / "m.weights.h5"), "--config", str(tmp_path / "m.json"),
                 "-o", str(out), "--samples", "3"]) == 0
    assert f"keras {keras.__version__}" in capsys.readouterr().out
    assert main(["check", str(out)]) == 0
