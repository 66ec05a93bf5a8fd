"""GRU against tf.keras: both reset_after conventions, every option, weight layout, stateful."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.cases.weights import gate_weights  # noqa: E402
from tests.helpers import random_inputs as _x  # noqa: E402


def _keras_gru(units, features, seed=0, dtype="float32", batch=None, **kw):
    layer = keras.layers.GRU(units, dtype=dtype, **kw)
    layer.build((batch, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights(gate_weights([tuple(w.shape) for w in layer.weights], 3, rng, dtype))
    return layer


@pytest.mark.parametrize("reset_after", [True, False])
def test_weight_shapes_and_names_match_keras(reset_after):
    k = keras.layers.GRU(5, reset_after=reset_after)
    k.build((None, None, 3))
    n = numpy_rnn.GRU(5, 3, reset_after=reset_after)
    assert [w.path.split("/")[-1] for w in k.weights] == n.weight_names()
    assert [tuple(w.shape) for w in k.weights] == [w.shape for w in n.get_weights()]
    assert n.get_weights()[2].shape == ((2, 15) if reset_after else (15,))


@pytest.mark.parametrize("kw", [
    {}, {"return_sequences": True}, {"return_state": True},
    {"return_sequences": True, "return_state": True},
    {"go_backwards": True, "return_sequences": True, "return_state": True},
    {"use_bias": False, "return_sequences": True},
    {"activation": "relu", "recurrent_activation": "hard_sigmoid", "return_sequences": True},
    {"activation": None, "recurrent_activation": "softsign", "return_sequences": True},
])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_options_keras_to_numpy(kw, reset_after, dtype):
    k = _keras_gru(6, 4, dtype=dtype, reset_after=reset_after, **kw)
    parity.assert_parity(parity.from_keras(k), k, _x((3, 7, 4), dtype=dtype))


@pytest.mark.parametrize("reset_after", [True, False])
def test_numpy_to_keras(reset_after):
    n = numpy_rnn.GRU(5, 3, reset_after=reset_after, return_sequences=True, return_state=True,
                      seed=4)
    n.set_weights(gate_weights([w.shape for w in n.get_weights()], 3, np.random.default_rng(2)))
    parity.assert_parity(n, parity.to_keras(n), _x((2, 6, 3)))


def test_keras_default_initialization():
    keras.utils.set_random_seed(7)
    k = keras.layers.GRU(8, return_sequences=True)
    k.build((None, None, 5))
    parity.assert_parity(parity.from_keras(k), k, _x((4, 9, 5)))


def test_reset_after_conventions_really_differ():
    """Same kernels, other convention: Keras's outputs move well beyond tolerance, so the two
    code paths are each pinned by the parity tests above."""
    k_after = _keras_gru(5, 3, reset_after=True, return_sequences=True)
    k_before = keras.layers.GRU(5, reset_after=False, return_sequences=True)
    k_before.build((None, None, 3))
    K, R, b = k_after.get_weights()
    k_before.set_weights([K, R, b[0] + b[1]])
    x = _x((3, 6, 3))
    assert np.abs(np.asarray(k_after(x)) - np.asarray(k_before(x))).max() > 1e-2
    n_before = parity.from_keras(k_before)
    parity.assert_parity(n_before, k_before, x)


def test_gate_order_is_z_r_h():
    k = _keras_gru(5, 3, return_sequences=True)
    x = _x((4, 6, 3))
    n = parity.from_keras(k)
    K, R, b = n.get_weights()
    swap = lambda w: np.concatenate([np.split(w, 3, axis=-1)[j] for j in (1, 0, 2)], axis=-1)  # noqa: E731
    n.set_weights([swap(K), swap(R), swap(b)])
    assert not parity.compare(n, k, x).passed


def test_initial_state_and_float64_inputs_to_float32_layer():
    k = _keras_gru(4, 3, return_sequences=True, return_state=True)
    n = parity.from_keras(k)
    x = _x((2, 5, 3), dtype="float64")
    h0 = _x((2, 4), 9, dtype="float64")
    report = parity.assert_parity(n, k, x, initial_state=[h0])
    assert n(x, initial_state=[h0])[0].dtype == np.float32
    assert report.passed


def test_single_timestep():
    k = _keras_gru(3, 2, return_state=True)
    parity.assert_parity(parity.from_keras(k), k, _x((2, 1, 2)))


@pytest.mark.parametrize("reset_after", [True, False])
def test_stateful_carries_state_across_calls_like_keras(reset_after):
    k = _keras_gru(4, 3, stateful=True, batch=2, reset_after=reset_after, return_sequences=True)
    n = parity.from_keras(k)
    x = _x((2, 6, 3))
    for part in (x[:, :2], x[:, 2:5], x[:, 5:]):
        parity.assert_parity(n, k, part)
    np.testing.assert_allclose(n.states[0], np.asarray(k.states[0]), atol=1e-6)
    k.reset_state()
    n.reset_state()
    np.testing.assert_array_equal(n.states[0], 0.0)
    parity.assert_parity(n, k, x[:, :2])
    with pytest.raises(ValueError, match="batch size"):
        n(_x((3, 2, 3)))
    with pytest.raises(ValueError):
        k(_x((3, 2, 3)))


def test_stateful_to_keras_keeps_the_state():
    n = numpy_rnn.GRU(4, 3, stateful=True, return_sequences=True, seed=1)
    x = _x((2, 4, 3))
    n(x[:, :2])
    k = parity.to_keras(n)
    np.testing.assert_allclose(np.asarray(k.states[0]), n.states[0], atol=0)
    parity.assert_parity(n, k, x[:, 2:])


def test_legacy_tf_keras_gru():
    tf_keras = pytest.importorskip("tf_keras")
    for reset_after in (True, False):
        k = tf_keras.layers.GRU(4, reset_after=reset_after, return_sequences=True,
                                return_state=True)
        k.build((None, None, 3))
        k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 3,
                                   np.random.default_rng(0)))
        mask = np.array([[1, 1, 1, 0, 0], [0, 1, 0, 1, 1]], bool)
        parity.assert_parity(parity.from_keras(k), k, _x((2, 5, 3)), mask=mask)
