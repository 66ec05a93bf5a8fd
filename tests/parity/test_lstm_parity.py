"""LSTM against tf.keras: the examples of spec section 1 as plain tests."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.cases.weights import gate_weights  # noqa: E402
from tests.helpers import random_inputs as _x  # noqa: E402


def _keras_lstm(units, features, seed=0, dtype="float32", batch=None, **kw):
    layer = keras.layers.LSTM(units, dtype=dtype, **kw)
    layer.build((batch, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights(gate_weights([tuple(w.shape) for w in layer.weights], 4, rng, dtype))
    return layer


def test_seed_shapes_keras_initialized_both_ways():
    """The seed README's sizes with Keras's own initialization, return_sequences on and off."""
    keras.utils.set_random_seed(123)
    x = np.random.default_rng(0).normal(size=(500, 12, 20)).astype("float32")
    for rs in (False, True):
        k = keras.layers.LSTM(100, return_sequences=rs)
        k.build((None, None, 20))
        report = parity.assert_parity(parity.from_keras(k), k, x)
        assert report.max_abs_err < 1e-6


def test_keras_weight_layout_is_i_f_c_o():
    """Our weights are Keras's: with the gate blocks permuted the outputs differ badly."""
    k = _keras_lstm(5, 3, return_sequences=True)
    x = _x((4, 6, 3))
    n = parity.from_keras(k)
    parity.assert_parity(n, k, x)
    K, R, b = n.get_weights()
    perm = lambda w: np.concatenate([np.split(w, 4, axis=-1)[j] for j in (0, 1, 3, 2)], axis=-1)  # noqa: E731
    n.set_weights([perm(K), perm(R), perm(b)])
    assert not parity.compare(n, k, x).passed


@pytest.mark.parametrize("kw", [
    {}, {"return_sequences": True}, {"return_state": True},
    {"return_sequences": True, "return_state": True}, {"go_backwards": True},
    {"go_backwards": True, "return_sequences": True, "return_state": True},
    {"use_bias": False, "return_sequences": True},
    {"activation": "relu", "recurrent_activation": "hard_sigmoid", "return_sequences": True},
    {"activation": None, "recurrent_activation": "softsign", "return_sequences": True},
    {"activation": "linear", "recurrent_activation": "sigmoid"},
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_options(kw, dtype):
    k = _keras_lstm(6, 4, dtype=dtype, **kw)
    parity.assert_parity(parity.from_keras(k), k, _x((3, 7, 4), dtype=dtype))


def test_go_backwards_sequence_is_in_processing_order():
    k = _keras_lstm(4, 3, go_backwards=True, return_sequences=True, return_state=True)
    fwd = _keras_lstm(4, 3, return_sequences=True)
    x = _x((2, 5, 3))
    seq, h, _ = (np.asarray(t) for t in k(x))
    np.testing.assert_allclose(seq, np.asarray(fwd(x[:, ::-1])), atol=1e-6)
    np.testing.assert_array_equal(seq[:, -1], h)
    n_seq, n_h, _ = parity.from_keras(k)(x)
    np.testing.assert_allclose(n_seq, seq, atol=1e-6)
    np.testing.assert_array_equal(n_seq[:, -1], n_h)


def test_initial_state_h_then_c():
    k = _keras_lstm(4, 3, return_state=True, return_sequences=True)
    x = _x((2, 5, 3))
    h0, c0 = _x((2, 4), 7), _x((2, 4), 8)
    parity.assert_parity(parity.from_keras(k), k, x, initial_state=[h0, c0])
    swapped = parity.compare(parity.from_keras(k), k, x, initial_state=[c0, h0])
    assert swapped.passed  # both sides swapped: still equal ...
    n = parity.from_keras(k)
    mixed = parity.compare_outputs("swap", n(x, initial_state=[c0, h0]),
                                   [np.asarray(t) for t in k(x, initial_state=[h0, c0])])
    assert not mixed.passed  # ... but the order matters


def test_single_timestep_and_float64_inputs_to_float32_layer():
    k = _keras_lstm(3, 2, return_sequences=True)
    parity.assert_parity(parity.from_keras(k), k, _x((4, 1, 2)))
    x64 = np.random.default_rng(3).normal(size=(4, 5, 2))  # float64 into a float32 layer
    out = parity.from_keras(k)(x64)
    assert out.dtype == np.float32
    parity.assert_parity(parity.from_keras(k), k, x64)


def test_unit_forget_bias_initial_bias_matches_keras():
    for kwargs, expected in [
        ({}, [0, 0, 1, 1, 0, 0, 0, 0]),
        ({"unit_forget_bias": False}, [0] * 8),
        ({"bias_initializer": "ones"}, [1] * 8),
    ]:
        k = keras.layers.LSTM(2, **kwargs)
        k.build((None, None, 1))
        assert np.asarray(k.cell.bias).tolist() == expected
        assert numpy_rnn.LSTM(2, 1, **kwargs).bias.tolist() == expected


def test_stateful_matches_keras_across_calls():
    k = _keras_lstm(4, 3, stateful=True, return_sequences=True, batch=2)
    n = parity.from_keras(k)
    x = _x((2, 6, 3))
    for part in (x[:, :3], x[:, 3:]):
        parity.assert_parity(n, k, part)
    k.reset_state()
    n.reset_state()
    parity.assert_parity(n, k, x[:, :2])


def test_legacy_tf_keras_lstm():
    tf_keras = pytest.importorskip("tf_keras")
    k = tf_keras.layers.LSTM(4, return_sequences=True)
    k.build((None, None, 3))
    rng = np.random.default_rng(0)
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 4, rng))
    x = _x((2, 5, 3))
    n = parity.from_keras(k)
    report = parity.compare_outputs("tf_keras", n(x), np.asarray(k(x)), ["output"])
    assert report.passed, report
