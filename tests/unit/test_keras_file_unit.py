"""numpy_rnn.load_keras_model: reading .keras archives without TensorFlow, and refusing what it
cannot reproduce.  NumPy + h5py only: the archives are built here by hand in the layout Keras 3.15
writes (keras/src/saving/saving_lib.py; configs copied from files Keras saved).

Expected outputs come from Keras's equations (Dense = x @ kernel + bias, softmax, the spec's
float64 LSTM reference in tests/helpers.py, itself checked against Keras), never from numpy_rnn.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn.formats.keras_layers import supported_keras_layers
from numpy_rnn import KerasFileError, UnsupportedModelError
from numpy_rnn.formats.keras_layers import supported_keras_layers
from tests.helpers import reference_lstm

h5py = pytest.importorskip("h5py")


# -- building archives by hand ----------------------------------------------------------------
def policy(name="float32"):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def init(cls="GlorotUniform"):
    return {"module": "keras.initializers", "class_name": cls, "config": {"seed": None},
            "registered_name": None}


def layer(cls, name, dtype="float32", module="keras.layers", registered_name=None, **options):
    return {"module": module, "class_name": cls,
            "config": {"name": name, "trainable": True, "dtype": policy(dtype), **options},
            "registered_name": registered_name}


def input_layer(shape, dtype="int32", name="input_layer"):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None, *shape], "dtype": dtype, "sparse": False,
                       "ragged": False, "name": name, "optional": False},
            "registered_name": None}


def embedding(name, input_dim, output_dim, mask_zero=False, **kw):
    return layer("Embedding", name, input_dim=input_dim, output_dim=output_dim,
                 embeddings_initializer=init("RandomUniform"), embeddings_regularizer=None,
                 activity_regularizer=None, embeddings_constraint=None, mask_zero=mask_zero,
                 quantization_config=None, **kw)


def lstm(name, units, return_sequences=False, **kw):
    options = dict(return_sequences=return_sequences, return_state=False, go_backwards=False,
                   stateful=False, unroll=False, zero_output_for_mask=False, units=units,
                   activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                   kernel_initializer=init(), recurrent_initializer=init("Orthogonal"),
                   bias_initializer=init("Zeros"), unit_forget_bias=True,
                   kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                   activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                   bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None)
    options.update(kw)
    return layer("LSTM", name, **options)


def dense(name, units, activation="linear", **kw):
    return layer("Dense", name, units=units, activation=activation, use_bias=True,
                 kernel_initializer=init(), bias_initializer=init("Zeros"),
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, quantization_config=None, **kw)


def sequential(layers, name="sequential"):
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": name, "trainable": True, "dtype": policy(), "layers": layers},
            "registered_name": None}


def write_archive(path, config, weights, metadata=None, weights_name="model.weights.h5"):
    """``weights``: {group path: [arrays]} -> datasets ``<group>/vars/0..``."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for group_path, arrays in weights.items():
            group = f.create_group(f"{group_path}/vars" if group_path else "vars")
            group.attrs["name"] = group_path.split("/")[-1] if group_path else "model"
            for i, arr in enumerate(arrays):
                group.create_dataset(str(i), data=arr)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps(metadata or {"keras_version": "3.15.1"}))
        zf.writestr("config.json", json.dumps(config))
        if weights_name:
            zf.writestr(weights_name, buf.getvalue())
    return path


# Drawn once, at import, in a fixed order: the same constants whatever order the tests run in.
# Tests draw their inputs from ``case_rng`` (conftest.py), never from this generator.
_CONSTANTS_RNG = np.random.default_rng(0)
EMB = _CONSTANTS_RNG.normal(size=(10, 3)).astype("float32")
K = _CONSTANTS_RNG.normal(scale=0.5, size=(3, 16)).astype("float32")
R = _CONSTANTS_RNG.normal(scale=0.5, size=(4, 16)).astype("float32")
B = _CONSTANTS_RNG.normal(scale=0.5, size=(16,)).astype("float32")
KD = _CONSTANTS_RNG.normal(size=(4, 5)).astype("float32")
BD = _CONSTANTS_RNG.normal(size=(5,)).astype("float32")


def next_word_archive(path, mask_zero=True, **lstm_kw):
    config = sequential([input_layer([6]), embedding("embedding", 10, 3, mask_zero=mask_zero),
                         lstm("lstm", 4, **lstm_kw), dense("dense", 5, activation="softmax")])
    return write_archive(path, config, {"layers/embedding": [EMB], "layers/lstm/cell": [K, R, B],
                                        "layers/dense": [KD, BD]})


def expected_next_word(ids):
    """Keras's equations: embedding lookup, LSTM (reference), Dense + softmax."""
    out = []
    for row in ids:
        valid = row[row != 0]  # a masked step leaves the state unchanged (spec 1.4)
        _, h, _ = reference_lstm(EMB[valid][None], K, R, B)
        z = h @ KD + BD
        out.append(np.exp(z - z.max()) / np.exp(z - z.max()).sum())
    return np.concatenate(out)


# -- reading ------------------------------------------------------------------------------------
def test_sequential_archive_reads_into_an_equal_numpy_model(tmp_path):
    path = next_word_archive(tmp_path / "m.keras")
    info = numpy_rnn.read_keras_file(path)
    model = info.model
    assert info.keras_version == "3.15.1" and info.kind == "Sequential"
    assert [type(layer).__name__ for layer in model.layers] == ["Embedding", "LSTM", "Dense"]
    assert model.input_shape == (6,) and model.input_dtype == "int32"
    assert model.layers[0].mask_zero is True
    np.testing.assert_array_equal(model.layers[1].recurrent_kernel, R)
    ids = np.array([[0, 0, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [7, 8, 9, 1, 0, 0]])
    np.testing.assert_allclose(model.predict(ids), expected_next_word(ids), atol=1e-6)


def test_functional_chain_with_keras_mask_plumbing(tmp_path, case_rng):
    # The config Keras 3.15 writes for Input -> Masking -> LSTM -> Dense: Masking's mask is
    # recorded as NotEqual / Any operations feeding the LSTM's `mask` argument.
    def tensor(name, shape, dtype="float32"):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": shape, "dtype": dtype, "keras_history": [name, 0, 0]}}

    def node(cfg, args, kwargs=None):
        return {**cfg, "name": cfg["config"]["name"],
                "inbound_nodes": [{"args": args, "kwargs": kwargs or {}}]}

    seq = [None, None, 3]
    ops = "keras.src.ops.numpy"
    layers = [
        {**input_layer([None, 3], "float32"), "name": "input_layer", "inbound_nodes": []},
        node({"module": ops, "class_name": "NotEqual", "config": {"name": "not_equal"},
              "registered_name": "NotEqual"}, [tensor("input_layer", seq), 0.5]),
        node(layer("Masking", "masking", mask_value=0.5), [tensor("input_layer", seq)]),
        node({"module": ops, "class_name": "Any",
              "config": {"name": "any", "axis": -1, "keepdims": False},
              "registered_name": "Any"}, [tensor("not_equal", seq, "bool")]),
        node(lstm("lstm", 4), [tensor("masking", seq)],
             {"training": False, "mask": tensor("any", [None, None], "bool")}),
        node(dense("dense", 5), [tensor("lstm", [None, 4])]),
    ]
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "config": {"name": "functional", "trainable": True, "layers": layers,
                         "input_layers": ["input_layer", 0, 0],
                         "output_layers": ["dense", 0, 0]},
              "registered_name": "Functional"}
    path = write_archive(tmp_path / "f.keras", config,
                         {"layers/input_layer": [], "layers/masking": [],
                          "layers/lstm/cell": [K, R, B], "layers/dense": [KD, BD]})
    model = numpy_rnn.load_keras_model(path)
    assert [type(layer).__name__ for layer in model.layers] == ["Masking", "LSTM", "Dense"]
    x = case_rng.normal(size=(1, 4, 3)).astype("float32")
    padded = np.concatenate([np.full((1, 2, 3), 0.5, "float32"), x], axis=1)
    _, h, _ = reference_lstm(x, K, R, B)
    np.testing.assert_allclose(model.predict(padded), h @ KD + BD, atol=1e-5)

    # The same graph with the mask rewired to an unrelated computation is refused.
    layers[1]["inbound_nodes"][0]["args"][1] = 0.25
    write_archive(path, config, {"layers/lstm/cell": [K, R, B], "layers/dense": [KD, BD]})
    with pytest.raises(UnsupportedModelError, match="does not receive the automatic mask"):
        numpy_rnn.load_keras_model(path)


# -- refusals -------------------------------------------------------------------------------------
def _refusal(tmp_path, layers, match):
    path = write_archive(tmp_path / "x.keras", sequential([input_layer([6]), *layers]), {})
    with pytest.raises(UnsupportedModelError, match=match) as info:
        numpy_rnn.load_keras_model(path)
    return info.value


def test_lambda_layer_is_refused_without_running_it(tmp_path):
    # Keras stores a Lambda's function as marshalled bytecode; garbage here proves it is
    # never decoded or run.
    lam = layer("Lambda", "lambda", function={"class_name": "__lambda__",
                                              "config": {"code": "bm90IGNvZGU=\n",
                                                         "defaults": None, "closure": None}},
                arguments={})
    err = _refusal(tmp_path, [embedding("embedding", 10, 3), lam],
                   r"layer 'lambda' \(Lambda\).*Python code.*never runs")
    assert isinstance(err, ValueError) and len(err.problems) == 1


def test_custom_registered_layer_is_refused(tmp_path):
    custom = layer("MyLayer", "my_layer", module=None, registered_name="pkg>MyLayer")
    _refusal(tmp_path, [embedding("embedding", 10, 3), custom],
             r"layer 'my_layer' \(MyLayer\) is a custom layer registered as 'pkg>MyLayer'")
    shadow = layer("LSTM", "lstm", module="mypkg.layers", registered_name="mypkg>LSTM")
    _refusal(tmp_path, [embedding("embedding", 10, 3), shadow], "registered as 'mypkg>LSTM'")


def test_custom_activation_and_options_are_refused(tmp_path):
    act = {"module": "builtins", "class_name": "function", "config": "my_act",
           "registered_name": "function"}
    _refusal(tmp_path, [embedding("embedding", 10, 3), lstm("lstm", 4, activation=act)],
             r"layer 'lstm' \(LSTM\): option activation is a custom activation "
             r"\(function 'my_act'\)")
    _refusal(tmp_path, [embedding("embedding", 10, 3), lstm("lstm", 4, time_major=True)],
             "option time_major=True")
    _refusal(tmp_path, [embedding("embedding", 10, 3), lstm("lstm", 4, stateful=True)],
             "option stateful=True")
    _refusal(tmp_path, [embedding("embedding", 10, 3), lstm("lstm", 4, return_state=True)],
             "option return_state=True")
    _refusal(tmp_path, [embedding("embedding", 10, 3), lstm("lstm", 4, new_option=3)],
             "option new_option=3 is unknown to numpy_rnn")


def test_mixed_precision_policy_is_refused(tmp_path):
    mixed = dense("dense", 5)
    mixed["config"]["dtype"] = policy("mixed_float16")
    _refusal(tmp_path, [embedding("embedding", 10, 3), lstm("lstm", 4), mixed],
             r"layer 'dense' \(Dense\): option dtype: mixed precision dtype policy "
             "'mixed_float16'")


def test_every_problem_is_listed_in_one_error(tmp_path):
    mixed = lstm("lstm", 4, dtype="mixed_bfloat16", time_major=True)
    act = {"module": "builtins", "class_name": "function", "config": "swishy",
           "registered_name": "function"}
    err = _refusal(tmp_path, [
        embedding("embedding", 10, 3),
        layer("Lambda", "lam", function={}, arguments={}),
        mixed,
        layer("Conv2D", "conv", filters=2, kernel_size=3),
        dense("dense", 5, activation=act),
    ], "4 unsupported")
    text = str(err)
    for needle in ["'lam' (Lambda)", "mixed_bfloat16", "time_major=True", "'conv' (Conv2D)",
                   "'swishy'"]:
        assert needle in text, needle
    assert len(err.problems) == 4  # the LSTM's two options share its line
    assert "supported: " + ", ".join(supported_keras_layers()) in text  # the whole table


def _branchy(out_ref="dense"):
    def tensor(name, shape):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": shape, "dtype": "float32", "keras_history": [name, 0, 0]}}

    def node(cfg, args):
        return {**cfg, "name": cfg["config"]["name"],
                "inbound_nodes": [{"args": args, "kwargs": {}}]}

    x = [None, 4, 3]
    layers = [
        {**input_layer([4, 3], "float32"), "name": "input_layer", "inbound_nodes": []},
        node(lstm("lstm_a", 4), [tensor("input_layer", x)]),
        node(lstm("lstm_b", 4), [tensor("input_layer", x)]),
        node(layer("Add", "add"), [[tensor("lstm_a", [None, 4]), tensor("lstm_b", [None, 4])]]),
        node(dense("dense", 5), [tensor("add", [None, 4])]),
    ]
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": "branchy", "trainable": True, "layers": layers,
                       "input_layers": [["input_layer", 0, 0]],
                       "output_layers": [[out_ref, 0, 0]]},
            "registered_name": "Functional"}


def test_branchy_functional_model_reads_as_a_graph(tmp_path, case_rng):
    """Two LSTMs on one input, an Add, a Dense: a numpy_rnn.Model equal to Keras's equations."""
    K2, R2, B2 = K[:, ::-1].copy(), R[::-1].copy(), B[::-1].copy()
    path = write_archive(tmp_path / "b.keras", _branchy(), {
        "layers/input_layer": [], "layers/lstm/cell": [K, R, B],
        "layers/lstm_1/cell": [K2, R2, B2], "layers/add": [], "layers/dense": [KD, BD]})
    model = numpy_rnn.load_keras_model(path)
    assert isinstance(model, numpy_rnn.Model)
    assert [lay.name for lay in model.layers] == ["input_layer", "lstm_a", "lstm_b", "add",
                                                  "dense"]
    x = case_rng.normal(size=(2, 4, 3)).astype("float32")
    _, ha, _ = reference_lstm(x, K, R, B)
    _, hb, _ = reference_lstm(x, K2, R2, B2)
    np.testing.assert_allclose(model.predict(x), (ha + hb) @ KD + BD, rtol=1e-5, atol=1e-5)


def test_bad_graphs_are_refused_with_every_problem(tmp_path):
    config = _branchy()
    layers = config["config"]["layers"]
    layers[2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["ghost", 0, 0]
    layers[3]["inbound_nodes"][0]["args"][0][0]["config"]["keras_history"] = ["lstm_a", 0, 3]
    layers.append({**layers[4], "name": "dense"})
    with pytest.raises(UnsupportedModelError) as info:
        numpy_rnn.load_keras_model(write_archive(tmp_path / "b.keras", config, {}))
    text = str(info.value)
    assert "model 'branchy'" in text
    assert "two layers are named 'dense'" in text
    assert "reads a tensor of layer 'ghost', which the config does not have" in text
    assert "reads output 3 of call 0 of 'lstm_a', which has 1 output(s)" in text


def test_weight_shape_mismatch_names_the_weight_and_both_shapes(tmp_path):
    config = sequential([input_layer([6]), embedding("embedding", 10, 3), lstm("lstm", 4),
                         dense("dense", 5)])
    path = write_archive(tmp_path / "w.keras", config, {
        "layers/embedding": [EMB], "layers/lstm/cell": [K, R[:, :12], B],
        "layers/dense": [KD, BD]})
    with pytest.raises(KerasFileError, match=r"weight `recurrent_kernel` "
                                             r"\(layers/lstm/cell/vars/1\) has shape \(4, 12\) in "
                                             r"the file but the config needs \(4, 16\)"):
        numpy_rnn.load_keras_model(path)
    write_archive(path, config, {"layers/embedding": [EMB], "layers/dense": [KD, BD]})
    with pytest.raises(KerasFileError, match="no group 'layers/lstm/cell/vars'"):
        numpy_rnn.load_keras_model(path)
    write_archive(path, config, {"layers/embedding": [EMB], "layers/lstm/cell": [K, R, B, B],
                                 "layers/dense": [KD, BD]})
    with pytest.raises(KerasFileError, match="expected 3 weights.*found 4"):
        numpy_rnn.load_keras_model(path)


def test_links_out_of_the_weights_file_are_refused(tmp_path):
    path = next_word_archive(tmp_path / "m.keras")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "a") as f:
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/bias")
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(KerasFileError, match="ExternalLink.*links are refused"):
        numpy_rnn.load_keras_model(path)


def test_files_that_are_not_keras_archives(tmp_path):
    legacy = tmp_path / "old.h5"
    with h5py.File(legacy, "w") as f:
        f.attrs["model_config"] = "{}"
    with pytest.raises(KerasFileError, match="no 'model_weights' group"):
        numpy_rnn.load_keras_model(legacy)  # an HDF5 file is read as a legacy .h5 model
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(KerasFileError, match="not a Keras '.keras' archive"):
        numpy_rnn.load_keras_model(junk)
    config = sequential([input_layer([6]), embedding("embedding", 10, 3)])
    npz = write_archive(tmp_path / "npz.keras", config, {}, weights_name="model.weights.npz")
    with pytest.raises(KerasFileError, match="pickled objects"):
        numpy_rnn.load_keras_model(npz)
    data = next_word_archive(tmp_path / "t.keras").read_bytes()
    (tmp_path / "t.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(KerasFileError):
        numpy_rnn.load_keras_model(tmp_path / "t.keras")
    with pytest.raises(FileNotFoundError):
        numpy_rnn.load_keras_model(tmp_path / "missing.keras")


BLOCK_H5 = textwrap.dedent(
    """
    import sys, importlib.abc
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'h5py'):
                raise ImportError('blocked for this test: ' + name)
            return None
    sys.meta_path.insert(0, Block())
    import numpy_rnn
    try:
        numpy_rnn.load_keras_model(sys.argv[1])
    except ImportError as exc:
        print('IMPORT-ERROR', exc)
    try:
        numpy_rnn.load_keras_model(sys.argv[2])
    except numpy_rnn.UnsupportedModelError as exc:
        print('REFUSED', exc.problems)
    """
)


def test_missing_h5py_names_the_extra_and_refusals_need_no_h5py(tmp_path):
    good = next_word_archive(tmp_path / "m.keras")
    bad = write_archive(tmp_path / "bad.keras", sequential([
        input_layer([6]), layer("Lambda", "lam", function={}, arguments={})]), {})
    proc = subprocess.run([sys.executable, "-c", BLOCK_H5, str(good), str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "IMPORT-ERROR" in proc.stdout and "numpy-rnn[h5]" in proc.stdout
    assert "pip install -e '.[h5]'" in proc.stdout
    assert "REFUSED" in proc.stdout and "Lambda" in proc.stdout


def test_builtin_activation_serialized_as_function_object_is_accepted(tmp_path, case_rng):
    relu = {"module": "keras.activations", "class_name": "function", "config": "relu",
            "registered_name": None}
    config = sequential([input_layer([3], "float32"), dense("dense", 2, activation=relu)])
    kd, bd = KD[:3, :2], BD[:2]
    path = write_archive(tmp_path / "d.keras", config, {"layers/dense": [kd, bd]})
    x = case_rng.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(numpy_rnn.load_keras_model(path).predict(x),
                               np.maximum(x @ kd + bd, 0), atol=1e-6)


# -- hardening (issue 10) ------------------------------------------------------------------------
def test_members_are_read_with_a_bounded_stream(tmp_path, monkeypatch):
    """A member is read a chunk at a time: never one call that inflates it whole."""
    path = next_word_archive(tmp_path / "m.keras")
    sizes = []
    real_open = zipfile.ZipFile.open

    def spy_open(self, name, *args, **kwargs):
        stream = real_open(self, name, *args, **kwargs)
        real_read = stream.read

        def read(n=-1):
            sizes.append(n)
            return real_read(n)
        stream.read = read
        return stream
    monkeypatch.setattr(zipfile.ZipFile, "open", spy_open)
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a, **k: pytest.fail("unbounded read"))
    from numpy_rnn import _limits
    monkeypatch.setattr(_limits, "CHUNK_BYTES", 1024)
    numpy_rnn.load_keras_model(path)
    assert sizes and all(0 <= n <= 1024 for n in sizes)


def test_unusual_compression_and_oversized_members_are_refused(tmp_path, monkeypatch):
    config = sequential([input_layer([6]), embedding("embedding", 10, 3)])
    path = tmp_path / "bz.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("config.json", json.dumps(config))
    with pytest.raises(KerasFileError, match="compression method 12"):
        numpy_rnn.load_keras_model(path)
    path = write_archive(tmp_path / "big.keras", config, {"layers/embedding": [EMB]})
    from numpy_rnn import _limits
    monkeypatch.setattr(_limits, "MAX_JSON_BYTES", 100)
    with pytest.raises(KerasFileError, match="'config.json' declares .* bytes, more than the "
                                             "limit of 100 bytes"):
        numpy_rnn.load_keras_model(path)


def test_nested_config_is_a_keras_file_error(tmp_path):
    path = tmp_path / "deep.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(KerasFileError, match="nests too deeply"):
        numpy_rnn.load_keras_model(path)
    with pytest.raises(KerasFileError, match="nests too deeply"):
        numpy_rnn.keras_file.read_keras_config(path)
    deep: dict = {"x": 1}
    for _ in range(5000):
        deep = {"class_name": "Sequential", "config": {"layers": [deep], "name": "d"}}
    with pytest.raises((KerasFileError, UnsupportedModelError)):
        numpy_rnn.keras_file.plan_model(deep)


def test_embedding_is_built_only_after_its_weights_are_checked(tmp_path, monkeypatch):
    built = []
    real_init = numpy_rnn.Embedding.__init__

    def spy(self, input_dim, output_dim, *args, **kwargs):
        built.append((input_dim, output_dim))
        real_init(self, input_dim, output_dim, *args, **kwargs)
    monkeypatch.setattr(numpy_rnn.Embedding, "__init__", spy)
    config = sequential([input_layer([6]), embedding("embedding", 1000, 3)])
    path = write_archive(tmp_path / "e.keras", config, {"layers/embedding": [EMB]})
    with pytest.raises(KerasFileError, match=r"\(10, 3\) in the file but the config needs "
                                             r"\(1000, 3\)"):
        numpy_rnn.load_keras_model(path)
    assert (1000, 3) not in built
    good = next_word_archive(tmp_path / "m.keras")
    numpy_rnn.load_keras_model(good)
    assert built[-1] == (10, 3)


def test_input_shape_that_is_not_a_shape_is_refused(tmp_path):
    bad = input_layer([6])
    bad["config"]["batch_shape"] = [None, "six"]
    config = sequential([bad, embedding("embedding", 10, 3)])
    path = write_archive(tmp_path / "s.keras", config, {"layers/embedding": [EMB]})
    with pytest.raises(UnsupportedModelError, match="is not a list of positive integers"):
        numpy_rnn.load_keras_model(path)
