"""``activations.backward`` equals TensorFlow's gradient of ``keras.activations.<name>``.

The Keras side is ``tf.GradientTape`` on ``keras.activations.<name>`` with ``output_gradients``
set to a random upstream gradient, in float32 and float64, at random points and exactly at the
kinks (0, +-0.5, +-1, +-3, +-6 and their floating-point neighbours), where both sides must agree
bit for bit. Measured (tensorflow-cpu 2.21, Keras 3.15; max|ours - tf| / max|tf|, seeds 0-29):
float64 <= 2.5e-15 (mish; softmax 1.8e-15, the rest <= 6e-16); float32 <= 8.1e-7 (softmax)
except mish, 3.0e-6, where TF's own float32 gradient is up to 2.3e-6 away from its float64 one
(ours 5.8e-7): the float32 bound is 1e-6, or 1.5x TF's own float32 error where that is larger.
The piecewise-linear activations agree exactly everywhere.

TF's choices at the kinks that look odd, matched anyway:
* celu'(0) = 2: Keras writes celu as maximum(x, 0) + expm1(minimum(x, 0)); TF's Maximum gradient
  goes to x where x >= 0 and Minimum's where x <= 0, so at 0 both branches count.
* hard_tanh'(+-1) = 1 (clip_by_value is minimum/maximum, both inclusive), whereas
  relu6'(0) = relu6'(6) = 0 and hard_sigmoid'(+-3) = 0 (Relu6Grad is open at both edges).
* hard_sigmoid's edge is where float(x + 3) hits 0 or 6: for float32 x = nextafter(3, 0),
  x + 3 rounds to 6 and TF's gradient is already 0.
* gelu in float64 uses c = float32(1/sqrt(2)) (TF casts a float32 constant), so TF's float64
  gelu' differs from the exact derivative by up to 5e-9 relative; we match TF.
* Keras 3.15's sparsemax is wrong whenever the support has more than one element
  (keras-team/keras#23425, fixed by #23469): numpy_rnn's forward is the correct sparsemax, so its
  backward is compared with the tape of the fixed formula, and with Keras's only where the
  support is a single element (where the two agree).
"""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from numpy_rnn import activations as A  # noqa: E402

KINKS = (0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 6.0, -6.0)
PIECEWISE = ("relu", "relu6", "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu",
             "hard_tanh", "hard_shrink", "soft_shrink", "sparse_plus", "sparse_sigmoid", "linear")
EXP_KINKED = ("elu", "selu", "celu")  # kinked at 0 only, exp elsewhere
DTYPES = (np.float32, np.float64)
#: max|ours - tf| / max|tf|. float32: 1e-6, or 1.5x TF's own float32-vs-float64 gap if larger.
RTOL = {np.float32: 1e-6, np.float64: 1e-14}


def kink_points(dtype) -> np.ndarray:
    """Every kink with its two floating-point neighbours in ``dtype``: shape (33,).

    The neighbours of 0 are +-tiny (the smallest normal), not the subnormals: TF's CPU kernels
    treat subnormal inputs as 0 (denormals-are-zero), so at x = -5e-324 TF's celu' is already
    celu'(0) = 2; numpy_rnn takes a subnormal for the number it is.
    """
    k = np.asarray(KINKS, dtype)
    below, above = np.nextafter(k, dtype(-np.inf)), np.nextafter(k, dtype(np.inf))
    tiny = np.finfo(dtype).tiny
    below[k == 0], above[k == 0] = -tiny, tiny
    return np.concatenate([k, below, above])


def inputs(name: str, dtype, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x, grad_y): random points (scale 3) plus rows of kink points; x (N, 34)."""
    rng = np.random.default_rng(seed)
    kinks = np.append(kink_points(dtype), 0.0)  # (34,)
    x = np.concatenate([rng.normal(0, 3, (48, 34)), np.tile(kinks, (2, 1))]).astype(dtype)
    g = rng.normal(size=x.shape).astype(dtype)
    if name == "glu":
        g = g[:, :17]
    return x, g


def tf_grad(fn, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = fn(xt)
    return tape.gradient(y, xt, output_gradients=tf.constant(g)).numpy()


def tf_sparsemax_fixed(x):
    """Keras's sparsemax with keras-team/keras#23469 applied (tau from the support's sum)."""
    z = tf.sort(x, direction="DESCENDING", axis=-1)
    cs = tf.cumsum(z, axis=-1)
    r = tf.range(1, x.shape[-1] + 1, dtype=x.dtype)
    support = z - (cs - 1) / r > 0
    k = tf.reduce_sum(tf.cast(support, x.dtype), axis=-1, keepdims=True)
    tau = (tf.reduce_sum(tf.where(support, z, tf.zeros_like(z)), axis=-1, keepdims=True) - 1) / k
    return tf.maximum(x - tau, 0.0)


def check(name: str, dtype, seed: int = 0) -> float:
    """Assert backward == TF's gradient for ``name``; returns max|ours - tf| / max|tf|."""
    fn = A.get(name)
    x, g = inputs(name, dtype, seed)
    ours = A.backward(fn, x, fn(x), g)
    assert ours.dtype == dtype and ours.shape == x.shape
    ref = tf_grad(getattr(keras.activations, name), x, g)
    scale = np.abs(ref).max()
    rtol = RTOL[dtype]
    if dtype == np.float32:  # TF's own float32 rounding, measured against its float64 gradient
        tf64 = tf_grad(getattr(keras.activations, name), x.astype(np.float64), g.astype(np.float64))
        rtol = max(rtol, 1.5 * np.abs(ref - tf64).max() / scale)
    err = np.abs(ours - ref).max() / scale
    assert err <= rtol, f"{name} {np.dtype(dtype).name}: max|ours - tf| / max|tf| = {err:.2e}"
    if name in PIECEWISE:  # piecewise polynomials: the kink rows agree bit for bit
        np.testing.assert_array_equal(ours[-2:], ref[-2:], err_msg=f"{name} at the kinks")
    if name in EXP_KINKED:  # bit for bit at 0 and +-tiny
        at0 = np.abs(x) <= np.finfo(dtype).tiny
        np.testing.assert_array_equal(ours[at0], ref[at0], err_msg=f"{name} at 0")
    return err


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", [n for n in A.names() if n != "sparsemax"])
def test_backward_equals_tensorflow(name, dtype):
    check(name, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_sparsemax_equals_the_fixed_keras_formula(dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(64, 9)) * rng.choice([0.1, 1.0, 5.0], (64, 1))).astype(dtype)
    g = rng.normal(size=x.shape).astype(dtype)
    ref_y = tf_sparsemax_fixed(tf.constant(x)).numpy()
    np.testing.assert_allclose(A.sparsemax(x), ref_y, rtol=0, atol=10 * np.finfo(dtype).eps)
    assert len({int(k) for k in np.sum(ref_y > 0, axis=-1)}) >= 4  # supports of many sizes
    ours = A.backward(A.sparsemax, x, A.sparsemax(x), g)
    ref = tf_grad(tf_sparsemax_fixed, x, g)
    assert np.abs(ours - ref).max() <= 8 * np.finfo(dtype).eps * np.abs(ref).max()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_sparsemax_equals_keras_where_keras_is_right(dtype):
    """A one-element support (logits far apart): Keras 3.15's formula is right there."""
    rng = np.random.default_rng(2)
    x = (rng.permuted(np.tile(np.arange(8.0) * 3, (16, 1)), axis=1)
         + rng.uniform(-0.5, 0.5, (16, 8))).astype(dtype)
    g = rng.normal(size=x.shape).astype(dtype)
    np.testing.assert_array_equal(A.sparsemax(x), keras.activations.sparsemax(x).numpy())
    ours = A.backward(A.sparsemax, x, A.sparsemax(x), g)
    np.testing.assert_array_equal(ours, tf_grad(keras.activations.sparsemax, x, g))


# --- Teeth: each planted bug must make the comparison above fail. ---------------------------

def _relu_one_at_zero(x, y, g):
    return g * (x >= 0).astype(g.dtype)


def _softmax_no_sum(x, y, g):
    return g * y


def _gelu_exact_constant(x, y, g):  # the textbook derivative: float64 misses TF by ~5e-9
    from math import erf, pi, sqrt
    cdf = 0.5 * (1 + np.vectorize(erf)(x / sqrt(2)))
    return g * (cdf + x * np.exp(-x * x / 2) / sqrt(2 * pi))


_GLU = A._BACKWARD[A.glu]

MUTANTS = {
    ("tanh", "1 - y"): lambda x, y, g: g * (1 - y),
    ("relu", "relu'(0) = 1"): _relu_one_at_zero,
    ("sigmoid", "dropped (1 - y)"): lambda x, y, g: g * y,
    ("softmax", "dropped the sum term"): _softmax_no_sum,
    ("log_softmax", "exp(y) -> y"): lambda x, y, g: g - np.sum(g, -1, keepdims=True) * y,
    ("leaky_relu", "slope 1 at 0"): lambda x, y, g: np.where(x >= 0, g, g * g.dtype.type(0.2)),
    ("leaky_relu", "slope 0.2 in float64"): lambda x, y, g: np.where(x > 0, g, g * 0.2),
    ("celu", "celu'(0) = 1"): lambda x, y, g: np.where(x > 0, g, g * np.exp(np.minimum(x, 0))),
    ("hard_tanh", "open edges"): lambda x, y, g: g * ((x > -1) & (x < 1)),
    ("relu6", "closed edges"): lambda x, y, g: g * ((x >= 0) & (x <= 6)),
    ("hard_sigmoid", "slope 0.2 (Keras 2)"): lambda x, y, g: g * 0.2 * ((x > -2.5) & (x < 2.5)),
    ("elu", "elu'(0) = 0"): lambda x, y, g: np.where(x < 0, g * np.exp(x), np.where(x > 0, g, 0)),
    ("gelu", "exact 1/sqrt(2)"): _gelu_exact_constant,
    ("softsign", "1 / (1 + |x|)"): lambda x, y, g: g / (np.abs(x) + 1),
    ("sparse_plus", "sparse_plus'(1) = 0"): lambda x, y, g: np.where(
        (x <= -1) | (x >= 1), np.where(x > 1, g, 0), g * 0.5 * (x + 1)),
    ("glu", "halves swapped"): lambda x, y, g: _GLU(x, y, g)[..., ::-1],
    ("mish", "dropped the softplus factor"): lambda x, y, g: (
        g * np.tanh(A.softplus(x)) + x * g * (1 - np.tanh(A.softplus(x)) ** 2)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name,bug", list(MUTANTS), ids=[f"{n}: {b}" for n, b in MUTANTS])
def test_teeth_planted_derivative_bug_fails(monkeypatch, name, bug, dtype):
    if (name, bug) in {("gelu", "exact 1/sqrt(2)"), ("leaky_relu", "slope 0.2 in float64")} \
            and dtype == np.float32:
        pytest.skip("a float64-only difference (below float32 resolution)")
    mutant = MUTANTS[(name, bug)]
    monkeypatch.setitem(A._BACKWARD, A.get(name), lambda x, y, g: mutant(x, y, g).astype(g.dtype))
    with pytest.raises(AssertionError):
        check(name, dtype)


def test_teeth_sparsemax_without_the_mean_fails(monkeypatch):
    monkeypatch.setitem(A._BACKWARD, A.sparsemax, lambda x, y, g: g * (y > 0))
    with pytest.raises(AssertionError):
        test_sparsemax_equals_the_fixed_keras_formula(np.float64)
