"""Hypothesis: the normalization layers equal their Keras 3.15 twins over random shapes (rank 2
to 4), every form of ``axis``, options, dtypes, BatchNormalization's training mode (its moving
statistics after the call too) and masks -- forward in both directions of the weight copy, and
gradients (training mode) against ``tf.GradientTape``."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.bridge.grad_referee import assert_refereed_gradients  # noqa: E402
from parity.bridge.referee import assert_refereed_parity  # noqa: E402
from parity.report import compare_outputs  # noqa: E402
from parity.strategies import normalization as ns  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*rms_scaling.*:UserWarning")


def keras_layer(case: ns.NormalizationCase):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = getattr(keras.layers, case.layer)(**case.config)
    k.build(case.inputs.shape)
    k.set_weights(case.weights)
    return k


def numpy_layer(case: ns.NormalizationCase):
    n = getattr(numpy_rnn, case.layer)(**case.config)
    n.build(case.inputs.shape)
    n.set_weights(case.weights)
    return n


def _call(case: ns.NormalizationCase) -> dict:
    kw: dict = {}
    if case.training:
        kw["training"] = True
    if case.mask is not None:
        kw["mask"] = case.mask
    return kw


def check_forward(case: ns.NormalizationCase, keras_to_numpy: bool) -> None:
    """Outputs within tolerance (float64-refereed in float32); after a training call the moving
    statistics too."""
    if keras_to_numpy:
        k = keras_layer(case)
        n = parity.from_keras(k)
    else:
        n = numpy_layer(case)
        k = parity.to_keras(n)
    assert_refereed_parity(n, k, case.inputs, **_call(case))
    if case.training:
        names = [nm for nm in n.weight_names() if nm.startswith("moving_")]
        ours = dict(zip(n.weight_names(), n.get_weights()))
        theirs = {w.path.split("/")[-1]: np.asarray(w) for w in k.weights}
        report = compare_outputs("moving statistics", [ours[nm] for nm in names],
                                 [theirs[nm] for nm in names], names)
        assert report.passed, report


def _enough_counted(case: ns.NormalizationCase) -> bool:
    """Every masked statistic counts 0 or at least ``MIN_COUNT`` elements (fewer: a gradient of
    rounding noise)."""
    if case.mask is None or not case.training:
        return True
    x = case.inputs
    axis = case.config.get("axis", -1) % x.ndim
    keep = np.broadcast_to(case.mask[..., None], x.shape)
    counts = keep.sum(axis=tuple(i for i in range(x.ndim) if i != axis))
    return bool(np.all((counts == 0) | (counts >= ns.MIN_COUNT)))


def check_gradients(case: ns.NormalizationCase) -> None:
    k = keras_layer(case)
    call = {"mask": case.mask} if case.mask is not None and case.training else {}
    assert_refereed_gradients(parity.from_keras(k), k, case.inputs, targets=case.targets,
                              loss="mse", **call)


@given(case=ns.normalization_cases(), keras_to_numpy=st.booleans())
def test_forward_matches_keras(case, keras_to_numpy):
    check_forward(case, keras_to_numpy)


@given(case=ns.normalization_cases())
def test_gradients_match_keras(case):
    assume(_enough_counted(case))
    check_gradients(case)
