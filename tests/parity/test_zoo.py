"""A zoo: published Keras sequence examples, rebuilt small, each ported and checked.

Each builder names the example it follows (the layers and the wiring as published; sizes cut
down so the zoo runs in seconds).  For each: Keras saves the model, ``parity.bridge.port.port``
reads the file with numpy_rnn, runs both on generated inputs and writes a bundle only if every
output agrees; the bundle then loads (and re-verifies) with NumPy alone, and the twin's
gradients match Keras's.  A member whose layers numpy_rnn does not have yet (other helpers are
adding them) is skipped, naming the layer; it runs once the table has it.
"""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn.formats.keras_layers import KERAS_LAYER_RULES  # noqa: E402
from parity.bridge.port import port  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402
from parity.cases.weights import randomize_model  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager"),
              pytest.mark.filterwarnings("ignore:.*does not support masking")]
L = keras.layers


def imdb_bidirectional_lstm(dt):
    """keras.io/examples/nlp/bidirectional_lstm_imdb: Embedding -> 2 x Bidirectional(LSTM) ->
    Dense(sigmoid)."""
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = L.Embedding(20, 8, dtype=dt)(inputs)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True, dtype=dt), dtype=dt)(x)
    x = L.Bidirectional(L.LSTM(4, dtype=dt), dtype=dt)(x)
    return keras.Model(inputs, L.Dense(1, activation="sigmoid", dtype=dt)(x))


def addition_rnn(dt):
    """keras.io/examples/nlp/addition_rnn: one-hot digits -> LSTM -> RepeatVector(DIGITS + 1) ->
    LSTM(return_sequences) -> Dense(softmax) per step."""
    return keras.Sequential([
        keras.Input((7, 12)), L.LSTM(8, dtype=dt), L.RepeatVector(4, dtype=dt),
        L.LSTM(8, return_sequences=True, dtype=dt),
        L.Dense(12, activation="softmax", dtype=dt)])


def lstm_seq2seq(dt):
    """keras.io/examples/nlp/lstm_seq2seq (character-level): two one-hot inputs; the encoder's
    [h, c] is the decoder's initial_state; the decoder also returns its states."""
    encoder_inputs = keras.Input(shape=(None, 6))
    _, state_h, state_c = L.LSTM(5, return_state=True, dtype=dt)(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, 7))
    decoder_lstm = L.LSTM(5, return_sequences=True, return_state=True, dtype=dt)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = L.Dense(7, activation="softmax", dtype=dt)(decoder_outputs)
    return keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)


def lstm_seq2seq_inference(dt):
    """The same example's inference decoder: the states are model inputs and outputs, the
    decoder LSTM and the Dense shared with the training model."""
    training = lstm_seq2seq(dt)
    decoder_inputs = training.inputs[1]
    decoder_lstm, decoder_dense = training.layers[-2], training.layers[-1]
    state_h, state_c = keras.Input(shape=(5,)), keras.Input(shape=(5,))
    outputs, h, c = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    return keras.Model([decoder_inputs, state_h, state_c], [decoder_dense(outputs), h, c])


def weather_lstm(dt):
    """keras.io/examples/timeseries/timeseries_weather_forecasting: LSTM(32) -> Dense(1)."""
    inputs = L.Input(shape=(6, 7))
    return keras.Model(inputs, L.Dense(1, dtype=dt)(L.LSTM(4, dtype=dt)(inputs)))


def ticket_classifier(dt):
    """keras.io/guides/functional_api ("models with multiple inputs and outputs"): title and
    body text through their own Embedding + LSTM, tags as a vector, concatenated; two heads
    (priority, department)."""
    title = keras.Input(shape=(None,), dtype="int32", name="title")
    body = keras.Input(shape=(None,), dtype="int32", name="body")
    tags = keras.Input(shape=(5,), name="tags")
    t = L.LSTM(6, dtype=dt)(L.Embedding(30, 8, dtype=dt)(title))
    b = L.LSTM(4, dtype=dt)(L.Embedding(30, 8, dtype=dt)(body))
    x = L.concatenate([t, b, tags], dtype=dt)
    priority = L.Dense(1, name="priority", dtype=dt)(x)
    department = L.Dense(3, name="department", dtype=dt)(x)
    return keras.Model([title, body, tags], [priority, department])


def shared_embedding(dt):
    """keras.io/guides/functional_api ("shared layers"): one Embedding for two text inputs."""
    shared = L.Embedding(30, 6, dtype=dt)
    a = keras.Input(shape=(None,), dtype="int32")
    b = keras.Input(shape=(None,), dtype="int32")
    x = L.Concatenate(dtype=dt)([L.GRU(3, dtype=dt)(shared(a)), L.GRU(3, dtype=dt)(shared(b))])
    return keras.Model([a, b], L.Dense(1, dtype=dt)(x))


def text_classification_rnn(dt):
    """tensorflow.org/text/tutorials/text_classification_rnn (the model after its
    TextVectorization): Embedding(mask_zero) -> Bidirectional(LSTM) -> Dense(relu) -> Dense."""
    return keras.Sequential([
        keras.Input((None,), dtype="int32"),
        L.Embedding(25, 8, mask_zero=True, dtype=dt),
        L.Bidirectional(L.LSTM(4, dtype=dt), dtype=dt),
        L.Dense(4, activation="relu", dtype=dt), L.Dense(1, dtype=dt)])


ZOO = {f.__name__: f for f in (imdb_bidirectional_lstm, addition_rnn, lstm_seq2seq,
                               lstm_seq2seq_inference, weather_lstm, ticket_classifier,
                               shared_embedding, text_classification_rnn)}


def _missing_layers(model) -> list[str]:
    names = set()
    for layer in model.layers:
        stack = [layer]
        while stack:
            lay = stack.pop()
            if hasattr(lay, "layers") and type(lay).__name__ in ("Functional", "Sequential"):
                stack += lay.layers
            elif type(lay).__name__ not in KERAS_LAYER_RULES and type(lay).__name__ != \
                    "InputLayer":
                names.add(type(lay).__name__)
    return sorted(names)


def _zoo_model(name, dt="float32", seed=0):
    keras.backend.clear_session()
    with floatx(dt):
        model = ZOO[name](dt)
        missing = _missing_layers(model)
        if missing:
            pytest.skip(f"numpy_rnn has no {missing} yet")
        randomize_model(model, np.random.default_rng(seed), dt)
    return model


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_member_ports_and_checks(tmp_path, name):
    model = _zoo_model(name)
    model.save(tmp_path / f"{name}.keras")
    result = port(tmp_path / f"{name}.keras", tmp_path / f"{name}.npz", n_samples=4,
                  timesteps=5)
    assert result.keras_checked and result.passed, str(result.report)
    bundle = numpy_rnn.read_bundle(result.bundle_path)
    assert bundle.report.passed
    assert len(result.report.outputs) == len(model.outputs)


@pytest.mark.parametrize("name", ["lstm_seq2seq", "ticket_classifier", "shared_embedding",
                                  "imdb_bidirectional_lstm"])
def test_zoo_member_gradients(name):
    model = _zoo_model(name, "float64", seed=1)
    twin = parity.from_keras(model)
    rng = np.random.default_rng(2)
    xs = []
    for t in model.inputs:
        shape = (3,) + tuple(5 if d is None else int(d) for d in t.shape[1:])
        xs.append(rng.integers(1, 20, size=shape).astype("int32") if "int" in str(t.dtype)
                  else rng.normal(size=shape))
    kwargs = {}
    if len(model.outputs) == 1:  # a softmax's outputs sum to 1: differentiate a loss instead
        shape = np.shape(twin.predict(xs if isinstance(twin, numpy_rnn.Model) else xs[0]))
        kwargs = {"loss": "mse", "targets": rng.normal(size=shape)}
    with floatx("float64"):
        report = parity.compare_gradients(twin, model, xs if len(xs) > 1 else xs[0], **kwargs)
    assert report.passed, str(report)
