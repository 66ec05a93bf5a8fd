"""A weighted metric over a sequence output, by Keras's ``Mean`` rule written out in float64
(keras/src/metrics/reduction_metrics.py ``reduce_to_samplewise_values``): per batch, ``total +=
sum_b mean_t(values * w)`` and ``count += sum_b mean_t(w)`` -- the weights of a sample are
*averaged* over its steps, not summed (a mutant summing them was checked against this file in
the 2026-12-07 mutation run)."""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import metrics

B, T, U = 4, 5, 3


def _batch(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(B, T, U))
    p = rng.normal(size=(B, T, U))
    w = rng.random((B, T)) * (rng.random((B, T)) > 0.3)  # some steps weigh 0
    return y, p, w


def _keras_mean(batches):
    total = count = 0.0
    for y, p, w in batches:
        values = np.mean((p - y) ** 2, axis=-1)  # (B, T): mse over the units
        total += np.sum(np.mean(values * w, axis=1))
        count += np.sum(np.mean(w, axis=1))
    return total / count


@pytest.mark.parametrize("how", ["sample_weight", "mask"])
def test_sequence_weights_are_averaged_per_sample(how):
    m = metrics.MeanSquaredError(dtype="float64")
    batches = [_batch(0), _batch(1)]
    for y, p, w in batches:
        if how == "sample_weight":
            m.update_state(y, p, sample_weight=w)
        else:  # a boolean mask is a 0/1 weight
            m.update_state(y, p, mask=w > 0)
    if how == "mask":
        batches = [(y, p, (w > 0).astype(float)) for y, p, w in batches]
    assert m.result() == pytest.approx(_keras_mean(batches), rel=1e-12)


def test_teeth_summed_step_weights_are_caught():
    """Control on the reference: summing the steps' weights (instead of averaging) gives a
    different answer on these batches, so the check above can fail."""
    batches = [_batch(0), _batch(1)]
    total = count = 0.0
    for y, p, w in batches:
        values = np.mean((p - y) ** 2, axis=-1)
        total += np.sum(np.mean(values * w, axis=1))
        count += np.sum(np.sum(w, axis=1))
    assert abs(total / count - _keras_mean(batches)) > 1e-3 * _keras_mean(batches)
