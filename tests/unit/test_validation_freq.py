"""``fit(validation_freq=...)`` (Keras's ``Trainer._should_eval``): which epochs validate, and
the argument checked before any training (the parity test compares the numbers with Keras)."""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import Dense, Sequential, callbacks
from numpy_rnn.fitting import should_validate


def model_and_data():
    model = Sequential([Dense(2, seed=0)])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
    return model, x, np.zeros((12, 2), np.float32)


@pytest.mark.parametrize("freq, validated", [(1, [1, 2, 3, 4, 5, 6]), (2, [2, 4, 6]),
                                             (4, [4]), (9, []), ([1, 5], [1, 5]), ([], [])])
def test_validated_epochs(freq, validated):
    model, x, y = model_and_data()
    seen = []

    class Spy(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if "val_loss" in logs:
                seen.append(epoch + 1)
    spy = Spy()
    h = model.fit(x, y, epochs=6, batch_size=4, verbose=0, validation_data=(x, y),
                  validation_freq=freq, callbacks=[spy]).history
    assert seen == validated
    assert len(h.get("val_loss", [])) == len(validated) and len(h["loss"]) == 6
    assert [e for e in range(6) if should_validate(e, freq)] == [e - 1 for e in validated]


@pytest.mark.parametrize("bad, message", [
    (0, "`validation_freq` must be a positive integer"),
    (-2, "`validation_freq` must be a positive integer"),
    ("2", "Expected `validation_freq` to be a list or int"),
    ((1, 2), "Expected `validation_freq` to be a list or int"),
    (True, "Expected `validation_freq` to be a list or int"),
    ([1.5], "Expected `validation_freq` to be a list or int"),
])
def test_bad_validation_freq_raises_before_training(bad, message):
    model, x, y = model_and_data()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), validation_freq=bad)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
