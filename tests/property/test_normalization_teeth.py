"""The normalization checks have teeth: planted bugs must fail the parity rows the tests and
``numpy-rnn parity`` run (``parity.cases.normalization``), and the property checks.

Each mutant is monkeypatched into numpy_rnn's normalization modules; the same case then runs
honestly first (it must pass, so a failure under the mutant is the mutant's doing)."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from hypothesis import Phase, given, settings  # noqa: E402

from numpy_rnn.layers.normalization import _common  # noqa: E402
from numpy_rnn.layers.normalization import batch_normalization as bn_mod  # noqa: E402
from numpy_rnn.layers.normalization import layer_normalization as ln_mod  # noqa: E402
from parity.cases import normalization as cases  # noqa: E402
from parity.strategies import normalization as ns  # noqa: E402
from tests.property.test_normalization_property import check_forward  # noqa: E402

pytestmark = [pytest.mark.usefixtures("keras_eager"),
              pytest.mark.filterwarnings("ignore:.*rms_scaling.*:UserWarning")]

B, T, F = cases.BATCH, cases.TIMESTEPS, cases.FEATURES


def unbiased_moments(x, axes):
    """The variance divided by n - 1 (numpy's ddof=1) instead of Keras's biased n."""
    mean, var = _common.moments(x, axes)
    n = _common.count(x.shape, axes)
    return mean, var * x.dtype.type(n / (n - 1))


def epsilon_outside_the_root(variance, epsilon):
    """``1 / (sqrt(var) + eps)`` instead of ``rsqrt(var + eps)``."""
    return np.reciprocal(np.sqrt(variance) + variance.dtype.type(epsilon))


def momentum_the_wrong_way_round(moving, value, momentum):
    t = moving.dtype.type
    return moving * t(1.0 - momentum) + value * t(momentum)


def moments_over_the_wrong_axis(x, axes):
    """LayerNormalization's statistics over the axis before the normalized one."""
    return _common.moments(x, [a - 1 if a > 1 else (a + 1) % x.ndim for a in axes])


def statistics_as_constants(d_r, r):
    """The training-mode backward without the path through the batch variance."""
    return np.zeros_like(d_r * r)


ROWS = {
    "unbiased variance": (
        [(bn_mod, "batch_moments", unbiased_moments)],
        lambda: cases.forward_case("BatchNormalization", {}, (B, T, F), True, "none", 0)),
    "epsilon outside the square root": (
        [(bn_mod, "rsqrt_eps", epsilon_outside_the_root)],
        lambda: cases.forward_case("BatchNormalization", {}, (B, T, F), False, "none", 0)),
    "epsilon outside the square root (LayerNormalization)": (
        [(ln_mod, "rsqrt_eps", epsilon_outside_the_root)],
        lambda: cases.forward_case("LayerNormalization", {}, (B, T, F), False, "none", 0)),
    "momentum applied the wrong way round": (
        [(bn_mod, "moving_average", momentum_the_wrong_way_round)],
        lambda: cases.forward_case("BatchNormalization", {}, (B, T, F), True, "none", 0)),
    "momentum the wrong way round, seen after a train step": (
        [(bn_mod, "moving_average", momentum_the_wrong_way_round)],
        lambda: cases.training_case("sgd", 0)),
    "LayerNormalization over the wrong axis": (
        [(ln_mod, "moments", moments_over_the_wrong_axis)],
        lambda: cases.forward_case("LayerNormalization", {}, (B, T, F), False, "none", 0)),
    "BatchNormalization backward ignores the batch variance": (
        [(bn_mod, "rsqrt_backward", statistics_as_constants)],
        lambda: cases.grad_case("BatchNormalization", {}, (B, T, F), "none", 0)),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_planted_bug_fails_the_parity_row(name, monkeypatch):
    patches, run = ROWS[name]
    honest = run()
    assert honest.passed, honest
    for module, attr, mutant in patches:
        monkeypatch.setattr(module, attr, mutant)
    report = run()
    assert not report.passed, f"planted bug survived: {name}\n{report}"


@pytest.mark.parametrize("layers, module, attr, mutant", [
    (("BatchNormalization",), bn_mod, "rsqrt_eps", epsilon_outside_the_root),
    (("LayerNormalization",), ln_mod, "moments", moments_over_the_wrong_axis),
])
def test_planted_bug_fails_the_property_check(layers, module, attr, mutant, monkeypatch):
    monkeypatch.setattr(module, attr, mutant)

    @settings(max_examples=10, database=None, derandomize=True,
              phases=[Phase.generate])  # no shrinking: a failure is all we need
    @given(case=ns.normalization_cases(layers=layers, dtypes=("float64",)))
    def check(case):
        check_forward(case, keras_to_numpy=True)

    try:
        check()
    except AssertionError:
        return
    except Exception as exc:  # noqa: BLE001 - several distinct failures: an exception group
        errors = getattr(exc, "exceptions", None)
        assert errors and all(isinstance(e, AssertionError) for e in errors), exc  # not a crash
        return
    pytest.fail("the planted bug survived the property check")
