"""The convolution and pooling checks have teeth: each planted bug below must make the property
suite (tests/property/test_conv_property.py's check on hypothesis examples) AND the main job's
``convolutional`` rows fail; the NumPy-only unit checks catch the ones they are written for."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from hypothesis import Phase, given, settings  # noqa: E402

from numpy_rnn.layers.convolutional import base_conv as bc  # noqa: E402
from numpy_rnn.layers.convolutional import conv1d as conv1d_module  # noqa: E402
from numpy_rnn.layers.convolutional import depthwise_conv1d as dw_module  # noqa: E402
from numpy_rnn.layers.convolutional.conv1d import Conv1D  # noqa: E402
from numpy_rnn.layers.convolutional.conv1d_transpose import Conv1DTranspose  # noqa: E402
from numpy_rnn.layers.pooling.global_average_pooling1d import GlobalAveragePooling1D  # noqa: E402
from numpy_rnn.layers.pooling.max_pooling1d import MaxPooling1D  # noqa: E402
from parity.cases import convolutional as cases  # noqa: E402
from parity.strategies import conv_cases, pool_cases  # noqa: E402
from tests.helpers import wrap_backward  # noqa: E402
from tests.property.test_conv_property import check_case  # noqa: E402

_grouped_conv = conv1d_module.grouped_conv
_padding_amounts = bc.padding_amounts
_same_padding = bc.same_padding
_depthwise = dw_module.depthwise
_layout = Conv1DTranspose._layout


def flipped_kernel(monkeypatch):
    """Convolution instead of cross-correlation: the kernel read back to front."""
    monkeypatch.setattr(conv1d_module, "grouped_conv",
                        lambda cols, kernel, groups, out: _grouped_conv(cols, kernel[::-1],
                                                                        groups, out))


def causal_after(monkeypatch):
    """Causal padding on the wrong side (after the sequence)."""
    def mutant(length, kernel_size, stride, padding, dilation_rate=1):
        before, after = _padding_amounts(length, kernel_size, stride, padding, dilation_rate)
        return (after, before) if padding == "causal" else (before, after)
    monkeypatch.setattr(bc, "padding_amounts", mutant)


def same_split_off_by_one(monkeypatch):
    """SAME padding with the larger half before (TensorFlow puts it after)."""
    def mutant(*args, **kwargs):
        before, after = _same_padding(*args, **kwargs)
        return after, before
    monkeypatch.setattr(bc, "same_padding", mutant)


def pooling_mask_ignored(monkeypatch):
    """GlobalAveragePooling1D averaging every step, masked or not."""
    monkeypatch.setattr(GlobalAveragePooling1D, "_mask", lambda self, mask, x: None)


def max_ties_to_last(monkeypatch):
    """MaxPooling1D's gradient sent to the LAST maximal step of a window."""
    real = MaxPooling1D._pool

    def mutant(self, x, training):
        y, cache = real(self, x, training)
        if cache is not None:
            arg = cache[0]
            xp = bc.pad_steps(x, cache[2], cache[1] - cache[2] - x.shape[1], -np.inf)
            taps = [bc.tap(xp, p, 1, self.strides, y.shape[1]) for p in range(self.pool_size)]
            for p, window in enumerate(taps):
                arg[window == y] = p  # the last tap holding the max wins
        return y, cache
    monkeypatch.setattr(MaxPooling1D, "_pool", mutant)


def depthwise_channel_order(monkeypatch):
    """DepthwiseConv1D outputs in (multiplier, channel) order instead of TensorFlow's
    (channel, multiplier)."""
    def mutant(xp, kernel, stride, dilation_rate, out_steps):
        out = _depthwise(xp, kernel, stride, dilation_rate, out_steps)
        b, t, _ = out.shape
        c, m = kernel.shape[1:]
        return out.reshape(b, t, c, m).transpose(0, 1, 3, 2).reshape(b, t, c * m)
    monkeypatch.setattr(dw_module, "depthwise", mutant)


def transpose_crop_off_by_one(monkeypatch):
    """Conv1DTranspose cropping its output one step late."""
    def mutant(self, steps):
        out_steps, before, buffer = _layout(self, steps)
        return out_steps, before + 1, buffer + 1
    monkeypatch.setattr(Conv1DTranspose, "_layout", mutant)


def kernel_gradient_last_tap_dropped(monkeypatch):
    """Conv1D's backward forgetting the last kernel tap's gradient."""
    def mutate(layer):
        layer.gradients[0][-1] = 0
    wrap_backward(Conv1D, monkeypatch, mutate)


#: name -> (plant, the classes the property check draws for it).
MUTANTS = {
    "kernel flipped": (flipped_kernel, ("Conv1D",)),
    "causal padding after": (causal_after, ("Conv1D",)),
    "same padding split off by one": (same_split_off_by_one,
                                      ("Conv1D", "DepthwiseConv1D", "SeparableConv1D",
                                       "Conv1DTranspose", "MaxPooling1D", "AveragePooling1D")),
    "GlobalAveragePooling1D mask ignored": (pooling_mask_ignored, ("GlobalAveragePooling1D",)),
    "depthwise channel order": (depthwise_channel_order, ("DepthwiseConv1D",)),
    "Conv1DTranspose crop off by one": (transpose_crop_off_by_one, ("Conv1DTranspose",)),
    "Conv1D d kernel last tap dropped": (kernel_gradient_last_tap_dropped, ("Conv1D",)),
}


def _property(classes: tuple):
    conv_classes = tuple(c for c in classes if not c.endswith("Pooling1D"))
    pool_classes = tuple(c for c in classes if c.endswith("Pooling1D"))
    strategy = conv_cases(classes=conv_classes) if conv_classes else None
    if pool_classes:
        pools = pool_cases(classes=pool_classes)
        strategy = pools if strategy is None else strategy | pools

    @settings(max_examples=60, phases=[Phase.generate], derandomize=True)  # no shrinking
    @given(case=strategy)
    def run(case):
        check_case(case)
    return run


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_property_suite_catches(mutant, monkeypatch):
    plant, classes = MUTANTS[mutant]
    prop = _property(classes)
    plant(monkeypatch)
    with pytest.raises(AssertionError):
        prop()


@pytest.mark.parametrize("mutant", sorted(MUTANTS) + ["MaxPooling1D ties to the last step"])
def test_main_job_rows_catch(mutant, monkeypatch):
    plant = MUTANTS[mutant][0] if mutant in MUTANTS else max_ties_to_last
    plant(monkeypatch)
    caught = next((c.name for c in cases.convolutional_cases(0) if not c.run().passed), None)
    assert caught, f"no row of the convolutional group caught: {mutant}"


def test_unit_checks_catch_ties_and_same_split(monkeypatch):
    """The NumPy-only tests written for TensorFlow's tie rule and SAME split fail on the
    mutants (run here against the mutants, in-process)."""
    from tests.unit import test_conv_unit, test_pooling_unit

    with monkeypatch.context() as m:
        max_ties_to_last(m)
        with pytest.raises(AssertionError):
            test_pooling_unit.test_max_gradient_goes_to_the_first_of_tied_steps()
    with monkeypatch.context() as m:
        same_split_off_by_one(m)
        with pytest.raises(AssertionError):
            test_conv_unit.test_same_padding_puts_the_odd_step_after()
    with monkeypatch.context() as m:
        flipped_kernel(m)
        with pytest.raises(AssertionError):
            test_conv_unit.test_conv1d_is_a_cross_correlation_and_causal_pads_before()
    with monkeypatch.context() as m:
        causal_after(m)
        with pytest.raises(AssertionError):
            test_conv_unit.test_conv1d_is_a_cross_correlation_and_causal_pads_before()


def test_controls_pass_unplanted():
    """Control: the same property run and rows pass with nothing planted."""
    _property(("Conv1D", "GlobalAveragePooling1D"))()
    assert all(c.run().passed for c in cases.convolutional_cases(0)[:6])
