"""Functional graphs read from Keras configs without TensorFlow (numpy_rnn.formats.keras_graph*):
both dialects, nested and shared layers, initial_state, Keras 3's automatic mask operations,
users' registered layers, bad graphs refused with every problem, and bundles of graph models.

Files are written here by hand in the layouts Keras writes (tests/unit/test_keras_file_unit.py
for ``.keras``, tests/unit/test_keras_h5_unit.py for tf_keras's ``.h5``); expected outputs come
from the equations (Dense = x @ kernel + bias, the float64 LSTM reference of tests/helpers.py),
never from numpy_rnn.  The same graphs against Keras itself: tests/parity/test_graph_io_parity.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import KerasFileError, UnsupportedModelError
from numpy_rnn.formats import bundle_write
from tests.helpers import reference_lstm
from tests.unit.test_bundle_unit import _arrays, _rewrite
from tests.unit.test_keras_file_unit import dense, input_layer, layer, lstm, write_archive
from tests.unit.test_keras_h5_unit import rnn_cfg, write_h5

h5py = pytest.importorskip("h5py")

RNG = np.random.default_rng(3)
T, F = 4, 3


def w(*shape):
    return RNG.normal(scale=0.5, size=shape).astype("float32")


# -- Keras 3 configs, by hand ----------------------------------------------------------------------
def tensor(name, node=0, index=0, shape=(None, T, F), dtype="float32"):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(shape), "dtype": dtype, "keras_history": [name, node, index]}}


def called(cfg, *calls):
    """``cfg`` with its inbound nodes: each call ``(args, kwargs)``."""
    return {**cfg, "name": cfg["config"]["name"],
            "inbound_nodes": [{"args": a, "kwargs": k} for a, k in calls]}


def inp(name, shape=(T, F), dtype="float32"):
    return {**input_layer(list(shape), dtype, name), "name": name, "inbound_nodes": []}


def functional(layers, inputs, outputs, name="graph"):
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": name, "trainable": True, "layers": layers,
                       "input_layers": inputs, "output_layers": outputs},
            "registered_name": "Functional"}


def op(cls, name, *args, **config):
    return {"module": "keras.src.ops.numpy", "class_name": cls,
            "config": {"name": name, **config}, "registered_name": cls, "name": name,
            "inbound_nodes": [{"args": list(args), "kwargs": {}}]}


# -- reading graphs --------------------------------------------------------------------------------
def test_keras3_two_inputs_shared_layer_nested_model(tmp_path):
    """A shared Dense on two inputs, Add, a nested functional model; outputs [nested, shared#2]."""
    KS, BS, KI, BI = w(F, 5), w(5), w(5, 2), w(2)
    inner = functional([inp("t", (T, 5)), called(dense("idense", 2), ([tensor("t", shape=(None, T, 5))], {}))],
                       ["t", 0, 0], ["idense", 0, 0], name="inner")
    layers = [inp("a"), inp("b"),
              called(dense("sh", 5), ([tensor("a")], {}), ([tensor("b")], {})),
              called(layer("Add", "add"), ([[tensor("sh", 0), tensor("sh", 1)]], {})),
              called(inner, ([tensor("add", shape=(None, T, 5))], {}))]
    config = functional(layers, [["a", 0, 0], ["b", 0, 0]], [["inner", 1, 0], ["sh", 1, 0]])
    path = write_archive(tmp_path / "g.keras", config, {
        "layers/dense": [KS, BS], "layers/functional/layers/dense": [KI, BI]})
    model = numpy_rnn.load_keras_model(path)
    assert isinstance(model, numpy_rnn.Model)
    assert [lay.name for lay in model.layers] == ["a", "b", "sh", "add", "inner"]
    a, b = RNG.normal(size=(2, T, F)), RNG.normal(size=(2, T, F))
    sa, sb = a @ KS + BS, b @ KS + BS
    got = model.predict([a.astype("float32"), b.astype("float32")])
    np.testing.assert_allclose(got[0], (sa + sb) @ KI + BI, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], sb, rtol=1e-5, atol=1e-5)
    assert len(model.get_weights()) == 4  # the shared layer's weights once


def _seq2seq_h5(tmp_path, masked_decoder=False):
    K1, R1, B1 = w(F, 8), w(2, 8), w(8)
    K2, R2, B2 = w(F, 8), w(2, 8), w(8)
    cfg = {"class_name": "Functional", "config": {"name": "s2s", "layers": [
        {"class_name": "InputLayer", "name": "enc", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, T, F], "dtype": "float32", "name": "enc"}},
        {"class_name": "InputLayer", "name": "dec", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, T, F], "dtype": "float32", "name": "dec"}},
        {**rnn_cfg("LSTM", "encoder", 2, return_state=True), "name": "encoder",
         "inbound_nodes": [[["enc", 0, 0, {}]]]},
        {**rnn_cfg("LSTM", "decoder", 2, return_sequences=True), "name": "decoder",
         "inbound_nodes": [[["dec", 0, 0, {}], ["encoder", 0, 1, {}], ["encoder", 0, 2, {}]]]},
    ], "input_layers": [["enc", 0, 0], ["dec", 0, 0]],
        "output_layers": [["decoder", 0, 0]]}}
    path = write_h5(tmp_path / "s2s.h5", cfg, [
        ("encoder", [("encoder/lstm_cell/kernel:0", K1),
                     ("encoder/lstm_cell/recurrent_kernel:0", R1),
                     ("encoder/lstm_cell/bias:0", B1)]),
        ("decoder", [("decoder/lstm_cell/kernel:0", K2),
                     ("decoder/lstm_cell/recurrent_kernel:0", R2),
                     ("decoder/lstm_cell/bias:0", B2)])])
    return path, (K1, R1, B1, K2, R2, B2)


def test_keras2_initial_state_comes_from_the_inputs_list(tmp_path):
    """tf_keras writes ``decoder(x, initial_state=[h, c])`` as three inbound tensors."""
    path, (K1, R1, B1, K2, R2, B2) = _seq2seq_h5(tmp_path)
    model = numpy_rnn.load_keras_model(path)
    x_enc, x_dec = RNG.normal(size=(2, T, F)), RNG.normal(size=(2, T, F))
    _, h, c = reference_lstm(x_enc, K1, R1, B1)
    seq, _, _ = reference_lstm(x_dec, K2, R2, B2, h0=h, c0=c)
    got = model.predict([x_enc.astype("float32"), x_dec.astype("float32")])
    np.testing.assert_allclose(got, seq, rtol=1e-5, atol=1e-5)
    decoder_node = next(n for n in model.nodes if n.layer.name == "decoder")
    assert [t.index for t in decoder_node.kwargs["initial_state"]] == [1, 2]


def test_keras2_nested_model_node_offset(tmp_path):
    """tf_keras counts a nested Functional's own first node: its first call is node 1."""
    KI, BI, KO, BO = w(F, 2), w(2), w(2, 1), w(1)
    inner = {"class_name": "Functional", "name": "inner", "config": {
        "name": "inner", "layers": [
            {"class_name": "InputLayer", "name": "t", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, F], "dtype": "float32", "name": "t"}},
            {"class_name": "Dense", "name": "d1", "inbound_nodes": [[["t", 0, 0, {}]]],
             "config": {"name": "d1", "units": 2, "activation": "linear", "use_bias": True,
                        "dtype": "float32"}}],
        "input_layers": [["t", 0, 0]], "output_layers": [["d1", 0, 0]]},
        "inbound_nodes": [[["x", 0, 0, {}]]]}
    cfg = {"class_name": "Functional", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, F], "dtype": "float32", "name": "x"}},
        inner,
        {"class_name": "Dense", "name": "head", "inbound_nodes": [[["inner", 1, 0, {}]]],
         "config": {"name": "head", "units": 1, "activation": "linear", "use_bias": True,
                    "dtype": "float32"}}],
        "input_layers": [["x", 0, 0]], "output_layers": [["head", 0, 0]]}}
    path = write_h5(tmp_path / "n.h5", cfg, [
        ("inner", [("d1/kernel:0", KI), ("d1/bias:0", BI)]),
        ("head", [("head/kernel:0", KO), ("head/bias:0", BO)])])
    x = RNG.normal(size=(3, F))
    np.testing.assert_allclose(numpy_rnn.load_keras_model(path).predict(x.astype("float32")),
                               (x @ KI + BI) @ KO + BO, rtol=1e-5, atol=1e-5)


def test_keras2_masked_decoder_with_initial_state_is_refused(tmp_path):
    """Keras 2 masks an RNN called with initial_state; Keras 3 (and numpy_rnn) do not."""
    cfg = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "ids", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, T], "dtype": "int32", "name": "ids"}},
        {"class_name": "Embedding", "name": "emb", "inbound_nodes": [[["ids", 0, 0, {}]]],
         "config": {"name": "emb", "input_dim": 5, "output_dim": F, "mask_zero": True,
                    "dtype": "float32"}},
        {**rnn_cfg("LSTM", "encoder", 2, return_state=True), "name": "encoder",
         "inbound_nodes": [[["emb", 0, 0, {}]]]},
        {**rnn_cfg("LSTM", "decoder", 2), "name": "decoder",
         "inbound_nodes": [[["emb", 0, 0, {}], ["encoder", 0, 1, {}], ["encoder", 0, 2, {}]]]},
    ], "input_layers": [["ids", 0, 0]], "output_layers": [["decoder", 0, 0]]}}
    path = write_h5(tmp_path / "m.h5", cfg, [])
    with pytest.raises(UnsupportedModelError, match="'decoder' is called with initial_state on "
                                                    "an input masked by 'emb'"):
        numpy_rnn.load_keras_model(path)


# -- Keras 3's automatic masks ---------------------------------------------------------------------
def _masked_graph(constant=0, as_input=False):
    E, K, R, B = w(6, F), w(F, 8), w(2, 8), w(8)
    ids = tensor("ids", shape=(None, T), dtype="int32")
    mask = tensor("not_equal", shape=(None, T), dtype="bool")
    emb = called(layer("Embedding", "emb", input_dim=6, output_dim=F, mask_zero=True),
                 ([ids], {}))
    rnn_call = ([tensor("emb")], {"mask": mask}) if not as_input else \
        ([tensor("not_equal", shape=(None, T), dtype="bool")], {})
    layers = [inp("ids", (T,), "int32"), emb, op("NotEqual", "not_equal", ids, constant),
              called(lstm("rnn", 2), rnn_call)]
    config = functional(layers, ["ids", 0, 0], ["rnn", 0, 0])
    return config, {"layers/embedding": [E], "layers/lstm/cell": [K, R, B]}, (E, K, R, B)


def test_keras3_automatic_mask_operations_are_recomputed(tmp_path):
    config, weights, (E, K, R, B) = _masked_graph()
    model = numpy_rnn.load_keras_model(write_archive(tmp_path / "m.keras", config, weights))
    ids = np.array([[1, 2, 0, 0], [3, 0, 4, 5]])
    expected = [reference_lstm(E[row[row != 0]][None], K, R, B)[1] for row in ids]
    np.testing.assert_allclose(model.predict(ids), np.concatenate(expected), rtol=1e-5,
                               atol=1e-5)


def test_keras3_other_uses_of_operations_are_refused(tmp_path):
    config, weights, _ = _masked_graph(constant=3)
    with pytest.raises(UnsupportedModelError, match="does not receive the automatic mask"):
        numpy_rnn.load_keras_model(write_archive(tmp_path / "a.keras", config, weights))
    config, weights, _ = _masked_graph(as_input=True)
    with pytest.raises(UnsupportedModelError, match=r"operation 'not_equal' \(NotEqual\) is an "
                                                    r"input of \['rnn'\]"):
        numpy_rnn.load_keras_model(write_archive(tmp_path / "b.keras", config, weights))


# -- bad graphs ------------------------------------------------------------------------------------
def test_every_graph_problem_in_one_error(tmp_path):
    """A missing layer, a call that does not exist, a tensor index that does not exist, merge
    inputs of incompatible shapes, duplicate names and an unused input: one error, all listed."""
    layers = [inp("a"), inp("b", (T, 4)), inp("unused"),
              called(dense("d1", 2), ([tensor("a")], {})),
              called(dense("d2", 2), ([tensor("ghost")], {})),
              called(dense("d3", 2), ([tensor("d1", 5)], {})),
              called(dense("d4", 2), ([tensor("d1", 0, 2)], {})),
              called(layer("Add", "bad_add"), ([[tensor("a"), tensor("b", shape=(None, T, 4))]],
                                                {})),
              called(dense("d1", 2), ([tensor("a")], {}))]
    config = functional(layers, [["a", 0, 0], ["b", 0, 0], ["unused", 0, 0]],
                        [["d1", 0, 0], ["bad_add", 0, 0]])
    with pytest.raises(UnsupportedModelError) as info:
        numpy_rnn.load_keras_model(write_archive(tmp_path / "bad.keras", config, {}))
    text = str(info.value)
    for needle in ["two layers are named 'd1'",
                   "'d2' (Dense) reads a tensor of layer 'ghost', which the config does not have",
                   "layer 'd3' reads call 5 of 'd1', which is called 1 time(s)",
                   "'d4' (Dense) reads output 2 of call 0 of 'd1', which has 1 output(s)",
                   "'bad_add' (Add) cannot be called on its inputs"]:
        assert needle in text, (needle, text)


def test_cycle_and_unused_input_are_refused(tmp_path):
    layers = [inp("a"),
              called(dense("p", F), ([tensor("q")], {})),
              called(dense("q", F), ([tensor("p")], {})),
              called(dense("out", 2), ([tensor("a")], {}))]
    config = functional(layers, ["a", 0, 0], ["out", 0, 0])
    with pytest.raises(UnsupportedModelError, match=r"the graph has a cycle: layers \['p', 'q'\]"):
        numpy_rnn.load_keras_model(write_archive(tmp_path / "c.keras", config, {}))
    layers = [inp("a"), inp("b"), called(dense("out", 2), ([tensor("a")], {}))]
    config = functional(layers, [["a", 0, 0], ["b", 0, 0]], ["out", 0, 0])
    with pytest.raises(UnsupportedModelError, match="model input 'b' is not used by any output"):
        numpy_rnn.load_keras_model(write_archive(tmp_path / "u.keras", config, {}))


def test_graph_weight_shapes_are_checked_before_any_data(tmp_path, monkeypatch):
    layers = [inp("a"), called(dense("d1", 2), ([tensor("a")], {})),
              called(dense("d2", 2), ([tensor("a")], {})),
              called(layer("Add", "add"), ([[tensor("d1", shape=(None, T, 2)),
                                             tensor("d2", shape=(None, T, 2))]], {}))]
    config = functional(layers, ["a", 0, 0], ["add", 0, 0])
    path = write_archive(tmp_path / "w.keras", config, {
        "layers/dense": [w(F, 2), w(2)], "layers/dense_1": [w(F + 1, 2), w(2)]})
    read = []
    monkeypatch.setattr(h5py.Dataset, "__getitem__",
                        lambda self, key: read.append(self.name) or np.zeros(self.shape))
    with pytest.raises(KerasFileError, match=r"layer 'd2' \(Dense\): weight "
                                             r"layers/dense_1/vars/0 has shape \(4, 2\) in the "
                                             r"file but the config needs \(3, 2\)"):
        numpy_rnn.load_keras_model(path)
    assert read == []


# -- users' own layers -----------------------------------------------------------------------------
def _custom_config():
    custom = {"module": "my_package.layers", "class_name": "Scale",
              "config": {"name": "scale", "units": 2, "trainable": True, "dtype": "float32"},
              "registered_name": "my_package>Scale"}
    layers = [inp("a"), called(custom, ([tensor("a")], {})),
              called(dense("head", 1), ([tensor("scale", shape=(None, T, 2))], {}))]
    return functional(layers, ["a", 0, 0], ["head", 0, 0])


@pytest.fixture()
def registered():
    made = []

    def factory(config):
        made.append(config)
        return numpy_rnn.Dense(config["units"], dtype=config["dtype"])
    numpy_rnn.register_layer("my_package>Scale", factory)
    yield made
    numpy_rnn.unregister_layer("my_package>Scale")


def test_unregistered_user_layer_names_how_to_register(tmp_path):
    path = write_archive(tmp_path / "c.keras", _custom_config(), {})
    with pytest.raises(UnsupportedModelError) as info:
        numpy_rnn.load_keras_model(path)
    text = str(info.value)
    assert "'scale' (Scale) is a custom layer registered as 'my_package>Scale'" in text
    assert "numpy_rnn.register_layer('my_package>Scale', factory)" in text


def test_registered_user_layer_is_read_with_its_weights(tmp_path, registered):
    KS, BS, KH, BH = w(F, 2), w(2), w(2, 1), w(1)
    path = write_archive(tmp_path / "c.keras", _custom_config(), {
        "layers/scale": [KS, BS], "layers/dense": [KH, BH]})
    model = numpy_rnn.load_keras_model(path)
    assert registered and registered[0]["units"] == 2
    assert model.get_layer("scale").name == "scale"
    x = RNG.normal(size=(2, T, F))
    np.testing.assert_allclose(model.predict(x.astype("float32")), (x @ KS + BS) @ KH + BH,
                               rtol=1e-5, atol=1e-5)


def test_registered_weight_paths_and_failing_factory(tmp_path):
    """``weight_paths`` say where the file keeps each weight (a layer built of sub-layers:
    Keras saves them under attribute names); a factory that raises is one listed problem."""
    KS, BS, KH, BH = w(F, 2), w(2), w(2, 1), w(1)
    numpy_rnn.register_layer("my_package>Scale", lambda c: numpy_rnn.Dense(c["units"]),
                             weight_paths=["proj/vars/1", "proj/vars/0"])
    try:
        path = write_archive(tmp_path / "c.keras", _custom_config(), {
            "layers/scale/proj": [BS, KS], "layers/dense": [KH, BH]})
        x = RNG.normal(size=(2, T, F))
        np.testing.assert_allclose(numpy_rnn.load_keras_model(path).predict(x.astype("float32")),
                                   (x @ KS + BS) @ KH + BH, rtol=1e-5, atol=1e-5)
        numpy_rnn.register_layer("my_package>Scale", lambda c: 1 / 0)
        with pytest.raises(UnsupportedModelError, match="registered as 'my_package>Scale' "
                                                        "refused its config: ZeroDivisionError"):
            numpy_rnn.load_keras_model(path)
    finally:
        numpy_rnn.unregister_layer("my_package>Scale")
    with pytest.raises(TypeError, match="`factory` must be callable"):
        numpy_rnn.register_layer("x", 3)
    with pytest.raises(TypeError, match="`keras_name` must be"):
        numpy_rnn.register_layer("", lambda c: None)


def test_subclassed_model_is_refused_saying_how_to_proceed(tmp_path):
    config = {"module": "my_package.models", "class_name": "MyModel",
              "config": {"name": "my_model", "trainable": True},
              "registered_name": "my_package>MyModel"}
    with pytest.raises(UnsupportedModelError, match="rebuild it as a functional model"):
        numpy_rnn.load_keras_model(write_archive(tmp_path / "s.keras", config, {}))


# -- bundles of graph models -----------------------------------------------------------------------
def _graph_model():
    a = numpy_rnn.Input((T, F), name="a")
    ids = numpy_rnn.Input((T,), dtype="int32", name="ids")
    e = numpy_rnn.Embedding(9, F, mask_zero=True, name="emb")(ids)
    s = numpy_rnn.Add(name="add")([e, numpy_rnn.Dense(F, name="proj")(a)])
    seq, h, c = numpy_rnn.LSTM(2, return_sequences=True, return_state=True, name="rnn")(s)
    return numpy_rnn.Model([a, ids], [numpy_rnn.Dense(1, name="head")(seq), h])


def test_graph_bundle_round_trip(tmp_path):
    model = _graph_model()
    path = numpy_rnn.save(model, tmp_path / "g.npz")
    bundle = numpy_rnn.read_bundle(path)
    assert isinstance(bundle.model, numpy_rnn.Model)
    assert bundle.config["format_version"] == 2 and bundle.config["model_class"] == "Model"
    assert len(bundle.test_inputs) == 2 and len(bundle.test_outputs) == 2
    assert bundle.test_inputs[1].dtype == np.int32 and (bundle.test_inputs[1] == 0).any()
    for a, b in zip(bundle.model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert bundle.report.passed and bundle.report.max_abs_err == 0.0


def test_graph_bundle_problems_are_refused(tmp_path):
    path = numpy_rnn.save(_graph_model(), tmp_path / "g.npz")
    _rewrite(path, mutate_arrays=lambda arrays: arrays.update(
        weight_001=np.zeros((F + 1, F), np.float32)),
        mutate_config=lambda c: c["weights"][1].update(shape=[F + 1, F]))
    with pytest.raises(numpy_rnn.BundleError, match=r"weight `proj/kernel` has shape \(4, 3\) "
                                                    r"in the bundle \(weight_001\) but the model "
                                                    r"config needs \(3, 3\)"):
        numpy_rnn.load(path)
    path = numpy_rnn.save(_graph_model(), tmp_path / "h.npz")
    _rewrite(path, mutate_config=lambda c: c.update(format_version=1))
    with pytest.raises(numpy_rnn.BundleError, match="format version 2 or later"):
        numpy_rnn.load(path)
    path = numpy_rnn.save(_graph_model(), tmp_path / "v.npz")
    _rewrite(path, mutate_arrays=lambda arrays: arrays.update(
        test_outputs_1=arrays["test_outputs_1"] + 1))
    with pytest.raises(numpy_rnn.BundleVerificationError):
        numpy_rnn.load(path)
    assert set(_arrays(path)) >= {"test_inputs_0", "test_inputs_1", "test_outputs_0"}
    with pytest.raises(ValueError, match="`labels` name the classes of a single output"):
        bundle_write.save(_graph_model(), tmp_path / "l.npz", labels=["a"])
    json.dumps(_graph_model().get_config())  # the stored config is JSON
