"""parity.from_keras / to_keras / compare: refusals, shape checks, reports."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402


def test_unsupported_layer_names_layer_and_type():
    with pytest.raises(parity.UnsupportedKerasFeature, match=r"'conv'.*Conv2D"):
        parity.from_keras(keras.layers.Conv2D(2, 3, name="conv"))


def test_custom_activation_refused():
    def my_act(x):
        return x

    k = keras.layers.LSTM(3, activation=my_act, name="lstm_custom")
    k.build((None, None, 2))
    with pytest.raises(parity.UnsupportedKerasFeature, match=r"lstm_custom.*activation.*my_act"):
        parity.from_keras(k)


def test_mixed_precision_refused():
    k = keras.layers.LSTM(3, dtype="mixed_float16")
    k.build((None, None, 2))
    with pytest.raises(parity.UnsupportedKerasFeature, match="float16"):
        parity.from_keras(k)


def test_legacy_time_major_refused():
    tf_keras = pytest.importorskip("tf_keras")
    k = tf_keras.layers.LSTM(3, time_major=True)
    k.build((None, None, 2))
    with pytest.raises(parity.UnsupportedKerasFeature, match="time_major"):
        parity.from_keras(k)


def test_unbuilt_keras_rnn_refused():
    with pytest.raises(ValueError, match="not built"):
        parity.from_keras(keras.layers.LSTM(3))


def test_copy_checks_shapes_and_names_weight():
    with pytest.raises(ValueError, match=r"`recurrent_kernel`.*\(3, 12\).*\(3, 8\)"):
        parity.bridge.copy_weights([np.zeros((2, 12)), np.zeros((3, 12))],
                                   ["kernel", "recurrent_kernel"],
                                   {"kernel": (2, 12), "recurrent_kernel": (3, 8)}, "test")


def test_to_keras_from_numpy_weights_round_trip():
    n = numpy_rnn.LSTM(5, 3, seed=1, return_sequences=True, go_backwards=True,
                       activation="softsign", dtype="float64")
    k = parity.to_keras(n)
    assert k.go_backwards and k.return_sequences and k.dtype == "float64"
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    parity.assert_parity(n, k, x)
    back = parity.from_keras(k)
    for a, b in zip(back.get_weights(), n.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_report_names_every_output_and_fails_loudly():
    k = keras.layers.LSTM(3, return_sequences=True, return_state=True)
    k.build((None, None, 2))
    n = parity.from_keras(k)
    x = np.random.default_rng(0).normal(size=(2, 4, 2)).astype("float32")
    report = parity.compare(n, k, x)
    assert [o.name for o in report.outputs] == ["sequence", "h", "c"]
    assert report.passed and all(o.error_by_timestep is not None
                                 for o in report.outputs[:1])
    n.bias = n.bias + 0.1
    with pytest.raises(AssertionError) as info:
        parity.assert_parity(n, k, x)
    msg = str(info.value)
    assert "FAIL" in msg and "worst at" in msg and "atol=" in msg and "first bad timestep" in msg
