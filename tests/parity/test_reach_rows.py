"""The ``reach/*`` rows of ``numpy-rnn parity`` (``parity.cases.reach``): every row passes on
the current code, and a bug planted (monkeypatched) in the maths a row covers turns that row
red -- an Adam without bias correction, Nesterov as plain momentum, a momentum of the wrong sign,
AdamW without its decay, centered RMSprop without its mean term, each clip ignored, the
BinaryCrossentropy gradient let through the clip, ``fit``'s epoch loss unweighted by batch size,
a Bidirectional that drops its backward layer's initial-state gradients, ``validation_split``
taken from the front, a metric that ignores the output mask, EarlyStopping and
ReduceLROnPlateau one epoch more patient than asked.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import numpy_rnn  # noqa: E402
from numpy_rnn import callbacks, fitting, losses, metrics, optimizers, training  # noqa: E402
from parity import gate  # noqa: E402
from parity.cases import reach, reach_habits  # noqa: E402

CASES = {c.name: c for c in reach.reach_cases(0)}


def _run(name: str) -> gate.Outcome:
    return gate.run_case(CASES[name])


def test_every_reach_row_passes():
    outcomes = [gate.run_case(c) for c in CASES.values()]
    bad = [o for o in outcomes if o.status not in ("pass", "skip")]
    assert not bad, "\n".join(o.text() for o in bad)
    assert len(outcomes) == 22
    assert all(o.report.outputs for o in outcomes if o.status == "pass")


def test_the_rows_compare_what_they_say():
    """Rows that could pass while measuring little: the clipped loss rows meet Keras's zeros,
    the Bidirectional row compares all four states, the bundle row refuses the changed byte."""
    clipped = _run(reach.loss_name("BinaryCrossentropy", False, True)).report
    assert clipped.output("clipped").passed
    bidi = _run(reach.BIDI_NAME).report
    assert [o.name for o in bidi.outputs if "initial_state" in o.name] == [
        f"d initial_state[{i}]" for i in range(4)]
    bundle = _run(reach.BUNDLE_NAME).report
    assert bundle.output("one byte changed: BundleIntegrityError").passed


# -- teeth ---------------------------------------------------------------------------------------
def _with_attribute(cls: type, method: str, attr: str, value: Callable) -> Callable:
    """``cls.method`` run with ``self.attr`` set to ``value(self.attr)`` for the call."""
    real = getattr(cls, method)

    def planted(self, *args, **kwargs):
        old = getattr(self, attr)
        setattr(self, attr, value(old))
        try:
            return real(self, *args, **kwargs)
        finally:
            setattr(self, attr, old)
    return planted


def _plant_adam_without_bias_correction(mp):
    # beta**t -> 0: alpha = lr, the bias correction gone
    mp.setattr(optimizers.Adam, "update_step",
               _with_attribute(optimizers.Adam, "update_step", "iterations", lambda t: 10 ** 6))


def _plant_nesterov_as_plain_momentum(mp):
    mp.setattr(optimizers.SGD, "update_step",
               _with_attribute(optimizers.SGD, "update_step", "nesterov", lambda n: False))


def _plant_momentum_sign(mp):
    mp.setattr(optimizers.SGD, "update_step",
               _with_attribute(optimizers.SGD, "update_step", "momentum", lambda m: -m))


def _plant_no_weight_decay(mp):
    mp.setattr(optimizers.Optimizer, "apply_gradients",
               _with_attribute(optimizers.Optimizer, "apply_gradients", "weight_decay",
                               lambda w: None))


def _plant_rmsprop_not_centered(mp):
    mp.setattr(optimizers.RMSprop, "update_step",
               _with_attribute(optimizers.RMSprop, "update_step", "centered", lambda c: False))


def _plant_clipnorm_ignored(mp):
    mp.setattr(optimizers, "_clip_by_norm", lambda g, clipnorm: g)


def _plant_clipvalue_ignored(mp):
    mp.setattr(optimizers.Optimizer, "_clip",
               _with_attribute(optimizers.Optimizer, "_clip", "clipvalue", lambda c: None))


def _plant_global_clipnorm_ignored(mp):
    mp.setattr(optimizers, "_clip_by_global_norm",
               lambda grads, clipnorm: [numpy_rnn.sparse.dense(g) for g in grads])


def _plant_clip_gradient_passes_everywhere(mp):
    real = losses._clip_probabilities
    mp.setattr(losses, "_clip_probabilities", lambda p: (real(p)[0], np.ones(p.shape, bool)))


def _plant_unweighted_epoch_loss(mp):
    real = training.LossTracker.update
    mp.setattr(training.LossTracker, "update", lambda self, value, weight: real(self, value, 1))


def _plant_backward_states_dropped(mp):
    real = numpy_rnn.Bidirectional._backward

    def planted(self, *args, **kwargs):
        dx = real(self, *args, **kwargs)
        if self.state_gradients:
            half = len(self.state_gradients) // 2
            self.state_gradients = self.state_gradients[:half] + [
                np.zeros_like(g) for g in self.state_gradients[half:]]
        return dx
    mp.setattr(numpy_rnn.Bidirectional, "_backward", planted)


def _plant_split_from_the_front(mp):
    real = fitting._split
    mp.setattr(fitting, "_split", lambda arrays, split, n: tuple(reversed(
        real(arrays, 1.0 - split, n))))


def _plant_metric_mask_ignored(mp):
    real = metrics.MeanMetricWrapper.update_state
    mp.setattr(metrics.MeanMetricWrapper, "update_state",
               lambda self, y_true, y_pred, sample_weight=None, mask=None:
               real(self, y_true, y_pred, sample_weight))


def _plant_more_patient(cls):
    def plant(mp):
        mp.setattr(cls, "on_epoch_end",
                   _with_attribute(cls, "on_epoch_end", "patience", lambda p: p + 1))
    return plant


TEETH = {
    "adam without bias correction": (_plant_adam_without_bias_correction,
                                     reach.training_name("adam")),
    "nesterov as plain momentum": (_plant_nesterov_as_plain_momentum,
                                   reach.training_name("sgd nesterov momentum=0.9")),
    "momentum of the wrong sign": (_plant_momentum_sign, reach.training_name("sgd momentum=0.9")),
    "adamw without weight decay": (_plant_no_weight_decay,
                                   reach.training_name("adamw weight_decay=0.1")),
    "rmsprop centered without its mean term": (_plant_rmsprop_not_centered,
                                               reach.training_name("rmsprop centered")),
    "clipnorm ignored": (_plant_clipnorm_ignored, reach.training_name("sgd clipnorm=0.05")),
    "clipvalue ignored": (_plant_clipvalue_ignored, reach.training_name("sgd clipvalue=0.01")),
    "global_clipnorm ignored": (_plant_global_clipnorm_ignored,
                                reach.training_name("sgd momentum=0.5 global_clipnorm=0.1")),
    "binary crossentropy gradient through the clip": (
        _plant_clip_gradient_passes_everywhere,
        reach.loss_name("BinaryCrossentropy", False, True)),
    "categorical crossentropy gradient through the clip": (
        _plant_clip_gradient_passes_everywhere,
        reach.loss_name("CategoricalCrossentropy", False, True)),
    "fit's epoch loss unweighted by batch size": (_plant_unweighted_epoch_loss, reach.FIT_NAME),
    "bidirectional backward layer's state gradients dropped": (_plant_backward_states_dropped,
                                                               reach.BIDI_NAME),
    "validation_split from the front": (_plant_split_from_the_front,
                                        reach_habits.METRICS_NAME),
    "metric ignores the output mask": (_plant_metric_mask_ignored, reach_habits.METRICS_NAME),
    "EarlyStopping one epoch more patient": (_plant_more_patient(callbacks.EarlyStopping),
                                             reach_habits.CALLBACKS_NAME),
    "ReduceLROnPlateau one epoch more patient": (
        _plant_more_patient(callbacks.ReduceLROnPlateau), reach_habits.CALLBACKS_NAME),
}


@pytest.mark.parametrize("plant", sorted(TEETH))
def test_teeth(plant, monkeypatch):
    """The honest row passes (test_every_reach_row_passes); with the plant it must not."""
    TEETH[plant][0](monkeypatch)
    outcome = _run(TEETH[plant][1])
    assert outcome.status in gate.FAILING, outcome.text()
