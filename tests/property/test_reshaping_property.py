"""Hypothesis: the reshaping layers (Flatten, Reshape, Permute, RepeatVector, Cropping1D,
ZeroPadding1D, UpSampling1D, TimeDistributed around Dense / Flatten / LSTM / GRU /
Bidirectional, with per-step masks) equal their tf.keras twins over random shapes and options,
float32 and float64, forward and every gradient, in both directions of the weight copy
(``parity.from_keras`` and ``parity.to_keras``).  tests/property/test_reshaping_teeth.py plants
bugs and runs these same checks."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from hypothesis import given  # noqa: E402

import parity  # noqa: E402
from parity import strategies  # noqa: E402
from parity.bridge.grad_referee import assert_refereed_gradients  # noqa: E402
from parity.bridge.referee import assert_refereed_parity  # noqa: E402
from parity.cases.reshaping import built_keras  # noqa: E402


def check(case: strategies.ReshapingCase, direction: str) -> None:
    """Forward (refereed in float32) and gradients of one example, Keras expected."""
    x = case.inputs
    call = {} if case.mask is None else {"mask": case.mask}
    k = built_keras(case.layer, case.options, x.shape[1:], case.dtype,
                    np.random.default_rng(case.seed))
    k(x, **call)  # a weightless Keras layer builds on its first call
    n = parity.from_keras(k)
    if direction == "numpy->keras":
        k = parity.to_keras(n)
        k(x, **call)
    assert_refereed_parity(n, k, x, **call)
    assert_refereed_gradients(n, k, x, mask=case.mask)


@given(case=strategies.reshaping_cases())
def test_reshaping_keras_to_numpy(case):
    check(case, "keras->numpy")


@given(case=strategies.reshaping_cases())
def test_reshaping_numpy_to_keras(case):
    check(case, "numpy->keras")
