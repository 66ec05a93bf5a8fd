"""Mask propagation through a functional graph at a node with several positional inputs
(``MultiHeadAttention(query, value)``), checked where the 2026-12-07 mutation run found a gap:
the graph must (1) hand the layer its inputs' masks and (2) give its output the layer's
``compute_mask`` (Keras: the query's mask), so that an LSTM downstream skips the padded steps.
The expectation is the same layers called by hand with the masks Keras's rules give.
NumPy only."""
from __future__ import annotations

import numpy as np

import numpy_rnn as nr

IDS = np.array([[3, 4, 0, 0], [1, 2, 5, 0], [2, 2, 2, 2]])
MASK = IDS != 0


def _randomize(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) * scale
                       for w in model.get_weights()])
    return model


def test_attention_node_passes_the_query_mask_on_to_the_lstm():
    ids_in = nr.Input((4,), dtype="int32")
    emb = nr.Embedding(6, 4, mask_zero=True, dtype="float64")
    mha = nr.MultiHeadAttention(num_heads=2, key_dim=2, dtype="float64")
    lstm = nr.LSTM(3, return_sequences=True, dtype="float64")
    e = emb(ids_in)
    model = _randomize(nr.Model(ids_in, lstm(mha(e, e))))
    got = model(IDS)
    x = emb(IDS)
    att = mha(x, x, query_mask=MASK, value_mask=MASK)
    want = lstm(att, mask=MASK)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # the masks matter here: without them the answer differs
    assert not np.allclose(got, lstm(mha(x, x)), atol=1e-6)
    assert not np.allclose(got, lstm(att), atol=1e-6)
