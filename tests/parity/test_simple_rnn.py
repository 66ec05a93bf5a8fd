"""SimpleRNN against tf.keras: options, weight layout, initial state, stateful, legacy tf_keras."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.cases.weights import gate_weights  # noqa: E402
from tests.helpers import random_inputs as _x  # noqa: E402


def _keras_rnn(units, features, seed=0, dtype="float32", batch=None, **kw):
    layer = keras.layers.SimpleRNN(units, dtype=dtype, **kw)
    layer.build((batch, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights(gate_weights([tuple(w.shape) for w in layer.weights], 1, rng, dtype))
    return layer


def test_weight_shapes_and_names_match_keras():
    k = keras.layers.SimpleRNN(5)
    k.build((None, None, 3))
    n = numpy_rnn.SimpleRNN(5, 3)
    assert [w.path.split("/")[-1] for w in k.weights] == n.weight_names()
    assert [tuple(w.shape) for w in k.weights] == [w.shape for w in n.get_weights()]


@pytest.mark.parametrize("kw", [
    {}, {"return_sequences": True}, {"return_state": True},
    {"go_backwards": True, "return_sequences": True, "return_state": True},
    {"use_bias": False, "return_sequences": True},
    {"activation": "relu", "return_sequences": True},
    {"activation": None, "return_sequences": True},
    {"activation": "hard_sigmoid"},
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_options_keras_to_numpy(kw, dtype):
    k = _keras_rnn(6, 4, dtype=dtype, **kw)
    parity.assert_parity(parity.from_keras(k), k, _x((3, 7, 4), dtype=dtype))


def test_numpy_to_keras_and_keras_default_init():
    n = numpy_rnn.SimpleRNN(5, 3, return_sequences=True, return_state=True, seed=4)
    n.set_weights(gate_weights([w.shape for w in n.get_weights()], 1, np.random.default_rng(2)))
    parity.assert_parity(n, parity.to_keras(n), _x((2, 6, 3)))
    keras.utils.set_random_seed(3)
    k = keras.layers.SimpleRNN(7, return_sequences=True)
    k.build((None, None, 4))
    parity.assert_parity(parity.from_keras(k), k, _x((3, 8, 4)))


def test_initial_state():
    k = _keras_rnn(4, 3, return_sequences=True, return_state=True)
    h0 = _x((2, 4), 9)
    parity.assert_parity(parity.from_keras(k), k, _x((2, 5, 3)), initial_state=[h0])


def test_stateful_carries_state_across_calls_like_keras():
    k = _keras_rnn(4, 3, stateful=True, batch=2, return_state=True)
    n = parity.from_keras(k)
    x = _x((2, 6, 3))
    parity.assert_parity(n, k, x[:, :4])
    parity.assert_parity(n, k, x[:, 4:])
    k.reset_state()
    n.reset_state()
    parity.assert_parity(n, k, x[:, 4:])


def test_legacy_tf_keras_simple_rnn():
    tf_keras = pytest.importorskip("tf_keras")
    k = tf_keras.layers.SimpleRNN(4, return_sequences=True, return_state=True)
    k.build((None, None, 3))
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 1, np.random.default_rng(0)))
    mask = np.array([[1, 1, 1, 0, 0], [0, 1, 0, 1, 1]], bool)
    parity.assert_parity(parity.from_keras(k), k, _x((2, 5, 3)), mask=mask)
