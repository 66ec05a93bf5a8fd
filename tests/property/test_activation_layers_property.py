"""Hypothesis: ReLU, LeakyReLU, ELU, PReLU and Softmax equal their Keras twins (forward and
gradients, float32 and float64, both directions of the bridge) over random shapes, options,
kinks and masks (``parity.strategies.activation_cases``); and the teeth: each planted bug of the
family (ReLU's threshold compared with >=, LeakyReLU's slope on the wrong side, Softmax's mask
ignored, PReLU's alpha broadcast on the wrong axis) must make these checks fail."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from hypothesis import given  # noqa: E402

import parity  # noqa: E402
from numpy_rnn.layers.activations import LeakyReLU, PReLU, ReLU, Softmax  # noqa: E402
from parity import strategies  # noqa: E402
from parity.cases import activation_layers as cases  # noqa: E402


def check(case, direction: str = "keras->numpy") -> None:
    __tracebackhide__ = True
    rng = np.random.default_rng(0)
    k = cases.keras_layer(case.cls, case.options, case.dtype, case.inputs.shape, rng)
    n = parity.from_keras(k)
    if direction == "numpy->keras":
        k = parity.to_keras(n)
    call = {} if case.mask is None else {"mask": case.mask}
    report = cases.grad_report(f"{case.cls} {case.options} {case.dtype}", n, k, case.inputs,
                               rng, **call)
    assert report.passed, str(report)


@given(case=strategies.activation_cases())
def test_keras_to_numpy(case):
    check(case)


@given(case=strategies.activation_cases())
def test_numpy_to_keras(case):
    check(case, "numpy->keras")


# -- teeth --------------------------------------------------------------------------------------
def _case(cls, options, shape=(3, 4, 5), dtype="float32", mask=None, kinks=cases.KINKS):
    x = cases.kink_inputs(np.random.default_rng(1), shape, dtype, kinks)
    return strategies.ActivationCase(cls, options, dtype, x, mask)


def _relu_threshold_inclusive(real):
    def mutant(self, x, mask=None):
        t = x.dtype.type(np.float32(self.threshold))
        pos = np.where(x >= t, x, x.dtype.type(0))  # the bug: >= instead of >
        if self.negative_slope:
            pos = pos - x.dtype.type(self.negative_slope) * np.maximum(-x + t, 0)
        return pos
    return mutant


def _leaky_wrong_side(real):
    def mutant(self, x, mask=None):
        return np.where(x > 0, x * self._slope(x.dtype), x)  # the slope on the positive side
    return mutant


def _softmax_mask_ignored(real):
    def mutant(self, inputs, mask):
        x, _ = real(self, inputs, mask)
        return x, None  # the mask is checked, then dropped
    return mutant


def _prelu_wrong_axis(real):
    def mutant(self, x, mask=None):
        zero = x.dtype.type(0)
        alpha = np.swapaxes(self.alpha, -1, -2)  # (T, F) read as (F, T)
        return np.maximum(x, zero) + (-alpha) * np.maximum(-x, zero)
    return mutant


#: bug -> (class, method, mutant factory (the real method -> the mutant), examples)
TEETH = {
    "relu threshold >=": (ReLU, "_apply", _relu_threshold_inclusive,
                          [_case("ReLU", {"threshold": 1.0}),
                           _case("ReLU", {"threshold": 0.5, "negative_slope": 0.2})]),
    "leaky slope on the positive side": (LeakyReLU, "_apply", _leaky_wrong_side,
                                         [_case("LeakyReLU", {"negative_slope": 0.3})]),
    "softmax mask ignored": (Softmax, "_prepare", _softmax_mask_ignored,
                             [_case("Softmax", {"axis": -1},
                                    mask=cases.make_mask("bool", np.random.default_rng(2),
                                                         (3, 4, 5)))]),
    "prelu alpha on the wrong axis": (PReLU, "_apply", _prelu_wrong_axis,
                                      [_case("PReLU", {}, shape=(2, 4, 4))]),
}


@pytest.mark.parametrize("bug", TEETH)
def test_planted_bug_is_caught(bug, monkeypatch):
    cls, method, make_mutant, examples = TEETH[bug]
    for case in examples:
        check(case)  # honest first: the examples pass
    monkeypatch.setattr(cls, method, make_mutant(getattr(cls, method)))
    for case in examples:
        with pytest.raises(AssertionError):
            check(case)
