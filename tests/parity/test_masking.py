"""Masking (spec section 1.4) for every recurrent layer, against tf.keras.

Each test checks two things: the NumPy layer equals the Keras layer on the spec's example, and the
Keras output itself has the structure the spec describes (so a Keras upgrade that changes the
rules fails here and names the rule).  Expected values always come from Keras.
"""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.cases.weights import gate_weights  # noqa: E402
from parity.bridge import output_kinds, output_names  # noqa: E402

LAYERS = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
N_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}
UNITS, DIM, VOCAB = 2, 3, 8

#: The spec's id rows (0 = padding): left pad, right pad, holes, fully masked.
IDS = np.array([[0, 0, 3, 4, 5], [3, 4, 5, 0, 0], [3, 0, 4, 0, 5], [0, 0, 0, 0, 0]])
LEFT, RIGHT, HOLES, EMPTY = range(4)


def _embedded(ids):
    """Deterministic 'embedding' of the ids (row 0 is not zero, as in Keras)."""
    table = np.random.default_rng(11).normal(size=(VOCAB, DIM)).astype("float32")
    return table[ids], ids != 0


def _pair(cls, seed=0, batch=None, **kw):
    k = getattr(keras.layers, cls)(UNITS, **kw)
    k.build((batch, None, DIM))
    rng = np.random.default_rng(seed)
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], LAYERS[cls], rng))
    return k, parity.from_keras(k)


def _as_list(out):
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def _run(k, n, x, **call):
    """Run each layer once (stateful layers advance once), assert parity, return Keras's outputs."""
    tcall = {key: (tf.constant(v) if not isinstance(v, list) else [tf.constant(s) for s in v])
             for key, v in call.items()}
    expected = _as_list(k(tf.constant(x), **tcall))
    got = _as_list(n(x, **call))
    report = parity.compare_outputs(n.name, got, expected, output_names(n, len(got)),
                                    output_kinds(n, len(got)))
    assert report.passed, str(report)
    return expected


@pytest.fixture(params=sorted(LAYERS))
def cls(request):
    return request.param


def test_carry_rules_on_the_spec_rows(cls):
    k, n = _pair(cls, return_sequences=True, return_state=True)
    x, mask = _embedded(IDS)
    seq, h, *rest = _run(k, n, x, mask=mask)
    zero = np.zeros(UNITS, np.float32)
    # left pad: zeros before the first valid step
    np.testing.assert_array_equal(seq[LEFT, :2], [zero, zero])
    assert np.abs(seq[LEFT, 2]).max() > 0
    # right pad: the last valid output is repeated
    np.testing.assert_array_equal(seq[RIGHT, 3], seq[RIGHT, 2])
    np.testing.assert_array_equal(seq[RIGHT, 4], seq[RIGHT, 2])
    # holes: the previous output is repeated over a masked step
    np.testing.assert_array_equal(seq[HOLES, 1], seq[HOLES, 0])
    np.testing.assert_array_equal(seq[HOLES, 3], seq[HOLES, 2])
    # fully masked: zero outputs and the initial (zero) state
    np.testing.assert_array_equal(seq[EMPTY], np.zeros((5, UNITS)))
    np.testing.assert_array_equal(h[EMPTY], zero)
    for s in rest:
        np.testing.assert_array_equal(s[EMPTY], zero)
    # return_sequences=False returns out_{T-1} == final h for rows with a valid step
    np.testing.assert_array_equal(seq[:3, -1], h[:3])


def test_padding_position_does_not_change_the_final_state(cls):
    k, n = _pair(cls, return_state=True)
    x, mask = _embedded(IDS[:3])
    x_plain, _ = _embedded(np.array([[3, 4, 5]]))
    _, *states = _run(k, n, x, mask=mask)
    _, *plain = _run(k, n, x_plain)
    for s, p in zip(states, plain):
        np.testing.assert_allclose(s, np.repeat(p, 3, axis=0), atol=1e-6)
    for got, s in zip(n(x, mask=mask)[1:], states):
        np.testing.assert_allclose(got, s, atol=1e-6)


def test_initial_state_with_left_padding_outputs_zeros_not_h0(cls):
    k, n = _pair(cls, return_sequences=True, return_state=True)
    x, mask = _embedded(IDS)
    rng = np.random.default_rng(3)
    init = [rng.normal(size=(4, UNITS)).astype("float32") for _ in range(N_STATES[cls])]
    seq, *states = _run(k, n, x, mask=mask, initial_state=init)
    np.testing.assert_array_equal(seq[LEFT, :2], np.zeros((2, UNITS)))
    np.testing.assert_array_equal(seq[EMPTY], np.zeros((5, UNITS)))
    for s, s0 in zip(states, init):
        np.testing.assert_array_equal(s[EMPTY], s0[EMPTY])  # fully masked row keeps h0 (c0)


def test_zero_output_for_mask(cls):
    k, n = _pair(cls, return_sequences=True, zero_output_for_mask=True)
    x, mask = _embedded(IDS)
    (seq,) = _run(k, n, x, mask=mask)
    np.testing.assert_array_equal(seq[~mask], 0.0)
    assert np.all(np.abs(seq[RIGHT, :3]).max(axis=-1) > 0)


def test_zero_output_for_mask_gotcha_without_sequences(cls):
    """return_sequences=False returns out_{T-1}: all zeros for a right-padded row."""
    k, n = _pair(cls, zero_output_for_mask=True)
    x, mask = _embedded(IDS)
    (last,) = _run(k, n, x, mask=mask)
    np.testing.assert_array_equal(last[RIGHT], np.zeros(UNITS))
    assert np.abs(last[LEFT]).max() > 0


def test_go_backwards_reverses_the_mask_with_the_input(cls):
    k, n = _pair(cls, go_backwards=True, return_sequences=True, return_state=True)
    fwd_k, _ = _pair(cls, return_sequences=True, return_state=True)  # same seed, same weights
    x, mask = _embedded(IDS)
    seq, *states = _run(k, n, x, mask=mask)
    ref_seq, *ref_states = (np.asarray(o) for o in fwd_k(x[:, ::-1], mask=mask[:, ::-1]))
    np.testing.assert_allclose(seq, ref_seq, atol=1e-6)
    # right padding processed backwards is leading padding: zeros first
    np.testing.assert_array_equal(seq[RIGHT, :2], np.zeros((2, UNITS)))


def test_float_mask_equals_bool_mask(cls):
    k, n = _pair(cls, return_sequences=True)
    x, mask = _embedded(IDS)
    (a,) = _run(k, n, x, mask=mask)
    (b,) = _run(k, n, x, mask=mask.astype("float32"))
    np.testing.assert_array_equal(a, b)


def test_stateful_two_calls_equal_one_call_and_reset(cls):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6, DIM)).astype("float32")
    mask = np.ones((3, 6), bool)
    mask[0, 1] = mask[1, 4:] = mask[2, :2] = False
    k, n = _pair(cls, stateful=True, batch=3, return_sequences=True)
    one_k, one_n = _pair(cls, return_sequences=True)
    whole = _run(one_k, one_n, x, mask=mask)[0]
    first = _run(k, n, x[:, :3], mask=mask[:, :3])[0]
    second = _run(k, n, x[:, 3:], mask=mask[:, 3:])[0]
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-6)
    k.reset_state()
    n.reset_state()
    again = _run(k, n, x[:, :3], mask=mask[:, :3])[0]
    np.testing.assert_array_equal(again, first)


def test_stateful_call_starting_on_a_masked_step_outputs_zeros(cls):
    """The state is carried across calls, the previous *output* is not: Keras restarts it at 0."""
    x = np.random.default_rng(6).normal(size=(1, 4, DIM)).astype("float32")
    mask = np.array([[True, True, False, True]])
    k, n = _pair(cls, stateful=True, batch=1, return_sequences=True)
    one_k, one_n = _pair(cls, return_sequences=True)
    (whole,) = _run(one_k, one_n, x, mask=mask)
    _run(k, n, x[:, :2], mask=mask[:, :2])
    (second,) = _run(k, n, x[:, 2:], mask=mask[:, 2:])
    np.testing.assert_array_equal(second[0, 0], np.zeros(UNITS))     # not whole[0, 2]
    assert np.abs(whole[0, 2]).max() > 0
    np.testing.assert_allclose(second[0, 1], whole[0, 3], atol=1e-6)  # the state was carried


def test_masking_layer_and_embedding_mask_feed_the_same_mask(cls):
    """Masking(mask_value) and an explicit mask give identical results (spec 1.4)."""
    k, n = _pair(cls, return_sequences=True)
    x, mask = _embedded(IDS)
    x = np.where(mask[..., None], x, 0.0).astype("float32")
    k_masking = keras.layers.Masking(0.0)
    n_masking = parity.from_keras(k_masking)
    np.testing.assert_array_equal(n_masking.compute_mask(x), np.asarray(k_masking.compute_mask(x)))
    np.testing.assert_array_equal(n_masking.compute_mask(x), mask)
    model = keras.Sequential([keras.Input((5, DIM)), k_masking, k])
    expected = np.asarray(model(x))
    got = n(n_masking(x), mask=n_masking.compute_mask(x))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_mask_shape_mismatch_is_a_value_error(cls):
    _, n = _pair(cls)
    x, mask = _embedded(IDS)
    with pytest.raises(ValueError, match=r"mask.*\(4, 5\).*\(4, 4\)"):
        n(x, mask=mask[:, :4])


# -- empty batch (issue 10, item 11) ---------------------------------------------------------------
EMPTY_OPTIONS = [{}, {"return_sequences": True}, {"return_state": True},
                 {"return_sequences": True, "return_state": True}, {"go_backwards": True}]


def _shapes(out):
    return [tuple(o.shape) for o in _as_list(out)]


@pytest.mark.parametrize("options, wrap", [(o, False) for o in EMPTY_OPTIONS] + [
    (o, True) for o in EMPTY_OPTIONS if not o.get("go_backwards")])
def test_empty_batch_shapes_match_keras(cls, options, wrap):
    """(0, T, F): Keras's GRU and SimpleRNN return empty outputs, its LSTM raises; numpy_rnn
    gives the same shapes, or a ValueError naming `inputs` where Keras raises."""
    x = np.zeros((0, 5, DIM), np.float32)
    mask = np.zeros((0, 5), bool)
    k, n = _pair(cls, **options)
    if wrap:
        k, n = keras.layers.Bidirectional(k), numpy_rnn.Bidirectional(n)
    for call in ({}, {"mask": mask}):
        try:
            expected = _shapes(k(tf.constant(x), **{key: tf.constant(v) for key, v in call.items()}))
        except Exception as exc:  # noqa: BLE001 - Keras 3's LSTM fails inside TensorFlow
            assert cls == "LSTM", f"Keras raised for {cls}: {exc!r}"
            with pytest.raises(ValueError, match=r"`inputs`.*empty batch"):
                n(x, **call)
            continue
        assert _shapes(n(x, **call)) == expected


def test_empty_batch_through_a_sequential_matches_keras():
    k = keras.Sequential([keras.Input((5,), dtype="int32"),
                          keras.layers.Embedding(VOCAB, DIM, mask_zero=True),
                          keras.layers.GRU(UNITS, return_sequences=True),
                          keras.layers.SimpleRNN(UNITS), keras.layers.Dense(1)])
    n = parity.from_keras(k)
    ids = np.zeros((0, 5), np.int32)
    want = tuple(k(ids).shape)
    assert want == (0, 1)
    assert n(ids).shape == want and n.predict(ids).shape == want
