"""Reshaping layers (Flatten, Reshape, Permute, RepeatVector, Cropping1D, ZeroPadding1D,
UpSampling1D, TimeDistributed), NumPy only: shapes against hand-written expectations, options,
errors in Keras's voice, config round trips, masks, all-or-nothing calls, backward against
float64 central differences, Sequential training and a bundle round trip."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import _limits
from numpy_rnn import (GRU, LSTM, Bidirectional, Cropping1D, Dense, Dropout, Embedding, Flatten,
                       Masking, Permute, RepeatVector, Reshape, Sequential, SimpleRNN,
                       TimeDistributed, UpSampling1D, ZeroPadding1D)
from numpy_rnn.layers.base import Layer
from numpy_rnn.layers.reshaping.time_distributed import layer_class

EPS = 1e-6
FD_RTOL = 1e-6


def _rng(seed=0):
    return np.random.default_rng(seed)


def _dot_rounding(x, kernel, bias):
    """How far two float64 evaluations of ``x @ kernel + bias`` may differ (another BLAS, another
    batch shape, another summation order): each is within (n + 1) * 2**-53 * sum|terms| of the
    exact value, so twice that.  The result itself can cancel to ~0: a tolerance relative to it
    alone would pass or fail by luck of the draw."""
    terms = np.abs(x) @ np.abs(kernel) + np.abs(bias)
    return 2 * (kernel.shape[0] + 1) * 2.0 ** -53 * float(terms.max())


def fd_check(layer, x, mask=None, input_grad=True, seed=3):
    """loss = sum(layer(x) * w): the backward's weight and input gradients against central
    differences (float64; weights perturbed in place through ``layer.weights``)."""
    kw = {} if mask is None else {"mask": mask}
    y = layer(x, training=True, **kw)
    w = np.random.default_rng(seed).normal(size=y.shape)
    dx = layer.backward(w)
    grads = layer.gradients
    assert [g.shape for g in grads] == [a.shape for a in layer.get_weights()]

    weights = layer.get_weights()

    def f():
        layer.set_weights(weights)  # (a layer may cache derived weights: set, never poke)
        return float(np.sum(layer(x, **kw) * w))

    def numeric(arr):
        out = np.zeros(arr.shape)
        flat, g = arr.reshape(-1), out.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + EPS
            up = f()
            flat[i] = old - EPS
            down = f()
            flat[i] = old
            g[i] = (up - down) / (2 * EPS)
        return out

    pairs = list(zip(grads, weights))
    if input_grad:
        pairs.append((dx, x))
    for analytic, arr in pairs:
        num = numeric(arr)
        scale = max(1.0, float(np.abs(num).max()))
        assert np.abs(analytic - num).max() <= FD_RTOL * scale
    return dx


# -- forward: shapes and values by hand ---------------------------------------------------------
def test_flatten_values_and_data_format():
    x = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(Flatten()(x), x.reshape(2, 12))
    cf = Flatten(data_format="channels_first")(x)  # axis 1 moved to the end first
    np.testing.assert_array_equal(cf, x.transpose(0, 2, 1).reshape(2, 12))
    assert Flatten()(np.ones(3)).shape == (3, 1)  # (batch,) -> (batch, 1)
    assert Flatten(data_format="channels_first")(np.ones((2, 5))).shape == (2, 5)
    assert Flatten().compute_output_shape((None, 3, None)) == (None, None)
    assert Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    assert Flatten().compute_output_shape((7,)) == (7, 1)


def test_reshape_values_and_minus_one():
    x = np.arange(24, dtype="float64").reshape(2, 12)
    layer = Reshape((3, -1), dtype="float64")
    np.testing.assert_array_equal(layer(x), x.reshape(2, 3, 4))
    assert layer.compute_output_shape((None, 12)) == (None, 3, 4)
    assert layer.compute_output_shape((None, None)) == (None, 3, None)
    assert Reshape([4, 3]).target_shape == (4, 3)


def test_reshape_errors_name_target_shape():
    with pytest.raises(ValueError, match=r"target_shape=\(5, -1\)"):
        Reshape((5, -1))(np.zeros((2, 12)))
    with pytest.raises(ValueError, match=r"target_shape=\(5, 3\)"):
        Reshape((5, 3))(np.zeros((2, 12)))
    with pytest.raises(ValueError, match="at most one unknown dimension"):
        Reshape((-1, -1))
    with pytest.raises(ValueError, match="non-negative integer"):
        Reshape((-2, 3))
    with pytest.raises(TypeError, match="target_shape"):
        Reshape((2.5, 3))
    with pytest.raises(TypeError, match="target_shape"):
        Reshape(3)


def test_permute_values_and_errors():
    x = _rng().normal(size=(2, 3, 4, 5)).astype("float32")
    np.testing.assert_array_equal(Permute((3, 1, 2))(x), x.transpose(0, 3, 1, 2))
    assert Permute((2, 1)).compute_output_shape((None, 3, 4)) == (None, 4, 3)
    for bad in [(0, 1), (1, 3), (2, 2), (1, 2, 4)]:
        with pytest.raises(ValueError, match=r"`dims`.*consecutive and start from 1"):
            Permute(bad)
    with pytest.raises(ValueError, match=r'expected ndim=3, found ndim=4'):
        Permute((2, 1))(x)


def test_repeat_vector_values_and_errors():
    x = _rng().normal(size=(3, 4)).astype("float32")
    y = RepeatVector(5)(x)
    assert y.shape == (3, 5, 4) and y.dtype == np.float32
    for t in range(5):
        np.testing.assert_array_equal(y[:, t], x)
    with pytest.raises(TypeError, match="integer value for `n`"):
        RepeatVector(2.0)
    with pytest.raises(TypeError, match="integer value for `n`"):
        RepeatVector(True)
    with pytest.raises(ValueError, match="n=0"):
        RepeatVector(0)
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
        RepeatVector(2)(np.zeros((2, 3, 4)))


def test_cropping_and_padding_sides():
    x = np.arange(2 * 6 * 3, dtype="float32").reshape(2, 6, 3)
    np.testing.assert_array_equal(Cropping1D((2, 1))(x), x[:, 2:5])
    np.testing.assert_array_equal(Cropping1D((0, 2))(x), x[:, :4])  # end crop 0 / start 0
    np.testing.assert_array_equal(Cropping1D(1)(x), x[:, 1:5])
    padded = ZeroPadding1D((1, 3))(x)
    assert padded.shape == (2, 10, 3)
    np.testing.assert_array_equal(padded[:, 1:7], x)
    assert not padded[:, :1].any() and not padded[:, 7:].any()
    cf = ZeroPadding1D((2, 0), data_format="channels_first")(x)  # (batch, features, steps)
    np.testing.assert_array_equal(cf[:, :, 2:], x)
    assert cf.shape == (2, 6, 5) and not cf[:, :, :2].any()
    assert ZeroPadding1D(2).compute_output_shape((None, None, 3)) == (None, None, 3)
    assert Cropping1D((1, 1)).compute_output_shape((None, None, 3)) == (None, None, 3)
    with pytest.raises(ValueError, match="must be smaller than the input length"):
        Cropping1D((3, 3))(x)
    with pytest.raises(ValueError, match="must be smaller than the input length"):
        Cropping1D((3, 3)).compute_output_shape((None, 6, 3))
    with pytest.raises(ValueError, match="`cropping` argument must be a tuple of 2 integers"):
        Cropping1D((1, 2, 3))
    with pytest.raises(ValueError, match=">= 0"):
        ZeroPadding1D((-1, 0))
    with pytest.raises(ValueError, match="data_format"):
        ZeroPadding1D(1, data_format="nhwc")


def test_up_sampling_values():
    x = np.arange(2 * 3 * 2, dtype="float32").reshape(2, 3, 2)
    y = UpSampling1D(3)(x)
    assert y.shape == (2, 9, 2)
    for t in range(9):
        np.testing.assert_array_equal(y[:, t], x[:, t // 3])
    with pytest.raises(TypeError, match="`size`"):
        UpSampling1D(1.5)
    with pytest.raises(ValueError, match="size=0"):
        UpSampling1D(0)


def test_dtypes_float_cast_integers_kept():
    ids = np.arange(12).reshape(2, 6)
    assert Flatten()(ids).dtype == ids.dtype  # integers untouched, as Keras
    assert Flatten()(np.ones((2, 3), np.float64)).dtype == np.float32
    assert Flatten(dtype="float64")(np.ones((2, 3), np.float32)).dtype == np.float64
    with pytest.raises(TypeError):
        Flatten()(np.array([["a", "b"]]))


# -- masks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [Flatten(), Reshape((-1,)), Permute((2, 1)), RepeatVector(2),
                                   Cropping1D(1), ZeroPadding1D(1), UpSampling1D(2)],
                         ids=lambda layer: type(layer).__name__)
def test_weightless_layers_drop_the_mask(layer):
    """Keras 3.15 gives none of them supports_masking: the mask stops there."""
    assert layer.supports_masking is False
    assert layer.compute_mask(np.zeros((2, 4, 3)), np.ones((2, 4), bool)) is None
    assert layer.weight_names() == [] and layer.get_weights() == [] and layer.built


def test_masks_in_a_sequential():
    """Embedding(mask_zero) -> LSTM(sequences) -> TimeDistributed(Dense): the mask reaches the
    output (a masked loss); -> Flatten drops it."""
    emb = Embedding(6, 3, mask_zero=True, seed=0)
    ids = np.array([[0, 0, 1, 2], [3, 4, 5, 1]])
    td_model = Sequential([emb, LSTM(4, return_sequences=True, seed=1),
                           TimeDistributed(Dense(2, seed=2))])
    _, mask = td_model._forward(ids, training=False)
    np.testing.assert_array_equal(mask, ids != 0)
    flat = Sequential([Embedding(6, 3, mask_zero=True, seed=0), Flatten(), Dense(2, seed=2)])
    _, mask = flat._forward(ids, training=False)
    assert mask is None


# -- TimeDistributed --------------------------------------------------------------------------
def test_time_distributed_equals_the_layer_per_step():
    x = _rng(1).normal(size=(3, 4, 5))
    dense = Dense(6, activation="tanh", dtype="float64", seed=0)
    td = TimeDistributed(dense, dtype="float64")
    y = td(x)
    assert y.shape == (3, 4, 6)
    for t in range(4):
        # tanh is 1-Lipschitz: the pre-activation's rounding bounds the output's
        np.testing.assert_allclose(y[:, t], dense(x[:, t]), rtol=0,
                                   atol=_dot_rounding(x, dense.kernel, dense.bias))
    assert td.get_weights()[0] is not dense.kernel and td.weights[0] is dense.kernel
    assert td.weight_names() == ["kernel", "bias"] and td.count_params == 5 * 6 + 6
    assert td.compute_output_shape((None, 4, 5)) == (None, 4, 6)
    assert td.compute_mask(x, np.ones((3, 4), bool)).shape == (3, 4)


def test_time_distributed_batch_major_merge_is_not_a_transpose():
    """Each (sample, step) row keeps its own output: a wrapped layer that sees the row index
    (a Reshape of a 4-D step) shows a merge in the wrong order."""
    x = np.arange(2 * 3 * 2 * 2, dtype="float64").reshape(2, 3, 2, 2)
    td = TimeDistributed(Flatten(dtype="float64"), dtype="float64")
    y = td(x)
    for b in range(2):
        for t in range(3):
            np.testing.assert_array_equal(y[b, t], x[b, t].reshape(-1))


def test_time_distributed_recurrent_inner_takes_mask_per_step():
    rng = _rng(2)
    x = rng.normal(size=(2, 3, 5, 4))
    mask = rng.random((2, 3, 5)) > 0.3
    lstm = LSTM(3, dtype="float64", seed=0)
    td = TimeDistributed(lstm, dtype="float64")
    y = td(x, mask=mask)
    for b in range(2):
        for t in range(3):
            ref = lstm(x[b:b + 1, t], mask=mask[b:b + 1, t])
            np.testing.assert_allclose(y[b, t], ref[0], rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="third axis"):
        td(x, mask=mask[..., 0])
    with pytest.raises(ValueError, match="at least 2D"):
        td(x, mask=np.ones(2, bool))
    with pytest.raises(ValueError, match="incompatible with the input shape"):
        td(x, mask=np.ones((2, 4, 5), bool))
    assert td.compute_output_shape((None, 3, 5, 4)) == (None, 3, 3)


def test_time_distributed_errors_and_all_or_nothing():
    with pytest.raises(ValueError, match="numpy_rnn layer"):
        TimeDistributed("dense")
    for bad in (LSTM(2, return_state=True), GRU(2, stateful=True),
                Bidirectional(SimpleRNN(2), merge_mode=None)):
        with pytest.raises(ValueError, match="one output per step"):
            TimeDistributed(bad)
    td = TimeDistributed(Dense(3))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        td(np.zeros((2, 4)))
    assert not td.built
    td.build((None, 7, 4))
    assert td.built and td.layer.features == 4 and td.build_input_shape == (None, 7, 4)
    before = [w.copy() for w in td.get_weights()]
    with pytest.raises(ValueError):
        td.set_weights([np.zeros((4, 3))])  # the bias is missing: nothing changes
    for a, b in zip(before, td.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_time_distributed_unbuilt_call_that_raises_leaves_it_unbuilt():
    td = TimeDistributed(Reshape((5,)))  # a step of 4 cannot become 5
    with pytest.raises(ValueError, match="target_shape"):
        td(np.zeros((2, 3, 4)))
    td2 = TimeDistributed(Dense(3))
    with pytest.raises(ValueError):
        td2(np.zeros((2, 3, 4)), mask=np.ones((2, 2), bool))
    assert not td2.built and td2.layer.features is None


def test_time_distributed_embedding_and_nesting():
    ids = _rng(3).integers(0, 7, size=(2, 3, 4))
    emb = Embedding(7, 5, seed=0)
    y = TimeDistributed(emb)(ids)
    np.testing.assert_array_equal(y, emb(ids))
    x = _rng(4).normal(size=(2, 3, 4, 5))
    nested = TimeDistributed(TimeDistributed(Dense(2, dtype="float64", seed=1),
                                             dtype="float64"), dtype="float64")
    inner = nested.layer.layer
    np.testing.assert_allclose(nested(x), inner(x), rtol=0,
                               atol=_dot_rounding(x, inner.kernel, inner.bias))
    assert nested.compute_output_shape((None, 3, 4, 5)) == (None, 3, 4, 2)


# -- configs -----------------------------------------------------------------------------------
CONFIG_LAYERS = [
    Flatten(data_format="channels_first"), Reshape((2, -1)), Permute((2, 3, 1)), RepeatVector(4),
    Cropping1D((0, 2)), ZeroPadding1D((3, 1), data_format="channels_first"), UpSampling1D(3),
    TimeDistributed(Dense(3, activation="relu", features=4), dtype="float64"),
    TimeDistributed(Bidirectional(GRU(2, return_sequences=True), merge_mode="sum")),
    TimeDistributed(TimeDistributed(Masking(0.5))),
]


@pytest.mark.parametrize("layer", CONFIG_LAYERS, ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    cfg = layer.get_config()
    again = type(layer).from_config(cfg)
    assert again.get_config() == cfg
    cls = numpy_rnn.model.LAYER_CLASSES[type(layer).__name__]
    assert cls is type(layer)


def test_time_distributed_from_config_unknown_class():
    with pytest.raises(ValueError, match="numpy_rnn layer class"):
        TimeDistributed.from_config({"layer": {"class_name": "Conv9D", "config": {}}})
    assert layer_class("Dense") is Dense and layer_class("NoSuch") is None


# -- backward ------------------------------------------------------------------------------------
FD_CASES = [
    (Flatten(dtype="float64"), (2, 3, 4)),
    (Flatten(data_format="channels_first", dtype="float64"), (2, 3, 2, 2)),
    (Reshape((4, -1), dtype="float64"), (2, 3, 4)),
    (Permute((3, 1, 2), dtype="float64"), (2, 3, 4, 2)),
    (RepeatVector(3, dtype="float64"), (2, 4)),
    (Cropping1D((1, 2), dtype="float64"), (2, 6, 3)),
    (ZeroPadding1D((2, 1), dtype="float64"), (2, 3, 2)),
    (ZeroPadding1D((0, 2), data_format="channels_first", dtype="float64"), (2, 3, 2)),
    (UpSampling1D(3, dtype="float64"), (2, 3, 2)),
    (TimeDistributed(Dense(3, activation="tanh", dtype="float64", seed=1), dtype="float64"),
     (2, 3, 4)),
    (TimeDistributed(Flatten(dtype="float64"), dtype="float64"), (2, 3, 2, 2)),
]


# Ids from the class, not ``layer.name``: auto names come from a process-wide counter, so they
# depended on which modules were collected first (another file order, another xdist worker: the
# ids no longer matched and the tests were "not found").
@pytest.mark.parametrize("layer,shape", FD_CASES,
                         ids=lambda p: type(p).__name__ if isinstance(p, Layer) else str(p))
def test_backward_matches_finite_differences(layer, shape):
    x = _rng(5).normal(size=shape)
    dx = fd_check(layer, x)
    assert dx.shape == shape and dx.dtype == np.float64


def test_time_distributed_lstm_backward_with_mask():
    rng = _rng(6)
    x = rng.normal(size=(2, 2, 4, 3))
    mask = rng.random((2, 2, 4)) > 0.3
    td = TimeDistributed(LSTM(2, dtype="float64", seed=0, return_sequences=True), dtype="float64")
    dx = fd_check(td, x, mask=mask)
    assert not dx[~mask].any()  # masked steps get exactly zero input gradient


def test_float32_backward_keeps_float32():
    x = _rng(7).normal(size=(2, 3)).astype("float32")
    layer = RepeatVector(4)
    layer(x, training=True)
    g = layer.backward(np.ones((2, 4, 3), np.float32))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, np.full((2, 3), 4, np.float32))  # summed over the copies
    with pytest.raises(ValueError, match="grad_output"):
        layer.backward(np.ones((2, 3, 3), np.float32))
    with pytest.raises(RuntimeError, match="no recorded call"):
        Flatten().backward(np.ones((2, 3)))


def test_embedding_in_time_distributed_gives_no_input_gradient():
    ids = _rng(8).integers(0, 5, size=(2, 3, 4))
    td = TimeDistributed(Embedding(5, 2, seed=0))
    y = td(ids, training=True)
    assert td.backward(np.ones_like(y)) is None
    counts = np.bincount(ids.ravel(), minlength=5)[:, None] * np.ones((1, 2))
    np.testing.assert_allclose(td.gradients[0], counts)
    assert td.sparse_gradients is td.layer.sparse_gradients


# -- models: training and bundles ----------------------------------------------------------------
def number_addition(dtype="float32"):
    """The Keras number-addition example: Embedding -> LSTM -> RepeatVector -> LSTM(sequences)
    -> TimeDistributed(Dense softmax)."""
    return Sequential([Embedding(12, 8, seed=0, dtype=dtype), LSTM(16, seed=1, dtype=dtype),
                       RepeatVector(3, dtype=dtype),
                       LSTM(16, return_sequences=True, seed=2, dtype=dtype),
                       TimeDistributed(Dense(12, activation="softmax", seed=3, dtype=dtype),
                                       dtype=dtype)],
                      input_shape=(7,), input_dtype="int32")


def test_sequential_training_reduces_the_loss():
    rng = _rng(9)
    x = rng.integers(1, 12, size=(64, 7))
    y = x[:, :3]  # learn to copy the first three digits
    model = number_addition()
    model.compile(numpy_rnn.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=16, verbose=0, seed=0)
    assert model.evaluate(x, y, verbose=0) < 0.8 * first
    assert model.summary(print_fn=None).count("TimeDistributed") == 1


def test_bundle_round_trip(tmp_path):
    rng = _rng(10)
    for dtype in ("float32", "float64"):
        model = Sequential([Embedding(9, 4, seed=0, dtype=dtype), ZeroPadding1D((1, 2)),
                            Cropping1D((2, 0)), UpSampling1D(2), Permute((2, 1)),
                            Reshape((-1, 8)), Flatten(), RepeatVector(2),
                            GRU(3, return_sequences=True, seed=1, dtype=dtype),
                            TimeDistributed(Dense(2, seed=2, dtype=dtype), dtype=dtype)],
                           input_shape=(6,), input_dtype="int32")
        ids = rng.integers(0, 9, size=(5, 6))
        expected = model.predict(ids)
        path = tmp_path / f"m_{dtype}.npz"
        numpy_rnn.save(model, str(path))
        loaded = numpy_rnn.load(str(path))
        assert [type(lay).__name__ for lay in loaded.layers] == \
            [type(lay).__name__ for lay in model.layers]
        got = loaded.predict(ids)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
        for a, b in zip(loaded.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_declared_weights_follow_time_distributed():
    td = TimeDistributed(Bidirectional(LSTM(3)), name="td")
    declared, width = _limits.declared_weights("TimeDistributed", td.get_config(), 5)
    assert [n for n, _ in declared] == ["forward_kernel", "forward_recurrent_kernel",
                                        "forward_bias", "backward_kernel",
                                        "backward_recurrent_kernel", "backward_bias"]
    assert declared[0][1] == (5, 12) and width == 6
    assert _limits.declared_weights("Flatten", Flatten().get_config(), 5) == ([], None)
    assert _limits.declared_weights("Reshape", Reshape((2, 7)).get_config(), 5) == ([], 7)
    assert _limits.declared_weights("RepeatVector", RepeatVector(2).get_config(), 5) == ([], 5)
    with pytest.raises(_limits.LimitError, match="serialized layer"):
        _limits.declared_weights("TimeDistributed", {"layer": "dense"}, 5)


@pytest.mark.parametrize("layers,input_shape", [
    (lambda: [Permute((3, 1, 2)), Flatten(), Dense(3, seed=0)], (3, 2, 4)),
    (lambda: [RepeatVector(3), LSTM(3, seed=0)], (5,)),
    (lambda: [TimeDistributed(Dense(3, seed=0)), GRU(2, seed=1)], (None, 4)),
], ids=["permute-flatten-dense", "repeat-lstm", "time_distributed-gru"])
def test_bundle_of_float_models_makes_inputs_of_the_model_shape(tmp_path, layers, input_shape):
    model = Sequential(layers(), input_shape=input_shape)
    path = str(tmp_path / "m.npz")
    numpy_rnn.save(model, path)  # its stored test inputs have the model's input shape
    bundle = numpy_rnn.read_bundle(path)
    assert bundle.test_inputs.shape[1:] == tuple(d or 12 for d in input_shape)
