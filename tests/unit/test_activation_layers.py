"""Activation layers (Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax), NumPy only: values and
derivatives at every kink as TensorFlow gives them (measured against Keras 3.15.1, see
tests/parity/test_activation_layers_parity.py), float64 finite differences away from the kinks,
options, errors, configs, shapes, masks and the recording contract."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import (ELU, Activation, ActivityRegularization, AlphaDropout, GaussianDropout,
                       GaussianNoise, LeakyReLU, PReLU, ReLU, Sequential, Softmax,
                       SpatialDropout1D, activations, regularizers)
from tests.unit.test_grad_layers import _assert_fd, _numeric_grad, check_layer_fd

#: Inputs that sit on every kink the options below use (0, 0.5, 1, 1.5, 2, 6), and between.
KINKS = np.array([-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 6.0, 7.0])


def _fwd_bwd(layer, x):
    y = layer(x, training=True)
    return y, layer.backward(np.ones_like(y))


# -- ReLU: Keras's piecewise formula, and TensorFlow's derivative at each kink -----------------
#: options -> (outputs, derivatives) on KINKS, as Keras 3.15.1 / TF 2.21 give them.
RELU_TABLE = {
    (): ([0, 0, 0, 0, .25, .5, 1, 1.5, 2, 3, 6, 7], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]),
    (("max_value", 6.0),): ([0, 0, 0, 0, .25, .5, 1, 1.5, 2, 3, 6, 6],
                            [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]),       # relu6: 0 at 6
    (("max_value", 1.5),): ([0, 0, 0, 0, .25, .5, 1, 1.5, 1.5, 1.5, 1.5, 1.5],
                            [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]),       # clip: 1 at max
    (("threshold", 1.0),): ([0, 0, 0, 0, 0, 0, 0, 1.5, 2, 3, 6, 7],
                            [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]),       # x > threshold strict
    (("negative_slope", 0.5),): ([-1, -.5, -.25, 0, .25, .5, 1, 1.5, 2, 3, 6, 7],
                                 [.5, .5, .5, .5, 1, 1, 1, 1, 1, 1, 1, 1]),  # leaky: slope at 0
    (("negative_slope", 0.5), ("threshold", 1.0)): (
        [-1.5, -1, -.75, -.5, -.375, -.25, 0, 1.5, 2, 3, 6, 7],
        [.5, .5, .5, .5, .5, .5, 0, 1, 1, 1, 1, 1]),                   # 0 at the threshold
    (("negative_slope", 0.5), ("max_value", 1.5)): (
        [-1, -.5, -.25, 0, .25, .5, 1, 1.5, 1.5, 1.5, 1.5, 1.5],
        [.5, .5, .5, 0, 1, 1, 1, 1, 0, 0, 0, 0]),                      # 0 at 0 off the leaky op
    (("negative_slope", 0.5), ("threshold", 0.5), ("max_value", 2.0)): (
        [-1.25, -.75, -.5, -.25, -.125, 0, 1, 1.5, 2, 2, 2, 2],
        [.5, .5, .5, .5, .5, 0, 1, 1, 1, 0, 0, 0]),
}


@pytest.mark.parametrize("options", list(RELU_TABLE), ids=lambda o: str(dict(o)) or "default")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_values_and_kink_derivatives(options, dtype):
    want_y, want_d = RELU_TABLE[options]
    y, d = _fwd_bwd(ReLU(**dict(options), dtype=dtype), KINKS[None])
    assert y.dtype == d.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y[0], np.asarray(want_y, dtype))
    np.testing.assert_array_equal(d[0], np.asarray(want_d, dtype))


def test_relu_leaky_path_slope_is_a_float32_attribute_and_the_general_path_is_exact():
    x = np.array([[-1.0]])
    assert ReLU(negative_slope=0.1, dtype="float64")(x)[0, 0] == -float(np.float32(0.1))
    assert ReLU(negative_slope=0.1, threshold=0.5, dtype="float64")(x)[0, 0] == -0.1 * 1.5
    # threshold comparison and max_value through ops.cast: float64(float32(value))
    relu = ReLU(max_value=0.1, dtype="float64")
    assert relu(np.array([[5.0]]))[0, 0] == float(np.float32(0.1))
    thr = ReLU(threshold=0.1, dtype="float64")
    assert thr(np.array([[float(np.float32(0.1))]]))[0, 0] == 0.0  # not above float32(0.1)


@pytest.mark.parametrize("options", [{}, {"max_value": 2.5}, {"threshold": 0.7},
                                     {"negative_slope": 0.3},
                                     {"negative_slope": 0.2, "threshold": 0.4, "max_value": 3.0}])
def test_relu_finite_differences_off_the_kinks(options):
    x = np.random.default_rng(3).uniform(-4, 4, size=(3, 4, 5))
    x[np.abs(x - 0.0) < 1e-3] += 0.01
    check_layer_fd(ReLU(**options, dtype="float64"), x)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"max_value": -1.0}, ValueError, "max_value of a ReLU layer cannot be a negative value"),
    ({"negative_slope": -0.1}, ValueError, "negative_slope of a ReLU layer cannot be None"),
    ({"negative_slope": None}, ValueError, "negative_slope of a ReLU layer cannot be None"),
    ({"threshold": -1}, ValueError, "threshold of a ReLU layer cannot be None"),
    ({"threshold": "1"}, TypeError, "`threshold` of a ReLU layer must be a real number"),
])
def test_relu_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        ReLU(**kwargs)


def test_relu_takes_tf_keras_zero_d_arrays():
    layer = ReLU(negative_slope=np.array(0.5, np.float32), threshold=np.array(0.0, np.float32))
    assert layer.negative_slope == 0.5 and layer.threshold == 0.0


# -- LeakyReLU ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("slope", [0.3, 1.5, 0.0])
def test_leaky_relu_values_and_derivatives(dtype, slope):
    layer = LeakyReLU(slope, dtype=dtype)
    y, d = _fwd_bwd(layer, KINKS[None])
    s = np.dtype(dtype).type(np.float32(slope))  # TensorFlow's float32 attribute
    np.testing.assert_array_equal(y[0], np.where(KINKS > 0, KINKS, KINKS * s).astype(dtype))
    np.testing.assert_array_equal(d[0], np.where(KINKS > 0, 1, s).astype(dtype))  # slope at 0


def test_leaky_relu_default_errors_and_keras2_alpha():
    assert LeakyReLU().negative_slope == 0.3  # Keras 3's default (Keras 2's alpha: 0.3 too)
    with pytest.warns(UserWarning, match="`alpha` is deprecated"):
        assert LeakyReLU(alpha=0.1).negative_slope == 0.1
    with pytest.raises(ValueError, match="cannot be None or negative"):
        LeakyReLU(-0.2)
    with pytest.raises(ValueError, match="cannot be None or negative"):
        LeakyReLU(None)


def test_leaky_relu_fd():
    x = np.random.default_rng(0).uniform(-3, 3, size=(2, 3, 4))
    check_layer_fd(LeakyReLU(0.25, dtype="float64"), x)


# -- ELU ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [1.0, 0.7, 2.0])
def test_elu_values_and_derivative_at_zero(alpha):
    layer = ELU(alpha, dtype="float64")
    y, d = _fwd_bwd(layer, np.array([[-1.0, 0.0, 1.0]]))
    np.testing.assert_allclose(y[0], [alpha * (np.exp(-1.0) - 1), 0, 1], rtol=1e-15)
    np.testing.assert_allclose(d[0], [alpha * np.exp(-1.0), alpha, 1], rtol=1e-15)  # alpha at 0


def test_elu_uses_exp_minus_one_as_tensorflow():
    # TensorFlow's Elu kernel computes exp(x) - 1: float32 elu(-1e-9) is 0, not -1e-9
    assert ELU(dtype="float32")(np.array([[-1e-9]], np.float32))[0, 0] == 0.0
    assert ELU(dtype="float64")(np.array([[-1e-9]]))[0, 0] == np.exp(-1e-9) - 1


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_fd(alpha):
    x = np.random.default_rng(1).uniform(-3, 3, size=(2, 3, 4))
    check_layer_fd(ELU(alpha, dtype="float64"), x)


# -- Activation --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in activations.names() if n != "glu"])
def test_activation_layer_is_the_activation_with_its_backward(name):
    x = np.random.default_rng(2).normal(scale=1.5, size=(2, 3, 4))
    layer = Activation(name, dtype="float64")
    np.testing.assert_array_equal(layer(x), activations.get(name)(x))
    y = layer(x, training=True)
    g = np.random.default_rng(3).normal(size=y.shape)
    np.testing.assert_array_equal(layer.backward(g),
                                  activations.backward(activations.get(name), x, y, g))
    if name not in ("hard_shrink", "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax",
                    "hard_sigmoid", "hard_silu", "hard_tanh", "relu6", "relu", "leaky_relu"):
        check_layer_fd(layer, x)  # smooth ones: finite differences as well


def test_activation_glu_shape_and_errors():
    layer = Activation("glu")
    assert layer(np.ones((2, 6), np.float32)).shape == (2, 3)
    assert layer.compute_output_shape((None, 5, 6)) == (None, 5, 3)
    assert Activation(None).activation is activations.linear
    with pytest.raises(ValueError, match="Could not interpret activation"):
        Activation("nope")


# -- PReLU -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shared_axes, alpha_shape", [
    (None, (3, 4)), ([1], (1, 4)), (2, (3, 1)), ((1, 2), (1, 1))])
def test_prelu_weight_shape_as_keras(shared_axes, alpha_shape):
    layer = PReLU(shared_axes=shared_axes, dtype="float64", seed=0)
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    layer(x)
    assert layer.weight_names() == ["alpha"]
    assert layer.get_weights()[0].shape == alpha_shape
    assert layer.build_input_shape == (None, 3, 4)
    np.testing.assert_array_equal(layer.alpha, 0.0)  # Keras's default initializer: zeros


@pytest.mark.parametrize("shared_axes", [None, [1], [2], [1, 2]])
def test_prelu_values_and_fd(shared_axes):
    rng = np.random.default_rng(4)
    layer = PReLU(shared_axes=shared_axes, dtype="float64")
    x = rng.uniform(-2, 2, size=(3, 4, 5))
    layer.build(x.shape)
    alpha = rng.normal(size=layer.weight_shapes()["alpha"])
    layer.set_weights([alpha])
    np.testing.assert_allclose(layer(x), np.where(x > 0, x, alpha * x), rtol=1e-15)
    check_layer_fd(layer, x)


def test_prelu_alpha_broadcasts_from_the_first_axis_after_the_batch():
    layer = PReLU(dtype="float64")
    layer.build((None, 2, 3))
    alpha = np.arange(6.0).reshape(2, 3)
    layer.set_weights([alpha])
    x = -np.ones((1, 2, 3))
    np.testing.assert_array_equal(layer(x)[0], -alpha)  # element (t, f) uses alpha[t, f]
    y, d = _fwd_bwd(layer, np.array([[[0.0, -1.0, 2.0], [0.0, -3.0, 1.0]]]))
    np.testing.assert_array_equal(d[0], [[0, 1, 1], [0, 4, 1]])  # 0 at 0, alpha below, 1 above
    np.testing.assert_array_equal(layer.gradients[0], [[0, -1, 0], [0, -3, 0]])  # x where x < 0


def test_prelu_builds_from_weights_shape_errors_and_config():
    layer = PReLU(shared_axes=[1])
    layer.set_weights([np.ones((1, 4), np.float32)])  # unbuilt: built from alpha's shape
    assert layer.built and layer.build_input_shape == (None, None, 4)
    assert layer(np.ones((2, 7, 4), np.float32)).shape == (2, 7, 4)
    with pytest.raises(ValueError, match="incompatible"):
        layer(np.ones((2, 7, 5), np.float32))
    with pytest.raises(ValueError, match="must have the input shape"):
        PReLU(shared_axes=[1]).set_weights([np.ones((3, 4), np.float32)])
    with pytest.raises(ValueError, match="shared_axes"):
        PReLU(shared_axes=0)
    unbuilt = PReLU(shared_axes=[3])
    with pytest.raises(ValueError, match="holds axis 3"):
        unbuilt(np.ones((2, 3, 4)))
    assert not unbuilt.built  # a call that raises changes nothing
    with pytest.raises(ValueError, match="every input size outside"):
        PReLU().build((None, None, 4))
    cfg = PReLU(shared_axes=(1,), alpha_regularizer="l2",
                build_input_shape=(None, 3, 4)).get_config()
    assert cfg["shared_axes"] == [1] and cfg["alpha_regularizer"]["class_name"] == "L2"
    assert cfg["build_input_shape"] == [None, 3, 4]
    assert PReLU.from_config(cfg).get_config() == cfg


# -- Softmax -----------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, 1, [2], [1, 2], (0, 2)])
def test_softmax_values_and_fd(axis):
    x = np.random.default_rng(5).normal(scale=2, size=(2, 3, 4))
    layer = Softmax(axis=axis, dtype="float64")
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    e = np.exp(x - x.max(axis=axes, keepdims=True))
    np.testing.assert_allclose(layer(x), e / e.sum(axis=axes, keepdims=True), rtol=1e-14)
    check_layer_fd(layer, x)


def test_softmax_mask_replaces_inputs_and_zeroes_outputs():
    x = np.array([[1.0, 2.0, 5.0, 1.0], [1.0, 1.0, 1.0, 1.0], [3.0, 1.0, 2.0, 4.0]], np.float32)
    mask = np.array([[True, True, False, False], [False] * 4, [True] * 4])
    y = Softmax()(x, mask=mask)  # Keras's own test values
    np.testing.assert_allclose(y, [[0.268941, 0.731059, 0, 0], [0, 0, 0, 0],
                                   [0.236883, 0.032059, 0.087144, 0.643914]], atol=1e-6)
    assert np.all(y[~mask] == 0)


def test_softmax_mask_forms_broadcast_and_errors():
    x = np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 5.0]])
    layer = Softmax(dtype="float64")
    for mask in (np.array([[1.0, 0.0, 1.0]]), np.array([1, 0, 1]), np.array([0.9, 0.5, 0.7])):
        assert np.all(layer(x, mask=mask)[:, 1] == 0)  # float > 0.5, int > 0 (cast(0.5) == 0)
    np.testing.assert_array_equal(layer(x, mask=np.array([2, 0, 3])),
                                  layer(x, mask=np.array([True, False, True])))
    with pytest.raises(ValueError, match="must not have more dimensions"):
        layer(x, mask=np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="Each mask dimension must be 1 or match"):
        layer(np.ones((1, 3)), mask=np.ones((2, 3)))
    with pytest.raises(TypeError, match="`axis`"):
        Softmax(axis=1.5)
    with pytest.raises(ValueError, match="out of range"):
        Softmax(axis=3)(x)


@pytest.mark.parametrize("axis", [-1, [1, 2]])
def test_softmax_masked_gradient_is_exactly_zero_and_fd_elsewhere(axis):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 3, 4))
    mask = rng.random((2, 3, 4)) > 0.3
    mask[0, 1] = False  # a fully masked slice
    layer = Softmax(axis=axis, dtype="float64")
    y = layer(x, mask=mask, training=True)
    w = rng.normal(size=y.shape)
    dx = layer.backward(w)
    assert np.all(dx[~mask] == 0)
    numeric = _numeric_grad(lambda: float(np.sum(layer(x, mask=mask) * w)), x)
    _assert_fd("inputs", dx[mask], numeric[mask])


# -- the shared protocol -----------------------------------------------------------------------
LAYERS = {
    "activation": lambda **kw: Activation("tanh", **kw),
    "relu": lambda **kw: ReLU(max_value=3.0, **kw),
    "leaky_relu": lambda **kw: LeakyReLU(**kw),
    "prelu": lambda **kw: PReLU(**kw),
    "elu": lambda **kw: ELU(0.5, **kw),
    "softmax": lambda **kw: Softmax(**kw),
}


@pytest.mark.parametrize("kind", LAYERS)
def test_protocol_config_masks_shapes_dtypes(kind):
    layer = LAYERS[kind](name=f"my_{kind}")
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    y = layer(x)
    assert y.dtype == np.float32 and y.shape == x.shape  # float32 stays float32
    assert layer.supports_masking
    mask = np.array([[True, False, True], [True, True, False]])
    assert layer.compute_mask(x, mask) is mask and layer.compute_mask(x) is None
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 4)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    if layer.weight_names():
        clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x), y)
    with pytest.raises(RuntimeError, match="training=True"):
        LAYERS[kind]().backward(y)
    layer(x, training=True)
    with pytest.raises(ValueError, match="grad_output"):
        layer.backward(np.ones((2, 3)))
    layer(x)  # an inference call forgets the record
    with pytest.raises(RuntimeError, match="training=True"):
        layer.backward(y)
    f64 = LAYERS[kind](dtype="float64")
    assert f64(x).dtype == np.float64


def test_sequential_passes_a_mask_through_activation_layers_to_the_lstm():
    ids = np.array([[0, 0, 3, 1], [2, 4, 1, 0]])
    layers = [numpy_rnn.Embedding(5, 3, mask_zero=True, seed=0), ReLU(max_value=0.03),
              LeakyReLU(), ELU(), PReLU(), Activation("tanh")]
    lstm = numpy_rnn.LSTM(4, seed=1)
    model = Sequential(layers + [lstm])
    x = ids
    for layer in layers:
        x = layer(x)
    np.testing.assert_array_equal(model(ids), lstm(x, mask=ids != 0))
    assert not np.array_equal(model(ids), lstm(x))  # the mask matters here


def test_sequential_build_and_summary_with_prelu():
    model = Sequential([numpy_rnn.Dense(4, features=3), PReLU(shared_axes=[1]), Softmax()],
                       input_shape=(5, 3))
    model.build()
    assert model.layers[1].get_weights()[0].shape == (1, 4)
    assert "p_re_lu" in model.summary(print_fn=None) or "prelu" in model.summary(print_fn=None)
    assert model.count_params() == 3 * 4 + 4 + 4


def test_warning_free_construction():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for make in LAYERS.values():
            make()


# -- bundles ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bundle_round_trip_with_every_layer(tmp_path, dtype):
    kw = {"dtype": dtype}
    model = Sequential([
        numpy_rnn.Dense(5, kernel_regularizer="l2", seed=0, **kw),
        ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2, **kw), LeakyReLU(0.2, **kw),
        PReLU(shared_axes=[1], alpha_initializer="glorot_uniform", seed=1, **kw),
        ELU(0.7, **kw), Activation("selu", **kw), SpatialDropout1D(0.2, **kw),
        GaussianNoise(0.3, **kw), GaussianDropout(0.2, **kw), AlphaDropout(0.2, **kw),
        ActivityRegularization(0.01, 0.02, **kw),
        numpy_rnn.LSTM(4, return_sequences=True, seed=2,
                       recurrent_regularizer=regularizers.L1L2(0.1, 0.2), **kw),
        Softmax(axis=[1, 2], **kw)], input_shape=(6, 3))
    model.build()
    x = np.random.default_rng(0).normal(size=(4, 6, 3)).astype(dtype)
    want = model.predict(x)
    path = numpy_rnn.save(model, tmp_path / "acts.npz", test_inputs=x)
    back = numpy_rnn.load(path)
    assert back.get_config() == model.get_config()
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.predict(x), want)
    assert back.layers[3].build_input_shape == (None, 6, 5)  # kept in its config
    assert back.layers[11].weight_regularizers()[1] == regularizers.L1L2(0.1, 0.2)
