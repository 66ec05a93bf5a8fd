"""Bidirectional against tf.keras: every merge mode around LSTM, GRU and SimpleRNN, masks,
return_state order, initial_state split, stateful, weight order, explicit backward layer."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.cases.weights import gate_weights  # noqa: E402
from tests.helpers import random_inputs as _x  # noqa: E402

GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
N_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1],
                 [1, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0]], bool)


def _keras_bi(cls, units=4, features=3, merge_mode="concat", seed=0, batch=None,
              dtype="float32", **kw):
    layer = keras.layers.Bidirectional(getattr(keras.layers, cls)(units, dtype=dtype, **kw),
                                       merge_mode=merge_mode, dtype=dtype)
    layer.build((batch, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights(gate_weights([tuple(w.shape) for w in layer.weights], GATES[cls], rng,
                                   dtype))
    return layer


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("cls", sorted(GATES))
@pytest.mark.parametrize("return_sequences", [True, False])
def test_merge_modes_with_mask_and_states(merge_mode, cls, return_sequences):
    k = _keras_bi(cls, merge_mode=merge_mode, return_sequences=return_sequences,
                  return_state=True)
    n = parity.from_keras(k)
    report = parity.assert_parity(n, k, _x((5, 6, 3)), mask=MASK)
    n_out = 2 if merge_mode is None else 1
    assert len(report.outputs) == n_out + 2 * N_STATES[cls]


def test_output_order_is_output_forward_states_backward_states():
    k = _keras_bi("LSTM", return_sequences=True, return_state=True)
    n = parity.from_keras(k)
    x = _x((2, 5, 3))
    seq, h_fw, c_fw, h_bw, c_bw = n(x)
    assert parity.bridge.output_specs(n, 5) == [("output", "output"), ("h_fw", "output"),
                                                ("c_fw", "state"), ("h_bw", "output"),
                                                ("c_bw", "state")]
    # forward half of the sequence ends in h_fw; the backward half starts (input time 0) in h_bw
    np.testing.assert_array_equal(seq[:, -1, :4], h_fw)
    np.testing.assert_array_equal(seq[:, 0, 4:], h_bw)
    k_seq, *k_states = (np.asarray(o) for o in k(x))
    for got, want in zip([h_fw, c_fw, h_bw, c_bw], k_states):
        np.testing.assert_allclose(got, want, atol=2e-6)


def test_backward_output_is_reversed_back_only_with_sequences():
    k = _keras_bi("GRU", merge_mode=None, return_sequences=True)
    bw = parity.from_keras(k).backward_layer
    x = _x((2, 5, 3))
    _, y_rev = (np.asarray(o) for o in k(x))
    # the backward layer's own output is in processing order; the wrapper flips it back
    np.testing.assert_allclose(y_rev, bw(x)[:, ::-1], atol=1e-6)
    k_last = _keras_bi("GRU", merge_mode=None)
    _, y_rev_last = (np.asarray(o) for o in k_last(x))
    np.testing.assert_allclose(y_rev_last, parity.from_keras(k_last).backward_layer(x), atol=1e-6)


def test_inner_layers_get_zero_output_for_mask_equal_to_return_sequences():
    for rs in (True, False):
        k = _keras_bi("LSTM", return_sequences=rs)
        n = parity.from_keras(k)
        assert k.forward_layer.zero_output_for_mask is rs
        assert n.forward_layer.zero_output_for_mask is rs
        assert n.backward_layer.zero_output_for_mask is rs
        n2 = numpy_rnn.Bidirectional(numpy_rnn.LSTM(4, return_sequences=rs))
        assert n2.forward_layer.zero_output_for_mask is rs


@pytest.mark.parametrize("cls", sorted(GATES))
def test_initial_state_split_half_and_half(cls):
    k = _keras_bi(cls, return_sequences=True, return_state=True)
    init = [_x((2, 4), 10 + i) for i in range(2 * N_STATES[cls])]
    parity.assert_parity(parity.from_keras(k), k, _x((2, 6, 3)), initial_state=init,
                         mask=MASK[1:3])


def test_weights_forward_first_then_backward():
    k = _keras_bi("GRU")
    n = parity.from_keras(k)
    for got, want in zip(n.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert n.weight_names()[:3] == ["forward_kernel", "forward_recurrent_kernel", "forward_bias"]
    np.testing.assert_array_equal(n.forward_layer.kernel, np.asarray(k.forward_layer.cell.kernel))
    np.testing.assert_array_equal(n.backward_layer.kernel,
                                  np.asarray(k.backward_layer.cell.kernel))


@pytest.mark.parametrize("merge_mode", ["concat", "ave", None])
def test_numpy_to_keras(merge_mode):
    n = numpy_rnn.Bidirectional(numpy_rnn.LSTM(4, 3, return_sequences=True, return_state=True),
                                merge_mode=merge_mode)
    n.set_weights(gate_weights([w.shape for w in n.get_weights()], 4, np.random.default_rng(3)))
    k = parity.to_keras(n)
    parity.assert_parity(n, k, _x((5, 6, 3)), mask=MASK)
    for got, want in zip(n.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_stateful_two_calls_carry_state_and_reset():
    k = _keras_bi("GRU", batch=5, stateful=True, return_sequences=True)
    one = _keras_bi("GRU", return_sequences=True)  # same seed: same weights, not stateful
    n, n_one = parity.from_keras(k), parity.from_keras(one)
    x = _x((5, 6, 3))
    parity.assert_parity(n, k, x[:, :3], mask=MASK[:, :3])
    parity.assert_parity(n, k, x[:, 3:], mask=MASK[:, 3:])
    assert len(n.states) == 2
    # The forward half of two stateful calls equals one call over the whole sequence (the
    # backward half differs: each call's backward pass starts from the previous call's state).
    n.reset_state()
    a, b = n(x[:, :3], mask=MASK[:, :3]), n(x[:, 3:], mask=MASK[:, 3:])
    whole = n_one(x, mask=MASK)
    np.testing.assert_allclose(np.concatenate([a, b], axis=1)[..., :4], whole[..., :4], atol=1e-6)
    k.reset_state()
    n.reset_state()
    np.testing.assert_array_equal(n.states[0], 0.0)
    np.testing.assert_array_equal(n.states[1], 0.0)
    parity.assert_parity(n, k, x[:, 3:], mask=MASK[:, 3:])
    with pytest.raises(ValueError, match="batch size"):
        n(_x((2, 3, 3)))


def test_keras_stateful_return_state_is_a_keras_bug():
    """Keras 3.15.1: calling Bidirectional(stateful=True, return_state=True) raises TypeError
    in compute_mask (`generator * 2`), with or without a mask; numpy_rnn returns the outputs,
    and its states match the inner Keras layers run by hand."""
    k = _keras_bi("GRU", batch=5, stateful=True, return_sequences=True, return_state=True)
    n = parity.from_keras(k)
    x = _x((5, 6, 3))
    if keras.__version__ == "3.15.1":
        with pytest.raises(TypeError):
            k(x)
        k.reset_state()  # the inner layers ran (and moved their states) before the error
    out = n(x, mask=MASK)
    assert [o.shape for o in out] == [(5, 6, 8), (5, 4), (5, 4)]
    k_fw = np.asarray(k.forward_layer(x, mask=MASK)[1])
    k_bw = np.asarray(k.backward_layer(x, mask=MASK)[1])
    np.testing.assert_allclose(out[1], k_fw, atol=1e-6)
    np.testing.assert_allclose(out[2], k_bw, atol=1e-6)


def test_explicit_backward_layer():
    fw = keras.layers.GRU(4, return_sequences=True)
    bw = keras.layers.GRU(3, activation="relu", go_backwards=True, return_sequences=True)
    k = keras.layers.Bidirectional(fw, backward_layer=bw)
    k.build((None, None, 3))
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 3, np.random.default_rng(1)))
    n = parity.from_keras(k)
    assert n.backward_layer.units == 3
    parity.assert_parity(n, k, _x((5, 6, 3)), mask=MASK)
    parity.assert_parity(n, parity.to_keras(n), _x((5, 6, 3)), mask=MASK)


def test_float64_inner_layer_in_a_float32_wrapper():
    """Keras casts the inputs to the wrapper's float32 and the merged output back to float32,
    but returns the float64 states uncast."""
    k = keras.layers.Bidirectional(keras.layers.GRU(4, dtype="float64", return_state=True))
    k.build((None, None, 3))
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 3, np.random.default_rng(1),
                               "float64"))
    n = parity.from_keras(k)
    x = _x((2, 5, 3), dtype="float64")
    assert [o.dtype.name for o in k(x)] == ["float32", "float64", "float64"]
    assert [o.dtype.name for o in n(x)] == ["float32", "float64", "float64"]
    parity.assert_parity(n, k, x)


def test_errors_like_keras():
    with pytest.raises(ValueError, match="merge_mode"):
        numpy_rnn.Bidirectional(numpy_rnn.GRU(3), merge_mode="max")
    with pytest.raises(ValueError):
        keras.layers.Bidirectional(keras.layers.GRU(3), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        numpy_rnn.Bidirectional(numpy_rnn.GRU(3, go_backwards=True))
    with pytest.raises(ValueError):
        keras.layers.Bidirectional(keras.layers.GRU(3, go_backwards=True))
    with pytest.raises(ValueError, match="return_sequences"):
        numpy_rnn.Bidirectional(numpy_rnn.GRU(3), backward_layer=numpy_rnn.GRU(
            3, go_backwards=True, return_sequences=True))


def test_legacy_tf_keras_bidirectional():
    tf_keras = pytest.importorskip("tf_keras")
    k = tf_keras.layers.Bidirectional(tf_keras.layers.LSTM(4, return_sequences=True,
                                                           return_state=True), merge_mode="sum")
    k.build((None, None, 3))
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 4, np.random.default_rng(0)))
    parity.assert_parity(parity.from_keras(k), k, _x((5, 6, 3)), mask=MASK)
