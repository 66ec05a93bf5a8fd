"""End to end: train a next-word LSTM in Keras on the shipped corpus, save it as .keras, port it
with ``numpy-rnn port``, then load and run the bundle where TensorFlow cannot be imported.

Every expected value comes from Keras (its predictions, its ``pad_sequences``), never from
numpy_rnn.  About 30 s on 2 cores, most of it TensorFlow's import and the training.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
from parity.cli import main  # noqa: E402

SEQ = 10
TEXT = "that this nation under god shall have a new birth of"


def _blocker(*names: str) -> str:
    return textwrap.dedent(
        f"""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in {names!r}:
                    raise ImportError('blocked for this test: ' + name)
                return None
        sys.meta_path.insert(0, Block())
        """
    )


NO_TF = _blocker("tensorflow", "keras", "tf_keras", "h5py")
NO_TF_WITH_H5 = _blocker("tensorflow", "keras", "tf_keras")


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=180)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A next-word model trained in Keras: Embedding(mask_zero) -> LSTM -> Dense(softmax)."""
    root = tmp_path_factory.mktemp("port")
    vocab = numpy_rnn.Vocabulary()
    windows = vocab.tokenize(numpy_rnn.datasets.load_corpus_lines(), SEQ + 1)
    x, y = windows[:, :-1], windows[:, -1]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((SEQ,), dtype="int32"),
        keras.layers.Embedding(vocab.size, 24, mask_zero=True),
        keras.layers.LSTM(48),
        keras.layers.Dense(vocab.size, activation="softmax"),
    ], name="next_word")
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=12, batch_size=64, verbose=0)
    model.save(root / "next_word.keras")
    (root / "tokenizer.json").write_text(vocab.to_json(), encoding="utf-8")
    assert main(["port", str(root / "next_word.keras"), "-o", str(root / "next_word.npz"),
                 "--vocabulary", str(root / "tokenizer.json")]) == 0
    return root, model, vocab, x


def _keras_next_words(model, vocab, text: str, n: int) -> list[str]:
    """Greedy continuation computed with Keras alone (its own pad_sequences)."""
    ids = vocab.texts_to_sequences([text])[0]
    words = []
    for _ in range(n):
        window = keras.utils.pad_sequences([ids], maxlen=SEQ, padding="pre", truncating="pre")
        probs = np.array(model(window.astype("int32")))[0]
        probs[0] = 0.0  # id 0 is padding, not a word
        nxt = int(np.argmax(probs))
        ids.append(nxt)
        words.append(vocab.index_word[nxt])
    return words


def test_bundle_predicts_like_keras_without_tensorflow(trained):
    root, model, vocab, x = trained
    # Full windows and left-padded shorter prefixes (the mask at work).
    short = keras.utils.pad_sequences([row[: 3 + i % 6] for i, row in enumerate(x[:40])],
                                      maxlen=SEQ, padding="pre")
    inputs = np.concatenate([x[:60], short]).astype("int32")
    np.save(root / "inputs.npy", inputs)
    expected = np.asarray(model(inputs))
    code = NO_TF + textwrap.dedent(
        """
        import numpy as np, numpy_rnn
        model = numpy_rnn.load(sys.argv[1])          # verifies the stored Keras test vectors
        np.save(sys.argv[3], model.predict(np.load(sys.argv[2])))
        assert model.vocabulary is not None
        loaded = sorted(m for m in sys.modules
                        if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'h5py'))
        print('LOADED', loaded)
        """
    )
    proc = _run(code, root / "next_word.npz", root / "inputs.npy", root / "out.npy")
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout
    got = np.load(root / "out.npy")
    assert got.shape == expected.shape == (100, vocab.size)
    np.testing.assert_array_equal(got.argmax(-1), expected.argmax(-1))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert expected.max(-1).mean() > 0.2  # a trained model, not near-uniform noise


def test_predict_command_matches_keras_greedy_continuation(trained):
    root, model, vocab, _ = trained
    words = _keras_next_words(model, vocab, TEXT, 4)
    code = NO_TF + "from parity.cli import main\nsys.exit(main(sys.argv[1:]))"
    proc = _run(code, "predict", root / "next_word.npz", "--text", TEXT, "--top", "3",
                "--generate", "4")
    assert proc.returncode == 0, proc.stderr
    top = next(li for li in proc.stdout.splitlines() if li.strip().startswith("1."))
    assert top.split()[1] == words[0], proc.stdout
    assert f"generated (greedy): {TEXT} {' '.join(words)}" in proc.stdout
    sampled = _run(code, "predict", root / "next_word.npz", "--text", TEXT, "--generate", "5",
                   "--temperature", "0.8", "--seed", "1")
    again = _run(code, "predict", root / "next_word.npz", "--text", TEXT, "--generate", "5",
                 "--temperature", "0.8", "--seed", "1")
    assert sampled.returncode == 0 and sampled.stdout == again.stdout  # seeded


def test_check_command_and_damaged_bundles(trained, tmp_path, capsys):
    root = trained[0]
    assert main(["check", str(root / "next_word.npz")]) == 0
    out = capsys.readouterr().out
    assert "bundle check PASSED" in out and f"keras {keras.__version__}" in out
    assert "integrity SHA-256 ok" in out and "vocabulary:" in out

    data = bytearray((root / "next_word.npz").read_bytes())
    i = data.index(b"weight_002.npy") + 600
    data[i] ^= 0x01
    (tmp_path / "tampered.npz").write_bytes(bytes(data))
    assert main(["check", str(tmp_path / "tampered.npz")]) == 1
    err = capsys.readouterr().err
    assert "SHA-256" in err or "corrupt" in err, err

    (tmp_path / "cut.npz").write_bytes(bytes(data[: len(data) // 3]))
    assert main(["check", str(tmp_path / "cut.npz")]) == 1
    assert "truncated" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.npz")]) == 2


def test_predict_usage_errors(trained, tmp_path, capsys):
    root, model, _, _ = trained
    assert main(["predict", str(root / "next_word.npz"), "--text", "zzz qqq"]) == 2
    assert "none of the words" in capsys.readouterr().err
    assert main(["port", str(root / "next_word.keras"), "-o", str(tmp_path / "novocab.npz")]) == 0
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "novocab.npz"), "--text", TEXT]) == 2
    assert "has no vocabulary" in capsys.readouterr().err
    assert main(["predict", str(root / "next_word.npz")]) == 2  # no --text nor --input
    assert "give the inputs" in capsys.readouterr().err


def test_port_refusals_exit_2_with_the_reason(tmp_path, capsys):
    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 3),
                              keras.layers.Lambda(lambda t: t * 2, name="twice"),
                              keras.layers.LSTM(2)])
    model.save(tmp_path / "lambda.keras")
    assert main(["port", str(tmp_path / "lambda.keras"), "-o", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "layer 'twice' (Lambda)" in err and "never runs" in err
    assert not (tmp_path / "x.npz").exists()
    assert main(["port", str(tmp_path / "nope.keras"), "-o", str(tmp_path / "x.npz")]) == 2
    bad_vocab = tmp_path / "vocab.json"
    bad_vocab.write_text('{"class_name": "Sequential", "config": {}}')
    assert main(["port", str(tmp_path / "lambda.keras"), "-o", str(tmp_path / "x.npz"),
                 "--vocabulary", str(bad_vocab)]) == 2
    assert "not tokenizer JSON" in capsys.readouterr().err


def test_port_fails_when_numpy_and_keras_disagree(trained, tmp_path, monkeypatch, capsys):
    root = trained[0]
    original = numpy_rnn.LSTM.step

    def broken_step(self, xk_t, states):  # a 1% output error the parity check must catch
        h, (h2, c) = original(self, xk_t, states)
        return h * 1.01, [h2 * 1.01, c]

    monkeypatch.setattr(numpy_rnn.LSTM, "step", broken_step)
    out = tmp_path / "broken.npz"
    assert main(["port", str(root / "next_word.keras"), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "parity FAILED" in captured.out and "no bundle written" in captured.err
    assert not out.exists()


def test_port_without_tensorflow_marks_the_bundle_unverified(trained, tmp_path):
    root = trained[0]
    code = NO_TF_WITH_H5 + "from parity.cli import main\nsys.exit(main(sys.argv[1:]))"
    out = tmp_path / "plain.npz"
    proc = _run(code, "port", root / "next_word.keras", "-o", out, "--vocabulary",
                root / "tokenizer.json")
    assert proc.returncode == 0, proc.stderr
    assert "Keras is not installed on any backend" in proc.stdout
    assert "NOT verified by Keras" in proc.stdout
    check = _run(code, "check", out)
    assert check.returncode == 0, check.stderr
    assert "not verified by Keras" in check.stdout
    bundle = numpy_rnn.read_bundle(out)
    assert "not verified by Keras" in bundle.verified_by
    assert json.loads(json.dumps(bundle.provenance))["keras_version"] == keras.__version__


def test_float64_model_ports_and_loads_in_float64(tmp_path):
    """A float64 Keras model, ported and loaded without TensorFlow, still computes in float64:
    its outputs match Keras's float64 outputs far inside float32's reach (a load that dropped
    to float32 misses by ~1e-8 and fails)."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((7,), dtype="int32"),
        keras.layers.Embedding(20, 6, mask_zero=True, dtype="float64"),
        keras.layers.LSTM(8, return_sequences=True, dtype="float64"),
        keras.layers.GRU(5, dtype="float64"),
        keras.layers.Dense(4, activation="softmax", dtype="float64"),
    ], name="m64")
    model.save(tmp_path / "m64.keras")
    assert main(["port", str(tmp_path / "m64.keras"), "-o", str(tmp_path / "m64.npz")]) == 0
    rng = np.random.default_rng(0)
    inputs = rng.integers(1, 20, size=(16, 7)).astype("int32")
    inputs[::2, :3] = 0
    np.save(tmp_path / "inputs.npy", inputs)
    expected = np.asarray(model(inputs))
    assert expected.dtype == np.float64
    code = NO_TF + textwrap.dedent(
        """
        import numpy as np, numpy_rnn
        bundle = numpy_rnn.read_bundle(sys.argv[1])
        assert bundle.report.passed and bundle.report.atol <= 1e-12, bundle.report
        assert {str(w.dtype) for w in bundle.model.get_weights()} == {'float64'}
        np.save(sys.argv[3], bundle.model.predict(np.load(sys.argv[2])))
        """
    )
    proc = _run(code, tmp_path / "m64.npz", tmp_path / "inputs.npy", tmp_path / "out.npy")
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "out.npy")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_port_stores_labels_that_predict_shows(trained, tmp_path, capsys):
    root, model, _, _ = trained
    units = model.layers[-1].units
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"class-{i}" for i in range(units)) + "\n")
    out = tmp_path / "labelled.npz"
    assert main(["port", str(root / "next_word.keras"), "-o", str(out), "--labels",
                 str(labels)]) == 0
    capsys.readouterr()
    assert numpy_rnn.read_bundle(str(out)).labels == [f"class-{i}" for i in range(units)]
    labels.write_text("only-one\n")
    assert main(["port", str(root / "next_word.keras"), "-o", str(tmp_path / "x.npz"),
                 "--labels", str(labels)]) == 2
    assert "labels" in capsys.readouterr().err
