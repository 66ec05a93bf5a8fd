"""Legacy HDF5 model files (Keras 2 / tf_keras ``model.save("m.h5")``) and weights-only ``.h5``
read without TensorFlow.  NumPy + h5py only: the files are written here by hand in the layout of
``tf_keras/src/saving/legacy/hdf5_format.py`` (configs as tf_keras 2.21 writes them).

Expected outputs come from hand-derived maths (Keras 2's ``hard_sigmoid`` is
``clip(0.2 x + 0.5, 0, 1)``, tf_keras/src/backend.py; its docstring's values; the float64 LSTM
reference in tests/helpers.py), never from numpy_rnn.  The comparisons with tf_keras itself are
in tests/parity/test_keras_h5_parity.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import KerasFileError, UnsupportedModelError
from numpy_rnn import activations as A
from numpy_rnn.formats import keras_h5, keras_layers
from numpy_rnn.testing import assert_close
from tests.helpers import reference_lstm
from tests.unit.test_hostile_files import PEAK_LIMIT_MB, run_child

h5py = pytest.importorskip("h5py")

V, E, H, OUT, T = 7, 3, 2, 2, 4


def keras2_hs(x):
    """Keras 2's hard_sigmoid, written from tf_keras/src/backend.py (float64)."""
    return np.clip(0.2 * np.asarray(x, np.float64) + 0.5, 0.0, 1.0)


# -- writing tf_keras's layout by hand ---------------------------------------------------------------
def rnn_cfg(cls, name, units, **extra):
    cfg = {"name": name, "trainable": True, "dtype": "float32", "return_sequences": False,
           "return_state": False, "go_backwards": False, "stateful": False, "unroll": False,
           "time_major": False, "units": units, "activation": "tanh", "use_bias": True,
           "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2,
           "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                  "config": {"seed": None}, "registered_name": None}}
    if cls != "SimpleRNN":
        cfg["recurrent_activation"] = "sigmoid"
    if cls == "LSTM":
        cfg["unit_forget_bias"] = True
    if cls == "GRU":
        cfg["reset_after"] = True
    cfg.update(extra)
    return {"class_name": cls, "config": cfg}


def seed_config(recurrent_activation="hard_sigmoid", dtype="float32", **lstm):
    lstm_cfg = rnn_cfg("LSTM", "lstm", H, recurrent_activation=recurrent_activation, dtype=dtype,
                       **lstm)
    return {"class_name": "Sequential", "config": {"name": "seed", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, T],
                                                "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "embedding_input"}},
        {"class_name": "Embedding", "config": {"name": "embedding", "trainable": True,
                                               "dtype": dtype, "batch_input_shape": [None, T],
                                               "input_dim": V, "output_dim": E,
                                               "mask_zero": False, "input_length": T}},
        lstm_cfg,
        {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": dtype,
                                           "units": OUT, "activation": "linear",
                                           "use_bias": True}},
    ]}}


def seed_weights(dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    w = {"emb": rng.normal(size=(V, E)), "k": rng.normal(size=(E, 4 * H)),
         "r": rng.normal(size=(H, 4 * H)) * 0.5, "b": rng.normal(size=(4 * H,)),
         "kd": rng.normal(size=(H, OUT)), "bd": rng.normal(size=(OUT,))}
    return {k: v.astype(dtype) for k, v in w.items()}


def seed_layers(w):
    return [("embedding", [("embedding/embeddings:0", w["emb"])]),
            ("lstm", [("lstm/lstm_cell/kernel:0", w["k"]),
                      ("lstm/lstm_cell/recurrent_kernel:0", w["r"]),
                      ("lstm/lstm_cell/bias:0", w["b"])]),
            ("dense", [("dense/kernel:0", w["kd"]), ("dense/bias:0", w["bd"])])]


def put_names(group, name, names, split=False):
    data = np.array([n.encode("utf8") for n in names])
    if split:  # save_attributes_to_hdf5_group's chunks, forced
        for i, chunk in enumerate(np.array_split(data, 2)):
            group.attrs[f"{name}{i}"] = chunk
    else:
        group.attrs[name] = data


def write_h5(path, config, layers, *, keras_version="2.21.0", split=False, weights_only=False,
             extra_layer_names=()):
    """A tf_keras-layout file: ``layers`` is ``[(layer name, [(weight name, array)])]``."""
    with h5py.File(path, "w") as f:
        if not weights_only:
            f.attrs["model_config"] = json.dumps(config).encode("utf8")
            f.attrs["keras_version"] = keras_version.encode("utf8")
            f.attrs["backend"] = b"tensorflow"
        root = f if weights_only else f.create_group("model_weights")
        root.attrs["keras_version"] = keras_version.encode("utf8")
        root.attrs["backend"] = b"tensorflow"
        put_names(root, "layer_names", [n for n, _ in layers] + list(extra_layer_names), split)
        for name, weights in sorted(layers):
            g = root.create_group(name)
            put_names(g, "weight_names", [w for w, _ in weights])
            for wname, value in weights:
                g.create_dataset(wname, data=value)
        for name in extra_layer_names:
            root.create_group(name).attrs["weight_names"] = np.array([], dtype="S1")
    return path


def ids():
    return np.array([[1, 2, 3, 4], [6, 5, 0, 2], [3, 3, 3, 3]])


def expected_seed(w, x, ract=keras2_hs):
    """Embedding -> LSTM -> Dense by hand (float64)."""
    emb = np.asarray(w["emb"], np.float64)[x]
    _, h, _ = reference_lstm(emb, w["k"], w["r"], w["b"], ract=ract)
    return h @ np.asarray(w["kd"], np.float64) + w["bd"]


@pytest.fixture()
def seed_file(tmp_path):
    w = seed_weights()
    return write_h5(tmp_path / "seed.h5", seed_config(), seed_layers(w)), w


# -- the Keras 2 hard_sigmoid ----------------------------------------------------------------------
def test_keras2_hard_sigmoid_values_and_gradient():
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0], np.float32)
    fn = A.get("keras2_hard_sigmoid")
    # tf_keras/src/activations.py's docstring: [0. , 0.3, 0.5, 0.7, 1. ]
    assert_close(fn(x), np.array([0.0, 0.3, 0.5, 0.7, 1.0], np.float32))
    assert fn(x).dtype == np.float32
    assert not np.allclose(fn(x), A.hard_sigmoid(x))  # Keras 3's is clip(x / 6 + 0.5)
    # d/dx clip(0.2x + 0.5): 0.2 inside, 0 outside; clip_by_value passes at both edges
    g = A.backward(fn, np.array([-4.0, -2.5, 0.0, 2.5, 4.0]), None, np.ones(5))
    np.testing.assert_array_equal(g, [0.0, 0.2, 0.2, 0.2, 0.0])
    assert A.serialize(fn) == "keras2_hard_sigmoid"
    assert "keras2_hard_sigmoid" not in A.names() and A.legacy_names() == ["keras2_hard_sigmoid"]


def test_keras2_hard_sigmoid_survives_a_bundle(tmp_path):
    model = numpy_rnn.Sequential([
        numpy_rnn.Embedding(V, E, seed=0),
        numpy_rnn.LSTM(H, recurrent_activation="keras2_hard_sigmoid", seed=1)],
        input_shape=(T,), input_dtype="int32")
    x = ids()
    numpy_rnn.save(model, tmp_path / "b.npz", test_inputs=x)
    back = numpy_rnn.load(tmp_path / "b.npz")
    assert back.layers[1].get_config()["recurrent_activation"] == "keras2_hard_sigmoid"
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


# -- reading ---------------------------------------------------------------------------------------
def test_seed_file_computes_keras2_hard_sigmoid(seed_file):
    path, w = seed_file
    found = numpy_rnn.read_keras_file(path)
    assert (found.format, found.kind, found.keras_version) == ("keras2-h5", "Sequential", "2.21.0")
    model = found.model
    assert model.layers[1].get_config()["recurrent_activation"] == "keras2_hard_sigmoid"
    out = model.predict(ids())
    assert_close(out, expected_seed(w, ids()).astype(np.float32), name="seed")
    keras3 = expected_seed(w, ids(), ract=lambda z: np.clip(z / 6 + 0.5, 0, 1))
    assert np.abs(out - keras3).max() > 1e-2  # Keras 3's hard_sigmoid is far away


def test_float64_file(tmp_path):
    w = seed_weights("float64")
    path = write_h5(tmp_path / "f64.h5", seed_config(dtype="float64"), seed_layers(w))
    model = numpy_rnn.load_keras_model(path)
    out = model.predict(ids())
    assert out.dtype == np.float64
    assert_close(out, expected_seed(w, ids()))


def test_split_layer_names_read_like_whole(tmp_path, seed_file):
    path, w = seed_file
    split = write_h5(tmp_path / "split.h5", seed_config(), seed_layers(w), split=True)
    with h5py.File(split) as f:
        assert "layer_names" not in f["model_weights"].attrs
        assert "layer_names1" in f["model_weights"].attrs
    np.testing.assert_array_equal(numpy_rnn.load_keras_model(split).predict(ids()),
                                  numpy_rnn.load_keras_model(path).predict(ids()))


def test_weights_are_paired_by_order_not_by_name(tmp_path):
    """tf_keras's load_weights_from_hdf5_group pairs layers by order: a weights file saved from
    a model whose layers have other names still loads into the config's layers."""
    w = seed_weights()
    renamed = [(f"other_{i}", ws) for i, (_, ws) in enumerate(seed_layers(w))]
    renamed[1] = ("zz_first_alphabetically", renamed[1][1])
    path = write_h5(tmp_path / "w.h5", None, renamed, weights_only=True)
    model = numpy_rnn.load_keras_model(path, config=seed_config())
    assert_close(model.predict(ids()), expected_seed(w, ids()).astype(np.float32))
    # the config may also come as JSON text or a file
    (tmp_path / "c.json").write_text(json.dumps(seed_config()))
    for config in (json.dumps(seed_config()), tmp_path / "c.json", str(tmp_path / "c.json")):
        np.testing.assert_array_equal(numpy_rnn.load_keras_model(path, config=config)
                                      .predict(ids()), model.predict(ids()))


def test_weightless_layers_and_empty_groups_are_skipped(tmp_path):
    w = seed_weights()
    cfg = seed_config()
    cfg["config"]["layers"].insert(3, {"class_name": "Dropout", "config": {
        "name": "dropout", "rate": 0.5, "noise_shape": None, "seed": None, "trainable": True,
        "dtype": "float32"}})
    layers = seed_layers(w)
    path = write_h5(tmp_path / "d.h5", cfg, layers[:2] + [("dropout", [])] + layers[2:])
    assert_close(numpy_rnn.load_keras_model(path).predict(ids()),
                 expected_seed(w, ids()).astype(np.float32))


def test_missing_defaults_follow_the_writer(tmp_path):
    cfg = seed_config()
    del cfg["config"]["layers"][2]["config"]["recurrent_activation"]
    w = seed_weights()
    rec = {}
    for version in ("2.2.4", "2.3.1", "2.21.0"):
        path = write_h5(tmp_path / f"{version}.h5", cfg, seed_layers(w), keras_version=version)
        rec[version] = numpy_rnn.load_keras_model(path).layers[1].get_config()[
            "recurrent_activation"]
    assert rec == {"2.2.4": "keras2_hard_sigmoid", "2.3.1": "sigmoid", "2.21.0": "sigmoid"}
    path = write_h5(tmp_path / "tf.h5", cfg, seed_layers(w), keras_version="2.2.4-tf")
    with pytest.raises(UnsupportedModelError, match="recurrent_activation is missing.*disagree"):
        numpy_rnn.load_keras_model(path)


def test_dialects():
    assert keras_layers.dialect_of("3.15.1")[0] is keras_layers.KERAS3
    d, _ = keras_layers.dialect_of(b"2.1.6")
    assert d.defaults["GRU"] == {"recurrent_activation": "hard_sigmoid", "reset_after": False}
    assert keras_layers.dialect_of("2.21.0")[0].defaults["GRU"]["reset_after"] is True
    assert keras_layers.dialect_of("2.21.0")[0].activations["hard_sigmoid"] == \
        "keras2_hard_sigmoid"
    for bad in (None, "", "1.2.2", "banana"):
        assert keras_layers.dialect_of(bad)[0] is None


def test_legacy_functional_chain(tmp_path, seed_file):
    path, w = seed_file
    layers = seed_config()["config"]["layers"]
    nodes, previous = [], None
    for item in layers:
        node = {**item, "name": item["config"]["name"],
                "inbound_nodes": [] if previous is None else [[[previous, 0, 0, {}]]]}
        nodes.append(node)
        previous = node["name"]
    cfg = {"class_name": "Functional", "config": {
        "name": "f", "layers": nodes, "input_layers": [["embedding_input", 0, 0]],
        "output_layers": [["dense", 0, 0]]}}
    fpath = write_h5(tmp_path / "f.h5", cfg, seed_layers(w))
    assert numpy_rnn.read_keras_file(fpath).kind == "Functional"
    np.testing.assert_array_equal(numpy_rnn.load_keras_model(fpath).predict(ids()),
                                  numpy_rnn.load_keras_model(path).predict(ids()))
    nodes[3]["inbound_nodes"] = [[["embedding", 0, 0, {}]]]  # a branch that reaches no output
    with pytest.raises(UnsupportedModelError, match="does not lead to any model output"):
        numpy_rnn.load_keras_model(write_h5(tmp_path / "b.h5", cfg, seed_layers(w)))


# -- what is refused -------------------------------------------------------------------------------
def test_config_argument_errors(tmp_path, seed_file):
    path, w = seed_file
    with pytest.raises(ValueError, match="`config`.*its own model_config"):
        numpy_rnn.load_keras_model(path, config=seed_config())
    wpath = write_h5(tmp_path / "w.h5", None, seed_layers(w), weights_only=True)
    with pytest.raises(KerasFileError, match="weights-only.*config="):
        numpy_rnn.load_keras_model(wpath)
    with pytest.raises(TypeError, match="`config` must be"):
        numpy_rnn.load_keras_model(wpath, config=42)


def test_keras1_and_cudnn_and_lambda_are_refused(tmp_path, seed_file):
    _, w = seed_file
    with pytest.raises(KerasFileError, match="Keras 1"):
        numpy_rnn.load_keras_model(write_h5(tmp_path / "k1.h5", seed_config(), seed_layers(w),
                                            keras_version=""))
    cfg = seed_config()
    cfg["config"]["layers"][2]["class_name"] = "CuDNNLSTM"
    cfg["config"]["layers"].insert(3, {"class_name": "Lambda", "config": {
        "name": "lam", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}})
    with pytest.raises(UnsupportedModelError) as info:
        numpy_rnn.load_keras_model(write_h5(tmp_path / "c.h5", cfg, seed_layers(w)))
    assert len(info.value.problems) == 2
    assert "cuDNN's layout" in info.value.problems[0]
    assert "Lambda layer holds Python code" in info.value.problems[1]


def test_every_weight_problem_is_listed(tmp_path):
    w = seed_weights()
    layers = seed_layers(w)
    layers[1][1][0] = ("lstm/lstm_cell/kernel:0", np.zeros((E + 1, 4 * H), np.float32))  # a lie
    layers[2][1][1] = ("dense/bias:0", np.zeros((OUT, 2), np.float32))  # another
    with pytest.raises(KerasFileError) as info:
        numpy_rnn.load_keras_model(write_h5(tmp_path / "lie.h5", seed_config(), layers))
    msg = str(info.value)
    assert "model_weights/lstm/lstm/lstm_cell/kernel:0" in msg and "(4, 8)" in msg
    assert "dense/bias:0" in msg and "(2, 2)" in msg


def test_layer_count_mismatch_and_missing_group(tmp_path):
    w = seed_weights()
    path = write_h5(tmp_path / "m.h5", seed_config(), seed_layers(w)[:2])
    with pytest.raises(KerasFileError, match="3 layers with weights.*2 layers"):
        numpy_rnn.load_keras_model(path)
    path = write_h5(tmp_path / "g.h5", seed_config(), seed_layers(w))
    with h5py.File(path, "a") as f:
        del f["model_weights/dense"]
    with pytest.raises(KerasFileError, match="lists 'dense' but the file has no group"):
        numpy_rnn.load_keras_model(path)


@pytest.mark.parametrize("link", ["soft", "external"])
def test_links_are_refused(tmp_path, link):
    w = seed_weights()
    path = write_h5(tmp_path / "l.h5", seed_config(), seed_layers(w))
    with h5py.File(path, "a") as f:
        del f["model_weights/dense/dense/bias:0"]
        f["model_weights/dense/dense/bias:0"] = (
            h5py.SoftLink("/model_weights/dense/dense/kernel:0") if link == "soft"
            else h5py.ExternalLink(str(tmp_path / "other.h5"), "/bias"))
    with pytest.raises(KerasFileError, match=f"{'Soft' if link == 'soft' else 'External'}Link"
                                             ".*links are refused"):
        numpy_rnn.load_keras_model(path)


# -- hostile files, in a child process with little memory ------------------------------------------
def hostile_huge_dataset(tmp_path):
    """Embedding claiming 10**9 x 3 (12 GB) in config and dataset, storing nothing."""
    cfg = seed_config()
    cfg["config"]["layers"][1]["config"]["input_dim"] = 10**9
    w = seed_weights()
    path = write_h5(tmp_path / "huge.h5", cfg, seed_layers(w)[1:])
    with h5py.File(path, "a") as f:
        g = f["model_weights"].create_group("embedding")
        put_names(g, "weight_names", ["embedding/embeddings:0"])
        g.create_dataset("embedding/embeddings:0", shape=(10**9, E), dtype="f4",
                         chunks=(1024, E))
        put_names(f["model_weights"], "layer_names", ["embedding", "lstm", "dense"])
    return path


def hostile_deep_config(tmp_path):
    path = write_h5(tmp_path / "deep.h5", seed_config(), seed_layers(seed_weights()))
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = ("[" * 200_000 + "]" * 200_000).encode()
    return path


def hostile_shape_lie(tmp_path):
    """A dense kernel declaring 50000 x 50000 where the config needs 2 x 2."""
    w = seed_weights()
    layers = seed_layers(w)
    path = write_h5(tmp_path / "lie.h5", seed_config(), layers[:2])
    with h5py.File(path, "a") as f:
        g = f["model_weights"].create_group("dense")
        put_names(g, "weight_names", ["dense/kernel:0", "dense/bias:0"])
        g.create_dataset("dense/kernel:0", shape=(50_000, 50_000), dtype="f4", chunks=(100, 100))
        g.create_dataset("dense/bias:0", data=w["bd"])
        put_names(f["model_weights"], "layer_names", ["embedding", "lstm", "dense"])
    return path


@pytest.mark.parametrize("make, match", [
    (hostile_huge_dataset, "limit|decompression bomb"),
    (hostile_deep_config, "nests too deeply"),
    (hostile_shape_lie, "has shape \\(50000, 50000\\) in the file but the config needs"),
])
def test_hostile_h5_is_refused_before_allocating(tmp_path, make, match):
    import re

    result = run_child("keras", make(tmp_path))
    assert result["error"] == "KerasFileError", result
    assert re.search(match, result["message"]), result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB, result


# -- teeth -----------------------------------------------------------------------------------------
def test_teeth_keras3_hard_sigmoid_for_a_keras2_file_goes_red(seed_file, monkeypatch):
    path, w = seed_file
    monkeypatch.setitem(keras_layers.KERAS2_ACTIVATIONS, "hard_sigmoid", "hard_sigmoid")
    with pytest.raises(AssertionError):
        test_seed_file_computes_keras2_hard_sigmoid((path, w))


def test_teeth_pairing_by_name_goes_red(tmp_path, monkeypatch):
    """Pairing the file's layers by sorted name (not tf_keras's order) fails the order test."""
    real = keras_h5._names

    def by_name(h5py_, group, name, where):
        return sorted(real(h5py_, group, name, where))

    monkeypatch.setattr(keras_h5, "_names", by_name)
    with pytest.raises((AssertionError, KerasFileError)):
        test_weights_are_paired_by_order_not_by_name(tmp_path)


def test_bidirectional_halves_forward_then_backward(tmp_path):
    """Bidirectional's weights are stored forward half then backward half (one group, six names):
    with distinct halves, the output is [forward LSTM on x, LSTM on reversed x] computed by hand,
    so halves swapped or the forward half read twice both go red without TensorFlow."""
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(V, E)).astype(np.float32)
    halves = [[rng.normal(size=(E, 4 * H)), rng.normal(size=(H, 4 * H)) * 0.5,
               rng.normal(size=(4 * H,))] for _ in range(2)]
    halves = [[a.astype(np.float32) for a in half] for half in halves]
    config = seed_config()
    lstm = rnn_cfg("LSTM", "lstm", H)
    config["config"]["layers"][2] = {"class_name": "Bidirectional", "config": {
        "name": "bidirectional", "trainable": True, "dtype": "float32", "layer": lstm,
        "merge_mode": "concat"}}
    del config["config"]["layers"][3]  # Embedding -> Bidirectional(LSTM)
    names = [f"bidirectional/{d}_lstm/lstm_cell/{w}:0" for d in ("forward", "backward")
             for w in ("kernel", "recurrent_kernel", "bias")]
    path = write_h5(tmp_path / "bidi.h5", config, [
        ("embedding", [("embedding/embeddings:0", emb)]),
        ("bidirectional", list(zip(names, halves[0] + halves[1])))])
    x = emb.astype(np.float64)[ids()]
    _, fwd, _ = reference_lstm(x, *halves[0])
    _, bwd, _ = reference_lstm(x[:, ::-1], *halves[1])
    expected = np.concatenate([fwd, bwd], axis=-1).astype(np.float32)
    assert_close(numpy_rnn.load_keras_model(path).predict(ids()), expected, name="bidirectional")
    _, bwd_with_forward_weights, _ = reference_lstm(x[:, ::-1], *halves[0])
    assert np.abs(bwd - bwd_with_forward_weights).max() > 1e-2  # the halves are told apart


def test_teeth_bidirectional_halves_swapped_goes_red(tmp_path, monkeypatch):
    real = keras_h5.weight_owners
    monkeypatch.setattr(keras_h5, "weight_owners", lambda layer: real(layer)[::-1])
    with pytest.raises(AssertionError):
        test_bidirectional_halves_forward_then_backward(tmp_path)
