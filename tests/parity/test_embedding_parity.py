"""Embedding against keras.layers.Embedding on CPU (spec section 2)."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import parity  # noqa: E402
from numpy_rnn import Embedding, TokenIdError  # noqa: E402


@pytest.fixture()
def pair():
    k = keras.layers.Embedding(10, 3, mask_zero=True)
    k.build()
    return parity.from_keras(k), k


@pytest.mark.parametrize("ids", [
    np.array([[1, 2, 0, 9]]),
    np.array([-1, -10, 3]),                      # negative ids wrap
    np.array([[1.7, 2.9, -0.5]], np.float32),    # floats truncate toward zero
    np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], np.int64),
    np.array([3, 4], np.uint8),
])
def test_lookup_matches_keras(pair, ids):
    n, k = pair
    parity.assert_parity(n, k, ids)


def test_mask_matches_keras(pair):
    n, k = pair
    ids = np.array([[0, 3, 0, 2]])
    np.testing.assert_array_equal(n.compute_mask(ids), np.asarray(k.compute_mask(ids)))
    np.testing.assert_array_equal(n(ids)[0, 0], np.asarray(k(ids))[0, 0])  # row 0, not zeroed


@pytest.mark.parametrize("bad", [10, -11])
def test_out_of_range_raises_like_keras(pair, bad):
    n, k = pair
    with pytest.raises(tf.errors.InvalidArgumentError):
        k(np.array([[1, bad]]))
    with pytest.raises(TokenIdError, match=str(bad)):
        n(np.array([[1, bad]]))


def test_to_keras_round_trip():
    n = Embedding(7, 4, seed=3)
    k = parity.to_keras(n)
    ids = np.array([[0, 6, 2]])
    parity.assert_parity(n, k, ids)
    back = parity.from_keras(k)
    np.testing.assert_array_equal(back.embeddings, n.embeddings)
