"""Activation forwards against keras.activations where TensorFlow's formula has its own rounding."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from numpy_rnn import activations  # noqa: E402
from numpy_rnn.testing import diff  # noqa: E402


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_is_tensorflows_erfc_form_with_a_float32_constant(dtype):
    """TF computes exact gelu as 0.5 * x * erfc(-x * cast(0.7071067811865476, dtype)), the
    constant going through float32 even for float64: the textbook float64 form is ~1e-9 off."""
    x = (np.random.default_rng(0).normal(size=5000) * 4).astype(dtype)
    expected = keras.activations.gelu(tf.constant(x)).numpy()
    d = diff("gelu", activations.gelu(x), expected)
    assert d.passed, d.line()
