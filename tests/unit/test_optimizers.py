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
