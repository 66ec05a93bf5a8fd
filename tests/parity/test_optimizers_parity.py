"""numpy_rnn.optimizers against keras.optimizers (Keras 3.15): equal to the last bit.

Every optimizer and option runs 7 steps on two arrays from the same gradients on both sides.
Float64: the weights must be bitwise equal after every step.  The one reduction of the
optimizers (the clip norms) is TensorFlow's ``reduce_sum`` on the Keras side, whose summation
order NumPy does not share; with TensorFlow's sum patched into ``optimizers._sum_of_squares``
clipped steps are bitwise equal too, and with NumPy's own sum they stay within 1e-13 of the
weight change (measured 3e-16 here, 1.4e-14 on a (37, 23) array).  Float32: measured bitwise
equal as well, clipping aside (here 3.7e-8 / 1.1e-7 of the change with ``clipnorm`` /
``global_clipnorm``; 9e-7 / 1.2e-5 on a (37, 23) array, where the norm's last bit moves every
gradient); held to 1e-6 of the change without clipping.

The teeth at the end plant known bugs and require these comparisons to fail on each.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from numpy_rnn import optimizers  # noqa: E402

SHAPES = ((7, 5), (13,))
STEPS = 7

CASES = {
    "sgd": ("SGD", {}),
    "sgd-momentum": ("SGD", {"momentum": 0.9}),
    "sgd-nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "sgd-lr0.1-momentum0.3": ("SGD", {"learning_rate": 0.1, "momentum": 0.3}),
    "sgd-weight_decay": ("SGD", {"learning_rate": 0.05, "weight_decay": 0.01}),
    "sgd-clipnorm": ("SGD", {"learning_rate": 0.1, "momentum": 0.3, "clipnorm": 0.5}),
    "rmsprop": ("RMSprop", {}),
    "rmsprop-centered": ("RMSprop", {"centered": True}),
    "rmsprop-momentum": ("RMSprop", {"momentum": 0.9}),
    "rmsprop-centered-momentum-clipvalue": ("RMSprop", {"centered": True, "momentum": 0.5,
                                                        "clipvalue": 0.3}),
    "rmsprop-rho-eps": ("RMSprop", {"learning_rate": 0.01, "rho": 0.7, "epsilon": 1e-3}),
    "adam": ("Adam", {}),
    "adam-amsgrad": ("Adam", {"amsgrad": True}),
    "adam-betas-eps": ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99,
                                "epsilon": 1e-3}),
    "adam-clipnorm": ("Adam", {"clipnorm": 1.0}),
    "adam-global_clipnorm": ("Adam", {"global_clipnorm": 1.0}),
    "adam-clipvalue": ("Adam", {"clipvalue": 0.5}),
    "adamw": ("AdamW", {}),
    "adamw-decay-amsgrad": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1,
                                      "amsgrad": True}),
}
CLIPPED = {k for k, (_, kw) in CASES.items() if "clipnorm" in kw or "global_clipnorm" in kw}


def _problem(dtype: str):
    """Starting weights and a gradient sequence: scales from 1e-3 to 10, some exact zeros."""
    rng = np.random.default_rng(7)
    inits = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    scales = [1.0, 1e-3, 10.0, 0.3, 3.0, 1e-2, 1.0]
    grads = [[(rng.normal(size=s) * scales[k]).astype(dtype) for s in SHAPES] for k in range(STEPS)]
    grads[1][0].flat[:4] = 0.0
    grads[3][1][:] = 0.0
    return inits, grads


@functools.lru_cache(maxsize=None)
def _keras_trajectory(case: str, dtype: str):
    name, kw = CASES[case]
    inits, grads = _problem(dtype)
    opt = getattr(keras.optimizers, name)(**kw)
    variables = [keras.Variable(x.copy(), dtype=dtype) for x in inits]
    steps = []
    for g in grads:
        opt.apply_gradients(zip([tf.constant(x) for x in g], variables))
        steps.append([v.numpy().copy() for v in variables])
    return steps, int(opt.iterations.numpy())


def _numpy_trajectory(case: str, dtype: str):
    name, kw = CASES[case]
    inits, grads = _problem(dtype)
    opt = getattr(optimizers, name)(**kw)
    variables = [x.copy() for x in inits]
    steps = []
    for g in grads:
        opt.apply_gradients(zip(g, variables))
        steps.append([v.copy() for v in variables])
    return steps, opt.iterations


def worst_relative_difference(case: str, dtype: str) -> float:
    """max over steps and arrays of max|numpy - keras| / max|keras - start|."""
    inits, _ = _problem(dtype)
    ours, it = _numpy_trajectory(case, dtype)
    theirs, kit = _keras_trajectory(case, dtype)
    assert it == kit == STEPS
    worst = 0.0
    for ours_k, theirs_k in zip(ours, theirs):
        for a, b, x0 in zip(ours_k, theirs_k, inits):
            assert a.dtype == b.dtype == np.dtype(dtype)
            change = float(np.max(np.abs(b.astype(np.float64) - x0)))
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))) / change)
    return worst


@pytest.fixture
def tf_sum(monkeypatch):
    """Sum squares in TensorFlow's order, so clipped steps can be compared bit for bit."""
    monkeypatch.setattr(optimizers, "_sum_of_squares",
                        lambda g: tf.reduce_sum(tf.constant(g) * tf.constant(g)).numpy()[()])


@pytest.mark.parametrize("case", sorted(CASES))
def test_float64_bitwise_equal_to_keras(case, tf_sum):
    assert worst_relative_difference(case, "float64") == 0.0


@pytest.mark.parametrize("case", sorted(CLIPPED))
def test_float64_clipped_with_numpy_sum_order(case):
    assert worst_relative_difference(case, "float64") <= 1e-13


@pytest.mark.parametrize("case", sorted(set(CASES) - CLIPPED))
def test_float32_equal_to_keras(case):
    assert worst_relative_difference(case, "float32") <= 1e-6  # measured 0.0


# -- learning-rate schedules, None gradients, non-finite gradients ------------------------------
def _schedule_python(k: int) -> float:
    return 0.05 * 0.7 ** k + 1e-4


def _schedule_float64(k: int) -> np.float64:
    return np.float64(0.05 * 0.7 ** k + 1e-4)


@pytest.mark.parametrize("schedule", [_schedule_python, _schedule_float64],
                         ids=["python-float", "numpy-float64"])
@pytest.mark.parametrize("name,kw", [("SGD", {"momentum": 0.5}), ("Adam", {}),
                                     ("AdamW", {"weight_decay": 0.05}), ("RMSprop", {})],
                         ids=["sgd", "adam", "adamw", "rmsprop"])
def test_schedule_is_called_with_iterations(schedule, name, kw):
    class Schedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return schedule(int(step.numpy()))

    inits, grads = _problem("float64")
    kopt = getattr(keras.optimizers, name)(learning_rate=Schedule(), **kw)
    nopt = getattr(optimizers, name)(learning_rate=schedule, **kw)
    kv = [keras.Variable(x.copy(), dtype="float64") for x in inits]
    nv = [x.copy() for x in inits]
    for g in grads:
        kopt.apply_gradients(zip([tf.constant(x) for x in g], kv))
        nopt.apply_gradients(zip(g, nv))
        for a, b in zip(nv, kv):
            np.testing.assert_array_equal(a, b.numpy())
    assert nopt.iterations == STEPS


def test_none_gradients_are_skipped_like_keras():
    inits, grads = _problem("float64")
    kopt, nopt = keras.optimizers.Adam(), optimizers.Adam()
    kv = [keras.Variable(x.copy(), dtype="float64") for x in inits]
    nv = [x.copy() for x in inits]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, g in enumerate(grads):
            pair = [g[0], None if k % 2 else g[1]]
            kopt.apply_gradients(zip([None if x is None else tf.constant(x) for x in pair], kv))
            nopt.apply_gradients(zip(pair, nv))
    for a, b in zip(nv, kv):
        np.testing.assert_array_equal(a, b.numpy())
    assert nopt.iterations == int(kopt.iterations.numpy()) == STEPS


@pytest.mark.parametrize("name,kw,bad", [
    ("SGD", {"momentum": 0.9}, np.nan), ("Adam", {}, np.nan), ("Adam", {}, np.inf),
    ("RMSprop", {"centered": True}, -np.inf), ("Adam", {"clipnorm": 1.0}, np.nan),
    ("Adam", {"global_clipnorm": 1.0}, np.inf), ("SGD", {"clipvalue": 0.5}, np.nan),
])
def test_non_finite_gradients_are_applied_like_keras(name, kw, bad, tf_sum):
    """Keras applies NaN / inf gradients; so does numpy_rnn (documented in optimizers.py)."""
    inits, grads = _problem("float64")
    grads[2][0][1, 2] = bad
    kopt, nopt = getattr(keras.optimizers, name)(**kw), getattr(optimizers, name)(**kw)
    kv = [keras.Variable(x.copy(), dtype="float64") for x in inits]
    nv = [x.copy() for x in inits]
    with np.errstate(all="ignore"):
        for g in grads:
            kopt.apply_gradients(zip([tf.constant(x) for x in g], kv))
            nopt.apply_gradients(zip(g, nv))
    assert not np.isfinite(nv[0]).all()
    for a, b in zip(nv, kv):
        np.testing.assert_array_equal(a, b.numpy())  # NaN where Keras has NaN, else equal


# -- teeth: planted bugs must fail the comparisons above ---------------------------------------
def _adam_step(bias_correction=True, eps_inside=False, round_betas=True):
    def update_step(self, gradient, variable, lr, slots):
        dt = variable.dtype
        t = dt.type(self.iterations + 1)
        cast = optimizers._through_float32 if round_betas else optimizers._exact
        b1p, b2p = cast(self.beta_1, dt) ** t, cast(self.beta_2, dt) ** t
        one = dt.type(1)
        alpha = lr * np.sqrt(one - b2p) / (one - b1p) if bias_correction else lr
        m, v = slots["momentum"], slots["velocity"]
        m += (gradient - m) * dt.type(1 - self.beta_1)
        v += (np.square(gradient) - v) * dt.type(1 - self.beta_2)
        if self.amsgrad:
            np.maximum(slots["velocity_hat"], v, out=slots["velocity_hat"])
            v = slots["velocity_hat"]
        eps = dt.type(self.epsilon)
        denominator = np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps
        variable -= (m * alpha) / denominator
    return update_step


def _rmsprop_eps_outside(self, gradient, variable, lr, slots):
    dt = variable.dtype
    v = slots["velocity"]
    v[...] = dt.type(self.rho) * v + dt.type(1 - self.rho) * np.square(gradient)
    variable -= (lr * gradient) / (np.sqrt(v) + dt.type(self.epsilon))


def _sgd_nesterov_old_m(self, gradient, variable, lr, slots):
    mu = optimizers._through_float32(self.momentum, variable.dtype)
    m = slots["momentum"]
    old = m.copy()
    m[...] = m * mu - gradient * lr
    variable += (old * mu - gradient * lr) if self.nesterov else m


def _sgd_momentum_not_rounded(self, gradient, variable, lr, slots):
    mu = variable.dtype.type(self.momentum)  # exact Python float: Keras rounds it through float32
    m = slots["momentum"]
    m[...] = m * mu - gradient * lr
    variable += m * mu - gradient * lr if self.nesterov else m


def _weight_decay_after_step(self, grads_and_vars):
    pairs = list(grads_and_vars)
    wd, self.weight_decay = self.weight_decay, None
    try:
        optimizers.Optimizer.apply_gradients(self, [(g, v) for g, v in pairs])
    finally:
        self.weight_decay = wd
    lr = optimizers._through_float32(self._learning_rate, np.dtype("float64"))
    for _, v in pairs:
        v -= v * optimizers._through_float32(wd, v.dtype) * lr
    return self.iterations


MUTANTS = {
    "adam-bias-correction-dropped": (optimizers.Adam, "update_step",
                                     _adam_step(bias_correction=False), ["adam", "adamw"]),
    "adam-epsilon-inside-root": (optimizers.Adam, "update_step", _adam_step(eps_inside=True),
                                 ["adam", "adam-betas-eps"]),
    "adam-betas-not-rounded-through-float32": (optimizers.Adam, "update_step",
                                               _adam_step(round_betas=False), ["adam"]),
    "rmsprop-epsilon-outside-root": (optimizers.RMSprop, "update_step", _rmsprop_eps_outside,
                                     ["rmsprop", "rmsprop-rho-eps"]),
    "sgd-nesterov-uses-old-momentum": (optimizers.SGD, "update_step", _sgd_nesterov_old_m,
                                       ["sgd-nesterov"]),
    "sgd-momentum-not-rounded-through-float32": (optimizers.SGD, "update_step",
                                                 _sgd_momentum_not_rounded,
                                                 ["sgd-momentum", "sgd-nesterov"]),
    "lr-and-decay-not-rounded-through-float32": (
        optimizers, "_through_float32", lambda value, dtype: np.asarray(value, dtype=dtype)[()],
        ["sgd", "rmsprop", "adam", "adamw"]),
    "weight-decay-after-the-step": (optimizers.AdamW, "apply_gradients", _weight_decay_after_step,
                                    ["adamw", "adamw-decay-amsgrad"]),
    "global-clipnorm-clips-per-tensor": (
        optimizers, "_clip_by_global_norm",
        lambda grads, c: [optimizers._clip_by_norm(g, c) for g in grads],
        ["adam-global_clipnorm"]),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_teeth_planted_optimizer_bugs_fail_the_parity_comparison(mutant, monkeypatch, tf_sum):
    owner, attr, replacement, cases = MUTANTS[mutant]
    for case in cases:  # each case the mutant touches is green without it ...
        assert worst_relative_difference(case, "float64") == 0.0, case
    monkeypatch.setattr(owner, attr, replacement)
    for case in cases:  # ... and red with it
        assert worst_relative_difference(case, "float64") > 0.0, (mutant, case)
