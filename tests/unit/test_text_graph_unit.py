"""TextVectorization inside a functional model, NumPy only: string inputs end to end, the layer's
config round trip, a ``.keras`` archive written by hand whose vocabulary is in its assets (as
Keras 3 writes it: ``assets/layers/text_vectorization/vocabulary.txt``), refusals, and a bundle
of a model that reads strings.  The same against Keras: tests/parity/test_text_graph_parity.py.
"""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import KerasFileError, UnsupportedModelError
from numpy_rnn.layers.text_vectorization import TextVectorizationLayer, vocabulary_from_asset
from tests.unit.test_keras_file_unit import dense, input_layer, layer

h5py = pytest.importorskip("h5py")

CORPUS = ["the cat sat on the mat", "a dog ate my homework", "the end"]
TOKENS = ["", "[UNK]", "the", "sat", "on", "my", "mat", "homework", "end", "dog", "cat",
          "ate", "a"]


def _vectorizer(length=5):
    tv = numpy_rnn.TextVectorization(max_tokens=20, output_sequence_length=length)
    tv.set_vocabulary(np.array(TOKENS, dtype=object))
    return tv


def _text_model(tv=None):
    tv = tv or _vectorizer()
    text = numpy_rnn.Input((1,), dtype="string", name="text")
    ids = tv(text)
    x = numpy_rnn.Embedding(20, 3, mask_zero=True, name="emb")(ids)
    return numpy_rnn.Model(text, numpy_rnn.Dense(2, name="head")(numpy_rnn.LSTM(2,
                                                                             name="rnn")(x)))


def test_string_inputs_end_to_end():
    tv = _vectorizer()
    model = _text_model(tv)
    assert isinstance(model.layers[1], TextVectorizationLayer)
    assert model.layers[1].vectorizer is tv and model.inputs[0].dtype == "object"
    texts = np.array([["the cat sat"], ["a dog ate my homework twice"]], dtype=object)
    ids = np.asarray(tv(texts))
    emb, rnn, head = (model.get_layer(n) for n in ("emb", "rnn", "head"))
    expected = head(rnn(emb(ids), mask=ids != 0))
    np.testing.assert_array_equal(model.predict(texts), expected)
    np.testing.assert_array_equal(model.predict([["the cat sat"], [b"a dog ate my homework"
                                                                   b" twice"]]), expected)
    with pytest.raises(TypeError, match="must hold strings"):
        model.predict(np.array([[1.0], [2.0]]))


def test_config_round_trip_keeps_options_and_vocabulary():
    model = _text_model()
    again = numpy_rnn.Model.from_config(json.loads(json.dumps(model.get_config())))
    again.set_weights(model.get_weights())
    assert again.layers[1].get_vocabulary() == TOKENS
    assert again.inputs[0].dtype == "object"
    texts = [["the end"], ["cat on my mat"]]
    np.testing.assert_array_equal(again.predict(texts), model.predict(texts))


def test_vocabulary_asset_format():
    assert vocabulary_from_asset("\n".join(TOKENS).encode()) == TOKENS


# -- a .keras archive by hand --------------------------------------------------------------------
def _archive(path, *, vocabulary=None, asset=True, sequential=False):
    tv = {"module": "keras.layers", "class_name": "TextVectorization", "registered_name": None,
          "config": {"name": "text_vectorization", "trainable": True, "dtype": "float32",
                     "max_tokens": 20, "standardize": "lower_and_strip_punctuation",
                     "split": "whitespace", "ngrams": None, "output_mode": "int",
                     "output_sequence_length": 5, "pad_to_max_tokens": False,
                     "sparse": False, "ragged": False, "vocabulary": vocabulary,
                     "idf_weights": None, "encoding": "utf-8", "vocabulary_size": 13}}
    emb = layer("Embedding", "embedding", input_dim=20, output_dim=3, mask_zero=False)
    head = dense("dense", 2)
    inp = input_layer([1], "string", "text")
    if sequential:
        config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
                  "config": {"name": "seq", "layers": [inp, tv, emb, head]}}
    else:
        def t(name, shape, dtype="float32"):
            return {"class_name": "__keras_tensor__", "config": {
                "shape": shape, "dtype": dtype, "keras_history": [name, 0, 0]}}
        layers = [{**inp, "name": "text", "inbound_nodes": []},
                  {**tv, "name": "text_vectorization",
                   "inbound_nodes": [{"args": [t("text", [None, 1], "string")], "kwargs": {}}]},
                  {**emb, "name": "embedding", "inbound_nodes": [
                      {"args": [t("text_vectorization", [None, 5], "int64")], "kwargs": {}}]},
                  {**head, "name": "dense", "inbound_nodes": [
                      {"args": [t("embedding", [None, 5, 3])], "kwargs": {}}]}]
        config = {"module": "keras.src.models.functional", "class_name": "Functional",
                  "registered_name": "Functional",
                  "config": {"name": "f", "layers": layers, "input_layers": ["text", 0, 0],
                             "output_layers": ["dense", 0, 0]}}
    rng = np.random.default_rng(0)
    E, K, B = (rng.normal(size=s).astype("float32") for s in ((20, 3), (3, 2), (2,)))
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for group, arrays in (("layers/embedding", [E]), ("layers/dense", [K, B])):
            g = f.create_group(f"{group}/vars")
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=a)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", buf.getvalue())
        if asset:
            zf.writestr("assets/layers/text_vectorization/vocabulary.txt", "\n".join(TOKENS))
    return path, (E, K, B)


@pytest.mark.parametrize("sequential", [False, True])
def test_keras_archive_vocabulary_from_its_assets(tmp_path, sequential):
    path, (E, K, B) = _archive(tmp_path / "t.keras", sequential=sequential)
    model = numpy_rnn.load_keras_model(path)
    assert isinstance(model, numpy_rnn.Model)
    assert model.layers[1].get_vocabulary() == TOKENS
    ids = np.asarray(_vectorizer()(np.array([["the cat"], ["zebra end"]], dtype=object)))
    np.testing.assert_allclose(model.predict([["the cat"], ["zebra end"]]), E[ids] @ K + B,
                               rtol=1e-6)


def test_keras_archive_vocabulary_problems(tmp_path):
    path, _ = _archive(tmp_path / "a.keras", asset=False)
    with pytest.raises(KerasFileError, match="has no vocabulary in its config and the archive "
                                             "has no 'assets/layers/text_vectorization/"):
        numpy_rnn.load_keras_model(path)
    path, _ = _archive(tmp_path / "p.keras", vocabulary="/etc/passwd", asset=False)
    with pytest.raises(UnsupportedModelError, match="is a file path"):
        numpy_rnn.load_keras_model(path)
    path, _ = _archive(tmp_path / "l.keras", vocabulary=TOKENS[2:], asset=False)
    assert numpy_rnn.load_keras_model(path).layers[1].get_vocabulary() == TOKENS


def test_bundle_of_a_model_that_reads_strings(tmp_path):
    model = _text_model()
    path = numpy_rnn.save(model, tmp_path / "text.npz")
    bundle = numpy_rnn.read_bundle(path)
    assert bundle.test_inputs[0].dtype.kind == "U"  # fixed-width text, never pickled objects
    assert bundle.report.passed
    texts = [["the cat"], ["on my mat"]]
    np.testing.assert_array_equal(bundle.model.predict(texts), model.predict(texts))
