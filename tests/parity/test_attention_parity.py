"""MultiHeadAttention, Attention, AdditiveAttention and EinsumDense against Keras 3.15: forward
(``parity.compare``) and gradients (``parity.compare_gradients`` against ``tf.GradientTape``,
float32 refereed by float64 Keras where both sides' rounding exceeds the table) at float32 and
float64, with masks, the causal mask, ``attention_axes`` and ``return_attention_scores``; both
directions of the bridge; ``.keras`` files (a Sequential of EinsumDense layers; the weights of a
MultiHeadAttention in a functional file, read at the paths the layer declares)."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn.formats.keras_convert import convert_layer, h5_paths  # noqa: E402
from parity.bridge import assert_refereed_gradients  # noqa: E402

DTYPES = ["float32", "float64"]
B, T, S = 2, 4, 5
Q_MASK = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
V_MASK = np.array([[1, 1, 0, 1, 1], [1, 0, 1, 1, 0]], bool)
V_MASK_EMPTY_ROW = np.array([[1, 1, 0, 1, 1], [0, 0, 0, 0, 0]], bool)


def _random_weights(layer, rng, dtype):
    """Keras's kernels, random biases / scales (Keras initialises biases to 0)."""
    out = []
    for w in layer.weights:
        value = np.asarray(w)
        if "bias" in w.path or value.ndim <= 1:
            value = rng.normal(scale=0.5, size=value.shape)
        out.append(value.astype(dtype))
    layer.set_weights(out)


def _arrays(rng, dtype, *shapes):
    return [rng.normal(size=s).astype(dtype) for s in shapes]


def _check(np_layer, k_layer, inputs, loss=None, **call):
    """Forward, then gradients of the sum of the outputs (or of ``loss`` against random
    targets: a softmax's outputs sum to 1, so their sum has no gradient)."""
    report = parity.compare(np_layer, k_layer, inputs, **call)
    assert report.passed, str(report)
    targets = None
    if loss is not None:
        out = np.asarray(report.outputs[0].shape)
        targets = np.random.default_rng(9).random(tuple(out)).astype(np_layer.dtype)
    grads = assert_refereed_gradients(np_layer, k_layer, inputs, loss=loss, targets=targets,
                                      **call)
    assert grads.passed
    return report, grads


# -- MultiHeadAttention -------------------------------------------------------------------------------
MHA_CASES = {
    "basic": ({}, {}, {}),
    "scores": ({}, {"return_attention_scores": True}, {}),
    "causal": ({}, {"use_causal_mask": True}, {"s": T}),
    "causal+scores": ({}, {"use_causal_mask": True, "return_attention_scores": True}, {"s": T}),
    "key, value_dim": ({"value_dim": 4}, {}, {"key": True}),
    "masks fused": ({}, {}, {"mask": [Q_MASK, V_MASK_EMPTY_ROW]}),
    "masks explicit": ({}, {"return_attention_scores": True},
                       {"mask": [Q_MASK, V_MASK_EMPTY_ROW]}),
    "key mask": ({}, {}, {"key": True, "mask": [None, V_MASK, V_MASK_EMPTY_ROW]}),
    "attention_mask": ({}, {"attention_mask": "random"}, {}),
    "attention_mask+causal+scores": ({}, {"attention_mask": "random", "use_causal_mask": True,
                                          "return_attention_scores": True}, {"s": T}),
    "output_shape": ({"output_shape": (2, 3)}, {}, {}),
    "no bias, 3 heads": ({"use_bias": False, "num_heads": 3, "key_dim": 2}, {}, {}),
    "gate": ({"use_gate": True}, {}, {}),
    "sliding_window": ({"sliding_window": 2}, {}, {"s": T}),
    "attention_axes=(1, 2)": ({"attention_axes": (1, 2)}, {}, {"rank4": True}),
    "attention_axes=2 + scores": ({"attention_axes": 2}, {"return_attention_scores": True},
                                  {"rank4": True}),
}


def _mha_case(name, dtype, seed=0):
    options, call, extra = MHA_CASES[name]
    rng = np.random.default_rng(seed)
    s = extra.get("s", S)
    if extra.get("rank4"):
        shapes = [(B, 2, 3, 5), (B, 2, 2, 6)] if options["attention_axes"] == (1, 2) else \
            [(B, 2, 3, 5), (B, 2, 4, 6)]
    else:
        shapes = [(B, T, 5), (B, s, 6)] + ([(B, s, 3)] if extra.get("key") else [])
    inputs = _arrays(rng, dtype, *shapes)
    k = keras.layers.MultiHeadAttention(**{"num_heads": 2, "key_dim": 3, **options}, dtype=dtype)
    k(*inputs)
    _random_weights(k, rng, dtype)
    call = dict(call)
    if call.get("attention_mask") == "random":
        call["attention_mask"] = rng.random((B, T, s)) > 0.3
    if "mask" in extra:
        call["mask"] = [m if m is None or m.shape[-1] == s else m[:, :s] for m in extra["mask"]]
    return k, inputs, call


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MHA_CASES))
def test_multi_head_attention(name, dtype):
    k, inputs, call = _mha_case(name, dtype)
    n = parity.from_keras(k)
    assert n.weight_names() == [parity.bridge.layers.keras_weight_path(k, w) for w in k.weights]
    _check(n, k, inputs, **call)


def test_multi_head_attention_query_mask_is_the_tensors_mask():
    """Keras 3.15 ignores ``query_mask=`` given as a keyword (call() rereads the query tensor's
    ``_keras_mask``); numpy_rnn's ``query_mask=`` stands for that tensor mask."""
    k, (q, v), _ = _mha_case("basic", "float64")
    n = parity.from_keras(k)
    ignored = np.asarray(k(q, v, query_mask=Q_MASK))
    np.testing.assert_allclose(ignored, np.asarray(k(q, v)), rtol=0, atol=0)
    qt = tf.convert_to_tensor(q)
    from keras.src import backend

    backend.set_keras_mask(qt, tf.convert_to_tensor(Q_MASK))
    expected = np.asarray(k(qt, v, return_attention_scores=True)[0])
    np.testing.assert_allclose(n(q, v, query_mask=Q_MASK, return_attention_scores=True)[0],
                               expected, rtol=1e-12, atol=1e-13)
    assert np.abs(expected - ignored).max() > 1e-3


def test_multi_head_attention_scales_the_query_first():
    """Keras's explicit path scales the query before ``q . k``: where the unscaled product would
    overflow float32 Keras's scores stay finite, and so do numpy_rnn's."""
    from tests.unit.test_attention_unit import overflow_example

    n, q, v = overflow_example()
    k = parity.to_keras(n)
    report = parity.compare(n, k, [q, v], return_attention_scores=True)
    assert report.passed, str(report)
    assert np.all(np.isfinite(np.asarray(k(q, v, return_attention_scores=True)[1])))


def test_multi_head_attention_inference_dropout_is_the_explicit_path():
    """``dropout > 0`` makes Keras take its explicit path at inference too: a query whose keys
    are all masked gets zero attention (the fused path would average the values)."""
    for dtype in DTYPES:
        k = keras.layers.MultiHeadAttention(2, 3, dropout=0.3, dtype=dtype)
        rng = np.random.default_rng(1)
        q, v = _arrays(rng, dtype, (B, T, 5), (B, S, 6))
        k(q, v)
        _random_weights(k, rng, dtype)
        report = parity.compare(parity.from_keras(k), k, [q, v], mask=[None, V_MASK_EMPTY_ROW])
        assert report.passed, str(report)


def test_keras_tensorflow_bias_add_quirk_is_not_reproduced():
    """Keras 3.15's TensorFlow ``ops.add`` turns ``x + bias`` into ``tf.nn.bias_add(...,
    "NCHW")`` when the bias's only non-1 axis matches the input's axis 1 and not its last: a
    MultiHeadAttention with key_dim 1 and as many query positions as heads adds its query bias
    ``(heads, 1)`` along the positions.  numpy_rnn broadcasts (as Keras documents and its other
    backends do); parity.strategies.keras_bias_add_quirk keeps the property tests off it."""
    from parity.strategies import keras_bias_add_quirk

    assert keras_bias_add_quirk({"num_heads": 2, "key_dim": 1}, 2, 3)
    k = keras.layers.EinsumDense("abc,cde->abde", (None, 2, 1), bias_axes="de", dtype="float64")
    k.build((1, 2, 1))
    k.set_weights([np.array([[[20.0], [21.0]]]), np.array([[30.0], [31.0]])])
    x = np.ones((1, 2, 1))
    n = parity.from_keras(k)
    np.testing.assert_array_equal(n(x)[0, :, :, 0], [[50, 52], [50, 52]])  # x @ kernel + bias
    got = np.asarray(k(x))[0, :, :, 0]
    if np.array_equal(got, [[50, 52], [50, 52]]):
        pytest.fail("Keras now broadcasts this bias: drop keras_bias_add_quirk")
    np.testing.assert_array_equal(got, [[50, 51], [51, 52]])  # bias added along axis 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_multi_head_attention_to_keras(dtype):
    n = numpy_rnn.MultiHeadAttention(3, 2, value_dim=4, output_shape=7, dtype=dtype, seed=3,
                                     bias_initializer="random_normal")
    rng = np.random.default_rng(0)
    q, v, key = _arrays(rng, dtype, (B, T, 5), (B, S, 6), (B, S, 2))
    n(q, v, key=key)
    k = parity.to_keras(n)
    assert type(k).__name__ == "MultiHeadAttention" and k.get_config()["output_shape"] == (7,)
    _check(n, k, [q, v, key], mask=[Q_MASK, V_MASK, None], use_causal_mask=False)


# -- Attention, AdditiveAttention -----------------------------------------------------------------------
ATTENTION_CASES = {
    "Attention dot": (keras.layers.Attention, {}),
    "Attention dot scale": (keras.layers.Attention, {"use_scale": True}),
    "Attention concat": (keras.layers.Attention, {"score_mode": "concat"}),
    "Attention concat scale": (keras.layers.Attention, {"score_mode": "concat",
                                                        "use_scale": True}),
    "AdditiveAttention": (keras.layers.AdditiveAttention, {}),
    "AdditiveAttention no scale": (keras.layers.AdditiveAttention, {"use_scale": False}),
}
ATTENTION_CALLS = {
    "plain": ({}, False),
    "key": ({}, True),
    "masks+scores": ({"mask": [Q_MASK, V_MASK], "return_attention_scores": True}, False),
    "empty value row": ({"mask": [None, V_MASK_EMPTY_ROW]}, True),
    "causal": ({"use_causal_mask": True, "return_attention_scores": True}, False),
    "causal+masks": ({"use_causal_mask": True, "mask": [Q_MASK, V_MASK[:, :T]]}, False),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("call_name", list(ATTENTION_CALLS))
@pytest.mark.parametrize("layer_name", list(ATTENTION_CASES))
def test_attention_layers(layer_name, call_name, dtype):
    cls, options = ATTENTION_CASES[layer_name]
    call, with_key = ATTENTION_CALLS[call_name]
    rng = np.random.default_rng(2)
    s = T if "causal" in call_name else S
    shapes = [(B, T, 3), (B, s, 4 if with_key else 3)] + ([(B, s, 3)] if with_key else [])
    inputs = _arrays(rng, dtype, *shapes)
    k = cls(**options, dtype=dtype)
    k.build([x.shape for x in inputs])
    _random_weights(k, rng, dtype)
    n = parity.from_keras(k)
    assert n.weight_names() == [w.path.split("/")[-1] for w in k.weights]
    _check(n, k, inputs, **call)


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_attention_layers_to_keras(cls):
    n = getattr(numpy_rnn, cls)(use_scale=True, dtype="float64", seed=1)
    rng = np.random.default_rng(0)
    q, v = _arrays(rng, "float64", (B, T, 3), (B, S, 3))
    n([q, v])
    n.set_weights([w + 0.5 for w in n.get_weights()])
    k = parity.to_keras(n)
    assert type(k).__name__ == cls
    _check(n, k, [q, v], mask=[Q_MASK, V_MASK])


# -- EinsumDense ----------------------------------------------------------------------------------------
EINSUM_CASES = [
    ("abc,cde->abde", (None, 2, 3), "de", "tanh", (B, T, 5)),
    ("...b,bc->...c", 4, "c", "relu", (B, 2, T, 5)),
    ("abc,bcd->ad", 4, "d", None, (B, T, 5)),
    ("ab...,bc->ac...", (4,), "c", "sigmoid", (B, 5, 3, 2)),
    ("abc,cd->abd", (T, 4), "bd", "softmax", (B, T, 5)),
    ("abc,cd->abd", (None, 4), None, None, (B, T, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eq,out,bias,activation,shape", EINSUM_CASES,
                         ids=[c[0] + (" bias " + c[2] if c[2] else "") for c in EINSUM_CASES])
def test_einsum_dense(eq, out, bias, activation, shape, dtype):
    rng = np.random.default_rng(4)
    (x,) = _arrays(rng, dtype, shape)
    k = keras.layers.EinsumDense(eq, out, bias_axes=bias, activation=activation, dtype=dtype)
    k(x)
    _random_weights(k, rng, dtype)
    n = parity.from_keras(k)
    _check(n, k, x, loss="mse" if activation == "softmax" else None)
    back = parity.to_keras(n)
    assert parity.compare(n, back, x).passed


def _save(model, tmp_path, name):
    path = tmp_path / name
    model.save(path)
    return path


def test_keras_file_sequential_of_einsum_dense(tmp_path):
    model = keras.Sequential([
        keras.Input((T, 5)),
        keras.layers.EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de",
                                 activation="tanh", bias_initializer="random_normal"),
        keras.layers.EinsumDense("abcd,cde->abe", (None, 4), bias_axes="e",
                                 bias_initializer="random_normal"),
        keras.layers.EinsumDense("...b,bc->...c", 2),
    ])
    path = _save(model, tmp_path, "einsum.keras")
    loaded = numpy_rnn.load_keras_model(path)
    assert [type(lay).__name__ for lay in loaded.layers] == ["EinsumDense"] * 3
    x = np.random.default_rng(0).normal(size=(3, T, 5)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x), model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("use_gate", [False, True])
def test_keras_file_multi_head_attention_weights_layout(tmp_path, use_gate):
    """A functional .keras file with a MultiHeadAttention (the functional reader is another
    module's): the layer's config becomes a built numpy layer (convert_layer, from its
    build_config's shapes_dict) and its weights are read at the groups it declares
    (``keras_weight_groups``), which is what the readers do; the result is Keras's output."""
    q_in, v_in = keras.Input((T, 5)), keras.Input((S, 6))
    mha = keras.layers.MultiHeadAttention(2, 3, use_gate=use_gate,
                                          bias_initializer="random_normal")
    model = keras.Model([q_in, v_in], mha(q_in, v_in))
    path = _save(model, tmp_path, "mha.keras")
    import h5py

    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
        weights = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
    node = next(c for c in config["config"]["layers"] if c["class_name"] == "MultiHeadAttention")
    problems: list[str] = []
    n = convert_layer(node, problems)
    assert not problems and n.built
    paths = h5_paths([type(layer).__name__ for layer in model.layers])  # Keras's group names
    group = weights[paths[[layer.name for layer in model.layers].index(node["name"])]]
    for sub_path, sub in n.keras_weight_groups():
        sub.set_weights([group[f"{sub_path}/vars/{i}"][()] for i in range(len(sub.weight_names()))])
    rng = np.random.default_rng(0)
    q, v = _arrays(rng, "float32", (3, T, 5), (3, S, 6))
    np.testing.assert_allclose(n(q, v), model.predict([q, v], verbose=0), rtol=1e-5, atol=1e-6)
