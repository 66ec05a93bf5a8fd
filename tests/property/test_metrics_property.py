"""Property tests for ``numpy_rnn.metrics`` (NumPy only): a metric's running mean over any split
of the data into batches equals the metric over all of it (Keras's ``Mean``: totals weighted by
sample count), and accuracy lies in [0, 1] and agrees with its definition by argmax."""
from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

from numpy_rnn import metrics


@given(n=st.integers(1, 30), classes=st.integers(2, 6), cuts=st.lists(st.integers(1, 29),
                                                                       max_size=4),
       seed=st.integers(0, 2**16), k=st.integers(1, 4))
def test_running_mean_is_independent_of_batching(n, classes, cuts, seed, k):
    rng = np.random.default_rng(seed)
    y_pred = rng.uniform(size=(n, classes))
    labels = rng.integers(0, classes, size=(n,))
    bounds = sorted({0, n, *[c for c in cuts if c < n]})
    for make in (metrics.SparseCategoricalAccuracy,
                 lambda: metrics.SparseTopKCategoricalAccuracy(k=k),
                 metrics.MeanAbsoluteError):
        whole, parts = make(), make()
        y_true = labels if not isinstance(whole, metrics.MeanAbsoluteError) \
            else np.eye(classes)[labels]
        whole.update_state(y_true, y_pred)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            parts.update_state(y_true[lo:hi], y_pred[lo:hi])
        assert np.isclose(whole.result(), parts.result(), rtol=1e-12, atol=1e-15)
    acc = metrics.SparseCategoricalAccuracy()
    acc.update_state(labels, y_pred)
    assert 0.0 <= acc.result() <= 1.0
    assert np.isclose(acc.result(), np.mean(np.argmax(y_pred, -1) == labels))
