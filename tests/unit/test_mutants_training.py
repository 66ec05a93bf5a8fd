"""Training bookkeeping the mutation run (2026-12-07) found unchecked without TensorFlow: a
functional Model whose backward forgot the weight regularizers' gradients was caught only by a
Keras parity test.  Here one SGD step is compared with a float64 computation written out by
hand: ``mean((x K + b - y)**2) + l2 * sum(K**2)`` (weight penalty) and ``... + l2 *
sum((x K + b)**2) / batch`` (ActivityRegularization), functional and Sequential."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn as nr
from numpy_rnn import losses, optimizers, regularizers

B, F, U, L2, LR = 5, 3, 2, 0.125, 0.25  # exact in float32 (Keras keeps l2 there)


def _data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(B, F)), rng.normal(size=(B, U)), rng.normal(size=(F, U)), \
        rng.normal(size=(U,))


def _expected_step(x, y, k, b):
    """float64 SGD step of ``mean((xK + b - y)^2) + L2 * sum(K^2)`` (Keras's mse: the mean over
    the units, then over the batch)."""
    err = x @ k + b - y
    d_pred = 2 * err / (B * U)
    d_k = x.T @ d_pred + 2 * L2 * k
    d_b = d_pred.sum(axis=0)
    loss = np.mean(err ** 2) + L2 * np.sum(k ** 2)
    return k - LR * d_k, b - LR * d_b, loss


def _functional():
    inp = nr.Input((F,), dtype="float64")
    out = nr.Dense(U, dtype="float64", kernel_regularizer=regularizers.L2(L2))(inp)
    return nr.Model(inp, out)


def _sequential():
    return nr.Sequential([nr.Dense(U, dtype="float64", kernel_regularizer=regularizers.L2(L2))])


@pytest.mark.parametrize("make", [_functional, _sequential], ids=["functional", "sequential"])
def test_weight_regularizer_gradient_joins_the_sgd_step(make):
    x, y, k, b = _data()
    model = make()
    model.predict(x)  # built
    model.set_weights([k, b])
    model.compile(optimizers.SGD(LR), losses.MeanSquaredError(dtype="float64"))
    loss = model.train_on_batch(x, y)
    k_new, b_new, want_loss = _expected_step(x, y, k, b)
    got_k, got_b = model.get_weights()
    np.testing.assert_allclose(got_k, k_new, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_b, b_new, rtol=1e-12, atol=1e-12)
    assert float(np.ravel(loss)[0]) == pytest.approx(want_loss, rel=1e-12)


def _expected_activity_step(x, y, k, b):
    """float64 SGD step of ``mean((p - y)^2) + L2 * sum(p^2) / batch`` with ``p = xK + b``
    (Keras's ActivityRegularization: the penalty of its input, divided by the batch size)."""
    p = x @ k + b
    d_pred = 2 * (p - y) / (B * U) + 2 * L2 * p / B
    loss = np.mean((p - y) ** 2) + L2 * np.sum(p ** 2) / B
    return k - LR * (x.T @ d_pred), b - LR * d_pred.sum(axis=0), loss


def _functional_activity():
    inp = nr.Input((F,), dtype="float64")
    out = nr.ActivityRegularization(l2=L2, dtype="float64")(nr.Dense(U, dtype="float64")(inp))
    return nr.Model(inp, out)


def _sequential_activity():
    return nr.Sequential([nr.Dense(U, dtype="float64"),
                          nr.ActivityRegularization(l2=L2, dtype="float64")])


@pytest.mark.parametrize("make", [_functional_activity, _sequential_activity],
                         ids=["functional", "sequential"])
def test_activity_regularizer_gradient_joins_the_sgd_step(make):
    x, y, k, b = _data()
    model = make()
    model.predict(x)
    model.set_weights([k, b])
    model.compile(optimizers.SGD(LR), losses.MeanSquaredError(dtype="float64"))
    loss = model.train_on_batch(x, y)
    k_new, b_new, want_loss = _expected_activity_step(x, y, k, b)
    got_k, got_b = model.get_weights()
    np.testing.assert_allclose(got_k, k_new, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_b, b_new, rtol=1e-12, atol=1e-12)
    assert float(np.ravel(loss)[0]) == pytest.approx(want_loss, rel=1e-12)


# -- teeth: the planted bugs these checks are for must make them fail ----------------------------
@pytest.mark.parametrize("make", [_functional, _sequential], ids=["functional", "sequential"])
def test_teeth_a_dropped_weight_penalty_gradient_is_caught(make, monkeypatch):
    monkeypatch.setattr(regularizers.L2, "gradient", lambda self, x: np.zeros_like(x))
    with pytest.raises(AssertionError):
        test_weight_regularizer_gradient_joins_the_sgd_step(make)


@pytest.mark.parametrize("make", [_functional_activity, _sequential_activity],
                         ids=["functional", "sequential"])
def test_teeth_a_dropped_activity_gradient_is_caught(make, monkeypatch):
    monkeypatch.setattr(nr.ActivityRegularization, "_activity_gradient", lambda self: None)
    with pytest.raises(AssertionError):
        test_activity_regularizer_gradient_joins_the_sgd_step(make)
