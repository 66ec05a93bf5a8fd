"""The attention layers against tf_keras (Keras 2): the bridge (``parity.from_keras`` of a
tf_keras MultiHeadAttention keeps tf_keras's maths through its ``softmax_robust_masking``
option), forward and gradients with masks; and the legacy ``.h5`` weights layout: a tf_keras
functional model's MultiHeadAttention / Attention / AdditiveAttention weights, read in the
order of the file's ``weight_names`` into the numpy layer its config makes (Keras 2 dialect),
reproduce tf_keras's outputs."""
from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
tfk = pytest.importorskip("tf_keras")
h5py = pytest.importorskip("h5py")

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn.formats.keras_convert import convert_layer  # noqa: E402
from numpy_rnn.formats.keras_layers import dialect_of  # noqa: E402
from parity.bridge import assert_refereed_gradients  # noqa: E402

Q_MASK = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
V_MASK = np.array([[1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0]], bool)  # row 1: every key masked


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("robust", [False, True])
@pytest.mark.parametrize("call", [{}, {"mask": [Q_MASK, V_MASK]},
                                  {"mask": [None, V_MASK], "return_attention_scores": True},
                                  {"use_causal_mask": True, "mask": [Q_MASK, None]}],
                         ids=["plain", "masks", "masked row+scores", "causal"])
def test_tf_keras_multi_head_attention(dtype, robust, call):
    rng = np.random.default_rng(0)
    q, v = (rng.normal(size=s).astype(dtype) for s in ((2, 4, 5), (2, 6, 7)))
    k = tfk.layers.MultiHeadAttention(2, 3, softmax_robust_masking=robust, dtype=dtype,
                                      bias_initializer="random_normal")
    k(q, v)
    n = parity.from_keras(k)
    assert n.softmax_robust_masking is robust and n.get_config()["query_shape"] == [2, 4, 5]
    report = parity.compare(n, k, [q, v], **call)
    assert report.passed, str(report)
    assert_refereed_gradients(n, k, [q, v], **call)


def test_tf_keras_semantics_differ_from_keras_3_and_are_refused_by_to_keras():
    """A row whose keys are all masked: tf_keras gives it the (float32: uniform) softmax of the
    shifted scores, Keras 3's explicit path zero attention; a numpy layer with tf_keras's maths
    has no Keras 3 twin."""
    rng = np.random.default_rng(1)
    q, v = (rng.normal(size=s).astype("float32") for s in ((2, 4, 5), (2, 6, 7)))
    k = tfk.layers.MultiHeadAttention(2, 3, bias_initializer="random_normal")
    k(q, v)
    n = parity.from_keras(k)
    keras3 = numpy_rnn.MultiHeadAttention.from_config(
        {**n.get_config(), "softmax_robust_masking": None})
    keras3.set_weights(n.get_weights())
    a = n(q, v, mask=[None, V_MASK], return_attention_scores=True)[1]
    b = keras3(q, v, mask=[None, V_MASK], return_attention_scores=True)[1]
    np.testing.assert_allclose(a[1], 1 / 6, rtol=1e-6)
    assert np.all(b[1] == 0)
    with pytest.raises(parity.UnsupportedKerasFeature, match="softmax_robust_masking"):
        parity.to_keras(n)


@pytest.mark.parametrize("cls,options", [("Attention", {"use_scale": True,
                                                        "score_mode": "concat"}),
                                         ("AdditiveAttention", {})])
def test_tf_keras_attention_layers(cls, options):
    rng = np.random.default_rng(2)
    q, v = (rng.normal(size=s).astype("float32") for s in ((2, 4, 3), (2, 6, 3)))
    k = getattr(tfk.layers, cls)(**options)
    k([q, v])
    k.set_weights([w + 0.3 for w in k.get_weights()])
    n = parity.from_keras(k)
    for call in ({}, {"mask": [Q_MASK, V_MASK]}):
        report = parity.compare(n, k, [q, v], **call)
        assert report.passed, str(report)
        assert_refereed_gradients(n, k, [q, v], **call)


def _h5_layer(path, layer_name):
    """(layer config, dialect, [weights in the file's weight_names order], names)."""
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        dialect, why = dialect_of(f.attrs["keras_version"])
        assert why is None
        group = f["model_weights"][layer_name]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        weights = [np.asarray(group[name]) for name in names]
    node = next(c for c in config["config"]["layers"] if c["config"]["name"] == layer_name)
    return node, dialect, weights, names


def test_legacy_h5_weights_layout(tmp_path):
    q_in, v_in = tfk.Input((4, 5)), tfk.Input((6, 5))
    mha = tfk.layers.MultiHeadAttention(2, 3, name="mha", bias_initializer="random_normal")
    att = tfk.layers.Attention(use_scale=True, name="att")
    add = tfk.layers.AdditiveAttention(name="add")
    out = [mha(q_in, v_in), att([q_in, v_in]), add([q_in, v_in])]
    model = tfk.Model([q_in, v_in], out)
    for layer in (att, add):
        layer.set_weights([w + 0.4 for w in layer.get_weights()])
    path = tmp_path / "attention.h5"
    model.save(path)
    rng = np.random.default_rng(3)
    q, v = (rng.normal(size=s).astype("float32") for s in ((3, 4, 5), (3, 6, 5)))
    expected = [np.asarray(o) for o in model.predict([q, v], verbose=0)]
    for i, name in enumerate(("mha", "att", "add")):
        node, dialect, weights, names = _h5_layer(path, name)
        problems: list[str] = []
        n = convert_layer(node, problems, dialect=dialect)
        assert not problems, problems
        if name == "mha":
            assert [w.split("/", 1)[1].split(":")[0] for w in names] == n.weight_names()
        n.set_weights(weights)
        got = n(q, v) if name == "mha" else n([q, v])
        np.testing.assert_allclose(got, expected[i], rtol=1e-5, atol=1e-6)
