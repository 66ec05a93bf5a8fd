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
from numpy_rnn.formats import bundle_format, bundle_verify, bundle_write


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
        bundle_write.write_bundle(path, config, arrays)


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
    _rewrite(bundle_path, mutate_config=lambda c: c.update(format_version=3))
    with pytest.raises(BundleVersionError, match="format version 3.*newer.*reads format "
                                                 r"version\(s\) 1\.\.2"):
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


# -- hardening (issue 10) ------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1e-3, "1e-5", True, None, [1e-5]])
@pytest.mark.parametrize("key", ["rtol", "atol"])
def test_tolerances_that_are_not_finite_non_negative_numbers_are_refused(bundle_path, key,
                                                                         value):
    def mutate(config):
        config["test"][key] = value
    # outputs far off: a NaN tolerance used to make every comparison False, i.e. "passed"
    _rewrite(bundle_path, mutate_config=mutate, mutate_arrays=lambda a: a.update(
        test_outputs=a["test_outputs"] + np.float32(0.5)))
    with pytest.raises(BundleError, match=rf"tolerance `{key}` must be a finite non-negative "
                                          rf"number. Received: {key}="):
        numpy_rnn.load(bundle_path)


def test_directories_and_files_that_are_not_bundles_say_what_they_are(tmp_path):
    with pytest.raises(BundleError, match="is a directory, not a numpy-rnn bundle"):
        numpy_rnn.load(tmp_path)
    js = tmp_path / "config.json"
    js.write_text('{"format": "numpy-rnn-bundle"}')
    with pytest.raises(BundleError, match="is JSON text") as info:
        numpy_rnn.load(js)
    assert "pickle" not in str(info.value)
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(BundleError, match="single .npy array"):
        numpy_rnn.load(npy)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(BundleError, match="an empty file"):
        numpy_rnn.load(empty)


def test_members_other_than_arrays_or_unusual_compression_are_refused(tmp_path, bundle_path):
    arrays = _arrays(bundle_path)
    path = tmp_path / "bz.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as zf:
        for key, arr in arrays.items():
            with zf.open(f"{key}.npy", "w") as fh:
                np.lib.format.write_array(fh, arr)
    with pytest.raises(BundleError, match="compression method 12; only stored and deflate"):
        numpy_rnn.load(path)
    with zipfile.ZipFile(path, "w") as zf:
        for key, arr in arrays.items():
            with zf.open(f"{key}.npy", "w") as fh:
                np.lib.format.write_array(fh, arr)
        zf.writestr("notes.txt", "hello")
    with pytest.raises(BundleError, match="'notes.txt' is not an array of a numpy-rnn bundle"):
        numpy_rnn.load(path)


def test_compressed_bundles_still_load(tmp_path, bundle_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, **_arrays(bundle_path))
    assert numpy_rnn.read_bundle(path).report.passed


def test_save_never_writes_through_a_planted_symlink(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "model.npz"
    # the temporary names the writer could pick: the old fixed one and any in the directory
    os.symlink(victim, f"{target}.tmp-{os.getpid()}")
    numpy_rnn.save(_model(), target)
    assert victim.read_text() == "keep me"
    assert not os.path.islink(target) and numpy_rnn.read_bundle(target).report.passed
    leftovers = [n for n in os.listdir(tmp_path) if n not in ("victim.txt", "model.npz",
                                                              f"model.npz.tmp-{os.getpid()}")]
    assert leftovers == []
    umask = os.umask(0o022)
    os.umask(umask)
    assert (os.stat(target).st_mode & 0o777) == 0o666 & ~umask


def test_save_that_fails_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        numpy_rnn.save(_model(), tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_nested_config_is_a_bundle_error(bundle_path):
    arrays = _arrays(bundle_path)
    arrays.pop("sha256")
    arrays["config"] = np.frombuffer(b"[" * 100_000 + b"]" * 100_000, np.uint8)
    arrays["sha256"] = np.frombuffer(bundle_format.bundle_digest(arrays), np.uint8)
    with open(bundle_path, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(BundleError, match="nests too deeply"):
        numpy_rnn.load(bundle_path)


def test_weight_elements_over_the_limit_are_refused_before_reading(bundle_path, monkeypatch):
    from numpy_rnn import _limits
    monkeypatch.setattr(_limits, "MAX_WEIGHT_ELEMENTS", 100)
    # 12*4 + (4*20 + 5*20 + 20) + (5*12 + 12) = 48 + 200 + 72
    with pytest.raises(BundleError, match=r"declares 320 weight elements, more than the limit "
                                          r"of 100"):
        numpy_rnn.load(bundle_path)


# -- float64 end to end --------------------------------------------------------------------------
def _model64():
    return Sequential([Embedding(12, 4, mask_zero=True, seed=0, name="emb", dtype="float64"),
                       LSTM(5, seed=1, name="lstm", dtype="float64", return_sequences=True),
                       numpy_rnn.GRU(3, seed=3, name="gru", dtype="float64"),
                       Dense(12, activation="softmax", seed=2, name="out", dtype="float64")],
                      name="m64", input_shape=(6,), input_dtype="int32")


def test_float64_model_saves_loads_and_verifies_in_float64(tmp_path):
    original = _model64()
    path = numpy_rnn.save(original, tmp_path / "m64.npz")
    config = _config(path)
    assert config["test"]["output_dtype"] == "float64"
    assert (config["test"]["rtol"], config["test"]["atol"]) == bundle_verify.TOLERANCES["float64"]
    assert {w["dtype"] for w in config["weights"]} == {"float64"}
    bundle = numpy_rnn.read_bundle(path)
    model = bundle.model
    # a load that dropped the dtype (float32 layers or weights) fails every line below
    assert [layer.dtype for layer in model.layers] == [np.dtype("float64")] * 4
    assert all(w.dtype == np.float64 for w in model.get_weights())
    for a, b in zip(model.get_weights(), original.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.array([[0, 0, 1, 2, 3, 4], [5, 6, 7, 8, 9, 10]])
    got, want = model.predict(x), original.predict(x)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)  # bitwise: float32 differs by ~1e-8
    assert bundle.report.passed and bundle.report.atol == 1e-12 and bundle.report.rtol == 1e-10


def test_float64_bundle_loaded_at_float32_is_refused(tmp_path):
    """The planted bug "the bundle loads at lower precision": the same weights run in float32
    miss the stored float64 outputs by far more than float64's tolerance."""
    path = numpy_rnn.save(_model64(), tmp_path / "m64.npz")

    def float32_layers(config):
        for item in config["model"]["layers"]:
            item["config"]["dtype"] = "float32"
    _rewrite(path, mutate_config=float32_layers)
    with pytest.raises(BundleVerificationError, match="no longer reproduces") as info:
        numpy_rnn.load(path)
    assert info.value.report.max_abs_err > 1e-10


def test_load_and_read_bundle_close_the_file(bundle_path, tmp_path):
    """numpy_rnn.load / read_bundle leave no file open (no ResourceWarning), also when the
    bundle is refused after its archive was opened (issue 21: ``unclosed file``)."""
    import gc

    bad = tmp_path / "tampered.npz"
    data = bytearray(open(bundle_path, "rb").read())
    bad.write_bytes(bytes(data[: len(data) // 2]))  # truncated: refused after opening
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        numpy_rnn.load(bundle_path)
        numpy_rnn.read_bundle(bundle_path)
        with pytest.raises(BundleError):
            numpy_rnn.load(str(bad))
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]
