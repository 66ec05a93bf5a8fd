"""EinsumDense without TensorFlow: Keras's equation parser (shapes and errors, the figures taken
from keras.layers.EinsumDense 3.15), the forward pass against plain matmuls, the backward pass
against finite differences, configs, weights, a Sequential with a bundle round trip."""
from __future__ import annotations

import json

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn.layers.einsum_dense import EinsumDense, analyze_einsum_string, explicit_specs
from tests.attention_helpers import finite_difference_check

# (equation, output_shape, bias_axes, input shape) -> (kernel, bias, output shape) as Keras 3.15
# builds them (read off keras.layers.EinsumDense(...).build(shape)).
KERAS_SHAPES = [
    ("ab,bc->ac", 4, "c", (3, 5), (5, 4), (4,), (3, 4)),
    ("abc,cd->abd", (None, 4), "d", (2, 3, 5), (5, 4), (4,), (2, None, 4)),
    ("...b,bc->...c", 4, "c", (2, 3, 5), (5, 4), (4,), (2, 3, 4)),
    ("abc,cde->abde", (None, 2, 3), "de", (2, 3, 5), (5, 2, 3), (2, 3), (2, None, 2, 3)),
    ("abcd,cde->abe", (None, 4), "e", (2, 3, 4, 5), (4, 5, 4), (4,), (2, None, 4)),
    ("ab...,bc->ac...", (4,), "c", (2, 5, 3, 2), (5, 4), (4, 1, 1), (2, 4, 3, 2)),
    ("abc,bcd->ad", 4, "d", (2, 3, 5), (3, 5, 4), (4,), (2, 4)),
    ("abc,cd->abd", (3, 4), "bd", (2, 3, 5), (5, 4), (3, 4), (2, 3, 4)),
    ("abc,cd->abd", (None, 4), None, (2, 3, 5), (5, 4), None, (2, None, 4)),
]


@pytest.mark.parametrize("eq,out,bias,shape,kernel,bias_shape,full", KERAS_SHAPES)
def test_shapes_as_keras(eq, out, bias, shape, kernel, bias_shape, full):
    k, b, o, _, _ = analyze_einsum_string(eq, bias, shape, out)
    assert tuple(k) == kernel
    assert (None if b is None else tuple(b)) == bias_shape
    assert tuple(o) == full
    layer = EinsumDense(eq, out, bias_axes=bias)
    layer.build(shape)
    assert layer.weight_shapes()["kernel"] == kernel
    assert [tuple(w.shape) for w in layer.get_weights()] == [kernel] + (
        [bias_shape] if bias_shape else [])
    assert layer.compute_output_shape(shape) == full
    assert layer(np.zeros(shape)).shape[-1] == full[-1]


@pytest.mark.parametrize("eq,out,bias,match", [
    ("ab->c", 4, None, "Invalid einsum equation 'ab->c'"),
    ("ab,bc->ad", 4, None, "Dimension 'd' was specified in the output"),
    ("ab,bcx->ac", 4, None, "Weight dimension 'x' did not have a match"),
    ("ab,bc->ac", 4, "x", "Bias dimension 'x' was requested"),
    ("aab,bc->ac", 4, None, "must not repeat an axis letter"),
])
def test_equation_errors(eq, out, bias, match):
    with pytest.raises(ValueError, match=match):
        EinsumDense(eq, out, bias_axes=bias)


def test_argument_errors():
    with pytest.raises(TypeError, match="`equation` must be a string"):
        EinsumDense(3, 4)
    with pytest.raises(ValueError, match="`output_shape`"):
        EinsumDense("ab,bc->ac", 0)
    with pytest.raises(ValueError, match="`bias_axes`"):
        EinsumDense("ab,bc->ac", 4, bias_axes="")
    with pytest.raises(ValueError, match="Input shape and output shape do not match"):
        EinsumDense("abc,cd->abd", (7, 4)).build((2, 3, 5))


def test_explicit_specs_spell_out_the_ellipsis():
    x, w, y = explicit_specs("...b,bc->...c", 4)
    assert len(x) == 4 and x[-1] == "b" and w == "bc" and y == x[:-1] + "c"
    assert len(set(x + w)) == 5  # the spelled-out letters are new
    x, w, y = explicit_specs("ab...,bc->ac...", 3)
    assert x[:2] == "ab" and len(x) == 3 and y == "ac" + x[2] and x[2] not in "abc"
    with pytest.raises(ValueError, match="takes inputs of rank 2"):
        explicit_specs("ab,bc->ac", 3)


def _built(eq, out, bias, shape, activation=None, dtype="float64", seed=0):
    layer = EinsumDense(eq, out, bias_axes=bias, activation=activation, dtype=dtype, seed=seed,
                        bias_initializer="random_normal")
    layer.build(shape)
    return layer


def test_forward_is_the_matmul_it_spells():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 5))
    layer = _built("abc,cde->abde", (None, 2, 3), "de", x.shape, activation="tanh")
    kernel, bias = layer.get_weights()
    expected = np.tanh((x @ kernel.reshape(5, 6)).reshape(2, 3, 2, 3) + bias)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-13, atol=1e-14)
    dense = _built("...b,bc->...c", 4, "c", (2, 3, 5))
    k2, b2 = dense.get_weights()
    np.testing.assert_allclose(dense(x), x @ k2 + b2, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("eq,out,bias,shape,activation", [
    ("abc,cde->abde", (None, 2, 3), "de", (2, 3, 4), "tanh"),
    ("...b,bc->...c", 3, "c", (2, 2, 3, 4), "relu"),
    ("abc,bcd->ad", 3, "d", (2, 3, 4), None),  # two input axes contracted
    ("abc,cd->ad", 3, "d", (2, 3, 4), "sigmoid"),  # b summed away by the input alone
    ("ab...,bc->ac...", (3,), "c", (2, 4, 3), None),  # right ellipsis, bias (3, 1)
    ("abc,cd->abd", (3, 4), "bd", (2, 3, 4), "softmax"),
])
def test_backward_matches_finite_differences(eq, out, bias, shape, activation):
    layer = _built(eq, out, bias, shape, activation=activation)
    x = np.random.default_rng(1).normal(size=shape)
    finite_difference_check(layer, x)


def test_float32_stays_float32():
    layer = _built("abc,cd->abd", (None, 4), "d", (2, 3, 5), dtype="float32")
    y = layer(np.ones((2, 3, 5)), training=True)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.gradients)


def test_glorot_fans_come_from_the_einsum_axes():
    # Keras: VarianceScaling(input_axes, output_axes) -> fan_in = 64, fan_out = 8 * 16
    layer = EinsumDense("abc,cde->abde", (None, 8, 16), bias_axes="de", seed=3)
    layer.build((None, 5, 64))
    kernel = layer.get_weights()[0]
    limit = np.sqrt(6.0 / (64 + 128))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.95 * limit  # 8192 draws reach the edge
    assert np.all(layer.get_weights()[1] == 0)


def test_lazy_build_calls_and_wrong_inputs_change_nothing():
    layer = EinsumDense("abc,cd->abd", (None, 4), bias_axes="d", dtype="float64", seed=0)
    with pytest.raises(ValueError, match="takes inputs of rank 3"):
        layer(np.ones((2, 5)))
    assert not layer.built
    y = layer(np.ones((2, 3, 5)))
    assert y.shape == (2, 3, 4) and layer.build_input_shape == (2, 3, 5)
    before = [w.copy() for w in layer.get_weights()]
    with pytest.raises(ValueError, match="kernel of shape"):
        layer(np.ones((2, 3, 6)))
    with pytest.raises(ValueError, match="expected ndim=3"):
        layer(np.ones((2, 3, 5, 1)))
    assert all(np.array_equal(a, b) for a, b in zip(before, layer.get_weights()))
    assert layer(np.ones((4, 7, 5))).shape == (4, 7, 4)  # other batch / time: same kernel


def test_set_weights_checks_shapes_and_unbuilt():
    layer = _built("abc,cd->abd", (None, 4), "d", (None, 3, 5))
    with pytest.raises(ValueError, match=r"Weight `kernel` .* must have shape \(5, 4\)"):
        layer.set_weights([np.zeros((4, 4)), np.zeros(4)])
    with pytest.raises(ValueError, match="expected 2 weights"):
        layer.set_weights([np.zeros((5, 4))])
    with pytest.raises(ValueError, match="not built yet"):
        EinsumDense("abc,cd->abd", (None, 4), bias_axes="d").set_weights(
            [np.zeros((5, 4)), np.zeros(4)])


def test_config_round_trip_rebuilds_the_same_layer():
    layer = _built("abc,cde->abde", (None, 2, 3), "de", (None, 7, 5), activation="relu")
    cfg = json.loads(json.dumps(layer.get_config()))
    twin = EinsumDense.from_config(cfg)
    assert twin.get_config() == layer.get_config()
    assert twin.built and twin.weight_shapes() == layer.weight_shapes()
    twin.set_weights(layer.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 7, 5))
    np.testing.assert_array_equal(twin(x), layer(x))
    declared, width = EinsumDense.declared_weights(cfg)
    assert declared == [(n, layer.weight_shapes()[n]) for n in layer.weight_names()]
    assert width == 3


def test_declared_weights_refuses_configs_without_sizes():
    from numpy_rnn._limits import LimitError

    cfg = EinsumDense("abc,bcd->ad", 4, bias_axes="d").get_config()
    with pytest.raises(LimitError, match="unknown or not a positive integer"):
        EinsumDense.declared_weights(cfg, in_width=5)  # axis b unknown
    with pytest.raises(LimitError, match="declares no weight shapes"):
        EinsumDense.declared_weights({**cfg, "equation": "nonsense"})


def test_in_a_sequential_with_a_bundle_round_trip(tmp_path):
    model = numpy_rnn.Sequential([
        EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de", activation="tanh", seed=1),
        EinsumDense("abcd,cde->abe", (None, 4), bias_axes="e", seed=2),
        numpy_rnn.Dense(2, seed=3),
    ], input_shape=(5, 6))
    model.build()
    x = np.random.default_rng(0).normal(size=(3, 5, 6)).astype("float32")
    y = model.predict(x)
    assert y.shape == (3, 5, 2)
    path = numpy_rnn.save(model, tmp_path / "m.npz", test_inputs=x)
    loaded = numpy_rnn.load(path)
    np.testing.assert_array_equal(loaded.predict(x), y)
    assert [type(lay).__name__ for lay in loaded.layers] == ["EinsumDense", "EinsumDense",
                                                             "Dense"]
