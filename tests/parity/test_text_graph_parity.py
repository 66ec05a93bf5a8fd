"""TextVectorization inside a Keras model, against Keras: string inputs end to end, the vocabulary
read from the ``.keras`` archive's assets and from a live layer, ``to_keras``, ``port`` /
``predict --text`` and ``trace``."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.bridge.port import port  # noqa: E402
from parity.cases.weights import randomize_model  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager")]

CORPUS = ["The cat sat on the mat.", "A dog ate my homework!", "the end", "cats and dogs"]
TEXTS = np.array([["the cat sat"], ["a DOG ate my homework twice"], [""], ["zebra? end"]],
                 dtype=object)


def _vectorizer(length):
    tv = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=length)
    tv.adapt(CORPUS)
    return tv


def functional_text_model(length=6):
    """Strings -> ids -> Embedding(mask_zero) -> [LSTM | GRU] -> Concatenate -> Dense."""
    keras.backend.clear_session()
    text = keras.Input((1,), dtype="string", name="text")
    ids = _vectorizer(length)(text)
    x = keras.layers.Embedding(20, 4, mask_zero=True)(ids)
    h = keras.layers.Concatenate()([keras.layers.LSTM(3)(x), keras.layers.GRU(2)(x)])
    model = keras.Model(text, keras.layers.Dense(2, activation="tanh")(h))
    randomize_model(model, np.random.default_rng(0))
    return model


def sequential_text_model():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((1,), dtype="string"), _vectorizer(5),
                              keras.layers.Embedding(20, 4, mask_zero=True),
                              keras.layers.LSTM(3), keras.layers.Dense(1)])
    randomize_model(model, np.random.default_rng(1))
    return model


@pytest.mark.parametrize("make", [functional_text_model, sequential_text_model])
def test_keras_file_vocabulary_from_assets(tmp_path, make):
    k = make()
    k.save(tmp_path / "text.keras")
    model = numpy_rnn.load_keras_model(tmp_path / "text.keras")
    vectorizer = next(lay for lay in model.layers
                      if isinstance(lay, numpy_rnn.TextVectorizationLayer))
    keras_tv = next(lay for lay in k.layers if type(lay).__name__ == "TextVectorization")
    assert vectorizer.get_vocabulary() == keras_tv.get_vocabulary()
    report = parity.compare(model, k, TEXTS)
    assert report.passed, str(report)


def test_live_layer_vocabulary_and_to_keras():
    k = functional_text_model(length=None)  # pads to the longest text of each batch
    twin = parity.from_keras(k)
    report = parity.compare(twin, k, TEXTS)
    assert report.passed, str(report)
    back = parity.to_keras(twin)
    assert parity.compare(twin, back, TEXTS).passed
    grads = parity.compare_gradients(twin, k, TEXTS)  # weights only: strings have no gradient
    assert grads.passed and len(grads.outputs) == len(k.weights)


def test_port_predict_and_trace_a_string_model(tmp_path):
    k = functional_text_model()
    k.save(tmp_path / "text.keras")
    result = port(tmp_path / "text.keras", tmp_path / "text.npz", n_samples=6)
    assert result.passed and result.keras_checked, str(result.report)
    bundle = numpy_rnn.read_bundle(result.bundle_path)
    assert bundle.test_inputs[0].dtype.kind == "U"
    run = subprocess.run([sys.executable, "-m", "parity.cli", "predict", result.bundle_path,
                          "--text", "the cat sat", "--text", "zebra", "--json"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    values = [row["values"] for row in json.loads(run.stdout)["predictions"]]
    expected = np.asarray(k(np.array([["the cat sat"], ["zebra"]], dtype=object)))
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)
    report = parity.trace(bundle.model, k, TEXTS)
    assert report.passed and report.rows[0].layer == "text_vectorization"


def test_trace_blames_a_wrong_vocabulary():
    k = functional_text_model()
    twin = parity.from_keras(k)
    tokens = twin.layers[1].get_vocabulary()
    twin.layers[1].vectorizer.set_vocabulary(np.array(tokens[:2] + tokens[2:][::-1],
                                                      dtype=object))
    report = parity.trace(twin, k, TEXTS)
    assert report.first_divergent == "text_vectorization"
