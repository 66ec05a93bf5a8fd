"""Training bookkeeping the mutation run (2026-12-07) found unchecked without TensorFlow: a
functional Model whose backward forgot the weight regularizers' gradients was caught only by a
Keras parity test.  Here one SGD step is compared with a float64 computation written out by
hand: ``mean((x K + b - y)**2) + l2 * sum(K**2)``."""
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
