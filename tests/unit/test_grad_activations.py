"""``activations.backward`` without TensorFlow: float64 finite differences, kink values, errors.

Central differences with h = 1e-6 away from the kinks: measured agreement <= 1.3e-9 relative to
max|grad| (the finite-difference error itself), gelu 4.9e-9 (its backward uses TF's float32-rounded
1/sqrt(2), 5e-9 relative from the exact derivative, still inside the 1e-7 bound).
"""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import activations as A

KINKS = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0])
VECTOR = ("softmax", "log_softmax", "sparsemax", "glu")  # not elementwise
H = 1e-6


def away_from_kinks(rng, shape) -> np.ndarray:
    """Normal(0, 3) points at least 1e-3 from every kink: (shape)."""
    x = rng.normal(0, 3, shape)
    near = np.min(np.abs(x[..., None] - KINKS), axis=-1) < 1e-3
    x[near] += 0.01
    return x


@pytest.mark.parametrize("name", [n for n in A.names() if n not in VECTOR])
def test_elementwise_matches_central_differences(name):
    fn = A.get(name)
    rng = np.random.default_rng(0)
    x = away_from_kinks(rng, (32, 16))  # (N, F)
    g = rng.normal(size=x.shape)
    fd = g * (fn(x + H) - fn(x - H)) / (2 * H)
    got = A.backward(fn, x, fn(x), g)
    assert np.abs(got - fd).max() <= 1e-7 * max(np.abs(fd).max(), 1.0), name


@pytest.mark.parametrize("name", VECTOR)
def test_vector_jacobian_product_matches_a_directional_difference(name):
    """<backward(g), v> == d/de sum(g * fn(x + e v)) for random g and v."""
    fn = A.get(name)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, (16, 8))  # (B, F)
    v = rng.normal(size=x.shape)
    g = rng.normal(size=fn(x).shape)
    if name == "sparsemax":  # keep every row's support the same at x +- H v
        same = np.all((fn(x + H * v) > 0) == (fn(x - H * v) > 0), axis=-1)
        assert same.sum() >= 12
        x, v, g = x[same], v[same], g[same]
    rows_fd = np.sum(g * (fn(x + H * v) - fn(x - H * v)), axis=-1) / (2 * H)  # (B,)
    rows = np.sum(A.backward(fn, x, fn(x), g) * v, axis=-1)  # (B,)
    np.testing.assert_allclose(rows, rows_fd, rtol=1e-7, atol=1e-8)


def test_sparsemax_gradient_is_zero_off_the_support_and_mean_free_on_it():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 7))
    y = A.sparsemax(x)
    g = rng.normal(size=x.shape)
    d = A.backward(A.sparsemax, x, y, g)
    assert np.all(d[y == 0] == 0)
    np.testing.assert_allclose(d.sum(axis=-1), 0, atol=1e-14)


# TF's gradients at the kinks (tests/parity/test_grad_activations.py proves TF does the same).
KINK_VALUES = {
    "relu": {0.0: 0.0},
    "relu6": {0.0: 0.0, 6.0: 0.0, 3.0: 1.0},
    "hard_sigmoid": {-3.0: 0.0, 3.0: 0.0, 0.0: 1 / 6},
    "leaky_relu": {0.0: float(np.float32(0.2))},
    "elu": {0.0: 1.0},
    "selu": {0.0: 1.0507009873554805},
    "celu": {0.0: 2.0},  # TF: Maximum and Minimum both pass the gradient at 0
    "hard_tanh": {-1.0: 1.0, 1.0: 1.0},
    "hard_shrink": {-0.5: 0.0, 0.5: 0.0},
    "soft_shrink": {-0.5: 0.0, 0.5: 0.0},
    "sparse_plus": {-1.0: 0.0, 1.0: 1.0},
    "sparse_sigmoid": {-1.0: 0.0, 1.0: 0.0},
    "softsign": {0.0: 1.0},
    "hard_silu": {-3.0: 0.0, 3.0: 1.0},  # hs(3) = 1 plus 3 * 0 (the edge counts as outside)
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(KINK_VALUES))
def test_gradient_at_the_kinks_is_tensorflows(name, dtype):
    fn = A.get(name)
    for x0, want in KINK_VALUES[name].items():
        x = np.array([x0], dtype)
        got = A.backward(fn, x, fn(x), np.ones(1, dtype))
        assert got[0] == dtype(want), (name, x0, got[0], want)


def test_hard_sigmoid_edge_is_where_x_plus_3_rounds_to_the_clip():
    """float32: x = nextafter(3, 0) has x + 3 == 6 after rounding, so TF's gradient is 0."""
    x = np.nextafter(np.float32(3), np.float32(0), dtype=np.float32).reshape(1)
    assert x + np.float32(3) == 6
    assert A.backward(A.hard_sigmoid, x, None, np.ones(1, np.float32))[0] == 0
    x = np.nextafter(np.float32(3), np.float32(0))
    x = np.nextafter(x, np.float32(0)).reshape(1)
    assert A.backward(A.hard_sigmoid, x, None, np.ones(1, np.float32))[0] == np.float32(1 / 6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", A.names())
def test_dtype_and_shape_are_those_of_grad_y(name, dtype):
    fn = A.get(name)
    x = np.random.default_rng(3).normal(size=(2, 3, 4)).astype(dtype)
    y = fn(x)
    g = np.ones_like(y)
    got = A.backward(fn, x, y, g)
    assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_array_equal(A.backward(fn, x, None, g), got)  # y=None: recomputed


@pytest.mark.parametrize("name", [n for n in A.names() if not A.needs_input(A.get(n))])
def test_output_only_activations_need_no_input(name):
    """Layers running ``in_place`` keep only y: the same gradient as with x."""
    fn = A.get(name)
    x = np.random.default_rng(4).normal(0, 3, (8, 6))
    g = np.random.default_rng(5).normal(size=x.shape)
    y = A.in_place(fn, x.copy())
    if name in ("elu", "selu"):  # with x, TF's own exp(x) - 1 is rebuilt; without, our expm1
        np.testing.assert_allclose(A.backward(fn, None, y, g), A.backward(fn, x, y, g),
                                   rtol=1e-13, atol=1e-15)
    else:
        np.testing.assert_array_equal(A.backward(fn, None, y, g), A.backward(fn, x, y, g))


def test_an_activation_that_needs_its_input_says_so():
    assert A.needs_input(A.hard_sigmoid) and A.needs_input(A.gelu)
    assert not A.needs_input(A.tanh) and not A.needs_input(A.sigmoid)
    with pytest.raises(ValueError, match="hard_sigmoid.*needs its input `x`"):
        A.backward(A.hard_sigmoid, None, np.zeros(3), np.ones(3))


def test_custom_activation_is_not_differentiated():
    def my_act(x):
        return x * 2

    with pytest.raises(NotImplementedError,
                       match="cannot differentiate the custom activation my_act; use a Keras"):
        A.backward(A.get(my_act), np.zeros(3), None, np.ones(3))


def test_grad_y_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="grad_y"):
        A.backward(A.tanh, np.zeros((2, 3)), None, np.ones((3, 2)))
    with pytest.raises(ValueError, match="grad_y"):
        A.backward(A.glu, np.zeros((2, 4)), None, np.ones((2, 4)))  # glu halves the last axis
    with pytest.raises(ValueError, match="needs `x` or `y`"):
        A.backward(A.tanh, None, None, np.ones(3))


def test_linear_returns_a_fresh_array():
    g = np.ones(4)
    out = A.backward(A.linear, g, g, g)
    assert out is not g and not np.shares_memory(out, g)


def test_forward_is_unchanged():
    """backward adds no state: the forwards give the same bits before and after a backward."""
    x = np.random.default_rng(6).normal(0, 3, (5, 8)).astype(np.float32)
    before = {n: A.get(n)(x).copy() for n in A.names()}
    for n in A.names():
        A.backward(A.get(n), x, None, np.ones_like(A.get(n)(x)))
    for n in A.names():
        np.testing.assert_array_equal(A.get(n)(x), before[n])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_inputs_give_finite_gradients_without_warnings(dtype, recwarn):
    x = np.array([-1e4, -100.0, 100.0, 1e4], dtype)
    for name in A.names():
        if name in ("exponential", "glu", "softmax", "log_softmax", "sparsemax"):
            continue  # exp(1e4) is inf already in the forward
        fn = A.get(name)
        with np.errstate(over="ignore"):  # a few forwards overflow on their own (not ours)
            y = fn(x)
        got = A.backward(fn, x, y, np.ones_like(x))
        assert np.all(np.isfinite(got)), (name, got)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
