"""Hypothesis: MultiHeadAttention, Attention and AdditiveAttention equal their Keras twins over
heads x key / value sizes x query / key lengths x masks (query, value, key, attention, causal;
value rows with every key masked included) x returned scores (Keras's explicit path) or not (its
fused path), float32 and float64: outputs and every gradient (weights, query, value, key), in
both directions of the weight copy.  float32 disagreements beyond the table are refereed by a
float64 Keras twin (parity.bridge.referee / grad_referee)."""
from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from hypothesis import given  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.bridge.grad_referee import assert_refereed_gradients  # noqa: E402
from parity.bridge.referee import assert_refereed_parity  # noqa: E402
from parity.strategies import attention as ats  # noqa: E402


def _shapes(inputs):
    return [tuple(x.shape) for x in inputs]


def keras_mha(case: ats.MHACase):
    k = keras.layers.MultiHeadAttention(**case.config)
    shapes = _shapes(case.inputs)
    k.build(*shapes)
    k.set_weights(case.weights)
    return k


def check_pair(n, k, case) -> None:
    assert_refereed_parity(n, k, case.inputs, **case.call)
    assert_refereed_gradients(n, k, case.inputs, **case.call)


@given(case=ats.mha_cases())
def test_multi_head_attention_keras_to_numpy(case):
    k = keras_mha(case)
    check_pair(parity.from_keras(k), k, case)


@given(case=ats.mha_cases())
def test_multi_head_attention_numpy_to_keras(case):
    n = numpy_rnn.MultiHeadAttention(**case.config)
    n.build(*_shapes(case.inputs))
    n.set_weights(case.weights)
    check_pair(n, parity.to_keras(n), case)


@given(case=ats.attention_cases())
def test_attention_layers_both_directions(case):
    k = getattr(keras.layers, case.layer)(**case.config)
    k.build(_shapes(case.inputs))
    k.set_weights(case.weights)
    check_pair(parity.from_keras(k), k, case)
    n = getattr(numpy_rnn, case.layer)(**case.config)
    n.build(_shapes(case.inputs))
    n.set_weights(case.weights)
    check_pair(n, parity.to_keras(n), case)
