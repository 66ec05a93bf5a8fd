"""Hypothesis: the convolution and pooling layers equal their Keras 3.15 twins, forward and
gradients (tf.GradientTape), over shapes x padding x strides x dilation x groups x
depth_multiplier x output_padding x data_format x dtype (``parity.strategies.conv_cases`` /
``pool_cases``).  channels_first is held to its definition, the channels_last Keras layer on
transposed data (TensorFlow's CPU kernels refuse some channels_first layers and Keras's bias add
slips on others: parity/cases/convolutional.py).  A float32 row out of the table's tolerance
goes to the float64 referee (parity.bridge.referee), as in the recurrent family's tests."""
from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from hypothesis import given, settings  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.bridge.grad_referee import refereed_gradients  # noqa: E402
from parity.bridge.referee import OutOfFloat32Range, refereed_parity  # noqa: E402
from parity.cases.convolutional import channels_first_report  # noqa: E402
from parity.strategies import conv_cases, pool_cases  # noqa: E402

#: Half the profile's examples (a grouped convolution costs Keras an XLA compile).
EXAMPLES = max(5, settings().max_examples // 2)


def check_case(case) -> parity.ParityReport:
    """numpy_rnn vs Keras for one drawn case; returns the (passing) report."""
    __tracebackhide__ = True
    config = dict(case.config)
    first = config.get("data_format") == "channels_first"
    n = getattr(numpy_rnn, case.cls)(*case.args, **config)
    k = getattr(keras.layers, case.cls)(*case.args, **{**config, "data_format": "channels_last"})
    last_shape = case.inputs.transpose(0, 2, 1).shape if first else case.inputs.shape
    k.build(last_shape)
    n.build(case.inputs.shape)
    if case.weights:
        k.set_weights(case.weights)
        n.set_weights(case.weights)
    kw = {} if case.mask is None else {"mask": case.mask}
    label = f"{case.cls} {case.args} {config} input {case.inputs.shape}"
    try:
        if first:
            report = channels_first_report(n, k, case.inputs, label, case.mask)
        else:
            forward = refereed_parity(n, k, case.inputs, case=label, **kw)
            grads = refereed_gradients(n, k, case.inputs, **kw)
            report = parity.ParityReport(label, list(forward.outputs) + list(grads.outputs))
    except OutOfFloat32Range:
        from hypothesis import reject

        reject()
    assert report.passed, str(report)
    return report


@settings(max_examples=EXAMPLES)
@given(case=conv_cases())
def test_convolutions_match_keras(case):
    check_case(case)


@settings(max_examples=EXAMPLES)
@given(case=pool_cases())
def test_pooling_matches_keras(case):
    check_case(case)
