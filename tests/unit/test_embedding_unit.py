"""Embedding without TensorFlow: Keras's CPU semantics from spec section 2."""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import Embedding, EmbeddingLayer, TokenIdError


def _emb(**kw):
    e = Embedding(10, 3, seed=0, **kw)
    e.set_weights([np.arange(30, dtype=np.float32).reshape(10, 3)])
    return e


def test_lookup_and_any_rank():
    e = _emb()
    assert e([1, 2]).tolist() == [[3, 4, 5], [6, 7, 8]]
    assert e(np.zeros((2, 3, 4), int)).shape == (2, 3, 4, 3)
    assert e(np.array(7)).shape == (3,)


def test_negative_ids_wrap_and_float_ids_truncate():
    e = _emb()
    np.testing.assert_array_equal(e([-1, -10]), e([9, 0]))
    np.testing.assert_array_equal(e([1.7, 2.9, -0.5]), e([1, 2, 0]))


@pytest.mark.parametrize("bad", [10, -11, 1000])
def test_out_of_range_ids(bad):
    with pytest.raises(TokenIdError, match=rf"\[0, 10\).*id {bad} at index"):
        _emb()([[1, bad]])
    with pytest.raises(IndexError):
        _emb()([bad])


def test_mask_zero_marks_but_does_not_zero():
    e = _emb(mask_zero=True)
    ids = np.array([[0, 3, 0]])
    assert e.compute_mask(ids).tolist() == [[False, True, False]]
    assert e(ids)[0, 0].tolist() == [0, 1, 2]  # row 0, not zeros
    assert _emb().compute_mask(ids) is None


def test_default_init_is_uniform_005():
    w = Embedding(1000, 50, seed=1).embeddings
    assert w.dtype == np.float32 and np.abs(w).max() <= 0.05 and np.abs(w).max() > 0.049


def test_seed_names_and_config_round_trip():
    e = EmbeddingLayer(vocab_size=12, hidden_dim=4, seed=3)
    assert (e.vocab_size, e.hidden_dim, e.input_dim, e.output_dim) == (12, 4, 12, 4)
    clone = Embedding.from_config(e.get_config())
    assert clone.get_config() == e.get_config()
    clone2 = EmbeddingLayer.from_config(e.get_config())
    assert clone2.input_dim == 12


def test_bad_input():
    with pytest.raises(ValueError, match="input_dim"):
        Embedding(0, 3)
    with pytest.raises(TypeError, match="ids"):
        _emb()(["a", "b"])
    with pytest.raises(ValueError, match="finite"):
        _emb()([np.nan])
    with pytest.raises(ValueError, match=r"embeddings.*\(10, 3\).*\(10, 4\)"):
        _emb().set_weights([np.zeros((10, 4))])
