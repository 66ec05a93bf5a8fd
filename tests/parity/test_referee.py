"""The float64 referee (parity/referee.py): settles float32 disagreements that come from Keras's
own rounding on ill-conditioned cases, and still fails a real bug."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.bridge.referee import refereed_parity  # noqa: E402

# A hypothesis example (hypothesis 6.170, ci profile) where outputs reach -5.8e6 after 4 steps with a
# linear recurrent activation: Keras float32 is 69 from the float64 answer, numpy_rnn float32 16.
X = np.array([[[3.845543], [-1.1140602], [-1.6278409], [2.18187]],
              [[-0.12043763], [1.6970303], [4.1462917], [0.15825588]],
              [[-3.6491885], [-3.0260139], [-1.5773821], [-1.2031444]]], np.float32)
K = np.array([[0.40083504, 0.53431445, 0.9770904, 0.03784186, -0.82094204, 0.5924511, 0.23858729,
               0.41900533, -0.69123447, -1.6692371, 0.9123803, 2.246979]], np.float32)
R = np.array([[0.08301525, 0.09444764, 0.11291509, 0.468205, 0.35335627, 0.0456882, -0.62033945,
               -0.58799773, -1.2238336, -0.1435636, -0.2566016, -0.1796863],
              [0.59422463, 0.3118117, 0.10002623, -0.14164713, 1.0444124, 0.00165029, -0.3434807,
               0.5031849, 0.06990539, -0.06455077, -0.00683386, 0.6213608],
              [0.0717142, 0.21202412, -0.24676464, 0.7380875, 0.4939046, -0.13995093, 0.5740669,
               0.75296146, 1.0017085, -0.39781052, 0.45878902, 0.23103717]], np.float32)
CFG = dict(units=3, use_bias=False, activation="elu", recurrent_activation="linear")


def _pair(weights):
    k = keras.layers.LSTM(**CFG)
    k.build((None, None, 1))
    k.set_weights(weights)
    return parity.from_keras(k), k


def test_plain_comparison_fails_on_keras_rounding_and_the_referee_passes_it():
    n, k = _pair([K, R])
    plain = parity.compare(n, k, X)
    assert not plain.passed  # the table alone calls this a failure ...
    report = refereed_parity(n, k, X)
    assert report.passed, str(report)  # ... but numpy_rnn is closer to the exact answer than Keras
    assert "refereed by float64 Keras" in report.outputs[0].note


def test_referee_still_fails_a_planted_bug_on_the_same_case():
    n, k = _pair([K, R])
    wrong = [K.copy(), R.copy()]
    wrong[1][:, 3:6] *= 1.001  # forget-gate recurrent weights off by 0.1%
    n.set_weights(wrong)
    report = refereed_parity(n, k, X)
    assert not report.passed
    assert "farther from exact" in report.outputs[0].note


def test_referee_is_not_consulted_when_the_plain_comparison_passes():
    n, k = _pair([K * 0.1, R * 0.1])
    report = refereed_parity(n, k, X)
    assert report.passed and all(d.note == "" for d in report.outputs)


def _tf_keras_pair(weights, **cfg):
    tf_keras = pytest.importorskip("tf_keras")
    k = tf_keras.layers.LSTM(**{**CFG, **cfg})
    k.build((None, None, 1))
    k.set_weights(weights)
    return parity.from_keras(k), k


def test_referee_of_a_tf_keras_layer_rebuilds_it_in_tf_keras():
    """Against tf_keras (`--reference tf_keras`) the float64 twin is a tf_keras layer, so Keras 2's
    semantics stay (hard_sigmoid = clip(0.2x + 0.5)); same verdicts as with Keras 3."""
    from parity.bridge.referee import keras_float64_copy

    n, k = _tf_keras_pair([K, R])
    assert not parity.compare(n, k, X).passed
    report = refereed_parity(n, k, X)
    assert report.passed, str(report)
    n.set_weights([K, R * np.float32(1.001)])  # every recurrent weight off by 0.1%
    assert not refereed_parity(n, k, X).passed
    _, hard = _tf_keras_pair([K * 0.5, R * 0.5], recurrent_activation="hard_sigmoid")
    twin = keras_float64_copy(hard, X)
    assert type(twin).__module__.startswith("tf_keras") and twin.dtype == "float64"
    np.testing.assert_allclose(np.asarray(twin(X.astype(np.float64))), np.asarray(hard(X)),
                               rtol=1e-5, atol=1e-6)
