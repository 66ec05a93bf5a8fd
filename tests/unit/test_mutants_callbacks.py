"""ReduceLROnPlateau's cooldown, where the 2026-12-07 mutation run found a gap: with
``cooldown=1`` (the existing check) the cooldown is over by the time it is tested, so a callback
that ignored it passed.  With ``cooldown=2`` Keras (keras/src/callbacks/reduce_lr_on_plateau.py
``on_epoch_end``: decrement the counter, then count a bad epoch only ``elif not
self.in_cooldown()``) waits one whole epoch after each reduction.  Values derived by hand from
that source; NumPy only."""
from __future__ import annotations

import numpy as np

from numpy_rnn import callbacks as cb
from tests.unit.test_training_habits import Scripted


def _rates(cooldown):
    r = cb.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=cooldown, min_lr=0.0, min_delta=0)
    r.set_model(Scripted())  # SGD(0.1)
    r.on_train_begin()
    rates = []
    for epoch in range(6):
        logs = {"val_loss": 1.0}  # never improves after epoch 0
        r.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])  # the rate the epoch ran with
    return rates


def test_a_cooldown_of_two_skips_one_epoch_after_each_reduction():
    # epoch 1 reduces (cooldown 2); epoch 2: counter 2 -> 1, still cooling, not counted;
    # epoch 3: counter -> 0, counted, reduces again; epoch 4 skipped; epoch 5 reduces
    np.testing.assert_allclose(_rates(2), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-6)
    # without a cooldown every bad epoch reduces
    np.testing.assert_allclose(_rates(0), [0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625], rtol=1e-6)
