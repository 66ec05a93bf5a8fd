"""Normalization layers, NumPy only: shapes, options, weights in Keras's order, errors, configs,
the formulas against naive float64 ones, backward passes against central finite differences
(float64), BatchNormalization's moving statistics in a Sequential train step, bundles."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import (BatchNormalization, Dense, Embedding, GroupNormalization,
                       LayerNormalization, RMSNormalization, Sequential, UnitNormalization,
                       _limits, optimizers)
from numpy_rnn.formats import keras_layers
from numpy_rnn.formats.keras_convert import convert_layer

# Inputs come from ``case_rng`` (conftest.py: seeded from the test's id), never from a
# module-level generator whose draws depend on which tests ran before in the same process.


def _x(shape, dtype="float64", seed=0):
    return (0.3 + 1.5 * np.random.default_rng(seed).normal(size=shape)).astype(dtype)


def _randomize(layer, seed=1):
    rng = np.random.default_rng(seed)
    ws = []
    for name, w in zip(layer.weight_names(), layer.get_weights()):
        if name == "moving_variance":
            ws.append(rng.uniform(0.5, 2.5, size=w.shape))
        elif name in ("gamma", "scale"):
            ws.append(1 + 0.3 * rng.normal(size=w.shape))
        else:
            ws.append(0.3 * rng.normal(size=w.shape))
    layer.set_weights(ws)


def _naive_norm(x, axes, eps):
    x = x.astype(np.float64)
    mean = x.mean(axis=tuple(axes), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=tuple(axes), keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


# -- shapes, weights, options ----------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make, names", [
    (lambda d: BatchNormalization(dtype=d), ["gamma", "beta", "moving_mean", "moving_variance"]),
    (lambda d: BatchNormalization(center=False, dtype=d),
     ["gamma", "moving_mean", "moving_variance"]),
    (lambda d: BatchNormalization(scale=False, center=False, dtype=d),
     ["moving_mean", "moving_variance"]),
    (lambda d: LayerNormalization(dtype=d), ["gamma", "beta"]),
    (lambda d: LayerNormalization(rms_scaling=True, dtype=d), ["gamma"]),
    (lambda d: LayerNormalization(scale=False, dtype=d), ["beta"]),
    (lambda d: UnitNormalization(dtype=d), []),
    (lambda d: GroupNormalization(groups=2, dtype=d), ["gamma", "beta"]),
    (lambda d: RMSNormalization(dtype=d), ["scale"]),
])
def test_shapes_dtype_and_weight_order(make, names, dtype):
    layer = make(dtype)
    x = _x((3, 5, 4), dtype)
    y = layer(x)
    assert y.shape == x.shape and y.dtype == np.dtype(dtype)
    assert layer.weight_names() == names
    assert all(w.shape == (4,) and w.dtype == np.dtype(dtype) for w in layer.get_weights())
    assert layer.compute_output_shape((None, 5, 4)) == (None, 5, 4)


def test_keras_initial_weights():
    bn = BatchNormalization()
    bn.build((None, 3))
    g, b, m, v = bn.get_weights()
    assert (g == 1).all() and (b == 0).all() and (m == 0).all() and (v == 1).all()
    rms = RMSNormalization()
    rms.build((None, 2, 3))
    assert (rms.get_weights()[0] == 1).all()


def test_trainable_weight_names():
    bn = BatchNormalization(center=False)
    assert bn.trainable_weight_names() == ["gamma"]
    assert BatchNormalization(scale=False, center=False).trainable_weight_names() == []
    assert LayerNormalization().trainable_weight_names() == ["gamma", "beta"]
    assert Dense(3).trainable_weight_names() == ["kernel", "bias"]


def test_param_shapes_follow_the_axes():
    x = _x((2, 3, 4))
    assert BatchNormalization(axis=1)(x) is not None
    bn = BatchNormalization(axis=1)
    bn.build((None, 3, 4))
    assert bn.weight_shapes()["gamma"] == (3,)
    ln = LayerNormalization(axis=[-1, 1])  # Keras sorts the raw values: (-1, 1) -> (4, 3)
    ln.build((None, 3, 4))
    assert ln.weight_shapes() == {"gamma": (4, 3), "beta": (4, 3)}
    ln = LayerNormalization(axis=[2, 1])
    ln.build((None, 3, 4))
    assert ln.weight_shapes()["gamma"] == (3, 4)
    gn = GroupNormalization(groups=-1, axis=1)
    gn.build((None, 3, 4))
    assert gn.groups == 3 and gn.get_config()["groups"] == 3
    rms = RMSNormalization(axis=[2, 1])
    rms.build((None, 3, 4))
    assert rms.weight_shapes()["scale"] == (3, 4)


# -- errors (Keras's words), all or nothing ----------------------------------------------------
@pytest.mark.parametrize("make, exc, needle", [
    (lambda: BatchNormalization(axis=[1, 2]), ValueError, "single integer"),
    (lambda: BatchNormalization(axis="x"), TypeError, "`axis` must be an integer"),
    (lambda: BatchNormalization(momentum="0.9"), TypeError, "`momentum` must be a real number"),
    (lambda: BatchNormalization(center=1), TypeError, "`center` must be a bool"),
    (lambda: LayerNormalization(axis=1.5), TypeError, "argument 'axis'"),
    (lambda: LayerNormalization(axis=[]), TypeError, "argument 'axis'"),
    (lambda: UnitNormalization(axis="a"), TypeError, "argument 'axis'"),
    (lambda: GroupNormalization(groups=0), ValueError, "groups=0"),
    (lambda: GroupNormalization(groups=-2), ValueError, "groups=-2"),
    (lambda: RMSNormalization(epsilon=None), TypeError, "`epsilon`"),
    (lambda: BatchNormalization(build_input_shape=(None, None)), ValueError,
     "defined size"),
])
def test_bad_arguments(make, exc, needle):
    with pytest.raises(exc, match=needle):
        make()


@pytest.mark.parametrize("layer, shape, needle", [
    (BatchNormalization(axis=3), (2, 3, 4), "Axis 3 is out of bounds"),
    (LayerNormalization(axis=[1, 5]), (2, 3, 4), "Axis 5 is out of bounds"),
    (LayerNormalization(axis=[2, -1]), (2, 3, 4), "each axis once"),
    (UnitNormalization(axis=-4), (2, 3, 4), "Axis -4 is out of bounds"),
    (GroupNormalization(groups=3), (2, 3, 4), "must be a multiple"),
    (GroupNormalization(groups=8), (2, 3, 4), "cannot be more than"),
    (GroupNormalization(groups=1, axis=0), (2, 3, 4), "batch axis"),
    (RMSNormalization(axis=1), (2, 3, 4), "broadcast from the last axis"),
])
def test_bad_inputs_leave_the_layer_unbuilt(layer, shape, needle):
    with pytest.raises(ValueError, match=needle):
        layer(_x(shape, "float32"))
    assert not layer.built or isinstance(layer, UnitNormalization)  # built at construction


def test_built_layers_check_their_inputs():
    bn = BatchNormalization()
    bn(_x((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        bn(_x((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"sizes \(4,\)"):
        bn(_x((2, 3, 5), "float32"))
    ln = LayerNormalization()
    ln(_x((2, 3, 4)))
    ln(_x((5, 4)))  # no InputSpec in Keras: another rank with the same last axis runs
    with pytest.raises(ValueError, match="mask provided should be one dimension less"):
        bn(_x((2, 3, 4)), mask=np.ones((2, 3, 4), bool), training=True)


def test_a_failing_training_call_leaves_the_moving_statistics():
    bn = BatchNormalization()
    bn.build((None, 3, 4))
    _randomize(bn)
    before = bn.get_weights()
    with pytest.raises(ValueError):
        bn(_x((2, 3, 4)), mask=np.ones((2, 3, 4), bool), training=True)
    with pytest.raises(ValueError):
        bn(_x((2, 3, 4)), mask=np.ones((5, 3), bool), training=True)
    for a, b in zip(before, bn.get_weights()):
        assert np.array_equal(a, b)


def test_set_weights_before_build_is_refused_and_shapes_are_checked():
    bn = BatchNormalization()
    with pytest.raises(ValueError, match="not built yet"):
        bn.set_weights([np.ones(3)] * 4)
    bn.build((None, 3))
    with pytest.raises(ValueError, match="must have shape"):
        bn.set_weights([np.ones(3)] * 3 + [np.ones(4)])
    with pytest.raises(ValueError, match="expected 4 weights"):
        bn.set_weights([np.ones(3)] * 2)


def test_backward_needs_a_training_call():
    ln = LayerNormalization()
    ln(_x((2, 3)))
    with pytest.raises(RuntimeError, match="training=True"):
        ln.backward(np.ones((2, 3)))
    ln(_x((2, 3)), training=True)
    with pytest.raises(ValueError, match="shape"):
        ln.backward(np.ones((2, 4)))


# -- configs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [
    BatchNormalization(axis=1, momentum=0.9, epsilon=1e-4, center=False, synchronized=True,
                       dtype="float64"),
    LayerNormalization(axis=[1, 2], epsilon=1e-5, rms_scaling=True),
    UnitNormalization(axis=[1, 2]),
    GroupNormalization(groups=2, epsilon=1e-2, scale=False),
    RMSNormalization(axis=-1, epsilon=1e-4),
])
def test_config_round_trip_builds_and_computes_alike(layer):
    x = _x((3, 4, 6), layer.dtype.name)
    layer(x)  # built on the first call: the config then records the build shape
    _randomize(layer) if layer.weight_names() else None
    cfg = layer.get_config()
    twin = type(layer).from_config(cfg)
    assert twin.get_config() == cfg and twin.built
    twin.set_weights(layer.get_weights())
    assert np.array_equal(twin(x), layer(x))
    assert np.array_equal(twin(x, training=True), layer(x, training=True))


def test_keras2_axis_list_is_read_as_an_int():
    assert BatchNormalization(axis=[2]).axis == 2


# -- the formulas ----------------------------------------------------------------------------
def test_batch_normalization_inference_and_training_formulas():
    bn = BatchNormalization(momentum=0.8, epsilon=1e-3, dtype="float64")
    x = _x((5, 4, 3))
    bn.build(x.shape)
    _randomize(bn)
    g, b, mm, mv = bn.get_weights()
    expected = (x - mm) / np.sqrt(mv + 1e-3) * g + b
    assert np.allclose(bn(x), expected, rtol=1e-13, atol=1e-13)
    y = bn(x, training=True)
    mean = x.mean(axis=(0, 1))
    var = x.var(axis=(0, 1))  # biased, as tf.nn.moments
    assert np.allclose(y, (x - mean) / np.sqrt(var + 1e-3) * g + b, rtol=1e-13, atol=1e-13)
    _, _, mm2, mv2 = bn.get_weights()
    assert np.allclose(mm2, mm * 0.8 + mean * 0.2, rtol=1e-14, atol=1e-15)
    assert np.allclose(mv2, mv * 0.8 + var * 0.2, rtol=1e-14, atol=1e-15)


def test_batch_normalization_moving_update_is_kerases_expression_in_float32():
    bn = BatchNormalization(momentum=0.99)
    x = _x((6, 5), "float32")
    bn.build(x.shape)
    _randomize(bn)
    _, _, mm, _ = bn.get_weights()
    bn(x, training=True)
    mean = (x.astype(np.float64).mean(axis=0)).astype(np.float32)
    want = mm * np.float32(0.99) + mean * np.float32(1.0 - 0.99)
    assert np.array_equal(bn.get_weights()[2], want)


def test_batch_normalization_masked_and_synchronized_moments():
    x = _x((4, 5, 3))
    mask = np.ones((4, 5), bool)
    mask[0, :3] = False
    mask[2] = False
    bn = BatchNormalization(dtype="float64", momentum=0.0, center=False, scale=False)
    bn(x, mask=mask, training=True)
    kept = x[mask]  # (n, 3)
    n = kept.shape[0]
    mean = kept.sum(0) / (n + 1e-7)
    var = ((kept - mean) ** 2).sum(0) / (n + 1e-7)
    assert np.allclose(bn.get_weights()[0], mean, rtol=1e-14)
    assert np.allclose(bn.get_weights()[1], var, rtol=1e-14)
    sync = BatchNormalization(dtype="float64", momentum=0.0, synchronized=True)
    sync(x, training=True)
    flat = x.reshape(-1, 3)
    assert np.allclose(sync.get_weights()[3], (flat ** 2).mean(0) - flat.mean(0) ** 2,
                       rtol=1e-13)


def test_inference_ignores_the_mask_and_frozen_layers_do_not_move():
    bn = BatchNormalization(trainable=False, dtype="float64")
    x = _x((4, 5, 3))
    bn.build(x.shape)
    _randomize(bn)
    before = bn.get_weights()
    y = bn(x, training=True)  # trainable=False: inference statistics, as Keras
    assert np.array_equal(y, bn(x))
    assert all(np.array_equal(a, b) for a, b in zip(before, bn.get_weights()))
    assert np.array_equal(bn(x, mask=np.zeros((4, 5), bool)), bn(x))


@pytest.mark.parametrize("axis", [-1, [1, 2], [2, 1], [-1, 1]])
def test_layer_normalization_formula(axis):
    ln = LayerNormalization(axis=axis, dtype="float64", epsilon=1e-4)
    x = _x((2, 3, 4))
    ln.build(x.shape)
    _randomize(ln)
    g, b = ln.get_weights()
    axes = sorted(a % 3 for a in (axis if isinstance(axis, list) else [axis]))
    bshape = [1, 1, 1]
    for a in sorted(axis if isinstance(axis, list) else [axis]):
        bshape[a % 3] = x.shape[a % 3]
    want = _naive_norm(x, axes, 1e-4) * g.reshape(bshape) + b.reshape(bshape)  # Keras's reshape
    assert np.allclose(ln(x), want, rtol=1e-12, atol=1e-12)


def test_layer_normalization_rms_scaling_divides_by_the_variance():
    ln = LayerNormalization(rms_scaling=True, dtype="float64")
    x = _x((3, 5))
    ln.build(x.shape)
    _randomize(ln)
    (g,) = ln.get_weights()
    want = x / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-3) * g
    assert np.allclose(ln(x), want, rtol=1e-13)


def test_unit_group_and_rms_formulas():
    x = _x((3, 4, 6))
    u = UnitNormalization(axis=[1, 2], dtype="float64")(x)
    assert np.allclose(np.sqrt((u ** 2).sum(axis=(1, 2))), 1.0)
    zero = np.zeros((2, 3))
    assert np.array_equal(UnitNormalization(dtype="float64")(zero), zero)
    gn = GroupNormalization(groups=2, dtype="float64")
    gn.build(x.shape)
    _randomize(gn)
    g, b = gn.get_weights()
    grouped = x.reshape(3, 4, 2, 3)
    want = _naive_norm(grouped, [1, 3], 1e-3).reshape(x.shape) * g + b
    assert np.allclose(gn(x), want, rtol=1e-12, atol=1e-12)
    rms = RMSNormalization(dtype="float64")
    rms.build(x.shape)
    _randomize(rms)
    want = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6) * rms.get_weights()[0]
    assert np.allclose(rms(x), want, rtol=1e-13)


def test_masks_pass_through_except_rms_normalization():
    x, m = _x((2, 3, 4)), np.ones((2, 3), bool)
    for layer in (BatchNormalization(), LayerNormalization(), UnitNormalization(),
                  GroupNormalization(groups=2)):
        assert layer.supports_masking and layer.compute_mask(x, m) is m
    rms = RMSNormalization()
    assert not rms.supports_masking and rms.compute_mask(x, m) is None


# -- backward against finite differences (float64) -------------------------------------------
def _numeric(f, a, h=1e-6):
    out = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        p, q = a.copy(), a.copy()
        p[i] += h
        q[i] -= h
        out[i] = (f(p) - f(q)) / (2 * h)
    return out


MASK = np.ones((4, 3), bool)
MASK[0, :2] = False
MASK[3, 1] = False


@pytest.mark.parametrize("make, shape, call", [
    (lambda: BatchNormalization(), (4, 3, 5), {}),
    (lambda: BatchNormalization(axis=1), (4, 3, 5), {}),
    (lambda: BatchNormalization(synchronized=True, center=False), (4, 3, 5), {}),
    (lambda: BatchNormalization(), (4, 3, 5), {"mask": MASK}),
    (lambda: BatchNormalization(trainable=False), (4, 3, 5), {}),  # inference statistics
    (lambda: BatchNormalization(scale=False), (6, 5), {}),
    (lambda: LayerNormalization(), (3, 4, 5), {}),
    (lambda: LayerNormalization(axis=[-1, 1]), (3, 4, 5), {}),
    (lambda: LayerNormalization(rms_scaling=True), (3, 4, 5), {}),
    (lambda: LayerNormalization(center=False, scale=False), (3, 5), {}),
    (lambda: UnitNormalization(), (3, 4, 5), {}),
    (lambda: UnitNormalization(axis=[1, 2]), (3, 4, 5), {}),
    (lambda: GroupNormalization(groups=2), (3, 4, 6), {}),
    (lambda: GroupNormalization(groups=3, axis=1, center=False), (3, 6, 4), {}),
    (lambda: RMSNormalization(), (3, 4, 5), {}),
    (lambda: RMSNormalization(axis=[1, 2]), (3, 4, 5), {}),
])
def test_backward_matches_finite_differences(make, shape, call):
    made = make()
    layer = type(made).from_config({**made.get_config(), "dtype": "float64"})
    x = _x(shape, seed=3)
    layer.build(x.shape) if layer.weight_names() else None
    if layer.weight_names():
        _randomize(layer)
    weights = layer.get_weights()
    w = np.random.default_rng(5).normal(size=shape)

    def loss(xx, ws):
        layer.set_weights(ws) if ws else None
        return float((layer(xx, training=True, **call) * w).sum())

    loss(x, weights)
    dx = layer.backward(w)
    grads = layer.gradients
    num = _numeric(lambda xx: loss(xx, weights), x)
    assert np.abs(dx - num).max() <= 1e-7 * max(np.abs(num).max(), 1)
    trainable = layer.trainable_weight_names()
    for k, name in enumerate(layer.weight_names()):
        if name not in trainable:  # non-trainable (moving statistics): zero, as Keras's tape
            assert not grads[k].any()
            continue

        def f(wk, k=k):
            ws = [a.copy() for a in weights]
            ws[k] = wk
            return loss(x, ws)

        num_w = _numeric(f, weights[k])
        assert np.abs(grads[k] - num_w).max() <= 1e-7 * max(np.abs(num_w).max(), 1), name


def test_unit_normalization_gradient_of_a_zero_row_is_finite():
    u = UnitNormalization(dtype="float32")
    x = np.zeros((2, 3), np.float32)
    x[1] = [1, 2, 3]
    u(x, training=True)
    dx = u.backward(np.ones((2, 3), np.float32))
    assert np.isfinite(dx).all() and np.array_equal(dx[0], np.full(3, 1e12, np.float32))


def test_float32_stays_float32():
    for layer in (BatchNormalization(), LayerNormalization(rms_scaling=True),
                  GroupNormalization(groups=1), RMSNormalization(), UnitNormalization()):
        x = _x((3, 4, 4), "float32")
        y = layer(x, training=True)
        dx = layer.backward(np.ones_like(y))
        assert y.dtype == dx.dtype == np.float32
        assert all(g.dtype == np.float32 for g in layer.gradients)
        assert all(w.dtype == np.float32 for w in layer.get_weights())


# -- Sequential: training, the optimizer, bundles ----------------------------------------------
def _model(dtype="float64", frozen=False):
    model = Sequential([
        Embedding(12, 4, mask_zero=True, dtype=dtype),
        numpy_rnn.LSTM(5, return_sequences=True, dtype=dtype),
        BatchNormalization(momentum=0.9, dtype=dtype, trainable=not frozen),
        LayerNormalization(dtype=dtype),
        numpy_rnn.LSTM(3, dtype=dtype),
        Dense(2, dtype=dtype),
    ], input_shape=(6,), input_dtype="int32")
    model.build()
    return model


def _ids(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 12, size=(8, 6))
    x[:3, :2] = 0
    return x, rng.normal(size=(8, 2))


def test_train_step_hands_only_trainable_weights_to_the_optimizer(monkeypatch):
    model = _model()
    x, y = _ids()
    seen = []
    opt = optimizers.SGD(0.1)
    real = opt.apply_gradients

    def spy(pairs):
        pairs = list(pairs)
        seen.extend(w for _, w in pairs)
        return real(pairs)

    monkeypatch.setattr(opt, "apply_gradients", spy)
    model.compile(opt, "mse")
    bn = model.layers[2]
    mm, mv = bn.moving_mean.copy(), bn.moving_variance.copy()
    # the moving update uses the batch statistics of the forward pass, before the update
    h = model.layers[1](model.layers[0](x), mask=model.layers[0].compute_mask(x))
    mask = model.layers[0].compute_mask(x)
    kept = h[mask]
    mean = kept.sum(0) / (len(kept) + 1e-7)  # masked moments (the LSTM's sequence is masked)
    var = ((kept - mean) ** 2).sum(0) / (len(kept) + 1e-7)
    model.train_on_batch(x, y)
    ids = {id(w) for w in seen}
    assert id(bn.gamma) in ids and id(bn.beta) in ids
    assert not {id(bn.moving_mean), id(bn.moving_variance)} & ids
    assert len(seen) == sum(len(lay.trainable_weight_names()) for lay in model.layers)
    assert np.allclose(bn.moving_mean, mm * 0.9 + mean * (1 - 0.9), rtol=1e-12)
    assert np.allclose(bn.moving_variance, mv * 0.9 + var * (1 - 0.9), rtol=1e-12)


def test_a_frozen_batch_normalization_keeps_everything():
    model = _model(frozen=True)
    model.compile("sgd", "mse")
    before = model.layers[2].get_weights()
    model.train_on_batch(*_ids())
    assert all(np.array_equal(a, b) for a, b in zip(before, model.layers[2].get_weights()))
    assert not np.array_equal(model.layers[-1].kernel, _model(frozen=True).layers[-1].kernel)


def test_fit_and_evaluate_run_with_normalization():
    model = _model("float32")
    model.compile(optimizers.Adam(0.01), "mse")
    x, y = _ids()
    hist = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    assert len(hist.history["loss"]) == 3 and all(np.isfinite(hist.history["loss"]))
    assert np.isfinite(model.evaluate(x, y, verbose=0))


def test_bundle_round_trip(tmp_path):
    model = Sequential([
        Embedding(12, 8, dtype="float32"), BatchNormalization(axis=1),
        GroupNormalization(groups=4), UnitNormalization(), LayerNormalization(axis=[1, 2]),
        RMSNormalization(), numpy_rnn.LSTM(3), Dense(2)], input_shape=(6,), input_dtype="int32")
    model.build()
    for layer in model.layers[1:]:
        if isinstance(layer, numpy_rnn.Layer) and layer.weight_names() and not isinstance(
                layer, (numpy_rnn.LSTM, Dense)):
            _randomize(layer)
            layer.set_weights([w.astype("float32") for w in layer.get_weights()])
    x, _ = _ids()
    path = tmp_path / "norm.npz"
    numpy_rnn.save(model, path)
    loaded = numpy_rnn.load(path)
    assert [type(lay).__name__ for lay in loaded.layers] == [type(lay).__name__
                                                             for lay in model.layers]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_declared_weights_from_configs():
    bn = BatchNormalization(axis=1)
    bn.build((None, 6, 4))
    declared, width = _limits.declared_weights("BatchNormalization", bn.get_config(), 4)
    assert declared == [(n, (6,)) for n in bn.weight_names()] and width == 4
    ln = LayerNormalization(axis=[2, 1], rms_scaling=True).get_config()  # unbuilt
    assert _limits.declared_weights("LayerNormalization", ln, 4, [(6, 4)])[0] == [
        ("gamma", (6, 4))]
    unbuilt = BatchNormalization(center=False).get_config()
    assert _limits.declared_weights("BatchNormalization", unbuilt, 5)[0] == [
        ("gamma", (5,)), ("moving_mean", (5,)), ("moving_variance", (5,))]
    assert _limits.declared_weights("UnitNormalization", {"axis": -1}, 5) == ([], 5)
    with pytest.raises(_limits.LimitError, match="axis"):
        _limits.declared_weights("RMSNormalization", {"axis": "x"}, 5)
    with pytest.raises(_limits.LimitError, match="does not fit"):
        _limits.declared_weights("GroupNormalization",
                                 {"axis": 3, "build_input_shape": [None, 2, 4]}, 4)


def test_the_table_and_the_keras2_dialect():
    for cls in ("BatchNormalization", "LayerNormalization", "UnitNormalization",
                "GroupNormalization", "RMSNormalization"):
        assert cls in keras_layers.supported_keras_layers()
        assert cls in numpy_rnn.model.LAYER_CLASSES
    dialect, _ = keras_layers.dialect_of("2.15.0")
    problems: list[str] = []
    assert convert_layer({"class_name": "UnitNormalization", "config": {"axis": -1}},
                         problems, dialect=dialect) is None
    assert "l2_normalize" in problems[0]
    problems = []
    layer = convert_layer({"class_name": "BatchNormalization", "config": {
        "axis": [2], "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
        "renorm": True}}, problems, dialect=dialect)
    assert layer is None and "renorm" in problems[0]
    problems = []
    layer = convert_layer({"class_name": "LayerNormalization", "config": {"axis": [2]},
                           "build_config": {"input_shape": [None, 5, 3]}}, problems)
    assert not problems and layer.built and layer.weight_shapes()["gamma"] == (3,)
