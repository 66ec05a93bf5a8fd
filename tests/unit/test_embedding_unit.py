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


def test_mask_zero_on_negative_and_float_ids_is_computed_on_the_raw_ids():
    """Keras's ``compute_mask`` is ``ids != 0`` on the ids as given: -10 reads row 0 but is not
    padding; floats are compared before truncation (0.5 and -0.5 read row 0 and are kept);
    0.0 and -0.0 are padding."""
    e = _emb(mask_zero=True)
    ids = np.array([[1, 0, -10, -1, 9]])
    assert e.compute_mask(ids).tolist() == [[True, False, True, True, True]]
    np.testing.assert_array_equal(e(ids)[0, 2], e(ids)[0, 1])  # -10 wraps to row 0
    floats = np.array([[0.5, -0.5, 0.0, -0.0, -9.9, 2.7]], np.float32)
    assert e.compute_mask(floats).tolist() == [[True, True, False, False, True, True]]
    np.testing.assert_array_equal(e(floats)[0, :2], e([[0, 0]])[0])


def test_mask_for_negative_ids_reaches_the_lstm_of_a_sequential():
    """Hand-derived mask [T, F, T, T, F] (-10 is not padding): equal to running the layers with
    that mask; a mask taken after wrapping ([T, F, F, T, F]) gives a different output."""
    from numpy_rnn import LSTM, Sequential

    model = Sequential([_emb(mask_zero=True), LSTM(2, return_sequences=True, seed=1)])
    ids = np.array([[3, 0, -10, 4, 0]])
    emb, lstm = model.layers
    want = lstm(emb(ids), mask=np.array([[True, False, True, True, False]]))
    np.testing.assert_array_equal(model(ids), want)
    np.testing.assert_array_equal(model.predict(ids), want)
    wrapped = lstm(emb(ids), mask=np.array([[True, False, False, True, False]]))
    assert not np.array_equal(model(ids), wrapped)


def test_a_model_with_int_input_dtype_truncates_float_ids_before_the_mask():
    """keras.Input(dtype='int32') converts float ids first: 0.5 becomes 0 and is padding."""
    from numpy_rnn import LSTM, Sequential

    ids = np.array([[3, 0.5, -0.5, 4, 2.9]], np.float32)
    hand = np.array([[True, False, False, True, True]])
    for dtype, mask in (("int32", hand), ("float32", np.ones_like(hand)), (None, np.ones_like(hand))):
        model = Sequential([_emb(mask_zero=True), LSTM(2, return_sequences=True, seed=1)],
                           input_dtype=dtype)
        emb, lstm = model.layers
        want = lstm(emb(ids), mask=mask)
        np.testing.assert_array_equal(model(ids), want)
        np.testing.assert_array_equal(model.predict(ids), want)
    model = Sequential([_emb(mask_zero=True)], input_dtype="int32")
    for bad in (np.array([[1.0, np.nan]]), np.array([[1.0, 3e9]])):
        with pytest.raises(ValueError, match="`inputs`"):
            model(bad)
