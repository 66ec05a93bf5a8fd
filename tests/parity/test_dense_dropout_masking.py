"""Dense, Dropout and Masking against tf.keras."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.cases.weights import gate_weights  # noqa: E402
from tests.helpers import random_inputs as _x  # noqa: E402


def _keras_dense(units, features, dtype="float32", **kw):
    k = keras.layers.Dense(units, dtype=dtype, **kw)
    k.build((None, features))
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 1, np.random.default_rng(0),
                               dtype))
    return k


# -- Dense -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (2, 2, 4, 3)], ids=["2-D", "3-D", "4-D"])
@pytest.mark.parametrize("kw", [{}, {"activation": "relu"}, {"activation": "softmax"},
                                {"activation": "tanh", "use_bias": False}])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dense_matches_keras(shape, kw, dtype):
    k = _keras_dense(5, 3, dtype=dtype, **kw)
    parity.assert_parity(parity.from_keras(k), k, _x(shape, dtype=dtype))


def test_dense_weights_layout_and_lazy_build():
    k = _keras_dense(4, 3)
    n = numpy_rnn.Dense(4)
    assert not n.built and n.get_weights() == []
    n(_x((2, 3)))
    assert [w.path.split("/")[-1] for w in k.weights] == n.weight_names()
    assert [tuple(w.shape) for w in k.weights] == [w.shape for w in n.get_weights()]


def test_dense_numpy_to_keras_and_keras_init():
    n = numpy_rnn.Dense(6, activation="sigmoid", features=4, seed=2)
    parity.assert_parity(n, parity.to_keras(n), _x((3, 7, 4)))
    keras.utils.set_random_seed(2)
    k = keras.layers.Dense(6)
    k.build((None, 4))
    parity.assert_parity(parity.from_keras(k), k, _x((3, 4)))


def test_dense_float64_input_to_float32_layer():
    k = _keras_dense(3, 2)
    n = parity.from_keras(k)
    x = _x((4, 2), dtype="float64")
    assert n(x).dtype == np.float32 and np.asarray(k(x)).dtype == np.float32
    parity.assert_parity(n, k, x)


def test_dense_errors():
    n = numpy_rnn.Dense(3)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        n(np.zeros(4))
    with pytest.raises(ValueError):
        keras.layers.Dense(3)(np.zeros(4, "float32"))
    n(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="built for 4 features"):
        n(np.zeros((2, 5)))


def test_legacy_tf_keras_dense():
    tf_keras = pytest.importorskip("tf_keras")
    k = tf_keras.layers.Dense(4, activation="elu")
    k.build((None, 3))
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 1, np.random.default_rng(0)))
    parity.assert_parity(parity.from_keras(k), k, _x((2, 5, 3)))


# -- Dropout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0])
def test_dropout_is_the_identity_at_inference(rate):
    k = keras.layers.Dropout(rate)
    n = parity.from_keras(k)
    x = _x((3, 4, 5))
    parity.assert_parity(n, k, x)
    np.testing.assert_array_equal(n(x), np.asarray(k(x, training=False)))
    assert parity.to_keras(n).rate == rate


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_dropout_rate_out_of_range_raises_like_keras(rate):
    with pytest.raises(ValueError):
        keras.layers.Dropout(rate)
    with pytest.raises(ValueError, match="rate"):
        numpy_rnn.Dropout(rate)


def test_dropout_between_layers_in_a_keras_model():
    dense = _keras_dense(4, 3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.5), dense])
    x = _x((6, 3))
    expected = np.asarray(model.predict(x, verbose=0))
    drop = parity.from_keras(model.layers[0])
    np.testing.assert_allclose(parity.from_keras(dense)(drop(x)), expected, atol=1e-6)


# -- Masking ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mask_value", [0.0, 0.5, -1.0])
def test_masking_output_and_mask_match_keras(mask_value):
    x = _x((3, 6, 2))
    x[0, 1] = mask_value          # every feature equal: masked
    x[1, 2, 0] = mask_value       # only one feature equal: not masked
    x[2] = mask_value             # a fully masked row
    k = keras.layers.Masking(mask_value)
    n = parity.from_keras(k)
    parity.assert_parity(n, k, x)
    expected = np.asarray(k.compute_mask(x))
    np.testing.assert_array_equal(n.compute_mask(x), expected)
    assert not expected[0, 1] and expected[1, 2] and not expected[2].any()
    assert parity.to_keras(n).mask_value == mask_value


def test_masking_compares_after_the_cast_to_float32():
    """float64 inputs that round to float32(mask_value) are masked: Keras casts the inputs to the
    layer's float32 before comparing, and the mask it attaches to the output is that one."""
    x = np.full((1, 3, 2), np.float64(np.float32(0.1)))  # != 0.1 in float64, == in float32
    x[0, 1] = 0.2
    k = keras.layers.Masking(0.1)
    n = numpy_rnn.Masking(0.1)
    out = k(x)
    expected = np.asarray(out._keras_mask)
    np.testing.assert_array_equal(expected, [[False, True, False]])
    np.testing.assert_array_equal(n.compute_mask(x), expected)
    np.testing.assert_array_equal(n(x), np.asarray(out))


def test_masking_feeds_a_recurrent_layer_like_a_keras_model():
    gru = keras.layers.GRU(3, return_sequences=True)
    gru.build((None, None, 2))
    gru.set_weights(gate_weights([tuple(w.shape) for w in gru.weights], 3,
                                 np.random.default_rng(2)))
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.Masking(0.0), gru])
    x = _x((3, 6, 2))
    x[0, :2] = 0.0
    x[1, 4:] = 0.0
    x[2, 3] = 0.0
    expected = np.asarray(model(x))
    masking, n_gru = numpy_rnn.Masking(0.0), parity.from_keras(gru)
    got = n_gru(masking(x), mask=masking.compute_mask(x))
    np.testing.assert_allclose(got, expected, atol=1e-6)
