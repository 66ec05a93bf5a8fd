"""numpy_rnn.save / load: one .npz bundle that verifies itself and refuses damage.  NumPy only."""
from __future__ import annotations

import json
import os
import warnings
import zipfile

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import (LSTM, BundleError, BundleIntegrityError, BundleVerificationError,
                       BundleVersionError, Dense, Embedding, Sequential, Vocabulary)
from numpy_rnn import io as bundle_io


def _model():
    return Sequential([Embedding(12, 4, mask_zero=True, seed=0, name="emb"),
                       LSTM(5, seed=1, name="lstm"),
                       Dense(12, activation="softmax", seed=2, name="out")],
                      name="next_word", input_shape=(6,), input_dtype="int32")


def _vocab():
    vocab = Vocabulary()
    vocab.fit_on_texts(["the cat sat on the mat", "the dog sat", "a cat and a dog"])
    return vocab


@pytest.fixture
def bundle_path(tmp_path):
    path = tmp_path / "model.npz"
    numpy_rnn.save(_model(), path, vocabulary=_vocab())
    return path


def _arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _config(path):
    return json.loads(_arrays(path)["config"].tobytes().decode())


def _rewrite(path, mutate_config=None, mutate_arrays=None, keep_digest=False):
    """Rewrite a bundle; by default with a fresh (valid) digest, so only the mutation counts."""
    arrays = _arrays(path)
    config = json.loads(arrays.pop("config").tobytes().decode())
    digest = arrays.pop("sha256")
    if mutate_config:
        mutate_config(config)
    if mutate_arrays:
        mutate_arrays(arrays)
    if keep_digest:
        arrays["config"] = np.frombuffer(json.dumps(config, sort_keys=True).encode(), np.uint8)
        arrays["sha256"] = digest
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    else:
        bundle_io._write_bundle(path, config, arrays)


def test_round_trip_keeps_weights_vocabulary_and_outputs(bundle_path):
    original = _model()
    bundle = numpy_rnn.read_bundle(bundle_path)
    model = bundle.model
    for a, b in zip(model.get_weights(), original.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.vocabulary.word_index == _vocab().word_index
    assert bundle.report.passed and bundle.report.max_abs_err == 0.0
    x = np.array([[0, 0, 1, 2, 3, 4]])
    np.testing.assert_array_equal(model.predict(x), original.predict(x))
    assert numpy_rnn.load(bundle_path).input_shape == (6,)


def test_bundle_is_plain_arrays_with_config_versions_and_test_vectors(bundle_path):
    arrays = _arrays(bundle_path)  # np.load(allow_pickle=False) reads every member
    assert all(a.dtype != object for a in arrays.values())
    config = _config(bundle_path)
    assert config["format"] == "numpy-rnn-bundle" and config["format_version"] == 1
    assert config["provenance"]["numpy_rnn_version"] == numpy_rnn.__version__
    assert [w["name"] for w in config["weights"]] == ["emb/embeddings", "lstm/kernel",
                                                      "lstm/recurrent_kernel", "lstm/bias",
                                                      "out/kernel", "out/bias"]
    assert Vocabulary.from_json(config["vocabulary"]).word_index == _vocab().word_index
    x = arrays["test_inputs"]
    assert x.dtype == np.int32 and x.shape == (8, 6) and (x[0] == 0).any()  # padded rows
    assert x.max() < 12 and arrays["test_outputs"].shape == (8, 12)
    assert "not verified by Keras" in config["test"]["verified_by"]


def test_stored_reference_outputs_are_checked_on_load(tmp_path):
    model = _model()
    x = np.array([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    y = model.predict(x) + 3e-7  # a reference (e.g. Keras) that differs by rounding only
    path = tmp_path / "ref.npz"
    numpy_rnn.save(model, path, test_inputs=x, test_outputs=y, verified_by="keras 3.15.1")
    bundle = numpy_rnn.read_bundle(path)
    assert bundle.verified_by == "keras 3.15.1" and bundle.report.max_abs_err < 1e-6
    with pytest.raises(ValueError, match="does not reproduce `test_outputs`"):
        numpy_rnn.save(model, tmp_path / "bad.npz", test_inputs=x, test_outputs=y + 0.01)
    assert not (tmp_path / "bad.npz").exists()


def test_outputs_that_no_longer_match_are_refused_with_figures(bundle_path):
    _rewrite(bundle_path, mutate_arrays=lambda a: a.update(
        test_outputs=a["test_outputs"] + np.float32(0.01)))
    with pytest.raises(BundleVerificationError) as info:
        numpy_rnn.load(bundle_path)
    msg = str(info.value)
    assert "no longer reproduces" in msg and "max|err|=1.000e-02" in msg and "atol=1e-06" in msg
    assert info.value.report.n_bad == 96
    with pytest.warns(UserWarning, match="verify=False"):
        model = numpy_rnn.load(bundle_path, verify=False)
    assert isinstance(model, Sequential)


def test_tampered_weight_fails_the_integrity_check(bundle_path):
    def edit(arrays):
        w = arrays["weight_001"].copy()
        w[0, 0] += 0.5
        arrays["weight_001"] = w
    _rewrite(bundle_path, mutate_arrays=edit, keep_digest=True)
    with pytest.raises(BundleIntegrityError, match="SHA-256.*truncated, corrupted or edited"):
        numpy_rnn.load(bundle_path)
    with pytest.raises(BundleIntegrityError):
        numpy_rnn.load(bundle_path, verify=False)  # never skipped


def test_tampered_config_fails_the_integrity_check(bundle_path):
    _rewrite(bundle_path, mutate_config=lambda c: c["test"].update(atol=1.0), keep_digest=True)
    with pytest.raises(BundleIntegrityError, match="SHA-256"):
        numpy_rnn.load(bundle_path)


@pytest.mark.parametrize("keep", [0.5, 0.97, 0.05])
def test_truncated_bundle_is_refused(bundle_path, keep):
    data = bundle_path.read_bytes()
    bundle_path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(BundleError, match="truncated"):
        numpy_rnn.load(bundle_path)


def test_corrupted_bytes_are_refused(bundle_path):
    data = bytearray(bundle_path.read_bytes())
    i = data.index(b"weight_001.npy") + 400  # inside an array member
    data[i] ^= 0xFF
    bundle_path.write_bytes(bytes(data))
    with pytest.raises(BundleError):
        numpy_rnn.load(bundle_path)


def test_unknown_or_future_format_version_is_refused(bundle_path):
    _rewrite(bundle_path, mutate_config=lambda c: c.update(format_version=2))
    with pytest.raises(BundleVersionError, match="format version 2.*newer.*reads format "
                                                 r"version\(s\) 1\.\.1"):
        numpy_rnn.load(bundle_path)
    _rewrite(bundle_path, mutate_config=lambda c: c.update(format_version="1"))
    with pytest.raises(BundleVersionError, match="unknown bundle format version '1'"):
        numpy_rnn.load(bundle_path)
    _rewrite(bundle_path, mutate_config=lambda c: c.update(format="something-else"))
    with pytest.raises(BundleError, match="not a numpy-rnn bundle.*'something-else'"):
        numpy_rnn.load(bundle_path)


def test_weight_shape_that_disagrees_with_the_config_is_refused(bundle_path):
    def wrong_array(arrays):
        arrays["weight_002"] = np.zeros((5, 24), np.float32)  # recurrent_kernel is (5, 20)
    _rewrite(bundle_path, mutate_arrays=wrong_array)
    with pytest.raises(BundleError, match=r"`lstm/recurrent_kernel`.*\(5, 24\).*\(5, 20\)"):
        numpy_rnn.load(bundle_path)


def test_model_config_that_disagrees_with_the_weights_is_refused(bundle_path):
    def more_units(config):
        config["model"]["layers"][1]["config"]["units"] = 6
    _rewrite(bundle_path, mutate_config=more_units)
    with pytest.raises(BundleError, match=r"`lstm/kernel` has shape \(4, 20\).*needs \(4, 24\)"):
        numpy_rnn.load(bundle_path)


def test_missing_weight_and_not_a_bundle(tmp_path, bundle_path):
    _rewrite(bundle_path, mutate_arrays=lambda a: a.pop("weight_003"))
    with pytest.raises(BundleError, match="weight 3.*missing"):
        numpy_rnn.load(bundle_path)
    other = tmp_path / "plain.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(BundleError, match="no 'config' array"):
        numpy_rnn.load(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(BundleError, match=r"not a numpy-rnn bundle.*\(zip\) archive.*is text"):
        numpy_rnn.load(text)
    with pytest.raises(FileNotFoundError):
        numpy_rnn.load(tmp_path / "missing.npz")


def test_pickled_objects_are_never_loaded(tmp_path, bundle_path):
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    arrays = _arrays(bundle_path)
    arrays["evil"] = np.array([Evil()], dtype=object)
    with open(bundle_path, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(BundleError, match="Python objects"):
        numpy_rnn.load(bundle_path)
    assert not marker.exists()


def test_save_refuses_vocabulary_larger_than_the_embedding_and_custom_activations(tmp_path):
    vocab = Vocabulary()
    vocab.fit_on_texts([" ".join(f"w{i}" for i in range(20))])
    with pytest.raises(ValueError, match="ids up to 20.*input_dim=12"):
        numpy_rnn.save(_model(), tmp_path / "v.npz", vocabulary=vocab)
    custom = Sequential([Dense(2, activation=lambda x: x * 2, features=3)])
    with pytest.raises(ValueError, match="cannot be rebuilt from its config"):
        numpy_rnn.save(custom, tmp_path / "c.npz", test_inputs=np.ones((2, 3)))
    assert sorted(os.listdir(tmp_path)) == []


def test_float_models_get_float_test_inputs(tmp_path):
    model = Sequential([numpy_rnn.Masking(0.0), LSTM(3, seed=0), Dense(2, seed=1)],
                       input_shape=(5, 4))
    path = numpy_rnn.save(model, tmp_path / "f.npz")
    bundle = numpy_rnn.read_bundle(path)
    x = bundle.test_inputs
    assert x.dtype == np.float32 and x.shape == (8, 5, 4)
    assert (x[0, 0] == 0).all()  # some masked steps are exercised
    assert zipfile.is_zipfile(path)


def test_no_test_vectors_warns(tmp_path, bundle_path):
    _rewrite(bundle_path, mutate_arrays=lambda a: (a.pop("test_inputs"), a.pop("test_outputs")))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        numpy_rnn.load(bundle_path)
    assert any("no test vectors" in str(w.message) for w in caught)


@pytest.mark.parametrize("mutate", [
    lambda c: c.update(weights=[{"key": "weight_000", "shape": 3}]),
    lambda c: c.update(weights={"key": "weight_000"}),
    lambda c: c.update(model={"layers": "nope"}),
    lambda c: c.update(model=None),
    lambda c: c["model"]["layers"][1]["config"].update(units=-1),
    lambda c: c["model"]["layers"][2].update(class_name="Lambda"),
    lambda c: c.update(test={"rtol": "x"}),
    lambda c: c.update(vocabulary="not json"),
])
def test_malformed_config_is_a_clear_error_never_a_crash(bundle_path, mutate):
    _rewrite(bundle_path, mutate_config=mutate)  # a valid digest: only the content is wrong
    with pytest.raises(BundleError, match=str(bundle_path.name)):
        numpy_rnn.load(bundle_path)
