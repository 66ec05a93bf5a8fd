"""``numpy-rnn predict`` for any bundle (issue 21 item 6): classifiers (top-k classes, the
bundle's labels), binary and multi-label sigmoid outputs, regressors, sequence outputs, text
classifiers; inputs from --text, a .npy / JSON / text file or stdin; --json.  NumPy only: the
bundles are written by numpy_rnn.save, and the expected figures come from model.predict."""
from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest

import numpy_rnn
from parity.cli import main


def _bundle(tmp_path, model, name, **kw):
    path = tmp_path / f"{name}.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not verified by Keras": expected here
        numpy_rnn.save(model, path, **kw)
    return str(path)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture
def classifier(tmp_path):
    model = numpy_rnn.Sequential([numpy_rnn.LSTM(5, seed=1),
                                  numpy_rnn.Dense(3, activation="softmax", seed=2)],
                                 input_shape=(4, 2))
    model.build()
    return model, _bundle(tmp_path, model, "clf", labels=["cat", "dog", "eel"])


def test_classifier_top_classes_with_labels_from_npy_json_and_stdin(classifier, tmp_path,
                                                                    capsys, monkeypatch):
    model, path = classifier
    x = np.random.default_rng(0).normal(size=(3, 4, 2))
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "x.json").write_text(json.dumps(x.tolist()))
    probs = model.predict(x)
    names = np.array(["cat", "dog", "eel"])
    for source in (tmp_path / "x.npy", tmp_path / "x.json"):
        code, out, err = _run(capsys, "predict", path, "--input", source, "--json", "--top", 2)
        assert code == 0, err
        doc = json.loads(out)
        assert doc["as"] == "classes" and doc["labels"] == list(names)
        for row, p in zip(doc["predictions"], probs):
            order = np.argsort(-p, kind="stable")[:2]
            assert [r["label"] for r in row["top"]] == list(names[order])
            np.testing.assert_allclose([r["probability"] for r in row["top"]], p[order])
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(x[0].tolist())))  # one sample
    code, out, err = _run(capsys, "predict", path, "--input", "-")
    assert code == 0, err
    best = names[np.argmax(probs[0])]
    assert out.splitlines()[1].split()[1] == best, out


def test_regressor_values_and_wrong_shapes(tmp_path, capsys):
    model = numpy_rnn.Sequential([numpy_rnn.Dense(2, seed=3)], input_shape=(3,))
    model.build()
    path = _bundle(tmp_path, model, "reg")
    (tmp_path / "x.txt").write_text("1, 2, 3\n0.5 0 -1\n\n")
    code, out, err = _run(capsys, "predict", path, "--input", tmp_path / "x.txt", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["as"] == "values"
    want = model.predict(np.array([[1, 2, 3], [0.5, 0, -1]], dtype=np.float32))
    np.testing.assert_allclose([r["values"] for r in doc["predictions"]], want, rtol=1e-6)
    (tmp_path / "bad.txt").write_text("1, 2\n")
    code, _, err = _run(capsys, "predict", path, "--input", tmp_path / "bad.txt")
    assert code == 2 and "shape (n, 3)" in err, err
    (tmp_path / "words.txt").write_text("one two three\n")
    code, _, err = _run(capsys, "predict", path, "--input", tmp_path / "words.txt")
    assert code == 2 and "line 1" in err, err
    code, _, err = _run(capsys, "predict", path, "--text", "hello")
    assert code == 2 and "does not read token ids" in err, err


def test_binary_sigmoid_and_sequence_outputs(tmp_path, capsys):
    binary = numpy_rnn.Sequential([numpy_rnn.Dense(1, activation="sigmoid", seed=4)],
                                  input_shape=(3,))
    binary.build()
    path = _bundle(tmp_path, binary, "bin", labels=["neg", "pos"])
    x = np.array([[3.0, -1.0, 2.0]], dtype=np.float32)
    (tmp_path / "b.json").write_text(json.dumps(x.tolist()))
    code, out, err = _run(capsys, "predict", path, "--input", tmp_path / "b.json", "--json")
    assert code == 0, err
    top = json.loads(out)["predictions"][0]["top"]
    q = float(binary.predict(x)[0, 0])
    assert {r["label"]: r["probability"] for r in top} == pytest.approx({"pos": q,
                                                                        "neg": 1 - q})
    tagger = numpy_rnn.Sequential([numpy_rnn.LSTM(4, return_sequences=True, seed=5),
                                   numpy_rnn.Dense(3, activation="softmax", seed=6)],
                                  input_shape=(5, 2))
    tagger.build()
    path = _bundle(tmp_path, tagger, "tagger", labels=["a", "b", "c"])
    xs = np.random.default_rng(1).normal(size=(2, 5, 2))
    (tmp_path / "s.json").write_text(json.dumps(xs.tolist()))
    code, out, err = _run(capsys, "predict", path, "--input", tmp_path / "s.json", "--json")
    assert code == 0, err
    rows = json.loads(out)["predictions"]
    best = np.argmax(tagger.predict(xs), axis=-1)
    assert [[s["class"] for s in r["steps"]] for r in rows] == best.tolist()
    code, out, err = _run(capsys, "predict", path, "--input", tmp_path / "s.json", "--as",
                          "values", "--json")
    assert code == 0 and json.loads(out)["as"] == "values", err


def test_text_classifier_reads_texts(tmp_path, capsys):
    vocab = numpy_rnn.Vocabulary(oov_token="<OOV>")
    vocab.fit_on_texts(["the cat sat on the mat", "a dog ran in the park"])
    model = numpy_rnn.Sequential([numpy_rnn.Embedding(vocab.size, 4, seed=7),
                                  numpy_rnn.LSTM(3, seed=8),
                                  numpy_rnn.Dense(2, activation="softmax", seed=9)],
                                 input_shape=(6,), input_dtype="int32")
    model.build()
    path = _bundle(tmp_path, model, "text", vocabulary=vocab, labels=["bad", "good"])
    texts = ["the cat sat", "a dog ran in the park today"]
    code, out, err = _run(capsys, "predict", path, "--text", texts[0], "--text", texts[1],
                          "--json", "--top", "1")
    assert code == 0, err
    doc = json.loads(out)
    ids = numpy_rnn.pad_sequences(vocab.texts_to_sequences(texts), maxlen=6)
    want = np.array(["bad", "good"])[np.argmax(model.predict(ids), axis=-1)]
    assert [r["top"][0]["label"] for r in doc["predictions"]] == list(want)
    assert doc["texts"] == texts
    (tmp_path / "t.txt").write_text("\n".join(texts) + "\n")
    code, out2, err = _run(capsys, "predict", path, "--input", tmp_path / "t.txt", "--json",
                           "--top", "1")
    assert code == 0 and json.loads(out2)["predictions"] == doc["predictions"], err


def test_labels_are_checked_when_saved_and_loaded(tmp_path):
    model = numpy_rnn.Sequential([numpy_rnn.Dense(3, activation="softmax")], input_shape=(2,))
    model.build()
    with pytest.raises(ValueError, match="labels"):
        _bundle(tmp_path, model, "two", labels=["a", "b"])
    with pytest.raises(TypeError, match="labels"):
        _bundle(tmp_path, model, "str", labels="abc")
    with pytest.raises(ValueError, match="labels"):
        _bundle(tmp_path, model, "ints", labels=[1, 2, 3])
