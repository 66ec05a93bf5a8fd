"""Functional models against live Keras 3 functional models built the same way.

Each model is written once, as a builder over a namespace (``keras`` or ``numpy_rnn``), so both
sides are built by the same code; the layer order must match (``model.layers`` names) and the
weights are copied by order (``np_model.set_weights(keras_model.get_weights())``), which also
proves the order.  Checked: forward in float32 and float64 (every output), gradients of every
weight and float input against ``tf.GradientTape`` (float64, the table's ``gradient`` kind), and
``train_on_batch`` steps of a two-input, two-output model with ``loss_weights`` (float64, every
weight and loss to 1e-12 of its scale).  The teeth at the end plant bugs and show these checks
fail.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn as nr  # noqa: E402
from numpy_rnn import losses, optimizers  # noqa: E402
from numpy_rnn.graph import backward as graph_backward  # noqa: E402
from numpy_rnn.graph import run as graph_run  # noqa: E402
from numpy_rnn.testing import assert_close, diff  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402
from parity.cases.weights import randomize_model  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager")]

KERAS = types.SimpleNamespace(**{**{n: getattr(keras.layers, n) for n in dir(keras.layers)
                                    if n[0].isupper()},
                                 "Input": keras.Input, "Model": keras.Model,
                                 "Sequential": keras.Sequential})
NUMPY = nr
V, T = 9, 5


# -- the models -----------------------------------------------------------------------------
def residual(L, dt):
    """Branches and a residual Add."""
    x = L.Input((T, 3), name="x", dtype=dt)
    h = L.LSTM(4, return_sequences=True, name="lstm", dtype=dt)(x)
    skip = L.Dense(4, name="skip", dtype=dt)(x)
    r = L.Add(name="res", dtype=dt)([h, skip])
    top = L.GRU(3, name="gru", dtype=dt)(r)
    return L.Model(x, L.Dense(2, activation="tanh", name="out", dtype=dt)(top))


def seq2seq(L, dt):
    """Encoder-decoder: the encoder's return_state into the decoder's initial_state=[h, c]."""
    enc_ids = L.Input((T,), dtype="int32", name="enc_ids")
    dec_ids = L.Input((T,), dtype="int32", name="dec_ids")
    e = L.Embedding(V, 4, mask_zero=True, name="enc_emb", dtype=dt)(enc_ids)
    _, h, c = L.LSTM(5, return_state=True, name="encoder", dtype=dt)(e)
    d = L.Embedding(V, 4, mask_zero=True, name="dec_emb", dtype=dt)(dec_ids)
    seq = L.LSTM(5, return_sequences=True, name="decoder", dtype=dt)(d, initial_state=[h, c])
    return L.Model([enc_ids, dec_ids],
                   L.Dense(V, activation="softmax", name="probs", dtype=dt)(seq))


def two_outputs(L, dt):
    """Two float inputs, a shared LSTM on both, two heads (one of them a Concatenate)."""
    a = L.Input((T, 3), name="a", dtype=dt)
    b = L.Input((T, 3), name="b", dtype=dt)
    shared = L.LSTM(4, return_sequences=True, name="shared", dtype=dt)
    ya, yb = shared(a), shared(b)
    cls = L.Dense(2, name="cls", dtype=dt)(L.SimpleRNN(3, name="srnn", dtype=dt)(
        L.Subtract(name="sub", dtype=dt)([ya, yb])))
    seq = L.Dense(3, name="seq", dtype=dt)(L.Concatenate(name="cat", dtype=dt)([ya, yb]))
    return L.Model([a, b], [cls, seq])


def nested(L, dt):
    """A nested Sequential (Embedding with mask_zero first) and a nested functional Model."""
    inner_seq = L.Sequential([L.Input((T,), dtype="int32"),
                              L.Embedding(V, 4, mask_zero=True, name="emb", dtype=dt),
                              L.Dense(4, name="proj", dtype=dt)], name="inner_seq")
    t = L.Input((T, 4), name="t", dtype=dt)
    u = L.LSTM(3, return_sequences=True, name="rnn", dtype=dt)(t)
    inner = L.Model(t, L.Add(name="inner_add", dtype=dt)([u, L.Dense(3, name="d3", dtype=dt)(t)]),
                    name="inner")
    ids = L.Input((T,), dtype="int32", name="ids")
    h = inner(inner_seq(ids))
    return L.Model(ids, L.Dense(2, name="head", dtype=dt)(L.GRU(3, name="gru", dtype=dt)(h)))


def merges(L, dt):
    """Every merge layer; masks from two Embedding(mask_zero=True) with different padding flow
    through the merges into LSTMs."""
    i1 = L.Input((T,), dtype="int32", name="i1")
    i2 = L.Input((T,), dtype="int32", name="i2")
    e1 = L.Embedding(V, 4, mask_zero=True, name="e1", dtype=dt)(i1)
    e2 = L.Embedding(V, 4, mask_zero=True, name="e2", dtype=dt)(i2)
    plain = L.Embedding(V, 4, name="e3", dtype=dt)(i1)
    seq = L.LSTM(4, return_sequences=True, name="seq", dtype=dt)
    parts = [L.Add(name="add", dtype=dt)([e1, e2]),
             L.Subtract(name="sub", dtype=dt)([e1, e2]),
             L.Multiply(name="mul", dtype=dt)([e1, e2]),
             L.Average(name="ave", dtype=dt)([e1, e2, plain]),
             L.Maximum(name="max", dtype=dt)([e1, e2]),
             L.Minimum(name="min", dtype=dt)([e1, plain])]
    outs = [L.LSTM(3, name=f"r{k}", dtype=dt)(p) for k, p in enumerate(parts)]
    cat = L.Concatenate(name="cat", dtype=dt)(outs)
    cat1 = L.Concatenate(axis=1, name="cat1", dtype=dt)([e1, e2])
    s1 = L.SimpleRNN(3, name="s1", dtype=dt)(cat1)
    q = L.Dense(3, name="q", dtype=dt)(cat)
    dot = L.Dot(axes=1, normalize=True, name="dot", dtype=dt)([q, s1])
    att = L.Dot(axes=(2, 1), name="att", dtype=dt)([seq(e1), L.Dense(4, name="k", dtype=dt)(s1)])
    return L.Model([i1, i2], [cat, dot, att])


def states(L, dt):
    """return_state outputs as model outputs, a Bidirectional with merge_mode=None."""
    x = L.Input((T, 3), name="x", dtype=dt)
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True, name="lstm", dtype=dt)(x)
    fw, bw = L.Bidirectional(L.GRU(2, return_sequences=True, dtype=dt), merge_mode=None,
                             name="bi", dtype=dt)(seq)
    y = L.LSTM(4, name="again", dtype=dt)(L.Concatenate(name="fb", dtype=dt)([fw, bw]),
                                         initial_state=[c, h])
    return L.Model(x, [y, h, c])


BUILDERS = {"residual": residual, "seq2seq": seq2seq, "two_outputs": two_outputs,
            "nested": nested, "merges": merges, "states": states}


# -- helpers --------------------------------------------------------------------------------
def inputs_for(model, dt, seed=1, n=4):
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        shape = (n,) + tuple(t.shape[1:])
        if np.dtype(t.dtype).kind in "iu":
            ids = rng.integers(1, V, size=shape)
            for i in range(n):  # padding at the end (and one row at the start), per input
                pad = int(rng.integers(0, T - 1))
                ids[i, T - pad:] = 0
            ids[0, :1] = 0
            out.append(ids.astype("int32"))
        else:
            out.append(rng.normal(size=shape).astype(dt))
    return out


def twins(name, dt, seed=0):
    """The Keras model (random weights, gate blocks of distinct scale) and its NumPy twin with
    the weights copied by order."""
    build = BUILDERS[name]
    keras.backend.clear_session()
    with floatx(dt):
        k = build(KERAS, dt)
        randomize_model(k, np.random.default_rng(seed), dt)
    n = build(NUMPY, dt)
    assert [lay.name for lay in n.layers] == [lay.name for lay in k.layers]
    n.set_weights(k.get_weights())
    return k, n


def as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def forward_diffs(k, n, dt):
    xs = inputs_for(k, dt)
    with floatx(dt):
        expected = [np.asarray(o) for o in as_list(k(xs if len(xs) > 1 else xs[0]))]
    actual = as_list(n(xs))
    return [diff(f"output {i}", a, e) for i, (a, e) in enumerate(zip(actual, expected))]


def gradient_diffs(k, n, dt="float64"):
    """Gradients of ``sum_i sum(output_i * g_i)`` for every weight and float input."""
    xs = inputs_for(k, dt)
    rng = np.random.default_rng(7)
    with floatx(dt):
        tx = [tf.constant(x) for x in xs]
        with tf.GradientTape() as tape:
            for t in tx:
                if t.dtype.is_floating:
                    tape.watch(t)
            outs = as_list(k(tx if len(tx) > 1 else tx[0], training=True))
            gs = [rng.normal(size=o.shape).astype(dt) for o in outs]
            loss = tf.add_n([tf.reduce_sum(o * g) for o, g in zip(outs, gs)])
        float_x = [t for t in tx if t.dtype.is_floating]
        grads = tape.gradient(loss, list(k.weights) + float_x)
    expected = [np.asarray(tf.convert_to_tensor(g)) for g in grads]
    n(xs, training=True)
    dx = as_list(n.backward(gs if len(gs) > 1 else gs[0]))
    actual = list(n.gradients) + [d for d, x in zip(dx, xs) if x.dtype.kind == "f"]
    names = n.weight_names() + [f"d input {i}" for i, x in enumerate(xs) if x.dtype.kind == "f"]
    return [diff(name, a, e, kind="gradient") for name, a, e in zip(names, actual, expected)]


def failing(diffs):
    return [d.line() for d in diffs if not d.passed]


# -- forward --------------------------------------------------------------------------------
@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_forward(name, dt):
    k, n = twins(name, dt)
    diffs = forward_diffs(k, n, dt)
    assert len(diffs) == len(k.outputs)
    assert not failing(diffs), failing(diffs)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_gradients_float64(name):
    k, n = twins(name, "float64")
    diffs = gradient_diffs(k, n)
    assert len(diffs) >= len(k.weights)
    assert not failing(diffs), failing(diffs)


def test_predict_with_a_dict_and_batches():
    k, n = twins("seq2seq", "float64")
    xs = inputs_for(k, "float64", n=9)
    with floatx("float64"):
        expected = k.predict({"enc_ids": xs[0], "dec_ids": xs[1]}, batch_size=4, verbose=0)
    got = n.predict({"dec_ids": xs[1], "enc_ids": xs[0]}, batch_size=4)
    assert_close(got, expected)


def test_maximum_and_minimum_ties_give_tensorflow_s_gradient():
    """Measured: TensorFlow's gradient of maximum(a, b) / minimum(a, b) at a tie goes wholly to
    the first operand."""
    x = np.array([[1.0, 2.0, 3.0]])
    for k_cls, n_cls in ((keras.layers.Maximum, nr.Maximum), (keras.layers.Minimum, nr.Minimum)):
        a, b = tf.constant(x), tf.constant(x.copy())
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([a, b])
            y = k_cls(dtype="float64")([a, b])
        ka, kb = (np.asarray(g) for g in tape.gradient(y, [a, b]))
        lay = n_cls(dtype="float64")
        lay([x, x.copy()], training=True)
        na, nb = lay.backward(np.ones_like(x))
        np.testing.assert_array_equal(na, ka)
        np.testing.assert_array_equal(nb, kb)
        np.testing.assert_array_equal(ka, 1.0)


# -- training -------------------------------------------------------------------------------
def test_train_on_batch_two_inputs_two_outputs_float64():
    dt = "float64"
    k, n = twins("two_outputs", dt)
    rng = np.random.default_rng(3)
    x = inputs_for(k, dt, n=8)
    y = [rng.normal(size=(8, 2)), rng.normal(size=(8, T, 3))]
    lr = 0.0078125  # exact in float32: no learning-rate rounding between the sides
    with floatx(dt):
        k.compile(keras.optimizers.Adam(lr), ["mse", "mae"], loss_weights=[0.3, 1.7])
    n.compile(optimizers.Adam(lr), [losses.MeanSquaredError(dtype=dt),
                                    losses.MeanAbsoluteError(dtype=dt)],
              loss_weights={"cls": 0.3, "seq": 1.7})
    start = n.get_weights()
    for step in range(3):
        rows = slice(4 * (step % 2), 4 * (step % 2) + 4)
        xb, yb = [a[rows] for a in x], [a[rows] for a in y]
        with floatx(dt):
            k_loss = k.train_on_batch(xb, yb)
        n_loss = n.train_on_batch(xb, yb)
        assert len(n_loss) == len(k_loss) == 3
        np.testing.assert_allclose(n_loss, k_loss, rtol=1e-12, atol=0)
        for name, w0, a, e in zip(n.weight_names(), start, n.get_weights(), k.get_weights()):
            change = float(np.abs(e - w0).max())
            assert change > 0, name
            assert_close(a, e, name=f"step {step + 1} {name}", kind="training", rtol=1e-12,
                         atol=1e-12, scale=change)
    with floatx(dt):
        k_eval = k.evaluate(x, y, batch_size=3, verbose=0)
    np.testing.assert_allclose(n.evaluate(x, y, batch_size=3, verbose=0), k_eval, rtol=1e-12)


def test_fit_seq2seq_masked_sequence_loss_float64():
    dt = "float64"
    k, n = twins("seq2seq", dt)
    x = inputs_for(k, dt, n=6)
    y = np.random.default_rng(4).integers(0, V, size=(6, T))
    with floatx(dt):
        k.compile(keras.optimizers.SGD(0.25), "sparse_categorical_crossentropy")
        kh = k.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    n.compile(optimizers.SGD(0.25), losses.SparseCategoricalCrossentropy(dtype=dt))
    nh = n.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(nh.history["loss"], kh.history["loss"], rtol=1e-12)
    for name, a, e in zip(n.weight_names(), n.get_weights(), k.get_weights()):
        assert_close(a, e, name=name, kind="gradient")


# -- teeth ----------------------------------------------------------------------------------
def _forward_fails(name, dt="float64"):
    try:
        k, n = twins(name, dt)
        return bool(failing(forward_diffs(k, n, dt)))
    except ValueError:
        return True


def _gradients_fail(name):
    k, n = twins(name, "float64")
    return bool(failing(gradient_diffs(k, n)))


def test_teeth_subtract_inputs_swapped(monkeypatch):
    monkeypatch.setattr(nr.Subtract, "_merge", lambda self, xs, masks: (xs[1] - xs[0], None))
    assert _forward_fails("two_outputs")


def test_teeth_merged_mask_and_instead_of_or(monkeypatch):
    def and_mask(self, inputs, mask=None):
        if mask is None or any(m is None for m in mask):
            return None
        out = np.asarray(mask[0], bool)
        for m in mask[1:]:
            out = out & np.asarray(m, bool)
        return out
    monkeypatch.setattr(nr.layers.Merge, "compute_mask", and_mask)
    assert _forward_fails("merges")


def test_teeth_fan_out_gradient_overwritten(monkeypatch):
    def overwrite(grads, tensor, g):
        if g is not None and isinstance(tensor, graph_backward.SymbolicTensor):
            grads[id(tensor)] = g
    monkeypatch.setattr(graph_backward, "_add_grad", overwrite)
    assert _gradients_fail("residual")  # the input feeds the LSTM and the skip Dense


def test_teeth_nested_model_weights_out_of_order(monkeypatch):
    original = nr.Model._weight_layers

    def nested_last(self):
        layers = original(self)
        return ([lay for lay in layers if not isinstance(lay, (nr.Model, nr.Sequential))]
                + [lay for lay in layers if isinstance(lay, (nr.Model, nr.Sequential))])
    monkeypatch.setattr(nr.Model, "_weight_layers", nested_last)
    assert _forward_fails("nested")


def test_teeth_states_wired_to_the_wrong_place(monkeypatch):
    original = graph_run.run_node

    def swapped(node, values, mask_of, training):
        if "initial_state" in node.kwargs and len(node.kwargs["initial_state"]) == 2:
            node = types.SimpleNamespace(**{a: getattr(node, a) for a in (
                "layer", "args", "outputs", "single_output")},
                kwargs={**node.kwargs, "initial_state": node.kwargs["initial_state"][::-1]})
        return original(node, values, mask_of, training)
    monkeypatch.setattr(graph_run, "run_node", swapped)
    monkeypatch.setattr(nr.functional, "run_node", swapped)
    assert _forward_fails("seq2seq")
