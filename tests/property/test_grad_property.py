"""Hypothesis: gradients of LSTM, GRU, SimpleRNN, Bidirectional and Dense equal tf.GradientTape's
(``parity.compare_gradients``) over the shapes x options x mask patterns x initial states of the
forward property tests (``parity.strategies``), float32 and float64, with the ``"gradient"``
tolerance of ``numpy_rnn.testing.TABLE`` (float32 disagreements refereed by float64 Keras, as the
forward property tests are: ``parity.bridge.grad_referee``).  One test per layer family: the
``ci`` profile draws 40 examples each (the recurrent ones half of the profile's count: see
``HALF_OF_THE_PROFILE``).  Recurrent layers differentiate the sum of every output
(states included); Dense an MSE against random targets (the sum of a softmax has no gradient)."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from hypothesis import given, settings  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity import strategies  # noqa: E402
from parity.bridge.grad_referee import assert_refereed_gradients  # noqa: E402
from parity.strategies import family as fs  # noqa: E402


#: tests/property/test_grad_rnn_property.py draws the same strategies for the same layers against
#: the same tf.GradientTape, through the tests' own referee instead of ``parity``'s: each file draws
#: half of the profile's examples for the recurrent layers, and as hypothesis derives a
#: derandomized run's examples from the test function, the two halves are different examples
#: (the ``ci`` profile: 20 + 20 per layer family, as many as the 40 of one file before; the
#: ``thorough`` profile: 250 + 250).  Saves about 9 CPU seconds per file under ``ci``.
HALF_OF_THE_PROFILE = settings(max_examples=max(settings.default.max_examples // 2, 1))


def _recurrent(cls_name: str, case) -> None:
    n = getattr(numpy_rnn, cls_name)(**case.config)
    n.set_weights(case.weights)
    k = parity.to_keras(n)
    assert_refereed_gradients(n, k, case.inputs, **strategies.call_kwargs(case))


@HALF_OF_THE_PROFILE
@given(case=strategies.lstm_cases(masks=strategies.MASK_KINDS))
def test_lstm_gradients(case):
    _recurrent("LSTM", case)


@HALF_OF_THE_PROFILE
@given(case=fs.gru_cases())
def test_gru_gradients(case):
    _recurrent("GRU", case)


@HALF_OF_THE_PROFILE
@given(case=fs.simple_rnn_cases())
def test_simple_rnn_gradients(case):
    _recurrent("SimpleRNN", case)


@HALF_OF_THE_PROFILE
@given(case=fs.bidirectional_cases())
def test_bidirectional_gradients(case):
    cfg = case.config
    inner = getattr(numpy_rnn, cfg["layer"])(**cfg["layer_config"])
    n = numpy_rnn.Bidirectional(inner, merge_mode=cfg["merge_mode"], dtype=cfg["dtype"])
    n.set_weights(case.weights)
    assert_refereed_gradients(n, parity.to_keras(n), case.inputs, **strategies.call_kwargs(case))


@given(case=fs.dense_cases())
def test_dense_gradients(case):
    n = numpy_rnn.Dense(**case.config)
    n.set_weights(case.weights)
    out = n(case.inputs)
    targets = np.random.default_rng(out.size).normal(size=out.shape).astype(out.dtype)
    assert_refereed_gradients(n, parity.to_keras(n), case.inputs, targets=targets, loss="mse")
