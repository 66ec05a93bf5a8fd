"""numpy_rnn.Sequential: masks flowing as in Keras, batching, summary, configs, weights.

NumPy only.  The mask expectations are Keras facts from spec/keras-semantics.md 1.4 (a masked
step leaves the state unchanged, so a padded row ends in the state of its unpadded sequence) and
from Keras's source (Dense / Dropout pass a mask on; an RNN passes it on only with
return_sequences=True): they are checked by running the same rows padded and unpadded, never by
comparing our model with itself layer by layer.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import (GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Masking, Sequential,
                       SimpleRNN)


def _ids_model(**lstm_kwargs):
    return Sequential([
        Embedding(30, 6, mask_zero=True, seed=0, name="emb"),
        LSTM(5, return_sequences=True, seed=1, name="lstm_a"),
        GRU(4, seed=2, name="gru_b"),
        Dense(3, activation="softmax", seed=3, name="out"),
    ], name="ids_model")


def test_mask_from_embedding_reaches_every_recurrent_layer():
    model = _ids_model()
    row = np.array([[3, 7, 9, 4]])
    padded = np.array([[0, 0, 0, 3, 7, 9, 4]])  # pad_sequences' default 'pre' padding
    holes = np.array([[3, 0, 7, 0, 9, 4, 0]])
    np.testing.assert_allclose(model(padded), model(row), rtol=0, atol=1e-6)
    np.testing.assert_allclose(model(holes), model(row), rtol=0, atol=1e-6)
    # Without the mask the padding changes the result: the test can fail.
    unmasked = Sequential.from_config(model.get_config())
    unmasked.set_weights(model.get_weights())
    unmasked.layers[0].mask_zero = False
    assert np.abs(unmasked(padded) - unmasked(row)).max() > 1e-4


def test_mask_passes_through_dropout_and_dense_on_3d_inputs():
    rng = np.random.default_rng(0)
    model = Sequential([
        Masking(mask_value=-1.0, name="mask"),
        Dense(4, activation="tanh", seed=0, name="proj"),   # 3-D input: mask passes on
        Dropout(0.5, name="drop"),                            # identity at inference, mask on
        SimpleRNN(3, seed=1, name="rnn"),
    ])
    x = rng.normal(size=(1, 5, 2))
    padded = np.concatenate([np.full((1, 3, 2), -1.0), x], axis=1)
    np.testing.assert_allclose(model(padded), model(x), rtol=0, atol=1e-6)
    right = np.concatenate([x, np.full((1, 2, 2), -1.0)], axis=1)
    np.testing.assert_allclose(model(right), model(x), rtol=0, atol=1e-6)


def test_bidirectional_consumes_the_mask_in_both_directions():
    model = Sequential([Embedding(20, 4, mask_zero=True, seed=0),
                        Bidirectional(LSTM(3, seed=1), name="bi"), Dense(2, seed=2)])
    row = np.array([[5, 6, 7]])
    np.testing.assert_allclose(model(np.array([[0, 0, 5, 6, 7]])), model(row), atol=1e-6)
    np.testing.assert_allclose(model(np.array([[5, 6, 7, 0, 0]])), model(row), atol=1e-6)


def test_rnn_passes_the_mask_on_only_with_return_sequences():
    model = Sequential([Embedding(10, 3, mask_zero=True, seed=0, name="emb"),
                        LSTM(4, return_sequences=True, seed=1, name="seq"),
                        LSTM(4, seed=2, name="last"), Dense(2, seed=3, name="out")],
                       input_shape=(3,))
    rows = {line.split()[0]: line for line in model.summary(print_fn=None).splitlines()}
    assert " yes " in rows["emb"] and " yes " in rows["seq"]
    assert " yes " not in rows["last"] and " yes " not in rows["out"]
    out = model(np.array([[0, 1, 2], [1, 2, 0]]))
    assert out.shape == (2, 2)


def test_predict_batching_does_not_change_results():
    model = _ids_model()
    rng = np.random.default_rng(1)
    x = rng.integers(0, 30, size=(45, 9))
    x[::3, :4] = 0
    whole = model.predict(x, batch_size=64)
    for bs in (1, 7, 32):
        np.testing.assert_allclose(model.predict(x, batch_size=bs), whole, rtol=1e-6, atol=1e-7)
    assert whole.shape == (45, 3)
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(x, batch_size=0)


def test_summary_lists_layers_shapes_and_params():
    model = Sequential([Embedding(20, 4, mask_zero=True, name="emb"),
                        LSTM(5, return_sequences=True, name="seq"),
                        Bidirectional(GRU(3), name="bi"),
                        Dense(6, activation="softmax", name="out")],
                       name="tiny", input_shape=(7,), input_dtype="int32")
    model.build()
    text = model.summary(print_fn=None)
    # Parameter counts from Keras's layouts: E (V, D); LSTM 4H(F + H + 1);
    # GRU reset_after 3H(F + H + 2) per direction; Dense (F + 1) U.
    counts = {"emb": 20 * 4, "seq": 4 * 5 * (4 + 5 + 1), "bi": 2 * 3 * 3 * (5 + 3 + 2),
              "out": (6 + 1) * 6}
    for name, shape in [("emb", "(None, 7, 4)"), ("seq", "(None, 7, 5)"), ("bi", "(None, 6)"),
                        ("out", "(None, 6)")]:
        line = next(li for li in text.splitlines() if li.startswith(name + " "))
        assert shape in line and f"{counts[name]:,}" in line, line
    assert f"Total params: {sum(counts.values()):,}" in text
    assert 'Model: "tiny"' in text and "Input: (None, 7) int32" in text


def test_config_round_trip_rebuilds_the_same_model():
    model = _ids_model()
    x = np.random.default_rng(2).integers(0, 30, size=(4, 6))
    y = model(x)
    config = json.loads(json.dumps(model.get_config()))  # JSON-serialisable
    assert [item["class_name"] for item in config["layers"]] == ["Embedding", "LSTM", "GRU",
                                                                 "Dense"]
    clone = Sequential.from_config(config)
    assert clone.get_config() == config
    assert [layer.name for layer in clone.layers] == ["emb", "lstm_a", "gru_b", "out"]
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone(x), y)
    with pytest.raises(ValueError, match="class_name.*Conv2D"):
        Sequential.from_config({"layers": [{"class_name": "Conv2D", "config": {}}]})


def test_get_set_weights_in_layer_order_and_all_or_nothing():
    model = _ids_model()
    model(np.array([[1, 2, 3]]))
    names = model.weight_names()
    assert names == ["emb/embeddings", "lstm_a/kernel", "lstm_a/recurrent_kernel", "lstm_a/bias",
                     "gru_b/kernel", "gru_b/recurrent_kernel", "gru_b/bias", "out/kernel",
                     "out/bias"]
    weights = model.get_weights()
    assert [w.shape for w in weights][:4] == [(30, 6), (6, 20), (5, 20), (20,)]
    with pytest.raises(ValueError, match="expects 9 weights.*received 8"):
        model.set_weights(weights[:-1])
    bad = [w + 1 for w in weights]
    bad[5] = np.zeros((7, 12))  # gru recurrent_kernel must be (4, 12)
    with pytest.raises(ValueError, match=r"recurrent_kernel.*\(4, 12\).*\(7, 12\)"):
        model.set_weights(bad)
    for before, after in zip(weights, model.get_weights()):  # nothing half-set
        np.testing.assert_array_equal(before, after)


def test_add_refuses_what_a_sequential_cannot_hold():
    model = Sequential(name="m")
    with pytest.raises(TypeError, match="numpy_rnn layer"):
        model.add("lstm")
    with pytest.raises(ValueError, match="return_state=True"):
        model.add(LSTM(3, return_state=True))
    with pytest.raises(ValueError, match="merge_mode=None"):
        model.add(Bidirectional(GRU(2), merge_mode=None))
    model.add(Dense(2, name="d"))
    with pytest.raises(ValueError, match="unique names.*'d'"):
        model.add(Dense(3, name="d"))
    with pytest.raises(ValueError, match="no layers"):
        Sequential()(np.zeros((1, 2)))
    assert model.pop().name == "d" and model.layers == []


def test_build_from_input_shape_and_to_numpy_only():
    model = Sequential([LSTM(3), Dense(2)], input_shape=(None, 4))
    assert not model.built
    model.build()
    assert model.built and model.layers[0].kernel.shape == (4, 12)
    with pytest.raises(ValueError, match="input shape is unknown"):
        Sequential([Masking(), LSTM(2)]).build()
    assert isinstance(numpy_rnn.Sequential, type)


def test_empty_batch_through_a_sequential_call_and_predict():
    """0 rows: the shapes Keras gives (GRU / SimpleRNN / Dense / Embedding), never a reshape
    error; an LSTM raises a ValueError naming `inputs`, as keras.layers.LSTM raises."""
    model = Sequential([Embedding(10, 3, mask_zero=True), GRU(4, return_sequences=True),
                        SimpleRNN(2), Dense(1)])
    for ids in (np.zeros((0, 5), np.int32), np.zeros((0, 5))):
        assert model(ids).shape == (0, 1)
        assert model.predict(ids).shape == (0, 1)
        assert model.predict(ids, batch_size=1).shape == (0, 1)
    assert Sequential([Dense(3)]).predict(np.zeros((0, 4))).shape == (0, 3)
    lstm_model = Sequential([Embedding(10, 3, mask_zero=True), LSTM(4)])
    for run in (lstm_model, lstm_model.predict):
        with pytest.raises(ValueError, match=r"`inputs`.*empty batch"):
            run(np.zeros((0, 5), np.int32))
    assert not lstm_model.layers[1].built
