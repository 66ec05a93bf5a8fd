"""Embedding against keras.layers.Embedding on CPU (spec section 2)."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import parity  # noqa: E402
from numpy_rnn import Embedding, TokenIdError  # noqa: E402
from parity.cases.weights import gate_weights  # noqa: E402


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


#: Negative (wrapping) and float (truncating) ids, with hand-derived masks for input_dim=10:
#: -10 reads row 0 but is not padding; 0.5 / -0.5 read row 0 and are not padding as floats.
MASK_ROWS = [
    (np.array([[1, 0, -10, -1, 9, 0]], np.int32), [[True, False, True, True, True, False]]),
    (np.array([[0.5, -0.5, 0.0, -0.0, -9.9, 2.7]], np.float32),
     [[True, True, False, False, True, True]]),
    (np.array([[-10, -10, 0, 3, -3, 0]], np.int64), [[True, True, False, True, True, False]]),
]


@pytest.mark.parametrize("ids, hand", MASK_ROWS)
def test_mask_of_negative_and_float_ids_matches_keras(pair, ids, hand):
    n, k = pair
    want = np.asarray(k.compute_mask(ids))
    np.testing.assert_array_equal(want, hand)  # Keras's rule, so an upgrade that changes it fails
    np.testing.assert_array_equal(n.compute_mask(ids), want)
    parity.assert_parity(n, k, ids)


def _masked_model(input_dtype):
    rng = np.random.default_rng(5)
    model = keras.Sequential([keras.Input((6,), dtype=input_dtype),
                              keras.layers.Embedding(10, 3, mask_zero=True),
                              keras.layers.LSTM(2, return_sequences=True)])
    emb, lstm = model.layers
    emb.set_weights([rng.normal(size=(10, 3)).astype("float32")])
    lstm.set_weights(gate_weights([tuple(w.shape) for w in lstm.weights], 4, rng))
    return model


@pytest.mark.parametrize("input_dtype", ["int32", "float32"])
@pytest.mark.parametrize("ids, hand", MASK_ROWS)
def test_mask_of_negative_and_float_ids_flows_into_the_lstm_as_in_keras(input_dtype, ids, hand):
    """The whole Sequential against Keras: the mask the LSTM sees is Keras's (computed on the ids
    after Keras converts them to the model's input dtype: an int32 model masks 0.5)."""
    k = _masked_model(input_dtype)
    n = parity.from_keras(k)
    want = np.asarray(k(ids))
    np.testing.assert_allclose(n(ids), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(n.predict(ids), want, rtol=1e-6, atol=1e-6)
    # the LSTM holds its output on exactly the steps Keras masks (hand-derived for floats in a
    # float32 model; an int32 model truncates 0.5 and -0.5 to padding first)
    mask = np.asarray(hand)[0]
    if input_dtype == "int32":
        mask = np.trunc(ids[0]) != 0
    for t in range(1, 6):
        if not mask[t]:
            np.testing.assert_array_equal(want[0, t], want[0, t - 1])
