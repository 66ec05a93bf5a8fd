"""The reshaping checks have teeth: each planted bug must make the property checks of
tests/property/test_reshaping_property.py fail (and the unit tests' hand-written expectations
too, where noted).  A control run with nothing planted must pass."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from hypothesis import Phase, given, settings  # noqa: E402

from numpy_rnn.layers.reshaping import (Cropping1D, Permute, RepeatVector,  # noqa: E402
                                        TimeDistributed)
from parity import strategies  # noqa: E402
from tests.property.test_reshaping_property import check  # noqa: E402


def permute_off_by_one(self, x):
    k = len(self.dims)
    return x.transpose((0,) + tuple(d % k + 1 for d in self.dims))  # every axis one further


def repeat_backward_not_summed(self, g, shape):
    return np.ascontiguousarray(g[:, 0])  # the gradient of one copy only


def merge_time_major(a):
    return np.ascontiguousarray(a.swapaxes(0, 1)).reshape((a.shape[0] * a.shape[1],) + a.shape[2:])


def crop_wrong_side(self, x):
    start, end = self.cropping
    self._check(x.shape)
    return x[:, end:x.shape[1] - start, :]  # start and end exchanged


#: name -> (class, attribute, replacement, the layers the examples are drawn from)
MUTANTS = {
    "Permute dims off by one": (Permute, "_forward", permute_off_by_one, ("Permute",)),
    "RepeatVector backward not summing": (RepeatVector, "_input_gradient",
                                          repeat_backward_not_summed, ("RepeatVector",)),
    "TimeDistributed merges time-major, splits batch-major": (
        TimeDistributed, "_merge", staticmethod(merge_time_major), ("TimeDistributed",)),
    "Cropping1D crops the wrong sides": (Cropping1D, "_forward", crop_wrong_side,
                                        ("Cropping1D",)),
}


def _run(layers, direction="keras->numpy", examples=25):
    @settings(max_examples=examples, phases=[Phase.generate], deadline=None, derandomize=True,
              database=None)
    @given(case=strategies.reshaping_cases(layers=layers))
    def prop(case):
        check(case, direction)

    prop()


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_property_checks_catch(mutant, monkeypatch):
    cls, attr, fn, layers = MUTANTS[mutant]
    monkeypatch.setattr(cls, attr, fn)
    with pytest.raises(AssertionError):
        _run(layers)


def test_control_passes_with_nothing_planted():
    _run(tuple(sorted({name for *_, names in MUTANTS.values() for name in names})), examples=12)
