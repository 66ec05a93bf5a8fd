"""``Model.save(path)`` of a functional model (several inputs, nested models, a shared layer,
attention) read back by ``numpy_rnn.load``; a trained model keeps its trained weights (and no
optimizer); weight names unique (two MultiHeadAttentions), and a bundle written with the names
of before (a nested model's weights without its name) still loads.  NumPy only."""
from __future__ import annotations

import json

import numpy as np
import pytest

import numpy_rnn as nr
from numpy_rnn import optimizers
from numpy_rnn.formats import bundle_write
from numpy_rnn.registry import Registration


def _graph(dtype="float32"):
    """Two inputs; a nested Sequential and a nested functional model; one GRU shared by both
    branches; two MultiHeadAttentions; two outputs."""
    kw = {"dtype": dtype}
    a = nr.Input((5, 4), name="a", dtype=dtype)
    ids = nr.Input((5,), dtype="int32", name="ids")
    embed = nr.Sequential([nr.Embedding(11, 4, mask_zero=True, name="emb", **kw),
                           nr.Dense(4, activation="tanh", name="proj", **kw)], name="embed")
    t = nr.Input((None, 4), name="t", dtype=dtype)
    inner = nr.Model(t, nr.LayerNormalization(name="norm", **kw)(
        nr.Dense(4, name="inner_dense", **kw)(t)), name="inner")
    shared = nr.GRU(4, return_sequences=True, name="shared", **kw)
    x = shared(inner(a))
    y = shared(embed(ids))
    x = nr.MultiHeadAttention(2, 2, name="mha_x", **kw)(x, y)
    y = nr.MultiHeadAttention(2, 2, name="mha_y", **kw)(y, x)
    merged = nr.Concatenate(name="cat", **kw)([x, y])
    head = nr.Dense(3, name="head", **kw)(nr.GlobalAveragePooling1D(name="pool", **kw)(merged))
    side = nr.Dense(1, name="side", **kw)(y)
    return nr.Model([a, ids], [head, side], name="graph")


def _randomize(model, rng, scale=0.5):
    model.set_weights([(rng.normal(size=w.shape) * scale).astype(w.dtype)
                       for w in model.get_weights()])
    return model


def _inputs(rng, n=6, dtype="float32"):
    ids = rng.integers(1, 11, size=(n, 5)).astype("int32")
    ids[:, -2:] = np.where(rng.random((n, 2)) < 0.5, 0, ids[:, -2:])  # some masked steps
    return [rng.normal(size=(n, 5, 4)).astype(dtype), ids]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_functional_model_saves_and_loads_predicting_the_same(tmp_path, case_rng, dtype):
    model = _randomize(_graph(dtype), case_rng)
    xs = _inputs(case_rng, dtype=dtype)
    path = model.save(tmp_path / "graph.npz")
    loaded = nr.load(path)
    assert isinstance(loaded, nr.Model)
    assert loaded.weight_names() == model.weight_names()
    assert len(set(model.weight_names())) == len(model.get_weights())
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    for got, want in zip(loaded.predict(xs), model.predict(xs)):
        assert got.dtype == want.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 if dtype == "float64" else 1e-6)
    # the shared GRU is one layer with one set of weights in the loaded model too
    assert sum(lay.name == "shared" for lay in loaded.layers) == 1


def test_trained_functional_model_saves_its_trained_weights_without_optimizer(tmp_path,
                                                                              case_rng):
    model = _randomize(_graph(), case_rng)
    xs = _inputs(case_rng, n=8)
    ys = [case_rng.normal(size=(8, 3)).astype("float32"),
          case_rng.normal(size=(8, 5, 1)).astype("float32")]
    start = model.get_weights()
    model.compile(optimizer=optimizers.Adam(0.01), loss=["mse", "mse"])
    model.fit(xs, ys, epochs=2, batch_size=4, verbose=0)
    trained = model.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(start, trained))
    path = model.save(tmp_path / "trained.npz")
    arrays = np.load(path)
    config = json.loads(arrays["config"].tobytes().decode())
    # the weights and nothing of the optimizer (no moments, no iteration count)
    assert len(config["weights"]) == len(trained)
    assert not any("optimizer" in k or "adam" in k.lower() for k in arrays.files)
    loaded = nr.load(path)
    assert not loaded.compiled
    for got, want in zip(loaded.get_weights(), trained):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(loaded.predict(xs), model.predict(xs)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_bundle_with_the_weight_names_of_before_still_loads(tmp_path, case_rng):
    """Bundles written before the names took each layer's name (MHA's ``query/kernel``, a
    nested Sequential's ``emb/embeddings``) load: weights go by position, names are labels."""
    model = _randomize(_graph(), case_rng)
    path = model.save(tmp_path / "g.npz")
    arrays = dict(np.load(path))
    config = json.loads(arrays.pop("config").tobytes().decode())
    arrays.pop("sha256")
    old = [n.split("/", 1)[1] if n.startswith(("mha_", "embed/")) else n
           for n in model.weight_names()]
    assert len(set(old)) < len(old)  # the old names collided
    for spec, name in zip(config["weights"], old):
        spec["name"] = name
    bundle_write.write_bundle(path, config, arrays)
    loaded = nr.load(path)
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_registered_twin_weights_under_its_name():
    """The twin of a user's layer (``register_layer``) is a Keras layer: its weights go under
    its name (Keras's ``transformer_block/multi_head_attention/query/kernel``)."""
    def factory(config):
        t = nr.Input((None, 4))
        return nr.Model(t, nr.MultiHeadAttention(2, 2, name="att")(t, t))

    twin = Registration("my_package>Block", factory).make({"name": "block"})
    assert twin.name == "block" and twin.registered_as == "my_package>Block"
    x = nr.Input((3, 4), name="x")
    model = nr.Model(x, nr.Dense(2, name="out")(twin(x)))
    assert model.weight_names()[:2] == ["block/att/query/kernel", "block/att/query/bias"]


def test_mha_reports_the_terms_of_its_key_bias_gradient(case_rng):
    """``vanishing_gradient_terms``: sum|terms| and the count of the key bias gradient's sum;
    the computed key bias gradient (exactly 0) lies within ``n * eps * sum|terms|``."""
    mha = nr.MultiHeadAttention(2, 3, dtype="float32")
    q = case_rng.normal(size=(4, 5, 6)).astype("float32")
    v = case_rng.normal(size=(4, 7, 6)).astype("float32")
    assert mha.vanishing_gradient_terms == {}
    out = mha([q, v], training=True)
    mha.backward(case_rng.normal(size=out.shape).astype("float32"))
    abs_sum, n = mha.vanishing_gradient_terms["key/bias"]
    assert n == 4 * 7 and abs_sum.shape == (2, 3) and abs_sum.min() > 0
    key_bias_grad = mha.gradients[mha.weight_names().index("key/bias")]
    assert np.all(np.abs(key_bias_grad) <= n * np.finfo(np.float32).eps * abs_sum)
    assert nr.MultiHeadAttention(2, 3, use_bias=False).vanishing_gradient_terms == {}
