"""numpy_rnn.optimizers without TensorFlow: state, in-place updates, rounding, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import optimizers


def _pair(seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=(3, 2)).astype(dtype)


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW"])
def test_updates_in_place_and_counts_iterations(name):
    opt = getattr(optimizers, name)()
    var, grad = _pair()
    before, ref = var.copy(), var
    assert opt.iterations == 0
    assert opt.apply_gradients([(grad, var)]) == 1
    assert var is ref and not np.array_equal(var, before) and opt.iterations == 1


def test_sgd_formula_with_float32_rounded_coefficients():
    var, grad = _pair()
    start = var.copy()
    optimizers.SGD(learning_rate=0.1).apply_gradients([(grad, var)])
    np.testing.assert_array_equal(var, start - grad * np.float64(np.float32(0.1)))


def test_adam_first_step_is_lr_times_sign():
    """Step 1: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(1-b2)/(1-b1): var moves ~lr*sign(g)."""
    var, grad = _pair()
    start = var.copy()
    optimizers.Adam(learning_rate=0.01).apply_gradients([(grad, var)])
    np.testing.assert_allclose(start - var, 0.01 * np.sign(grad), rtol=1e-3)  # epsilon


def test_float_learning_rate_rounded_through_float32_schedule_float64_kept():
    var, grad = _pair()
    a, b = var.copy(), var.copy()
    optimizers.SGD(learning_rate=lambda k: 0.1).apply_gradients([(grad, a)])
    optimizers.SGD(learning_rate=lambda k: np.float64(0.1)).apply_gradients([(grad, b)])
    np.testing.assert_array_equal(a, var - grad * np.float64(np.float32(0.1)))
    np.testing.assert_array_equal(b, var - grad * 0.1)


def test_schedule_sees_iterations_before_the_increment():
    seen = []
    opt = optimizers.SGD(learning_rate=lambda k: seen.append(k) or 0.01)
    var, grad = _pair()
    for _ in range(3):
        opt.apply_gradients([(grad, var)])
    assert seen == [0, 1, 2] and opt.learning_rate == 0.01


def test_slots_follow_the_array_and_unknown_arrays_are_refused():
    opt = optimizers.Adam()
    var, grad = _pair()
    opt.apply_gradients([(grad, var)])
    assert set(opt.slots(var)) == {"momentum", "velocity"}
    assert np.any(opt.slots(var)["momentum"])
    with pytest.raises(ValueError, match="was not built with"):
        opt.apply_gradients([(grad, var.copy())])


def test_none_gradient_skipped_all_none_refused():
    opt = optimizers.SGD()
    a, b = _pair()
    b0 = b.copy()
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(np.ones_like(a), a), (None, b)])
    np.testing.assert_array_equal(b, b0)
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply_gradients([(None, a), (None, b)])


def test_float32_variables_stay_float32():
    var, grad = _pair(dtype="float32")
    optimizers.RMSprop(centered=True, momentum=0.5).apply_gradients([(grad, var)])
    assert var.dtype == np.float32
    var64, grad64 = _pair(dtype="float32")
    optimizers.Adam().apply_gradients([(grad64.astype(np.float64), var64)])  # cast like Keras
    assert var64.dtype == np.float32


def test_nan_gradient_is_applied_as_keras_does():
    var, grad = _pair()
    grad[0, 0] = np.nan
    optimizers.Adam().apply_gradients([(grad, var)])
    assert np.isnan(var[0, 0]) and np.isfinite(var.flat[1:]).all()


def test_clipping():
    g = np.array([3.0, 4.0])
    np.testing.assert_allclose(optimizers._clip_by_norm(g, 1.0), [0.6, 0.8])
    np.testing.assert_array_equal(optimizers._clip_by_norm(np.zeros(2), 1.0), [0.0, 0.0])
    out = optimizers._clip_by_global_norm([g, np.array([12.0])], 1.0)  # global norm 13
    np.testing.assert_allclose(np.concatenate(out), [3 / 13, 4 / 13, 12 / 13])
    assert np.isnan(np.concatenate(optimizers._clip_by_global_norm([np.array([np.inf, 1.0])], 1.0))).all()


# -- bad input ------------------------------------------------------------------------------
def test_only_one_clip_argument():
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)


@pytest.mark.parametrize("kw,match", [
    ({"learning_rate": "fast"}, "learning_rate"), ({"learning_rate": float("nan")}, "learning_rate"),
    ({"clipnorm": "x"}, "clipnorm"),
])
def test_bad_hyper_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        optimizers.Adam(**kw)


def test_sgd_momentum_range_and_adamw_needs_decay():
    with pytest.raises(ValueError, match="`momentum` must be a float between"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay=None"):
        optimizers.AdamW(weight_decay=None)


def test_bad_variables_and_gradients():
    opt = optimizers.SGD()
    var, grad = _pair()
    with pytest.raises(TypeError, match="float32 or float64 numpy.ndarray"):
        opt.apply_gradients([(grad, [1.0, 2.0])])
    ro = var.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        optimizers.SGD().apply_gradients([(grad, ro)])
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="`gradient` 0 must have the shape"):
        opt.apply_gradients([(grad[:2], var)])
    with pytest.raises(ValueError, match="pairs"):
        optimizers.SGD().apply_gradients([var])


def test_get():
    for name, cls in [("sgd", optimizers.SGD), ("rmsprop", optimizers.RMSprop),
                      ("adam", optimizers.Adam), ("adamw", optimizers.AdamW), ("Adam", optimizers.Adam)]:
        assert type(optimizers.get(name)) is cls
    inst = optimizers.SGD(momentum=0.9)
    assert optimizers.get(inst) is inst
    with pytest.raises(ValueError, match="'adagrad'") as info:
        optimizers.get("adagrad")
    assert "'rmsprop'" in str(info.value)
    rms = optimizers.get("rmsprop")
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == (0.001, 0.9, 0.0, 1e-7, False)


def test_config_round_trip():
    opt = optimizers.Adam(learning_rate=0.01, beta_1=0.8, amsgrad=True, clipnorm=1.0)
    again = optimizers.Adam.from_config(opt.get_config())
    assert again.get_config() == opt.get_config()


# -- IndexedSlices: Keras 3.15's arithmetic on slices, by hand ----------------------------------
from numpy_rnn.sparse import IndexedSlices  # noqa: E402

SLICES = np.array([[3.0, 4.0], [3.0, 4.0], [0.5, -1.0]])  # rows 1, 1 (read twice) and 2
ROWS = np.array([1, 1, 2])


def _table():
    return np.arange(8.0).reshape(4, 2) / 10


def _slices(values=SLICES, rows=ROWS):
    return IndexedSlices(values, rows, (4, 2))


def test_indexed_slices_dense_adds_duplicates():
    dense = _slices().dense()
    np.testing.assert_array_equal(dense, [[0, 0], [6, 8], [0.5, -1], [0, 0]])
    assert _slices().shape == (4, 2) and _slices().dtype == np.float64
    assert _slices().astype("float32").values.dtype == np.float32


@pytest.mark.parametrize("args,exc,match", [
    ((np.ones((3, 2)), np.array([0, 1]), (4, 2)), ValueError, "len\\(indices\\)"),
    ((np.ones((2, 3)), np.array([0, 1]), (4, 2)), ValueError, "dense_shape"),
    ((np.ones((2, 2)), np.array([0, 4]), (4, 2)), ValueError, "in \\[0, 4\\)"),
    ((np.ones((2, 2)), np.array([-1, 0]), (4, 2)), ValueError, "in \\[0, 4\\)"),
    ((np.ones((2, 2)), np.array([0.0, 1.0]), (4, 2)), TypeError, "integer"),
    ((np.ones((2, 2), int), np.array([0, 1]), (4, 2)), TypeError, "float32 or float64"),
])
def test_indexed_slices_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        IndexedSlices(*args)


def test_slices_of_the_wrong_dense_shape_are_refused():
    with pytest.raises(ValueError, match="`gradient` 0 must have the shape"):
        optimizers.SGD().apply_gradients([(IndexedSlices(SLICES, ROWS, (5, 2)), _table())])


def test_adam_squares_each_slice_before_adding_duplicates():
    """m gets (1 - b1) * sum_i g_i; v gets (1 - b2) * sum_i g_i**2, not (sum_i g_i)**2."""
    opt, var = optimizers.Adam(), _table()
    opt.apply_gradients([(_slices(), var)])
    slots = opt.slots(var)
    np.testing.assert_array_equal(slots["momentum"][1], [6.0 * (1 - 0.9), 8.0 * (1 - 0.9)])
    np.testing.assert_array_equal(slots["velocity"][1], [18.0 * (1 - 0.999), 32.0 * (1 - 0.999)])
    np.testing.assert_array_equal(slots["velocity"][[0, 3]], 0.0)  # rows not read


def test_rmsprop_velocity_and_one_subtraction_per_slice():
    opt, var = optimizers.RMSprop(learning_rate=0.01), _table()
    start = var.copy()
    opt.apply_gradients([(_slices(), var)])
    v = opt.slots(var)["velocity"]
    expect_v = np.zeros((4, 2))
    for g, r in zip(SLICES, ROWS):
        expect_v[r] += g * g * (1 - 0.9)  # scaled per slice, then added
    np.testing.assert_array_equal(v, 0.9 * np.zeros((4, 2)) + expect_v)
    lr = np.float64(np.float32(0.01))
    expect = start.copy()
    for g, r in zip(SLICES, ROWS):  # scatter_sub: var[r] -= lr * g / sqrt(v[r] + eps), per slice
        expect[r] = expect[r] - (lr * g) / np.sqrt(v[r] + 1e-7)
    np.testing.assert_array_equal(var, expect)


def test_sgd_subtracts_slice_by_slice():
    """scatter_sub: (x - a) - b, which differs in the last bit from x - (a + b) here."""
    values = np.array([[1 / 3, 2 / 3], [0.7, 1 / 7]])
    opt, var = optimizers.SGD(learning_rate=0.1), _table()
    start = var.copy()
    opt.apply_gradients([(_slices(values, ROWS[:2]), var)])
    lr = np.float64(np.float32(0.1))
    expect = start.copy()
    expect[1] = (expect[1] - values[0] * lr) - values[1] * lr
    np.testing.assert_array_equal(var, expect)
    assert not np.array_equal(var[1], start[1] - (values[0] * lr + values[1] * lr))


def test_clipnorm_takes_the_norm_of_the_slices():
    """Two slices [3, 4] on one row: norm sqrt(50) over the slices (10 for their sum)."""
    opt, var = optimizers.SGD(learning_rate=1.0, clipnorm=1.0), _table()
    start = var.copy()
    opt.apply_gradients([(_slices(SLICES[:2], ROWS[:2]), var)])
    np.testing.assert_allclose(np.linalg.norm(start[1] - var[1]), 10 / np.sqrt(50), rtol=1e-15)


def test_clipvalue_clips_each_slice():
    opt, var = optimizers.SGD(learning_rate=1.0, clipvalue=0.5), _table()
    start = var.copy()
    opt.apply_gradients([(_slices(np.full((2, 2), 0.4), ROWS[:2]), var)])
    np.testing.assert_allclose(start[1] - var[1], [0.8, 0.8], rtol=1e-15)  # not 0.5


def test_global_clipnorm_sums_slice_squares_and_densifies():
    opt, var = optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0), _table()
    start = var.copy()
    opt.apply_gradients([(_slices(SLICES[:2], ROWS[:2]), var)])
    np.testing.assert_allclose(start[1] - var[1], np.array([6.0, 8.0]) / np.sqrt(50), rtol=1e-15)


def test_learning_rate_floatx():
    var, grad = _pair()
    a, b = var.copy(), var.copy()
    optimizers.SGD(learning_rate=0.1, floatx="float64").apply_gradients([(grad, a)])
    np.testing.assert_array_equal(a, var - grad * 0.1)  # exact, as under Keras floatx float64
    optimizers.SGD(learning_rate=0.1).apply_gradients([(grad, b)])
    np.testing.assert_array_equal(b, var - grad * np.float64(np.float32(0.1)))
    c = var.astype("float32")
    optimizers.SGD(learning_rate=0.1, floatx="float64").apply_gradients(
        [(grad.astype("float32"), c)])
    np.testing.assert_array_equal(c, var.astype("float32") - grad.astype("float32")
                                  * np.float32(0.1))
    opt = optimizers.AdamW(floatx="float64")
    assert optimizers.AdamW.from_config(opt.get_config()).floatx == "float64"
    with pytest.raises(ValueError, match="`floatx`"):
        optimizers.Adam(floatx="float16")
