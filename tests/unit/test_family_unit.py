"""GRU, SimpleRNN, Bidirectional, Dense, Dropout and Masking without TensorFlow: shapes, dtypes,
errors, configs, and the masking rules on tiny cases checked by hand."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import GRU, LSTM, Bidirectional, Dense, Dropout, Masking, SimpleRNN

RNNS = [LSTM, GRU, SimpleRNN]


def _linear_rnn(**kw) -> SimpleRNN:
    """h_t = x_t + 0.5 * h_{t-1} (units=1, features=1): every output is checkable by hand."""
    layer = SimpleRNN(1, 1, activation="linear", return_sequences=True, return_state=True, **kw)
    layer.set_weights([np.array([[1.0]]), np.array([[0.5]]), np.array([0.0])])
    return layer


X = np.array([[1.0, 2.0, 3.0, 4.0]])[..., None]  # (1, 4, 1)


def _seq(out):
    return out[0][0, :, 0].tolist()


# -- masking rules, by hand ----------------------------------------------------------------
def test_hand_checked_no_mask():
    seq, h = _linear_rnn()(X)
    assert seq[0, :, 0].tolist() == [1.0, 2.5, 4.25, 6.125]
    assert h.tolist() == [[6.125]]


@pytest.mark.parametrize("mask, expected", [
    ([0, 0, 1, 1], [0.0, 0.0, 3.0, 5.5]),      # left pad: zeros before the first valid step
    ([1, 1, 0, 0], [1.0, 2.5, 2.5, 2.5]),      # right pad: last valid output repeated
    ([1, 0, 1, 0], [1.0, 1.0, 3.5, 3.5]),      # holes: state carried over masked steps
    ([0, 0, 0, 0], [0.0, 0.0, 0.0, 0.0]),      # fully masked
])
def test_hand_checked_mask_patterns(mask, expected):
    out = _linear_rnn()(X, mask=np.array([mask]))
    assert _seq(out) == expected
    assert out[1][0, 0] == ([v for v, m in zip(expected, mask) if m] or [0.0])[-1]


def test_hand_checked_zero_output_for_mask_and_the_last_output_gotcha():
    layer = _linear_rnn(zero_output_for_mask=True)
    out = layer(X, mask=np.array([[1, 1, 0, 0]]))
    assert _seq(out) == [1.0, 2.5, 0.0, 0.0]
    assert out[1].tolist() == [[2.5]]              # the state is still carried
    last = layer.forward(X, return_sequences=False, mask=np.array([[1, 1, 0, 0]]))[0]
    assert last.tolist() == [[0.0]]                # out_{T-1} is a masked step


def test_hand_checked_initial_state_with_left_padding():
    layer = _linear_rnn()
    out = layer(X, mask=np.array([[0, 1, 1, 1]]), initial_state=[np.array([[2.0]])])
    assert _seq(out) == [0.0, 3.0, 4.5, 6.25]      # output 0 at the masked step, not h0
    out = layer(X, mask=np.zeros((1, 4)), initial_state=[np.array([[2.0]])])
    assert _seq(out) == [0.0] * 4 and out[1].tolist() == [[2.0]]


def test_hand_checked_go_backwards_with_mask():
    layer = _linear_rnn(go_backwards=True)
    # processing order 4, 3, 2, 1 with the mask reversed alike: 4 and 3 are padding
    out = layer(X, mask=np.array([[1, 1, 0, 0]]))
    assert _seq(out) == [0.0, 0.0, 2.0, 2.0]


def test_hand_checked_gru_reset_after_uses_the_recurrent_bias_inside_the_reset():
    """units=1, z and r fixed at 0.5 (zero pre-activations): h = 0.5 h + 0.5 tanh(...)."""
    k = np.array([[0.0, 0.0, 1.0]])
    r = np.array([[0.0, 0.0, 1.0]])
    after = GRU(1, 1, reset_after=True, dtype="float64")
    after.set_weights([k, r, np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])])
    before = GRU(1, 1, reset_after=False, dtype="float64")
    before.set_weights([k, r, np.array([0.0, 0.0, 1.0])])
    x = np.array([[[1.0], [2.0]]])
    h1 = 0.5 * np.tanh(1.0 + 0.5 * (0.0 + 1.0))                       # after: r * (h R + b_rec)
    h2 = 0.5 * h1 + 0.5 * np.tanh(2.0 + 0.5 * (h1 + 1.0))
    np.testing.assert_allclose(after(x), [[h2]], rtol=1e-15)
    g1 = 0.5 * np.tanh(1.0 + 1.0 + 0.5 * 0.0)                         # before: (r * h) R
    g2 = 0.5 * g1 + 0.5 * np.tanh(2.0 + 1.0 + 0.5 * g1)
    np.testing.assert_allclose(before(x), [[g2]], rtol=1e-15)


# -- shapes, dtypes, lazy build -------------------------------------------------------------
@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rnn_shapes_and_dtype(cls, dtype):
    layer = cls(5, return_sequences=True, return_state=True, dtype=dtype, seed=0)
    assert not layer.built
    out = layer(np.random.default_rng(0).normal(size=(2, 4, 3)))
    assert layer.built and layer.features == 3
    assert out[0].shape == (2, 4, 5)
    assert all(o.dtype == np.dtype(dtype) for o in out)
    assert len(out) == 1 + len(layer.state_size)


def test_gru_and_simple_rnn_weight_shapes():
    assert [w.shape for w in GRU(4, 3).get_weights()] == [(3, 12), (4, 12), (2, 12)]
    assert [w.shape for w in GRU(4, 3, reset_after=False).get_weights()] == [(3, 12), (4, 12), (12,)]
    assert [w.shape for w in GRU(4, 3, use_bias=False).get_weights()] == [(3, 12), (4, 12)]
    assert [w.shape for w in SimpleRNN(4, 3).get_weights()] == [(3, 4), (4, 4), (4,)]


@pytest.mark.parametrize("merge_mode, width", [("concat", 8), ("sum", 4), ("mul", 4),
                                               ("ave", 4)])
def test_bidirectional_shapes(merge_mode, width):
    x = np.ones((2, 5, 3))
    layer = Bidirectional(GRU(4, return_sequences=True), merge_mode=merge_mode)
    assert layer(x).shape == (2, 5, width)
    layer = Bidirectional(LSTM(4, return_state=True), merge_mode=merge_mode)
    assert [o.shape for o in layer(x)] == [(2, width)] + [(2, 4)] * 4


def test_bidirectional_merge_none_and_merge_arithmetic():
    x = np.random.default_rng(1).normal(size=(2, 5, 3))
    base = SimpleRNN(3, return_sequences=True, seed=1)
    none = Bidirectional(base, merge_mode=None)
    y, y_rev = none(x)
    weights = none.get_weights()
    for mode, expect in [("concat", np.concatenate([y, y_rev], -1)), ("sum", y + y_rev),
                         ("mul", y * y_rev), ("ave", (y + y_rev) / 2)]:
        other = Bidirectional(base, merge_mode=mode, weights=weights)
        np.testing.assert_allclose(other(x), expect, rtol=1e-6)


def test_bidirectional_backward_is_the_wrapped_config_going_backwards_then_flipped():
    x = np.random.default_rng(2).normal(size=(2, 5, 3))
    layer = Bidirectional(SimpleRNN(3, return_sequences=True, seed=3), merge_mode=None)
    bw = layer.backward_layer
    assert bw.go_backwards and not layer.forward_layer.go_backwards
    assert layer.forward_layer.name.startswith("forward_") and bw.name.startswith("backward_")
    _, y_rev = layer(x)
    np.testing.assert_array_equal(y_rev, bw(x)[:, ::-1])


def test_bidirectional_weights_forward_first_and_seeded_directions_differ():
    layer = Bidirectional(GRU(2, 3, seed=5))
    w = layer.get_weights()
    assert len(w) == 6
    np.testing.assert_array_equal(w[0], layer.forward_layer.kernel)
    np.testing.assert_array_equal(w[3], layer.backward_layer.kernel)
    assert not np.array_equal(w[0], w[3])


def test_bidirectional_initial_state_split_half_and_half():
    x = np.random.default_rng(3).normal(size=(2, 4, 3))
    layer = Bidirectional(LSTM(2, return_state=True, seed=0))
    states = [np.full((2, 2), v) for v in (0.1, 0.2, 0.3, 0.4)]
    out = layer(x, initial_state=states)
    fw = layer.forward_layer(x, initial_state=states[:2])
    bw = layer.backward_layer(x, initial_state=states[2:])
    np.testing.assert_array_equal(out[1], fw[1])
    np.testing.assert_array_equal(out[3], bw[1])


def test_dense_on_any_rank_and_activation():
    layer = Dense(3, activation="relu", seed=0)
    for shape in [(4, 2), (4, 5, 2), (2, 3, 5, 2)]:
        x = np.random.default_rng(0).normal(size=shape)
        out = layer(x)
        assert out.shape == shape[:-1] + (3,) and out.dtype == np.float32
        np.testing.assert_allclose(out, np.maximum(x.astype(np.float32) @ layer.kernel
                                                   + layer.bias, 0), rtol=1e-6)


def test_dense_use_bias_false_and_float64():
    layer = Dense(2, use_bias=False, features=3, dtype="float64")
    assert [w.shape for w in layer.get_weights()] == [(3, 2)]
    assert layer(np.ones((1, 3))).dtype == np.float64


def test_dropout_identity_at_inference_and_inverted_in_training():
    x = np.random.default_rng(0).normal(size=(200, 50)).astype(np.float32)
    layer = Dropout(0.25, seed=0)
    np.testing.assert_array_equal(layer(x), x)
    y = layer(x, training=True)
    kept = y != 0
    assert 0.70 < kept.mean() < 0.80
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(Dropout(1.0)(x, training=True), 0)


def test_masking_rule_all_features_and_output_zeroed():
    x = np.array([[[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 0.0]]]) + 0.0
    x[0, 3] = [5.0, 5.0]
    layer = Masking(5.0)
    assert layer.compute_mask(x).tolist() == [[True, True, True, False]]
    assert layer(x)[0, 3].tolist() == [0.0, 0.0]
    assert Masking()(x)[0, 1].tolist() == [0.0, 1.0]
    assert Masking().compute_mask(x).tolist() == [[False, True, True, True]]


def test_nan_mask_value_masks_nothing():
    x = np.full((1, 2, 2), np.nan)
    assert Masking(float("nan")).compute_mask(x).tolist() == [[True, True]]


# -- stateful ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", RNNS)
def test_stateful_two_calls_equal_one_call(cls):
    x = np.random.default_rng(4).normal(size=(2, 6, 3))
    mask = np.ones((2, 6), bool)
    mask[0, 2] = mask[1, 4:] = False
    whole = cls(3, 3, seed=1, return_sequences=True)(x, mask=mask)
    layer = cls(3, 3, seed=1, return_sequences=True, stateful=True)
    parts = [layer(x[:, :2], mask=mask[:, :2]), layer(x[:, 2:], mask=mask[:, 2:])]
    # The state is carried, but the "previous output" is not: a masked step that starts the
    # second call outputs zeros (as in Keras), where one long call repeats the previous output.
    expected = whole.copy()
    expected[0, 2] = 0.0
    np.testing.assert_allclose(np.concatenate(parts, axis=1), expected, rtol=1e-6, atol=1e-7)
    layer.reset_state()
    assert all(not s.any() for s in layer.states)
    np.testing.assert_array_equal(layer(x[:, :2], mask=mask[:, :2]), parts[0])


def test_bidirectional_stateful_and_reset():
    x = np.random.default_rng(5).normal(size=(2, 4, 3))
    layer = Bidirectional(GRU(3, stateful=True, return_sequences=True, seed=0))
    first = layer(x)
    assert len(layer.states) == 2
    assert not np.array_equal(layer(x), first)
    layer.reset_state()
    np.testing.assert_array_equal(layer(x), first)
    with pytest.raises(ValueError, match="batch size"):
        layer(np.ones((3, 4, 3)))
    with pytest.raises(ValueError, match="stateful"):
        Bidirectional(GRU(3)).reset_state()


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", RNNS)
def test_mask_shape_mismatch(cls):
    with pytest.raises(ValueError, match=r"`mask` must have shape .*\(2, 4\).*Received.*\(2, 3\)"):
        cls(3)(np.ones((2, 4, 3)), mask=np.ones((2, 3)))


def test_bidirectional_mask_shape_mismatch():
    with pytest.raises(ValueError, match="`mask`"):
        Bidirectional(GRU(3))(np.ones((2, 4, 3)), mask=np.ones((2, 5)))


@pytest.mark.parametrize("cls, bad", [(GRU, [(3, 12), (4, 12), (12,)]),
                                      (GRU, [(3, 9), (4, 12), (2, 12)]),
                                      (SimpleRNN, [(3, 4), (4, 4), (5,)]),
                                      (Dense, [(3, 4), (3,)])])
def test_wrong_weight_shapes_name_the_weight(cls, bad):
    layer = cls(4, features=3)
    with pytest.raises(ValueError, match=r"(Weight `\w+`|kernel).*must have shape.*Received"):
        layer.set_weights([np.zeros(s) for s in bad])


def test_wrong_weight_count_and_type():
    with pytest.raises(ValueError, match="expected 3 weights"):
        GRU(4, 3).set_weights([np.zeros((3, 12)), np.zeros((4, 12))])
    with pytest.raises(ValueError, match="expected 6 weights"):
        Bidirectional(GRU(4, 3)).set_weights([np.zeros((3, 12))])
    with pytest.raises(TypeError, match="list of arrays"):
        Bidirectional(GRU(4, 3)).set_weights(np.zeros(3))


def test_unbuilt_layers_build_from_weights():
    gru = GRU(2)
    gru.set_weights([np.zeros((5, 6)), np.zeros((2, 6)), np.zeros((2, 6))])
    assert gru.built and gru.features == 5
    dense = Dense(2)
    dense.set_weights([np.zeros((7, 2)), np.zeros(2)])
    assert dense.features == 7
    bi = Bidirectional(SimpleRNN(2))
    bi.set_weights([np.zeros((4, 2)), np.zeros((2, 2)), np.zeros(2)] * 2)
    assert bi.built and bi.features == 4


@pytest.mark.parametrize("make", [
    lambda: Bidirectional(GRU(3), merge_mode="max"),
    lambda: Bidirectional(GRU(3, go_backwards=True)),
    lambda: Bidirectional(Dense(3)),
    lambda: GRU(0),
    lambda: GRU(3, reset_after="yes"),
    lambda: GRU(3, recurrent_activation="Sigmoid"),
    lambda: SimpleRNN(3, activation="glu"),
    lambda: Dense(-1),
    lambda: Dropout(1.5),
    lambda: Dropout(0.5, noise_shape="abc"),
    lambda: Masking("zero"),
])
def test_bad_arguments(make):
    with pytest.raises((ValueError, TypeError)):
        make()


def test_error_messages_name_argument_and_value():
    with pytest.raises(ValueError, match=r"`merge_mode`.*Received: merge_mode='max'"):
        Bidirectional(GRU(3), merge_mode="max")
    with pytest.raises(ValueError, match=r"`units`.*Received: units=0"):
        Dense(0)
    with pytest.raises(ValueError, match=r"`initial_state`.*2 arrays.*Received: 3"):
        Bidirectional(GRU(2))(np.ones((1, 3, 2)), initial_state=[np.zeros((1, 2))] * 3)
    with pytest.raises(TypeError, match="mask_value"):
        Masking(None)


# -- configs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: GRU(3, 2, reset_after=False, activation="relu", recurrent_activation="hard_sigmoid",
                return_sequences=True, go_backwards=True, seed=4, dtype="float64"),
    lambda: SimpleRNN(3, 2, activation=None, return_state=True, stateful=True, seed=2),
    lambda: Dense(3, activation="softmax", features=2, seed=1),
    lambda: Bidirectional(LSTM(3, 2, return_sequences=True, seed=7), merge_mode="ave"),
    lambda: Bidirectional(GRU(3, 2, seed=7), merge_mode=None,
                          backward_layer=GRU(2, 2, go_backwards=True, seed=9)),
])
def test_config_round_trip(make):
    layer = make()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    for a, b in zip(clone.get_weights(), layer.get_weights()):
        np.testing.assert_array_equal(a, b)  # seeded: the same initial weights
    x = np.random.default_rng(0).normal(size=(2, 4, 2))
    a, b = clone(x), layer(x)
    for u, w in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        np.testing.assert_array_equal(u, w)


def test_weightless_configs():
    for layer in (Masking(0.5, name="m"), Dropout(0.3, noise_shape=(None, 1, 4))):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        assert clone.get_weights() == []


def test_exports():
    for name in ("GRU", "SimpleRNN", "Bidirectional", "Dense", "Dropout", "Masking"):
        assert name in numpy_rnn.__all__ and getattr(numpy_rnn, name)


# -- empty batch (issue 10, item 11): Keras 3 gives (0, ...) for GRU and SimpleRNN, raises for LSTM
@pytest.mark.parametrize("cls", [GRU, SimpleRNN])
def test_empty_batch_gives_empty_outputs_of_keras_shapes(cls):
    x = np.zeros((0, 5, 3), np.float32)
    assert cls(4)(x).shape == (0, 4)
    assert cls(4, go_backwards=True)(x, mask=np.zeros((0, 5))).shape == (0, 4)
    assert cls(4, return_sequences=True)(x).shape == (0, 5, 4)
    assert [a.shape for a in cls(4, return_sequences=True, return_state=True)(x)] == [
        (0, 5, 4), (0, 4)]
    assert Bidirectional(cls(4))(x).shape == (0, 8)
    assert Bidirectional(cls(4, return_sequences=True), merge_mode="sum")(x).shape == (0, 5, 4)
    assert [a.shape for a in Bidirectional(cls(4, return_state=True))(x)] == [
        (0, 8), (0, 4), (0, 4)]
    stateful = cls(4, stateful=True)
    stateful(x)
    assert [s.shape for s in stateful.states] == [(0, 4)]


def test_empty_batch_on_lstm_is_a_value_error_naming_inputs_and_changes_nothing():
    x = np.zeros((0, 5, 3), np.float32)
    for layer in (LSTM(4), LSTM(4, return_sequences=True), Bidirectional(LSTM(4))):
        with pytest.raises(ValueError, match=r"`inputs`.*empty batch.*\(0, 5, 3\)"):
            layer(x)
        assert not layer.built
