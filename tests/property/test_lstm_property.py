"""Hypothesis: numpy_rnn.LSTM equals keras.layers.LSTM over random shapes, options, masks and
initial states, for float32 and float64, in both directions of the weight copy."""
from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from hypothesis import given  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.bridge.referee import assert_refereed_parity  # noqa: E402
from parity import strategies  # noqa: E402

CASES = strategies.lstm_cases(masks=strategies.MASK_KINDS)


def keras_to_numpy(case: strategies.LSTMCase) -> None:
    k = keras.layers.LSTM(**case.config)
    k.build((None, None, case.inputs.shape[-1]))
    k.set_weights(case.weights)
    assert_refereed_parity(parity.from_keras(k), k, case.inputs, **strategies.call_kwargs(case))


def numpy_to_keras(case: strategies.LSTMCase) -> None:
    n = numpy_rnn.LSTM(**case.config)
    n.set_weights(case.weights)
    assert_refereed_parity(n, parity.to_keras(n), case.inputs, **strategies.call_kwargs(case))


@given(case=CASES)
def test_keras_initialized_weights_copied_into_numpy(case):
    keras_to_numpy(case)


@given(case=CASES)
def test_numpy_weights_copied_into_keras(case):
    numpy_to_keras(case)


@given(case=strategies.lstm_cases(dtypes=("float32",), max_batch=3, max_timesteps=4))
def test_keras_default_initialization(case):
    """Keras's own initializers (glorot / orthogonal / unit forget bias), not ours."""
    keras.utils.set_random_seed(int(case.inputs.size))
    k = keras.layers.LSTM(**case.config)
    k.build((None, None, case.inputs.shape[-1]))
    assert_refereed_parity(parity.from_keras(k), k, case.inputs, **strategies.call_kwargs(case))
