"""numpy_rnn.optimizers on IndexedSlices against Keras 3.15 given tf.IndexedSlices.

With the TensorFlow backend an Embedding's gradient reaches the optimizer as ``tf.IndexedSlices``,
one slice per id occurrence; Keras 3.15 squares IndexedSlices per slice (Adam's ``v``, RMSprop's
velocity get ``sum_i g_i**2`` for a row read ``k`` times), scales them per slice, applies them
with ``scatter_sub``, clips them per slice (see ``numpy_rnn/sparse.py``).  Here both sides get the
same slices (rows read up to 4 times, rows never read, a slice of zeros) for a table and a dense
gradient for a second array, 7 steps, every optimizer and option:

* float64: bitwise equal after every step (TensorFlow's ``reduce_sum`` patched into
  ``optimizers._reduce_sum`` for the clip norms, as in test_optimizers_parity.py), and within
  1e-13 of the change with NumPy's own sum;
* float32: within 1e-6 of the change (measured: see the figures printed with -s);
* the learning rate's floatx: a Keras optimizer made under ``set_floatx("float64")`` keeps its
  learning rate exact; ``floatx="float64"`` does the same (bitwise, float64 and float32 weights).

The teeth plant the plausible mistakes (squaring after summing duplicates, one subtraction per
row instead of per slice, clipping the summed rows...) and require these comparisons to fail.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from numpy_rnn import optimizers, sparse  # noqa: E402
from numpy_rnn.sparse import IndexedSlices  # noqa: E402
from parity.bridge.train import floatx as train_floatx  # noqa: E402

pytestmark = pytest.mark.keras

ROWS, DIM, BIAS = 9, 4, 5
STEPS = 7

CASES = {
    "sgd": ("SGD", {"learning_rate": 0.1}),
    "sgd-momentum": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    "sgd-nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    "sgd-weight_decay": ("SGD", {"learning_rate": 0.05, "weight_decay": 0.01}),
    "sgd-clipnorm": ("SGD", {"learning_rate": 0.1, "momentum": 0.3, "clipnorm": 0.5}),
    "sgd-clipvalue": ("SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    "sgd-global_clipnorm": ("SGD", {"learning_rate": 0.1, "global_clipnorm": 1.0}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
    "rmsprop-centered": ("RMSprop", {"centered": True}),
    "rmsprop-momentum": ("RMSprop", {"momentum": 0.9}),
    "rmsprop-centered-momentum": ("RMSprop", {"centered": True, "momentum": 0.5}),
    "rmsprop-rho-eps-clipvalue": ("RMSprop", {"learning_rate": 0.01, "rho": 0.7,
                                              "epsilon": 1e-3, "clipvalue": 0.3}),
    "rmsprop-clipnorm": ("RMSprop", {"clipnorm": 0.5}),
    "rmsprop-global_clipnorm": ("RMSprop", {"global_clipnorm": 1.0}),
    "rmsprop-weight_decay": ("RMSprop", {"weight_decay": 0.05}),
    "adam": ("Adam", {"learning_rate": 0.01}),
    "adam-amsgrad": ("Adam", {"amsgrad": True}),
    "adam-betas-eps": ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99,
                                "epsilon": 1e-3}),
    "adam-clipnorm": ("Adam", {"clipnorm": 1.0}),
    "adam-clipvalue": ("Adam", {"clipvalue": 0.5}),
    "adam-global_clipnorm": ("Adam", {"global_clipnorm": 1.0}),
    "adamw": ("AdamW", {}),
    "adamw-decay-amsgrad": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1,
                                      "amsgrad": True}),
}
CLIPPED = {k for k, (_, kw) in CASES.items() if "clipnorm" in kw or "global_clipnorm" in kw}

#: one batch's ids per step: rows read 1..4 times, some rows never (2 and 7 in step 0)
IDS = [np.array([1, 3, 1, 1, 4, 3, 0, 8, 1, 6, 5]),
       np.array([0, 0, 0, 2, 2, 7]),
       np.array([5, 4, 3, 2, 1, 0, 8, 7, 6]),
       np.array([3]),
       np.array([6, 6, 6, 6, 1, 2]),
       np.array([8, 0, 8, 0, 8, 4, 4]),
       np.array([2, 5, 2, 5, 2])]


def _problem(dtype: str):
    """Start (table, bias) and per step (slice values, ids, bias gradient), scales 1e-3..10."""
    rng = np.random.default_rng(11)
    inits = [rng.normal(size=(ROWS, DIM)).astype(dtype), rng.normal(size=BIAS).astype(dtype)]
    scales = [1.0, 1e-3, 10.0, 0.3, 3.0, 1e-2, 1.0]
    steps = []
    for k, ids in enumerate(IDS):
        values = (rng.normal(size=(len(ids), DIM)) * scales[k]).astype(dtype)
        if k == 2:
            values[4] = 0.0  # a slice of zeros
        steps.append((values, ids, (rng.normal(size=BIAS) * scales[k]).astype(dtype)))
    return inits, steps


def floatx(dtype: str | None):
    """parity's floatx context (None: the current floatx)."""
    return train_floatx(dtype or keras.config.floatx())


@functools.lru_cache(maxsize=None)
def _keras_trajectory(case: str, dtype: str, lr_floatx: str | None = None):
    name, kw = CASES[case]
    inits, steps = _problem(dtype)
    with floatx(lr_floatx):
        opt = getattr(keras.optimizers, name)(**kw)
    variables = [keras.Variable(x.copy(), dtype=dtype) for x in inits]
    out = []
    for values, ids, bias in steps:
        table = tf.IndexedSlices(tf.constant(values), tf.constant(ids), tf.constant([ROWS, DIM]))
        opt.apply_gradients(zip([table, tf.constant(bias)], variables))
        out.append([v.numpy().copy() for v in variables])
    return out


def _numpy_trajectory(case: str, dtype: str, lr_floatx: str | None = None):
    name, kw = CASES[case]
    inits, steps = _problem(dtype)
    opt = getattr(optimizers, name)(**kw, **({"floatx": lr_floatx} if lr_floatx else {}))
    variables = [x.copy() for x in inits]
    out = []
    for values, ids, bias in steps:
        opt.apply_gradients(zip([IndexedSlices(values, ids, (ROWS, DIM)), bias], variables))
        out.append([v.copy() for v in variables])
    assert opt.iterations == STEPS
    return out


def worst_relative_difference(case: str, dtype: str, lr_floatx: str | None = None) -> float:
    """max over steps and arrays of max|numpy - keras| / max|keras - start|."""
    inits, _ = _problem(dtype)
    ours = _numpy_trajectory(case, dtype, lr_floatx)
    theirs = _keras_trajectory(case, dtype, lr_floatx)
    worst = 0.0
    for ours_k, theirs_k in zip(ours, theirs):
        for a, b, x0 in zip(ours_k, theirs_k, inits):
            assert a.dtype == b.dtype == np.dtype(dtype)
            change = float(np.max(np.abs(b.astype(np.float64) - x0)))
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))) / change)
    return worst


@pytest.fixture
def tf_sum(monkeypatch):
    """Reduce in TensorFlow's order, so clipped steps can be compared bit for bit."""
    monkeypatch.setattr(optimizers, "_reduce_sum",
                        lambda x: tf.reduce_sum(tf.constant(x)).numpy()[()])


@pytest.mark.parametrize("case", sorted(CASES))
def test_float64_slices_bitwise_equal_to_keras(case, tf_sum):
    assert worst_relative_difference(case, "float64") == 0.0


@pytest.mark.parametrize("case", sorted(CLIPPED))
def test_float64_clipped_slices_with_numpy_sum_order(case):
    assert worst_relative_difference(case, "float64") <= 1e-13


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_slices_equal_to_keras(case, tf_sum):
    err = worst_relative_difference(case, "float32")
    print(f"\n{case} float32: {err:.2e}")
    assert err <= 1e-6


@pytest.mark.parametrize("case", sorted(set(CASES) - CLIPPED))
def test_float32_slices_equal_to_keras_with_numpy_sum(case):
    err = worst_relative_difference(case, "float32")
    print(f"\n{case} float32: {err:.2e}")
    assert err <= 1e-6


def test_slices_differ_from_the_dense_gradient_in_keras_too():
    """The reason for all this: Keras's Adam on the slices is not Keras's Adam on their sum."""
    inits, steps = _problem("float64")
    values, ids, bias = steps[0]
    dense = IndexedSlices(values, ids, (ROWS, DIM)).dense()
    out = []
    for table in (tf.IndexedSlices(tf.constant(values), tf.constant(ids), tf.constant([ROWS, DIM])),
                  tf.constant(dense)):
        var = keras.Variable(inits[0].copy(), dtype="float64")
        keras.optimizers.Adam(learning_rate=0.01).apply_gradients([(table, var)])
        out.append(var.numpy())
    assert np.max(np.abs(out[0] - out[1])) > 1e-3
    ours = inits[0].copy()
    optimizers.Adam(learning_rate=0.01).apply_gradients([(dense, ours)])
    np.testing.assert_array_equal(ours, out[1])


# -- the learning rate's floatx -----------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", ["sgd", "rmsprop", "adam", "adamw", "sgd-weight_decay"])
def test_learning_rate_floatx_float64_like_keras(case, dtype, tf_sum):
    """A Keras optimizer constructed under floatx float64 holds its learning rate in float64:
    ``floatx="float64"`` matches it bit for bit (the default, float32, does not)."""
    assert worst_relative_difference(case, dtype, lr_floatx="float64") == 0.0
    if dtype == "float64":
        theirs = _keras_trajectory(case, dtype, "float64")[-1][0]
        assert not np.array_equal(_numpy_trajectory(case, dtype)[-1][0], theirs)


def test_keras_learning_rate_takes_floatx_at_construction():
    """What the argument stands for: the variable's dtype is floatx when the optimizer is made,
    whatever the floatx when it is built or applied, and whatever the weights' dtype."""
    with floatx("float64"):
        opt = keras.optimizers.Adam(learning_rate=0.1)
    assert opt.learning_rate.dtype == "float64" and opt.learning_rate.numpy() == 0.1
    opt = keras.optimizers.Adam(learning_rate=0.1)
    with floatx("float64"):
        opt.build([keras.Variable(np.zeros(3), dtype="float64")])
    assert opt.learning_rate.dtype == "float32"


# -- non-finite slices --------------------------------------------------------------------------
@pytest.mark.parametrize("name,kw", [("Adam", {}), ("SGD", {"momentum": 0.9}),
                                     ("SGD", {}), ("Adam", {"clipnorm": 1.0}),
                                     ("RMSprop", {"global_clipnorm": 1.0})],
                         ids=["adam", "sgd-momentum", "sgd", "adam-clipnorm",
                              "rmsprop-global_clipnorm"])
def test_nan_slice_applied_like_keras(name, kw, tf_sum):
    inits, steps = _problem("float64")
    steps[1][0][3, 1] = np.nan  # row 2, read twice in step 1
    kopt, nopt = getattr(keras.optimizers, name)(**kw), getattr(optimizers, name)(**kw)
    kv = [keras.Variable(x.copy(), dtype="float64") for x in inits]
    nv = [x.copy() for x in inits]
    with np.errstate(all="ignore"):
        for values, ids, bias in steps:
            kopt.apply_gradients(zip([tf.IndexedSlices(tf.constant(values), tf.constant(ids),
                                                       tf.constant([ROWS, DIM])),
                                      tf.constant(bias)], kv))
            nopt.apply_gradients(zip([IndexedSlices(values, ids, (ROWS, DIM)), bias], nv))
    assert not np.isfinite(nv[0]).all()
    for a, b in zip(nv, kv):
        np.testing.assert_array_equal(a, b.numpy())


def test_rmsprop_nan_in_a_row_read_twice_fails_like_keras():
    """Keras's re-gather adds the positions of a duplicated row and gathers past the end."""
    inits, steps = _problem("float64")
    values, ids, _ = steps[1]  # ids [0, 0, 0, 2, 2, 7]
    values[3, 1] = np.nan
    table = tf.IndexedSlices(tf.constant(values), tf.constant(ids), tf.constant([ROWS, DIM]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        keras.optimizers.RMSprop(momentum=0.5).apply_gradients(
            [(table, keras.Variable(inits[0].copy(), dtype="float64"))])
    with pytest.raises(IndexError, match="past the end"), np.errstate(all="ignore"):
        optimizers.RMSprop(momentum=0.5).apply_gradients(
            [(IndexedSlices(values, ids, (ROWS, DIM)), inits[0].copy())])


def test_rmsprop_nan_slice_division_like_keras():
    """RMSprop without momentum divides the slices by a NaN row: Keras's union re-gather."""
    inits, steps = _problem("float64")
    ids = np.array([4, 1, 6])  # unsorted, no duplicates: Keras pairs values with sorted rows
    values = np.random.default_rng(0).normal(size=(3, DIM))
    values[2, 0] = np.nan
    kv = keras.Variable(inits[0].copy(), dtype="float64")
    nv = inits[0].copy()
    keras.optimizers.RMSprop().apply_gradients([(tf.IndexedSlices(
        tf.constant(values), tf.constant(ids), tf.constant([ROWS, DIM])), kv)])
    with np.errstate(all="ignore"):
        optimizers.RMSprop().apply_gradients([(IndexedSlices(values, ids, (ROWS, DIM)), nv)])
    np.testing.assert_array_equal(nv, kv.numpy())


# -- teeth: plausible mistakes on slices must fail the comparisons above ------------------------
def _square_after_sum(x):
    return np.square(sparse.dense(x))


def _subtract_rows(variable, x):
    variable -= sparse.dense(x)


def _scale_after_sum(x, s):
    return sparse.dense(x) * s


def _clip_densified(self, grads):
    return orig_clip(self, [sparse.dense(g) for g in grads])


orig_clip = optimizers.Optimizer._clip


def _global_norm_of_sums(grads, clipnorm):
    return orig_global(([sparse.dense(g) for g in grads]), clipnorm)


orig_global = optimizers._clip_by_global_norm

MUTANTS = {
    "square after summing duplicates": (sparse, "square", _square_after_sum,
                                        ["adam", "adam-amsgrad", "rmsprop", "rmsprop-centered",
                                         "adamw"]),
    "one subtraction per row, not per slice": (sparse, "scatter_sub", _subtract_rows,
                                               ["sgd", "rmsprop", "rmsprop-centered"]),
    "scaled after summing duplicates": (sparse, "scale", _scale_after_sum,
                                        ["sgd-momentum", "rmsprop-centered", "rmsprop-momentum"]),
    "clipping the summed rows": (optimizers.Optimizer, "_clip", _clip_densified,
                                 ["sgd-clipnorm", "sgd-clipvalue", "adam-clipnorm",
                                  "adam-clipvalue", "rmsprop-rho-eps-clipvalue"]),
    "global norm of the summed rows": (optimizers, "_clip_by_global_norm", _global_norm_of_sums,
                                       ["sgd-global_clipnorm", "adam-global_clipnorm"]),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_teeth_planted_sparse_bugs_fail_the_parity_comparison(mutant, monkeypatch, tf_sum):
    owner, attr, replacement, cases = MUTANTS[mutant]
    for case in cases:
        assert worst_relative_difference(case, "float64") == 0.0, case
    monkeypatch.setattr(owner, attr, replacement)
    for case in cases:
        err = worst_relative_difference(case, "float64")
        assert err > 0.0, (mutant, case)


def test_teeth_learning_rate_floatx_ignored(monkeypatch, tf_sum):
    monkeypatch.setattr(optimizers.Optimizer, "_lr", lambda self, dtype: (
        optimizers._through_float32(self.learning_rate, dtype)))
    for case in ("sgd", "adam", "rmsprop"):
        assert worst_relative_difference(case, "float64", lr_floatx="float64") > 0.0, case
