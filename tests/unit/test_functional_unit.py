"""The functional Model and the merge layers, NumPy only: construction, errors, shapes, masks,
shared and nested layers, weights in order (all or nothing), backward vs float64 central finite
differences, training bookkeeping."""
from __future__ import annotations

import json

import numpy as np
import pytest

import numpy_rnn as nr
from numpy_rnn import losses, optimizers

# Inputs come from ``case_rng`` (conftest.py: seeded from the test's id), never from a
# module-level generator whose draws depend on which tests ran before in the same process.


def randomize(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) * scale
                       for w in model.get_weights()])
    return model


def branched(dtype="float64"):
    """Two inputs, a Dense per input, one LSTM shared by both, an Add, two heads."""
    a = nr.Input((5, 3), name="a", dtype=dtype)
    b = nr.Input((5, 3), name="b", dtype=dtype)
    shared = nr.LSTM(4, return_sequences=True, name="shared", dtype=dtype)
    y1 = shared(nr.Dense(4, name="d1", dtype=dtype)(a))
    y2 = shared(nr.Dense(4, name="d2", dtype=dtype)(b))
    z = nr.Add(name="add", dtype=dtype)([y1, y2])
    head = nr.Dense(2, name="head", dtype=dtype)(z)
    side = nr.Dense(3, name="side", dtype=dtype)(y1)
    return nr.Model([a, b], [head, side], name="branched")


# -- construction ---------------------------------------------------------------------------
def test_layers_in_keras_order_and_weights_right_after_construction():
    m = branched()
    # the order keras.Model gives for this graph (checked live in tests/parity)
    assert [lay.name for lay in m.layers] == ["a", "b", "d1", "d2", "shared", "add", "head",
                                              "side"]
    assert m.weight_names() == ["d1/kernel", "d1/bias", "d2/kernel", "d2/bias", "shared/kernel",
                                "shared/recurrent_kernel", "shared/bias", "head/kernel",
                                "head/bias", "side/kernel", "side/bias"]
    assert [w.shape for w in m.get_weights()][:2] == [(3, 4), (4,)]
    assert m.input_names == ["a", "b"] and m.output_names == ["head", "side"]
    assert m.get_layer("shared") is m.layers[4] and m.get_layer(index=-1).name == "side"
    with pytest.raises(ValueError, match="No such layer: nope"):
        m.get_layer("nope")


def test_nodes_walk_in_running_order():
    m = branched()
    seen = {id(t) for t in m.inputs}
    for node in m.nodes:
        if node.is_input:
            continue
        assert all(id(t) in seen for t in node.input_tensors), node
        seen.update(id(t) for t in node.outputs)
    shared_nodes = [n for n in m.nodes if n.layer.name == "shared"]
    assert len(shared_nodes) == 2
    assert [t.layer.name for t in shared_nodes[0].inbound] in (["d1"], ["d2"])
    add = next(n for n in m.nodes if n.layer.name == "add")
    assert [t.layer.name for t in add.inbound] == ["shared", "shared"]


def test_symbolic_shapes_and_dtypes():
    ids = nr.Input((7,), dtype="int32")
    assert ids.shape == (None, 7) and ids.dtype == "int32"
    e = nr.Embedding(10, 4)(ids)
    assert e.shape == (None, 7, 4) and e.dtype == "float32"
    out, h, c = nr.LSTM(3, return_sequences=True, return_state=True)(e)
    assert (out.shape, h.shape, c.shape) == ((None, 7, 3), (None, 3), (None, 3))
    outs = nr.Bidirectional(nr.GRU(2, return_state=True), merge_mode=None)(e)
    assert [t.shape for t in outs] == [(None, 2), (None, 2), (None, 2), (None, 2)]
    cat = nr.Concatenate(axis=1)([out, out])
    assert cat.shape == (None, 14, 3)
    d = nr.Dot(axes=(2, 1))([out, nr.Input((3, 5))])
    assert d.shape == (None, 7, 5)
    m = nr.Model(ids, [out, h, cat])
    assert [t.shape for t in m.outputs] == [(None, 7, 3), (None, 3), (None, 14, 3)]


def test_real_output_shapes_match_the_symbolic_ones(case_rng):
    x = nr.Input((6, 3))
    seq, h, c = nr.LSTM(4, return_sequences=True, return_state=True)(x)
    bi = nr.Bidirectional(nr.SimpleRNN(2, return_sequences=True), merge_mode="concat")(seq)
    d = nr.Dot(axes=1, normalize=True)([h, c])
    cat = nr.Concatenate(axis=1)([seq, seq])
    m = nr.Model(x, [seq, h, bi, d, cat])
    got = m(case_rng.normal(size=(2, 6, 3)))
    assert [g.shape[1:] for g in got] == [t.shape[1:] for t in m.outputs]


# -- errors --------------------------------------------------------------------------------
def test_construction_errors_name_what_is_wrong():
    a, b = nr.Input((3,), name="ea"), nr.Input((3,), name="eb")
    y = nr.Dense(2)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        nr.Model(a, y)
    with pytest.raises(ValueError, match="must be symbolic tensors.*ndarray"):
        nr.Model(a, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="come straight from numpy_rnn.Input"):
        nr.Model(y, nr.Dense(1)(y))
    with pytest.raises(ValueError, match="cannot be empty"):
        nr.Model([], y)
    with pytest.raises(TypeError, match="mix of symbolic tensors"):
        nr.Add()([a, np.zeros((1, 3))])
    with pytest.raises(ValueError, match="expected the last axis to be 5"):
        nr.Dense(2, features=5)(a)
    with pytest.raises(TypeError, match="cannot be called with these arguments"):
        nr.Dense(2)(a, bogus=1)
    with pytest.raises(ValueError, match="incompatible shapes"):
        nr.Add()([a, nr.Input((4,))])
    with pytest.raises(ValueError, match="exactly 2"):
        nr.Subtract()([a, a, a])
    with pytest.raises(ValueError, match="shape\\[0\\]"):
        nr.Input((0, 3))


def test_call_errors_wrong_count_missing_key_single_array(case_rng):
    m = branched()
    x = case_rng.normal(size=(2, 5, 3))
    with pytest.raises(ValueError, match=r"expects 2 input\(s\) \['a', 'b'\], but received 1"):
        m([x])
    with pytest.raises(ValueError, match=r"missing input\(s\) \['b'\]"):
        m({"a": x})
    with pytest.raises(ValueError, match="received a single array"):
        m(x)
    with pytest.raises(ValueError, match="expects shape"):
        m([x, x[:, :, :2]])
    with pytest.raises(ValueError, match="same number of samples"):
        m([x, x[:1]])
    out = m({"b": x, "a": x, "extra": 1})  # extra keys are ignored, as in Keras
    assert isinstance(out, list) and len(out) == 2


def test_outputs_come_back_in_the_structure_given(case_rng):
    x = nr.Input((3,), name="x")
    h = nr.Dense(2, name="h")(x)
    k = nr.Dense(1, name="k")(x)
    arr = case_rng.normal(size=(4, 3)).astype("float32")
    assert isinstance(nr.Model(x, h)(arr), np.ndarray)
    assert isinstance(nr.Model(x, [h])(arr), np.ndarray)  # Keras unpacks a one-item list
    out = nr.Model(x, {"k": k, "h": h})(arr)
    assert set(out) == {"h", "k"} and out["k"].shape == (4, 1)
    assert isinstance(nr.Model({"x": x}, [h, k])({"x": arr}), list)


def test_inputs_are_cast_to_the_input_dtype():
    ids = nr.Input((3,), dtype="int32")
    emb = nr.Embedding(5, 2, mask_zero=True)
    m = nr.Model(ids, emb(ids))
    ref = emb(np.array([[1, 2, 0]]))
    np.testing.assert_array_equal(m(np.array([[1.7, 2.2, 0.4]])), ref)  # truncated as Keras
    x = nr.Input((2,))
    d = nr.Dense(1, dtype="float64")
    assert nr.Model(x, d(x))(np.ones((1, 2))).dtype == np.float64


# -- masks ---------------------------------------------------------------------------------
def _ids():
    ids = np.array([[3, 4, 0, 0], [1, 2, 5, 0], [2, 2, 2, 2]])
    return ids, ids != 0


def test_embedding_mask_reaches_the_lstm():
    ids_in = nr.Input((4,), dtype="int32")
    emb = nr.Embedding(6, 3, mask_zero=True, dtype="float64")
    lstm = nr.LSTM(2, return_sequences=True, dtype="float64")
    m = randomize(nr.Model(ids_in, lstm(emb(ids_in))))
    ids, mask = _ids()
    np.testing.assert_allclose(m(ids), lstm(emb(ids), mask=mask), rtol=0, atol=0)
    assert not np.allclose(m(ids), lstm(emb(ids)))


def test_merged_masks_are_ored_and_none_when_one_input_has_none():
    ids_in = nr.Input((4,), dtype="int32")
    e1 = nr.Embedding(6, 3, mask_zero=True, dtype="float64")(ids_in)
    e2 = nr.Embedding(6, 3, mask_zero=True, dtype="float64")(ids_in)
    plain = nr.Embedding(6, 3, dtype="float64")(ids_in)
    both = nr.Add(dtype="float64")([e1, e2])
    one = nr.Add(dtype="float64")([e1, plain])
    lstm = nr.LSTM(2, return_sequences=True, dtype="float64")
    m = randomize(nr.Model(ids_in, [lstm(both), lstm(one)]))
    ids, mask = _ids()
    m_both, m_one = m(ids)
    emb = m.layers[1:4]
    x_both = emb[0](ids) + emb[1](ids)
    np.testing.assert_allclose(m_both, lstm(x_both, mask=mask), atol=1e-15)
    x_one = emb[0](ids) + emb[2](ids)
    np.testing.assert_allclose(m_one, lstm(x_one), atol=1e-15)  # no mask at all
    add = nr.Add()
    a, b = np.array([[True, False, False]]), np.array([[False, False, True]])
    np.testing.assert_array_equal(add.compute_mask([0, 0], [a, b]), [[True, False, True]])
    assert add.compute_mask([0, 0], [a, None]) is None


def test_initial_state_turns_the_mask_off_as_in_keras():
    """Keras 3.15 only fills in ``mask`` for a call with one tensor argument: an LSTM called
    with ``initial_state`` tensors runs unmasked, but its output still carries the mask."""
    ids_in = nr.Input((4,), dtype="int32")
    e = nr.Embedding(6, 3, mask_zero=True, dtype="float64")(ids_in)
    _, h, c = nr.LSTM(2, return_sequences=True, return_state=True, dtype="float64")(e)
    dec = nr.LSTM(2, return_sequences=True, dtype="float64")
    y = dec(e, initial_state=[h, c])
    top = nr.SimpleRNN(2, dtype="float64")
    m = randomize(nr.Model(ids_in, [y, top(y)]))
    ids, mask = _ids()
    emb, enc = m.layers[1], m.layers[2]
    _, h0, c0 = enc(emb(ids), mask=mask)
    y_ref = dec(emb(ids), initial_state=[h0, c0])  # no mask
    got_y, got_top = m(ids)
    np.testing.assert_allclose(got_y, y_ref, atol=1e-15)
    np.testing.assert_allclose(got_top, top(y_ref, mask=mask), atol=1e-15)


def test_explicit_mask_argument(case_rng):
    x = nr.Input((4, 3))
    mk = nr.Input((4,), dtype="bool")
    lstm = nr.LSTM(2, dtype="float64")
    m = randomize(nr.Model([x, mk], lstm(x, mask=mk)))
    xs = case_rng.normal(size=(3, 4, 3))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool)
    # The model casts ``xs`` to its Input's dtype (float32, Keras's default) before the float64
    # LSTM runs: compare with the same cast, else the reference differs by float32 rounding
    # (relative 3e-7 on one draw: it failed under another test order, at atol=1e-15, rtol=1e-7).
    np.testing.assert_allclose(m([xs, mask]), lstm(xs.astype("float32"), mask=mask), atol=1e-15)
    assert m.inputs[0].dtype == "float32"


# -- shared and nested ---------------------------------------------------------------------
def test_shared_layer_one_set_of_weights(case_rng):
    m = branched()
    assert sum(lay.name == "shared" for lay in m.layers) == 1
    assert len(m.get_weights()) == 11
    randomize(m)
    a, b = case_rng.normal(size=(2, 5, 3)), case_rng.normal(size=(2, 5, 3))
    L = {lay.name: lay for lay in m.layers}
    y1, y2 = L["shared"](L["d1"](a)), L["shared"](L["d2"](b))
    head, side = m([a, b])
    np.testing.assert_allclose(head, L["head"](y1 + y2), atol=1e-14)
    np.testing.assert_allclose(side, L["side"](y1), atol=1e-14)


def test_nested_sequential_and_model_keep_weights_in_place_and_masks():
    inner_seq = nr.Sequential([nr.Embedding(7, 3, mask_zero=True, dtype="float64", name="emb"),
                               nr.Dense(3, dtype="float64", name="proj")], name="inner_seq")
    t = nr.Input((None, 3), dtype="float64", name="t")
    inner = nr.Model(t, nr.LSTM(2, return_sequences=True, dtype="float64", name="rnn")(t),
                     name="inner")
    ids = nr.Input((4,), dtype="int32", name="ids")
    h = inner(inner_seq(ids))
    out = nr.Dense(1, dtype="float64", name="out")(nr.GRU(2, dtype="float64", name="gru")(h))
    m = randomize(nr.Model(ids, out))
    assert [lay.name for lay in m.layers] == ["ids", "inner_seq", "inner", "gru", "out"]
    assert m.weight_names() == ["emb/embeddings", "proj/kernel", "proj/bias", "rnn/kernel",
                                "rnn/recurrent_kernel", "rnn/bias", "gru/kernel",
                                "gru/recurrent_kernel", "gru/bias", "out/kernel", "out/bias"]
    w = m.get_weights()
    np.testing.assert_array_equal(w[0], inner_seq.get_weights()[0])
    np.testing.assert_array_equal(w[3], inner.get_weights()[0])
    x, mask = _ids()
    L = {lay.name: lay for lay in m.layers}
    rnn = inner.get_layer("rnn")
    ref = L["out"](L["gru"](rnn(inner_seq(x), mask=mask), mask=mask))
    np.testing.assert_allclose(m(x), ref, atol=1e-14)


def test_set_weights_all_or_nothing():
    m = randomize(branched())
    before = m.get_weights()
    bad = [np.zeros_like(w) for w in before]
    bad[-1] = np.zeros(7)
    with pytest.raises(ValueError, match="side"):
        m.set_weights(bad)
    with pytest.raises(ValueError, match="expects 11 weights"):
        m.set_weights(bad[:-1])
    for w0, w1 in zip(before, m.get_weights()):
        np.testing.assert_array_equal(w0, w1)


def test_a_call_that_raises_changes_nothing():
    x = nr.Input((None, 3))
    lstm = nr.LSTM(2, stateful=True)
    m = nr.Model(x, lstm(x))
    m(np.ones((2, 4, 3), "float32"))
    states = [s.copy() for s in lstm.states]
    with pytest.raises(ValueError):
        m(np.ones((3, 4, 3), "float32"))  # wrong batch for the stateful layer
    for s0, s1 in zip(states, lstm.states):
        np.testing.assert_array_equal(s0, s1)


def test_config_round_trip_rebuilds_the_same_graph(case_rng):
    m = randomize(branched())
    cfg = json.loads(json.dumps(m.get_config()))
    m2 = nr.Model.from_config(cfg)
    assert [lay.name for lay in m2.layers] == [lay.name for lay in m.layers]
    m2.set_weights(m.get_weights())
    xs = [case_rng.normal(size=(2, 5, 3)) for _ in range(2)]
    for a, b in zip(m(xs), m2(xs)):
        np.testing.assert_array_equal(a, b)


# -- backward vs central finite differences ------------------------------------------------
def fd_graph():
    """Fan-out (``y1`` feeds the shared LSTM's output to Add and the side head), a shared
    LSTM, a Multiply merge with a broadcast (rank 2 into rank 3), an Embedding mask and an
    encoder state into a decoder's ``initial_state``."""
    a = nr.Input((4, 3), name="fa", dtype="float64")
    ids = nr.Input((4,), dtype="int32", name="fids")
    e = nr.Embedding(6, 3, mask_zero=True, dtype="float64", name="femb")(ids)
    shared = nr.LSTM(3, return_sequences=True, dtype="float64", name="fshared")
    y1, y2 = shared(a), shared(e)
    _, h, c = nr.LSTM(3, return_state=True, dtype="float64", name="fenc")(y1)
    dec = nr.GRU(3, return_sequences=True, dtype="float64", name="fdec")(y2, initial_state=[h])
    mixed = nr.Multiply(dtype="float64", name="fmul")([dec, nr.Dense(3, dtype="float64")(c)])
    z = nr.Add(dtype="float64", name="fadd")([mixed, y1])
    o1 = nr.Dense(2, dtype="float64", name="fo1")(z)
    o2 = nr.Dot(axes=1, normalize=True, dtype="float64", name="fdot")([h, c])
    return nr.Model([a, ids], [o1, o2])


def test_backward_matches_central_differences():
    m = randomize(fd_graph(), seed=3)
    rng = np.random.default_rng(5)
    a = rng.normal(size=(2, 4, 3))
    ids = np.array([[1, 2, 3, 0], [4, 5, 1, 2]])
    g1, g2 = rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 1))

    def loss():
        o1, o2 = m([a, ids])
        return float((o1 * g1).sum() + (o2 * g2).sum())

    m([a, ids], training=True)
    dx = m.backward([g1, g2])
    assert dx[1] is None  # integer ids
    eps = 1e-6
    weights = m.weights
    for name, w, g in zip(m.weight_names(), weights, m.gradients):
        num = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + eps
            up = loss()
            w[idx] = old - eps
            down = loss()
            w[idx] = old
            num[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8, err_msg=name)
    num = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        up = loss()
        a[idx] = old - eps
        down = loss()
        a[idx] = old
        num[idx] = (up - down) / (2 * eps)
    np.testing.assert_allclose(dx[0], num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("layer, shapes", [
    (nr.Add, [(2, 3, 4), (2, 4), (2, 1, 4)]),
    (nr.Subtract, [(2, 3, 4), (2, 3, 4)]),
    (nr.Multiply, [(2, 3, 4), (2, 4), (2, 3, 4)]),
    (nr.Average, [(2, 3, 4), (2, 3, 4), (2, 3, 4)]),
    (nr.Maximum, [(2, 3, 4), (2, 3, 4), (2, 3, 4)]),
    (nr.Minimum, [(2, 3, 4), (2, 4)]),
    (lambda **k: nr.Concatenate(axis=1, **k), [(2, 3, 4), (2, 2, 4)]),
    (lambda **k: nr.Concatenate(**k), [(2, 3, 4), (2, 3, 1)]),
    (lambda **k: nr.Dot(axes=(2, 1), **k), [(2, 3, 4), (2, 4, 5)]),
    (lambda **k: nr.Dot(axes=1, normalize=True, **k), [(2, 4), (2, 4)]),
    (lambda **k: nr.Dot(axes=-1, normalize=True, **k), [(2, 3, 4), (2, 4)]),
], ids=["add-broadcast", "subtract", "multiply-broadcast", "average", "maximum", "minimum",
        "concat-axis1", "concat", "dot", "dot-normalize", "dot-normalize-rank3"])
def test_merge_backward_matches_central_differences(layer, shapes):
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=s) for s in shapes]
    lay = layer(dtype="float64")
    y = lay(xs, training=True)
    g = rng.normal(size=y.shape)
    grads = lay.backward(g)
    assert lay.gradients == []
    eps = 1e-6
    for i, x in enumerate(xs):
        num = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + eps
            up = (lay(xs) * g).sum()
            x[idx] = old - eps
            down = (lay(xs) * g).sum()
            x[idx] = old
            num[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[i], num, rtol=1e-6, atol=1e-9, err_msg=f"input {i}")


@pytest.mark.parametrize("cls", [nr.Maximum, nr.Minimum, nr.Multiply])
def test_masked_merges_backward_matches_central_differences(cls):
    rng = np.random.default_rng(2)
    xs = [rng.normal(size=(2, 4, 3)) for _ in range(3)]
    masks = [rng.random((2, 4)) > 0.4 for _ in range(3)]
    lay = cls(dtype="float64")
    y = lay(xs, mask=masks, training=True)
    g = rng.normal(size=y.shape)
    grads = lay.backward(g)
    eps = 1e-6
    for i, x in enumerate(xs):
        num = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + eps
            up = (lay(xs, mask=masks) * g).sum()
            x[idx] = old - eps
            down = (lay(xs, mask=masks) * g).sum()
            x[idx] = old
            num[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[i], num, rtol=1e-6, atol=1e-9, err_msg=f"input {i}")


# -- merge forward -------------------------------------------------------------------------
def test_merge_forward_formulas():
    rng = np.random.default_rng(3)
    a, b, c = (rng.normal(size=(2, 3, 4)) for _ in range(3))
    f64 = {"dtype": "float64"}
    np.testing.assert_array_equal(nr.Add(**f64)([a, b, c]), a + b + c)
    np.testing.assert_array_equal(nr.Subtract(**f64)([a, b]), a - b)
    np.testing.assert_array_equal(nr.Multiply(**f64)([a, b]), a * b)
    np.testing.assert_allclose(nr.Average(**f64)([a, b, c]), (a + b + c) / 3, rtol=1e-15)
    np.testing.assert_array_equal(nr.Maximum(**f64)([a, b, c]), np.maximum(np.maximum(a, b), c))
    np.testing.assert_array_equal(nr.Minimum(**f64)([a, b]), np.minimum(a, b))
    np.testing.assert_array_equal(nr.Concatenate(axis=1, **f64)([a, b]),
                                  np.concatenate([a, b], 1))
    # Dot vs einsum may sum the 4 products in another order and a dot product can cancel to
    # ~0: the rounding is relative to sum|a||b| (<= 2 * 5 * 2**-53 of it), not to the result.
    np.testing.assert_allclose(nr.Dot(axes=(2, 2), **f64)([a, b]),
                               np.einsum("btf,bsf->bts", a, b), rtol=1e-13,
                               atol=1e-13 * np.einsum("btf,bsf->bts", abs(a), abs(b)).max())
    u, w = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    cos = (u * w).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(w, axis=1)
    # a cosine can cancel to ~0 too; its terms are bounded by sum|u||w| / (|u||w|) <= 1
    np.testing.assert_allclose(nr.Dot(axes=1, normalize=True, **f64)([u, w])[:, 0], cos,
                               rtol=1e-13, atol=1e-13)
    # rank 2 into rank 3: expand_dims(x, 1), as Keras
    np.testing.assert_array_equal(nr.Add(**f64)([a, u]), a + u[:, None, :])
    assert nr.Add()([a, b]).dtype == np.float32


def test_masked_multiply_and_maximum_follow_keras():
    a = np.array([[[2.0], [3.0]]])
    b = np.array([[[5.0], [-1.0]]])
    ma, mb = np.array([[True, False]]), np.array([[False, False]])
    # Multiply: a masked entry counts as 1; with every input masked, 0 where no mask is set
    np.testing.assert_array_equal(nr.Multiply(dtype="float64")([a, b], mask=[ma, mb]),
                                  [[[2.0], [0.0]]])
    np.testing.assert_array_equal(nr.Multiply(dtype="float64")([a, b], mask=[ma, None]),
                                  [[[10.0], [-1.0]]])
    # Maximum: a masked entry takes the other side's value (3 loses to the masked -1)
    np.testing.assert_array_equal(nr.Maximum(dtype="float64")([a, b], mask=[ma, ~ma]),
                                  [[[2.0], [-1.0]]])
    np.testing.assert_array_equal(nr.Maximum(dtype="float64")([a, b], mask=[ma, mb]),
                                  [[[2.0], [3.0]]])


def test_maximum_tie_gradient_goes_to_the_first_input():
    x = np.ones((1, 3))
    for cls in (nr.Maximum, nr.Minimum):
        lay = cls(dtype="float64")
        lay([x, x.copy()], training=True)
        ga, gb = lay.backward(np.ones((1, 3)))
        np.testing.assert_array_equal(ga, 1.0)
        np.testing.assert_array_equal(gb, 0.0)


def test_merge_configs_round_trip_and_bad_arguments():
    for lay in (nr.Add(name="p"), nr.Concatenate(axis=1), nr.Dot(axes=(1, 2), normalize=True)):
        again = type(lay).from_config(lay.get_config())
        assert again.get_config() == lay.get_config()
    with pytest.raises(TypeError, match="axes"):
        nr.Dot(axes="1")
    with pytest.raises(ValueError, match="two elements"):
        nr.Dot(axes=(1, 2, 3))
    with pytest.raises(TypeError, match="axis"):
        nr.Concatenate(axis=1.5)
    with pytest.raises(ValueError, match="list of inputs"):
        nr.Add()(np.ones((2, 3)))
    with pytest.raises(ValueError, match="matching shapes"):
        nr.Concatenate()([np.ones((2, 3, 4)), np.ones((2, 2, 5))])
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        nr.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))])


# -- training bookkeeping --------------------------------------------------------------------
def two_output_model():
    a = nr.Input((4,), name="ta", dtype="float64")
    b = nr.Input((3,), name="tb", dtype="float64")
    z = nr.Concatenate(dtype="float64", name="tcat")(
        [nr.Dense(3, dtype="float64", name="ta1")(a), b])
    return randomize(nr.Model([a, b], [nr.Dense(2, dtype="float64", name="to1")(z),
                                       nr.Dense(1, dtype="float64", name="to2")(z)]))


def test_train_on_batch_returns_total_and_each_output_loss():
    m = two_output_model()
    rng = np.random.default_rng(4)
    x = [rng.normal(size=(5, 4)), rng.normal(size=(5, 3))]
    y = [rng.normal(size=(5, 2)), rng.normal(size=(5, 1))]
    mse = losses.MeanSquaredError(dtype="float64")
    m.compile(optimizers.SGD(0.125), [mse, mse], loss_weights={"to1": 0.5, "to2": 2.0})
    before = m.predict(x)
    total, l1, l2 = m.train_on_batch(x, y)
    assert l1 == pytest.approx(mse(y[0], before[0]), rel=1e-15)
    assert l2 == pytest.approx(mse(y[1], before[1]), rel=1e-15)
    assert total == pytest.approx(0.5 * l1 + 2.0 * l2, rel=1e-15)
    assert not np.allclose(m.predict(x)[0], before[0])
    ev = m.evaluate(x, {"to1": y[0], "to2": y[1]}, verbose=0)
    assert len(ev) == 3
    hist = m.fit(x, y, batch_size=2, epochs=2, verbose=0, shuffle=False,
                 validation_data=(x, y))
    assert set(hist.history) == {"loss", "to1_loss", "to2_loss", "val_loss", "val_to1_loss",
                                 "val_to2_loss"}
    # one loss (the other output unused) -> a float, as Keras
    m.compile("sgd", ["mse", None])
    assert isinstance(m.train_on_batch(x, [y[0], y[1]]), float)
    assert isinstance(m.train_on_batch(x, y[0]), float)


def test_training_errors_and_all_or_nothing():
    m = two_output_model()
    x = [np.ones((3, 4)), np.ones((3, 3))]
    with pytest.raises(RuntimeError, match="compile"):
        m.train_on_batch(x, [np.ones((3, 2)), np.ones((3, 1))])
    with pytest.raises(ValueError, match="Expected keys"):
        m.compile("sgd", {"to1": "mse"})
    with pytest.raises(ValueError, match="one entry per output"):
        m.compile("sgd", ["mse"])
    m.compile("sgd", "mse")
    before = m.get_weights()
    with pytest.raises(ValueError):
        m.train_on_batch(x, [np.ones((3, 2)), np.ones((3, 5))])  # bad target shape
    with pytest.raises(ValueError, match="one target per output"):
        m.train_on_batch(x, [np.ones((3, 2))] * 3)
    for w0, w1 in zip(before, m.get_weights()):
        np.testing.assert_array_equal(w0, w1)


def test_trainable_false_layer_is_not_updated_but_passes_gradients():
    m = two_output_model()
    frozen = m.get_layer("ta1")
    frozen.trainable = False
    m.compile(optimizers.SGD(0.1), "mse")
    w_frozen = frozen.get_weights()
    w_head = m.get_layer("to1").get_weights()
    rng = np.random.default_rng(0)
    m.train_on_batch([rng.normal(size=(3, 4)), rng.normal(size=(3, 3))],
                     [rng.normal(size=(3, 2)), rng.normal(size=(3, 1))])
    for a, b in zip(w_frozen, frozen.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(w_head[0], m.get_layer("to1").get_weights()[0])


def test_shared_embedding_gradient_stays_sparse_and_summed():
    ids = nr.Input((3,), dtype="int32", name="sid")
    emb = nr.Embedding(5, 2, dtype="float64", name="semb")
    y = nr.Add(dtype="float64")([emb(ids), emb(ids)])
    m = randomize(nr.Model(ids, y))
    m(np.array([[1, 2, 1]]), training=True)
    m.backward(np.ones((1, 3, 2)))
    dense = m.gradients[0]
    np.testing.assert_array_equal(dense[1], [4.0, 4.0])  # 2 reads x 2 nodes
    np.testing.assert_array_equal(dense[2], [2.0, 2.0])
    np.testing.assert_array_equal(dense[0], [0.0, 0.0])
