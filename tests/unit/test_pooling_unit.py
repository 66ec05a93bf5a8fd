"""MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D without TensorFlow:
the maths against a naive reference (tests/helpers.py), TensorFlow's tie and padding rules,
masks as Keras 3.15 applies them, errors, configs and backward passes (finite differences)."""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                       MaxPooling1D)
from tests.helpers import reference_pool1d
from tests.unit.test_grad_layers import check_layer_fd

# Inputs come from ``case_rng`` (conftest.py: seeded from the test's id), never from a
# module-level generator whose draws depend on which tests ran before in the same process.


@pytest.mark.parametrize("cls, mode", [(MaxPooling1D, "max"), (AveragePooling1D, "avg")])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool, strides", [(1, None), (2, None), (3, 1), (3, 2), (2, 3),
                                           (4, 2), (5, 1), (5, 3)])
@pytest.mark.parametrize("steps", [5, 8, 9])
def test_windows_match_the_naive_reference(cls, mode, padding, pool, strides, steps, case_rng):
    x = case_rng.normal(size=(2, steps, 3))
    layer = cls(pool, strides=strides, padding=padding, dtype="float64")
    if padding == "valid" and pool > steps:
        pytest.skip("no valid window")
    # An average of up to 5 draws can cancel to ~0, and float64 rounding is relative to the terms
    # (<= 5 * 2**-53 * max|x| for any summation order), not to the average: hence the atol.
    np.testing.assert_allclose(layer(x), reference_pool1d(x, pool, strides, padding, mode),
                               rtol=1e-14, atol=1e-14 * np.abs(x).max())


def test_average_same_divides_by_the_real_steps_only():
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    # TensorFlow (measured): [1.5 2.5 3.5 4.5 5.] and, pool 3, [1.5 2. 3. 4. 4.5]
    np.testing.assert_array_equal(AveragePooling1D(2, strides=1, padding="same")(x).ravel(),
                                  [1.5, 2.5, 3.5, 4.5, 5.0])
    np.testing.assert_array_equal(AveragePooling1D(3, strides=1, padding="same")(x).ravel(),
                                  [1.5, 2.0, 3.0, 4.0, 4.5])
    # padding never wins a max, even against negative values (measured: [-1 -2 -4])
    np.testing.assert_array_equal(MaxPooling1D(4, strides=2, padding="same")(-x).ravel(),
                                  [-1, -2, -4])


def test_max_gradient_goes_to_the_first_of_tied_steps():
    """TensorFlow's MaxPoolGrad on CPU (measured, float32 and float64): x = [1 1 0 2 2 2],
    pool 3 stride 1 -> grad [1 0 0 3 0 0]."""
    for dtype in ("float32", "float64"):
        layer = MaxPooling1D(3, strides=1, dtype=dtype)
        x = np.array([1, 1, 0, 2, 2, 2], dtype).reshape(1, 6, 1)
        y = layer(x, training=True)
        np.testing.assert_array_equal(y.ravel(), [1, 2, 2, 2])
        np.testing.assert_array_equal(layer.backward(np.ones_like(y)).ravel(), [1, 0, 0, 3, 0, 0])


def test_global_max_gradient_shares_ties_equally():
    """TensorFlow's reduce_max gradient (measured): three equal maxima get 1/3 each."""
    layer = GlobalMaxPooling1D()
    x = np.array([0, 1, 1, 2, 2, 2], "float32").reshape(1, 6, 1)
    y = layer(x, training=True)
    np.testing.assert_allclose(layer.backward(np.ones_like(y)).ravel(),
                               [0, 0, 0, 1 / 3, 1 / 3, 1 / 3], rtol=1e-7)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_shapes(data_format, keepdims, case_rng):
    x = case_rng.normal(size=(2, 7, 3)).astype("float32")
    xin = x if data_format == "channels_last" else x.transpose(0, 2, 1)
    for cls, fn in ((GlobalMaxPooling1D, np.max), (GlobalAveragePooling1D, np.mean)):
        layer = cls(data_format=data_format, keepdims=keepdims)
        y = layer(xin)
        want = fn(x, axis=1)
        if keepdims:
            want = want[:, None] if data_format == "channels_last" else want[:, :, None]
        # float32 mean of 7 draws: rounding <= 7 * 2**-24 * max|x| (4e-7 max|x|) whatever the
        # summation order, and the mean itself can cancel to ~0: the atol is relative to the terms.
        np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6 * np.abs(x).max())
        assert y.shape == layer.compute_output_shape(xin.shape) and y.dtype == np.float32
        assert layer.compute_mask(xin, np.ones((2, 7), bool)) is None


def test_global_average_with_a_mask_averages_the_unmasked_steps(case_rng):
    x = case_rng.normal(size=(3, 5, 2))
    mask = np.array([[1, 1, 0, 0, 0], [1, 0, 1, 0, 1], [0, 0, 0, 0, 0]], bool)
    x[0, 2:] = np.inf  # masked steps are excluded even when not finite (Keras: where(mask, x, 0))
    layer = GlobalAveragePooling1D(dtype="float64")
    y = layer(x, mask=mask, training=True)
    np.testing.assert_allclose(y[0], x[0, :2].mean(axis=0))
    np.testing.assert_allclose(y[1], x[1, [0, 2, 4]].mean(axis=0))
    assert np.isnan(y[2]).all()  # fully masked row: 0 / 0, as Keras
    dx = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(dx[0], np.repeat([[0.5], [0.5], [0], [0], [0]], 2, 1))
    np.testing.assert_array_equal(dx[2], 0.0)  # no gradient reaches a fully masked row
    first = GlobalAveragePooling1D(data_format="channels_first", dtype="float64")
    np.testing.assert_allclose(first(x[:2].transpose(0, 2, 1), mask=mask[:2]), y[:2])
    with pytest.raises(ValueError, match=r"`mask`.*\(batch, steps\)"):
        layer(x, mask=mask[:, :3])


def test_global_max_ignores_the_mask_as_keras_3_15(case_rng):
    x = case_rng.normal(size=(2, 5, 2)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], bool)
    layer = GlobalMaxPooling1D()
    assert not layer.supports_masking
    np.testing.assert_array_equal(layer(x, mask=mask), x.max(axis=1))


def test_window_pooling_drops_the_mask():
    for layer in (MaxPooling1D(), AveragePooling1D(2)):
        assert not layer.supports_masking
        assert layer.compute_mask(np.zeros((1, 4, 1)), np.ones((1, 4), bool)) is None


@pytest.mark.parametrize("make, message", [
    (lambda: MaxPooling1D(0), r"`pool_size`.*Received pool_size=0"),
    (lambda: MaxPooling1D(2, strides=0), r"`strides`.*Received strides=0"),
    (lambda: AveragePooling1D((2, 2)), r"The `pool_size` argument must be a tuple of 1 integers"),
    (lambda: MaxPooling1D(2, padding="causal"),
     "Argument `padding` must be either 'valid' or 'same'. Received: padding='causal'"),
    (lambda: AveragePooling1D(2, data_format="NCW"), "`data_format`"),
    (lambda: GlobalMaxPooling1D(keepdims=1), "`keepdims` must be a bool"),
])
def test_bad_options(make, message):
    with pytest.raises(ValueError if "keepdims" not in message else TypeError, match=message):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"Computed output size would be zero or negative.*"
                                         r"pool_size=\(4,\)"):
        MaxPooling1D(4)(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        AveragePooling1D(2)(np.zeros((1, 3, 2, 1)))
    with pytest.raises(ValueError, match="at least one step"):
        GlobalMaxPooling1D()(np.zeros((1, 0, 2)))


def test_keras_defaults_and_configs():
    assert MaxPooling1D().pool_size == 2 and MaxPooling1D(3).strides == 3
    assert MaxPooling1D(padding="SAME").padding == "same"
    for layer in (MaxPooling1D(3, strides=2, padding="same", data_format="channels_first"),
                  AveragePooling1D(4, dtype="float64", name="avg"),
                  GlobalMaxPooling1D(keepdims=True), GlobalAveragePooling1D("channels_first")):
        cfg = layer.get_config()
        assert type(layer).from_config(cfg).get_config() == cfg
        assert layer.built and layer.get_weights() == [] and layer.count_params == 0
    assert MaxPooling1D(3, strides=2).get_config()["pool_size"] == (3,)


@pytest.mark.parametrize("layer", [
    MaxPooling1D(3, strides=2, padding="same", dtype="float64"),
    MaxPooling1D(2, strides=1, data_format="channels_first", dtype="float64"),
    AveragePooling1D(3, strides=2, padding="same", dtype="float64"),
    AveragePooling1D(2, strides=3, dtype="float64"),
    GlobalMaxPooling1D(dtype="float64"),
    GlobalMaxPooling1D(keepdims=True, data_format="channels_first", dtype="float64"),
    GlobalAveragePooling1D(dtype="float64"),
    GlobalAveragePooling1D(keepdims=True, data_format="channels_first", dtype="float64"),
])
def test_backward_fd(layer, case_rng):
    # distinct values with gaps much wider than the finite-difference step: no ties to break
    x = case_rng.permutation(2 * 9 * 3).reshape(2, 9, 3).astype("float64") * 0.1
    check_layer_fd(layer, x)


def test_global_average_masked_backward_fd(case_rng):
    layer = GlobalAveragePooling1D(dtype="float64")
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool)
    x = case_rng.normal(size=(2, 4, 3))
    y = layer(x, mask=mask, training=True)
    w = case_rng.normal(size=y.shape)
    dx = layer.backward(w)
    eps = 1e-6
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num = (np.sum(layer(xp, mask=mask) * w) - np.sum(layer(xm, mask=mask) * w)) / (2 * eps)
        assert abs(num - dx[idx]) < 1e-8
