"""Activation and regularization layers against Keras 3.15 (and tf_keras where Keras 2 has the
layer): forward and gradients in float32 and float64 with every kink planted in the inputs,
Softmax masks, the regularization layers in training on numpy_rnn's random draws, both
directions of the bridge, ``.keras`` files, legacy ``.h5`` files and the Keras 2 option names.

The rows are ``parity.cases.activation_layers``'s, so the main job and this file measure the same
thing; the worst errors are in the module's report lines (``pytest -rA`` prints them)."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.cases import activation_layers as cases  # noqa: E402

DTYPES = ("float32", "float64")


def _check(report):
    __tracebackhide__ = True
    assert report.passed, str(report)
    return report


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls, options", cases.ROWS, ids=[cases.label(c, o) for c, o in cases.ROWS])
def test_forward_and_gradients(cls, options, dtype):
    _check(cases.layer_case(cls, options, dtype))


@pytest.mark.parametrize("cls, options", [
    ("ReLU", {"negative_slope": 0.3, "threshold": 0.5, "max_value": 2.0}),
    ("ReLU", {"max_value": 6}), ("LeakyReLU", {"negative_slope": 0.1}),
    ("PReLU", {"shared_axes": [1, 2]}), ("ELU", {"alpha": 2.0}), ("Softmax", {"axis": [1]}),
    ("Activation", {"activation": "hard_sigmoid"})])
def test_numpy_to_keras(cls, options):
    _check(cases.layer_case(cls, options, "float32", seed=3, direction="numpy->keras"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls, options", [
    ("ReLU", {}), ("ReLU", {"max_value": 6.0}), ("ReLU", {"max_value": 0.1}),
    ("ReLU", {"threshold": 0.1}), ("ReLU", {"negative_slope": 0.1}),
    ("ReLU", {"negative_slope": 0.3, "threshold": 0.5, "max_value": 2.0}),
    ("ReLU", {"negative_slope": 0.2, "max_value": 1.5}), ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.0}), ("PReLU", {})])
def test_kinks_are_bit_for_bit(cls, options, dtype):
    """Piecewise-linear layers: outputs and derivatives equal Keras's exactly at every kink
    (0, the threshold, max_value, float32-rounded constants), float32 and float64."""
    x = np.array([[[0.0, -0.0, 0.1, float(np.float32(0.1)), 0.5, 1.0, 1.5, 2.0, 6.0, 7.0, -1.0,
                    -0.25]]], dtype)
    rng = np.random.default_rng(0)
    k = cases.keras_layer(cls, options, dtype, x.shape, rng)
    n = parity.from_keras(k)
    w = np.ones_like(x)
    k_y, k_w, k_x = cases.keras_weighted_grads(k, x, w)
    n_y, n_w, n_x = cases.numpy_weighted_grads(n, x, w)
    np.testing.assert_array_equal(n_y, k_y)
    np.testing.assert_array_equal(n_x, k_x)
    for a, b in zip(n_w, k_w):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
@pytest.mark.parametrize("mask", cases.MASKS)
def test_softmax_masks(mask, axis, dtype):
    report = _check(cases.softmax_mask_case(mask, axis, dtype))
    assert report.output("d inputs").passed


def test_softmax_masked_positions_are_zero_on_both_sides():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    m = rng.random((2, 3, 4)) > 0.5
    m[1, 2] = False
    k, n = keras.layers.Softmax(), numpy_rnn.Softmax()
    w = rng.normal(size=x.shape).astype("float32")
    k_y, _, k_x = cases.keras_weighted_grads(k, x, w, mask=m)
    n_y, _, n_x = cases.numpy_weighted_grads(n, x, w, mask=m)
    for arr in (k_y, k_x, n_y, n_x):
        assert np.all(arr[~m] == 0)


def test_softmax_mask_errors_match_keras():
    x = np.ones((1, 3), "float32")
    for mask in (np.ones((2, 3)), np.ones((1, 1, 3))):
        with pytest.raises(ValueError) as theirs:
            keras.layers.Softmax()(x, mask=mask)
        with pytest.raises(ValueError) as ours:
            numpy_rnn.Softmax()(x, mask=mask)
        first = str(ours.value).split(".")[0]  # "The `mask` must be broadcastable to ..."
        assert first in str(theirs.value)  # Keras wraps it in "Exception encountered when ..."


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls, options", cases.NOISE_ROWS,
                         ids=[cases.label(c, o) for c, o in cases.NOISE_ROWS])
def test_regularization_layers_in_training_on_the_same_draws(cls, options, dtype):
    _check(cases.noise_case(cls, options, dtype))


@pytest.mark.parametrize("cls, options", cases.NOISE_ROWS + [("ActivityRegularization",
                                                              {"l1": 0.1})])
def test_regularization_layers_at_inference(cls, options):
    rng = np.random.default_rng(0)
    x = rng.normal(size=cases.SHAPE).astype("float32")
    k = cases.keras_layer(cls, options, "float32", x.shape, rng)
    n = parity.from_keras(k)
    _check(parity.compare(n, k, x, case=f"{cls} inference"))
    back = parity.to_keras(n)
    assert type(back) is type(k)
    np.testing.assert_array_equal(np.asarray(back(x)), x)


def test_compare_gradients_refuses_random_layers():
    k = keras.layers.GaussianNoise(0.1)
    with pytest.raises(ValueError, match="add noise at random"):
        parity.compare_gradients(parity.from_keras(k), k, np.ones((2, 3), "float32"))


# -- tf_keras (Keras 2): the same layers under their Keras 2 names ---------------------------------
@pytest.mark.parametrize("make", [
    lambda L: L.LeakyReLU(alpha=0.2), lambda L: L.LeakyReLU(),
    lambda L: L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
    lambda L: L.ELU(alpha=0.5), lambda L: L.Softmax(axis=1), lambda L: L.Activation("selu"),
    lambda L: L.PReLU(shared_axes=[1], alpha_initializer="glorot_uniform"),
    lambda L: L.SpatialDropout1D(0.3), lambda L: L.GaussianNoise(0.5),
    lambda L: L.GaussianDropout(0.2), lambda L: L.AlphaDropout(0.2),
    lambda L: L.ActivityRegularization(0.1, 0.2)])
def test_tf_keras_layers(make):
    tf_keras = pytest.importorskip("tf_keras")
    k = make(tf_keras.layers)
    x = cases.kink_inputs(np.random.default_rng(1))
    k.build(x.shape)
    n = parity.from_keras(k)
    if type(k).__name__ == "LeakyReLU":
        assert n.negative_slope == pytest.approx(k.get_config()["alpha"])
    _check(parity.compare(n, k, x, case=f"tf_keras {type(k).__name__}"))


# -- model files --------------------------------------------------------------------------------
def _all_layers_model(L, Input, dtype="float32"):
    return [Input((6, 5), dtype=dtype), L.Dense(5, kernel_regularizer="l2", dtype=dtype),
            L.ReLU(max_value=1.5, negative_slope=0.1, dtype=dtype), L.LeakyReLU(dtype=dtype),
            L.PReLU(shared_axes=[1], alpha_initializer="glorot_uniform", dtype=dtype),
            L.ELU(0.7, dtype=dtype), L.Activation("tanh", dtype=dtype),
            L.SpatialDropout1D(0.2, dtype=dtype), L.GaussianNoise(0.3, dtype=dtype),
            L.GaussianDropout(0.2, dtype=dtype), L.AlphaDropout(0.2, dtype=dtype),
            L.ActivityRegularization(0.01, 0.01, dtype=dtype),
            L.LSTM(4, return_sequences=True, recurrent_regularizer="l1", dtype=dtype),
            L.Softmax(dtype=dtype)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_keras_file_with_every_layer_loads_and_matches(tmp_path, dtype):
    model = keras.Sequential(_all_layers_model(keras.layers, keras.Input, dtype))
    x = cases.kink_inputs(np.random.default_rng(2), (3, 6, 5), dtype)
    path = str(tmp_path / "acts.keras")
    model.save(path)
    loaded = numpy_rnn.load_keras_model(path)
    prelu = loaded.layers[3]
    assert isinstance(prelu, numpy_rnn.PReLU) and prelu.build_input_shape == (None, 6, 5)
    assert loaded.layers[0].get_config()["kernel_regularizer"]["class_name"] == "L2"
    assert loaded.layers[11].get_config()["recurrent_regularizer"]["class_name"] == "L1"
    # model(x), not model.predict: Keras's predict casts float64 inputs to floatx
    np.testing.assert_allclose(loaded.predict(x), np.asarray(model(x)),
                               rtol=1e-5 if dtype == "float32" else 1e-10,
                               atol=1e-6 if dtype == "float32" else 1e-12)
    parity.assert_parity(parity.from_keras(model), model, x)


def test_keras_functional_mask_flows_through_activation_layers(tmp_path):
    L = keras.layers
    inp = keras.Input((7,), dtype="int32")
    h = L.Embedding(9, 4, mask_zero=True)(inp)
    for layer in (L.ReLU(), L.PReLU(), L.ELU(), L.LeakyReLU(), L.Activation("tanh"),
                  L.GaussianNoise(0.1), L.SpatialDropout1D(0.1), L.ActivityRegularization(0.1)):
        h = layer(h)
    out = L.LSTM(3)(h)
    model = keras.Model(inp, out)
    ids = np.array([[0, 0, 3, 4, 1, 2, 8], [5, 1, 0, 0, 0, 0, 0]], "int32")
    path = str(tmp_path / "masked.keras")
    model.save(path)
    loaded = numpy_rnn.load_keras_model(path)
    np.testing.assert_allclose(loaded.predict(ids), np.asarray(model(ids)), rtol=1e-5, atol=1e-6)


def test_legacy_h5_from_tf_keras(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    L = tf_keras.layers
    model = tf_keras.Sequential([
        L.InputLayer((6, 5)), L.Dense(5, kernel_regularizer="l2"),
        L.ReLU(max_value=1.5, negative_slope=0.1), L.LeakyReLU(alpha=0.2),
        L.PReLU(shared_axes=[1], alpha_initializer="glorot_uniform"), L.ELU(0.7),
        L.Activation("hard_sigmoid"), L.SpatialDropout1D(0.2), L.GaussianNoise(0.3),
        L.GaussianDropout(0.2), L.AlphaDropout(0.2), L.ActivityRegularization(0.01, 0.01),
        L.LSTM(4, return_sequences=True), L.Softmax()])
    x = cases.kink_inputs(np.random.default_rng(3), (3, 6, 5))
    path = str(tmp_path / "acts.h5")
    model.save(path)
    loaded = numpy_rnn.load_keras_model(path)
    leaky = loaded.layers[2]
    assert isinstance(leaky, numpy_rnn.LeakyReLU)
    assert leaky.negative_slope == pytest.approx(0.2)  # Keras 2's alpha
    assert loaded.layers[5].activation is numpy_rnn.activations.keras2_hard_sigmoid
    np.testing.assert_allclose(loaded.predict(x), np.asarray(model.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-6)
