"""``validation_split``'s boundary, where the 2026-12-07 mutation run looked: Keras splits at
``floor(n * (1 - split))`` (keras/src/trainers/data_adapters/array_slicing.py
``train_validation_split``).  The existing check (n=10, split=0.35: 6.5) cannot tell ``floor``
from Python's ``round`` (6.5 rounds to even, 6); the cases here can (7.5, 5.5, 1.5: floor 7,
5, 1; round 8, 6, 2).
NumPy only."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import Dense


def _model():
    m = numpy_rnn.Sequential([Dense(5, activation="tanh", seed=0), Dense(3, activation="softmax",
                                                                          seed=1)])
    m.build((None, 4))
    m.compile("sgd", "sparse_categorical_crossentropy")
    return m


@pytest.mark.parametrize("n, split, at", [(10, 0.25, 7), (10, 0.45, 5), (6, 0.75, 1)])
def test_validation_split_cuts_at_the_floor(n, split, at):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(n, 4)), rng.integers(0, 3, size=(n,))
    a, b = _model(), _model()
    ha = a.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0, validation_split=split)
    hb = b.fit(x[:at], y[:at], batch_size=3, epochs=2, shuffle=False, verbose=0,
               validation_data=(x[at:], y[at:]))
    assert ha.history == hb.history
    assert ha.params["steps"] == -(-at // 3)


def test_validation_split_splits_the_sample_weights_too():
    """Keras splits ``sample_weight`` with the arrays: the validation loss is weighted by the
    last rows' weights (a fit that dropped them validated unweighted; caught only by a Keras
    parity test before)."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(10, 4)), rng.integers(0, 3, size=(10,))
    w = rng.random(10) * 2
    a, b = _model(), _model()
    ha = a.fit(x, y, sample_weight=w, batch_size=3, epochs=2, shuffle=False, verbose=0,
               validation_split=0.3)
    hb = b.fit(x[:7], y[:7], sample_weight=w[:7], batch_size=3, epochs=2, shuffle=False,
               verbose=0, validation_data=(x[7:], y[7:], w[7:]))
    assert ha.history == hb.history
    c = _model()
    hc = c.fit(x[:7], y[:7], sample_weight=w[:7], batch_size=3, epochs=2, shuffle=False,
               verbose=0, validation_data=(x[7:], y[7:]))
    assert hc.history["val_loss"] != hb.history["val_loss"]  # the weights matter here


def test_sample_weights_follow_their_rows_through_the_shuffle():
    """Rows of weight 0 cannot matter, wherever the shuffle puts them: two fits whose targets
    differ only on those rows end equal (a fit that took the weights by batch position instead
    of by row fails this)."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(12, 4)), rng.integers(0, 3, size=(12,))
    w = np.tile([1.0, 0.0, 2.0, 0.0], 3)
    y_other = np.where(w == 0, (y + 1) % 3, y)
    a, b = _model(), _model()
    ha = a.fit(x, y, sample_weight=w, batch_size=4, epochs=3, shuffle=True, seed=7, verbose=0)
    hb = b.fit(x, y_other, sample_weight=w, batch_size=4, epochs=3, shuffle=True, seed=7,
               verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)
    c = _model()  # control: the zero-weight rows' targets would matter unweighted
    hc = c.fit(x, y_other, batch_size=4, epochs=3, shuffle=True, seed=7, verbose=0)
    assert not np.allclose(hc.history["loss"], ha.history["loss"], rtol=1e-3)
