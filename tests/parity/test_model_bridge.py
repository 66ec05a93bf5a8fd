"""Keras models <-> numpy_rnn.Sequential: parity.from_keras / to_keras on live models, and the
TensorFlow-free .keras reader checked against Keras on files Keras itself saved."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity import UnsupportedKerasModel  # noqa: E402

# No module-level generator: each model draws its weights from its own seed, each test its inputs
# from ``case_rng`` (conftest.py), so no test's numbers depend on the order tests run in.


def _ids(rng, n=12, t=8, vocab=30):
    ids = rng.integers(1, vocab, size=(n, t))
    ids[0, :5] = 0      # left padding
    ids[1, 5:] = 0      # right padding
    ids[2, ::2] = 0     # holes
    ids[3, :] = 0       # fully masked
    return ids.astype("int32")


def _floats(rng, n=10, t=7, f=3, mask_value=0.0):
    x = rng.normal(size=(n, t, f)).astype("float32")
    x[0, :3] = mask_value
    x[1, 4:] = mask_value
    x[2, 2] = mask_value
    return x


def _randomize(model, seed):
    """Non-trivial weights: a different scale per weight, non-zero biases."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(scale=0.4 + 0.1 * i, size=w.shape).astype(w.dtype)
               for i, w in enumerate(model.get_weights())]
    model.set_weights(weights)
    return model


def seq_model():
    keras.utils.set_random_seed(1)
    return _randomize(keras.Sequential([
        keras.Input((8,), dtype="int32"),
        keras.layers.Embedding(30, 5, mask_zero=True),
        keras.layers.LSTM(6, return_sequences=True),
        keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True), merge_mode="sum"),
        keras.layers.Dropout(0.3),
        keras.layers.SimpleRNN(5, activation="relu"),
        keras.layers.Dense(7, activation="softmax"),
    ], name="seq_model"), seed=1)


def functional_model():
    keras.utils.set_random_seed(2)
    inp = keras.Input((None, 3))
    x = keras.layers.Masking(0.0)(inp)
    x = keras.layers.Dense(4, activation="tanh")(x)          # 3-D: the mask passes on
    x = keras.layers.LSTM(5, return_sequences=True, go_backwards=True)(x)
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(3))(x)
    out = keras.layers.Dense(2)(x)
    return _randomize(keras.Model(inp, out, name="chain"), seed=2)


def float64_model():
    keras.utils.set_random_seed(3)
    return _randomize(keras.Sequential([
        keras.Input((6, 4), dtype="float64"),
        keras.layers.GRU(5, reset_after=False, return_sequences=True, dtype="float64"),
        keras.layers.SimpleRNN(3, dtype="float64"),
        keras.layers.Dense(2, dtype="float64"),
    ], name="f64"), seed=3)


@pytest.mark.parametrize("make, inputs", [(seq_model, _ids), (functional_model, _floats)])
def test_from_keras_model_matches_keras(make, inputs, case_rng):
    k_model = make()
    np_model = parity.from_keras(k_model)
    assert isinstance(np_model, numpy_rnn.Sequential)
    assert np_model.name == k_model.name
    report = parity.assert_parity(np_model, k_model, inputs(case_rng))
    assert report.outputs[0].max_abs_err < 1e-6
    # Breaking the mask flow must show: run the same weights without masking.
    first = np_model.layers[0]
    if isinstance(first, numpy_rnn.Embedding):
        first.mask_zero = False
    else:
        first.mask_value = 1234.0
    assert not parity.compare(np_model, k_model, inputs(case_rng)).passed


def test_to_keras_round_trip(case_rng):
    np_model = numpy_rnn.Sequential([
        numpy_rnn.Embedding(20, 4, mask_zero=True, seed=0, name="emb"),
        numpy_rnn.GRU(5, return_sequences=True, seed=1, name="gru"),
        numpy_rnn.LSTM(3, seed=2, name="lstm"),
        numpy_rnn.Dense(4, activation="softmax", seed=3, name="out"),
    ], name="np_model", input_shape=(6,))
    np_model.build()
    k_model = parity.to_keras(np_model)
    assert isinstance(k_model, keras.Sequential)
    assert [type(layer).__name__ for layer in k_model.layers] == ["Embedding", "GRU", "LSTM",
                                                                  "Dense"]
    ids = _ids(case_rng, t=6, vocab=20)
    parity.assert_parity(np_model, k_model, ids)
    back = parity.from_keras(k_model)
    for a, b in zip(back.get_weights(), np_model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make, inputs", [(seq_model, _ids), (functional_model, _floats),
                                          (float64_model, lambda rng: rng.normal(size=(5, 6, 4)))])
def test_keras_file_reader_matches_keras(tmp_path, make, inputs, case_rng):
    k_model = make()
    path = tmp_path / "model.keras"
    k_model.save(path)
    info = numpy_rnn.read_keras_file(path)
    assert info.keras_version == keras.__version__
    x = inputs(case_rng)
    # k_model(x), not predict: Keras's predict casts float64 inputs to floatx (float32).
    expected = np.asarray(k_model(x))
    report = parity.compare_outputs("file", info.model.predict(x), expected, ["output"])
    assert report.passed, report
    for a, b in zip(info.model.get_weights(), k_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_live_and_file_refusals_list_every_problem(tmp_path):
    def my_act(x):
        return x * 2

    inp = keras.Input((5, 3))
    a = keras.layers.LSTM(4, activation=my_act, name="lstm_custom")(inp)
    b = keras.layers.GRU(4, name="gru")(inp)
    merged = keras.layers.Add(name="add")([a, b])
    out = keras.layers.Dense(2, dtype="mixed_float16", name="half")(merged)
    model = keras.Model(inp, out, name="branchy")
    with pytest.raises(UnsupportedKerasModel) as info:
        parity.from_keras(model)
    err = info.value
    assert isinstance(err, parity.UnsupportedKerasFeature)
    assert isinstance(err, numpy_rnn.UnsupportedModelError)
    text = str(err)
    for needle in ["lstm_custom", "my_act", "mixed_float16"]:  # branches and Add are fine now
        assert needle in text, (needle, text)
    assert len(err.problems) == 2
    path = tmp_path / "branchy.keras"
    model.save(path)
    with pytest.raises(numpy_rnn.UnsupportedModelError) as info_file:
        numpy_rnn.load_keras_model(path)
    assert sorted(info_file.value.problems) == sorted(err.problems)


def test_lambda_and_custom_layers_refused(tmp_path):
    @keras.saving.register_keras_serializable(package="tests_port")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((4,), dtype="int32"),
                              keras.layers.Embedding(10, 3),
                              keras.layers.Lambda(lambda x: x + 1, name="plus_one"),
                              Doubler(name="doubler"),
                              keras.layers.LSTM(2)])
    with pytest.raises(UnsupportedKerasModel) as info:
        parity.from_keras(model)
    text = str(info.value)
    assert "'plus_one' (Lambda)" in text and "registered as 'tests_port>Doubler'" in text
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(numpy_rnn.UnsupportedModelError, match="Lambda.*never runs"):
        numpy_rnn.load_keras_model(path)


def test_unbuilt_model_refused():
    model = keras.Sequential([keras.layers.Embedding(10, 3), keras.layers.LSTM(2)])
    with pytest.raises(ValueError, match="not built"):
        parity.from_keras(model)
