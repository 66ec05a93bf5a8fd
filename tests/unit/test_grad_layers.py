"""Backward passes of Dense, Embedding, Masking and Dropout: float64 finite differences (NumPy
only), the recording contract, bad input, and teeth (planted bugs the checks must catch)."""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import activations
from numpy_rnn.layers.core.masking import Masking
from numpy_rnn.layers.regularization.dropout import Dropout
from numpy_rnn.layers.core.dense import Dense
from numpy_rnn.layers.core.embedding import Embedding
from tests.helpers import wrap_backward

EPS = 1e-6
#: Central differences in float64 carry ~1e-10 truncation/rounding error here; a real bug is O(1).
FD_RTOL = 1e-6


def _numeric_grad(f, arr: np.ndarray) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to every element of ``arr``
    (perturbed in place and put back)."""
    out = np.zeros_like(arr, dtype=np.float64)
    flat, gflat = arr.reshape(-1), out.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + EPS
        up = f()
        flat[i] = old - EPS
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * EPS)
    return out


def _assert_fd(name: str, analytic: np.ndarray, numeric: np.ndarray) -> None:
    assert analytic.shape == numeric.shape, f"{name}: shape {analytic.shape} != {numeric.shape}"
    scale = max(1.0, float(np.max(np.abs(numeric))))
    err = float(np.max(np.abs(analytic - numeric))) if numeric.size else 0.0
    assert err <= FD_RTOL * scale, f"{name}: max |analytic - numeric| = {err:.3g} (scale {scale:.3g})"


def check_layer_fd(layer, x: np.ndarray, seed: int = 1234, input_grad: bool = True) -> None:
    """Finite-difference check of ``layer.backward`` for loss = sum(layer(x) * w): every weight
    gradient and (if ``input_grad``) the input gradient."""
    y = layer(x, training=True)
    w = np.random.default_rng(seed).normal(size=y.shape)  # grad_output = dLoss/dy
    dx = layer.backward(w)
    grads = layer.gradients
    assert [g.shape for g in grads] == [a.shape for a in layer.get_weights()]
    assert all(g.dtype == layer.dtype for g in grads)

    def f() -> float:
        return float(np.sum(layer(x) * w))

    for name, g in zip(layer.weight_names(), grads):
        _assert_fd(name, g, _numeric_grad(f, getattr(layer, name)))
    if input_grad:
        _assert_fd("inputs", dx, _numeric_grad(f, x))


def _dense(units, features, activation=None, use_bias=True, seed=3):
    layer = Dense(units, activation=activation, use_bias=use_bias, features=features,
                  dtype="float64", seed=seed)
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.8, size=w.shape) for w in layer.get_weights()])
    return layer


SHAPES = {2: (4, 3), 3: (2, 3, 3), 4: (2, 2, 2, 3)}


# -- Dense -------------------------------------------------------------------------------------
@pytest.mark.parametrize("rank", [2, 3, 4])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_linear_fd(rank, use_bias):
    check_layer_fd(_dense(4, 3, use_bias=use_bias), np.random.default_rng(rank).normal(
        size=SHAPES[rank]))


@pytest.mark.parametrize("name", activations.names())
@pytest.mark.parametrize("rank", [2, 3, 4])
def test_dense_every_activation_fd(name, rank):
    x = np.random.default_rng(rank).normal(scale=1.5, size=SHAPES[rank])
    check_layer_fd(_dense(4, 3, activation=name), x, seed=100 + rank)


def test_dense_backward_float32_dtype_and_grad_cast():
    layer = Dense(5, activation="tanh", features=3, seed=1)
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    layer(x, training=True)
    dx = layer.backward(np.ones((2, 4, 5)))  # a float64 grad_output is cast to the layer dtype
    assert dx.dtype == np.float32 and dx.shape == (2, 4, 3)
    assert [g.dtype for g in layer.gradients] == [np.float32, np.float32]


def test_dense_backward_uses_the_last_call():
    layer = _dense(3, 2)
    x1, x2 = np.ones((2, 2)), np.full((2, 2), 7.0)
    layer(x1, training=True)
    layer(x2, training=True)  # the later training call replaces the record
    layer.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(layer.gradients[0], np.full((2, 3), 14.0))
    layer(x1)  # an inference call forgets it: a same-shaped grad_output cannot be misapplied
    with pytest.raises(RuntimeError, match="training=True"):
        layer.backward(np.ones((2, 3)))


# -- Embedding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ids", [
    [[1, 3, 1, 1], [0, 3, 2, 1]],                     # repeated ids
    [[-1, 4, -5, 0], [2, -1, -1, 3]],                  # negative ids wrap (-1 == 4, -5 == 0)
    [[2.7, -1.5, 0.9, 4.2]],                           # float ids truncated as in the forward
    [3, 3, 3],                                         # rank 1
    [[[1, 2], [2, 1]], [[0, 0], [4, -2]]],             # rank 3
], ids=["repeated", "negative", "float", "rank1", "rank3"])
@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_fd(ids, mask_zero):
    layer = Embedding(5, 3, mask_zero=mask_zero, dtype="float64", seed=0)
    check_layer_fd(layer, np.asarray(ids), input_grad=False)
    layer(np.asarray(ids), training=True)  # check_layer_fd's last calls were inference calls
    assert layer.backward(np.ones(np.shape(ids) + (3,))) is None


def test_embedding_repeats_accumulate_and_mask_zero_keeps_row_0():
    layer = Embedding(4, 2, mask_zero=True, dtype="float64")
    layer(np.array([[0, 2, 2, -2, 0]]), training=True)
    layer.backward(np.ones((1, 5, 2)))
    np.testing.assert_array_equal(layer.gradients[0], [[2, 2], [0, 0], [3, 3], [0, 0]])


# -- Masking -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mask_value", [0.0, 0.5])
def test_masking_fd_and_exact_zero_at_masked_steps(mask_value):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5, 4))
    x[0, 1] = x[1, 3:] = x[2, :] = mask_value  # a hole, a right pad, a fully masked row
    x[1, 0, 2] = mask_value                    # one feature equal to mask_value: not masked
    layer = Masking(mask_value, dtype="float64")
    y = layer(x, training=True)
    w = rng.normal(size=y.shape)
    dx = layer.backward(w)
    keep = np.any(x != mask_value, axis=-1)
    assert np.all(dx[~keep] == 0.0) and not np.signbit(dx[~keep]).any()
    # Off the masked steps the forward is the identity; there the finite differences hold.
    numeric = _numeric_grad(lambda: float(np.sum(layer(x) * w)), x)
    _assert_fd("inputs", dx[keep], numeric[keep])


# -- Dropout -----------------------------------------------------------------------------------
def test_dropout_mask_statistics_scale_and_backward_same_mask():
    rate = 0.3
    layer = Dropout(rate, seed=7, dtype="float64")
    x = np.random.default_rng(0).uniform(1.0, 2.0, size=(400, 500))  # never 0
    y = layer(x, training=True)
    kept = y != 0
    frac = 1 - kept.mean()
    assert abs(frac - rate) < 4 * np.sqrt(rate * (1 - rate) / x.size)
    scale = 1 / (1 - rate)
    np.testing.assert_array_equal(y[kept], x[kept] * scale)
    g = np.random.default_rng(1).normal(size=x.shape)
    np.testing.assert_array_equal(layer.backward(g), np.where(kept, g * scale, 0.0))


def test_dropout_noise_shape_and_seed():
    x = np.ones((6, 5, 4), np.float32)
    a, b = Dropout(0.5, noise_shape=(None, 1, 4), seed=3), Dropout(0.5, noise_shape=(None, 1, 4),
                                                                  seed=3)
    ya, yb = a(x, training=True), b(x, training=True)
    np.testing.assert_array_equal(ya, yb)  # the seed fixes the draw
    assert np.all(ya == ya[:, :1, :])       # one mask per (batch, feature), shared over time
    g = np.random.default_rng(0).normal(size=x.shape).astype(np.float32)
    dx = a.backward(g)
    np.testing.assert_array_equal(dx, np.where(ya != 0, g * np.float32(2.0), 0))
    assert dx.dtype == np.float32


@pytest.mark.parametrize("rate", [0.0, 0.4, 1.0])
def test_dropout_inference_is_identity_both_ways(rate):
    layer = Dropout(rate, seed=0)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_array_equal(layer(x), x)
    g = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_array_equal(layer.backward(g), g)


def test_dropout_rate_zero_and_one_in_training():
    x = np.ones((2, 3))
    zero, one = Dropout(0.0), Dropout(1.0)
    np.testing.assert_array_equal(zero(x, training=True), x)
    np.testing.assert_array_equal(zero.backward(np.full((2, 3), 2.0)), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(one(x, training=True), 0)
    np.testing.assert_array_equal(one.backward(np.full((2, 3), 2.0)), 0)


# -- recording contract and bad input --------------------------------------------------------------
def _called(kind):
    """(layer, input) for each layer kind."""
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    return {
        "dense": (Dense(4, features=4), x),
        "embedding": (Embedding(5, 4), np.array([[1, 2, 3], [0, 4, 1]])),
        "masking": (Masking(), x),
        "dropout": (Dropout(0.5, seed=0), x),
    }[kind]


KINDS = ["dense", "embedding", "masking", "dropout"]


@pytest.mark.parametrize("kind", KINDS)
def test_backward_without_a_recorded_call_names_the_layer(kind):
    layer, x = _called(kind)
    with pytest.raises(RuntimeError, match=layer.name):
        layer.backward(np.ones((2, 3, 4)))
    if kind != "dropout":  # Dropout keeps its (free) identity record at inference
        layer(x)
        assert layer._record is None
        with pytest.raises(RuntimeError, match="training=True"):
            layer.backward(np.ones((2, 3, 4)))
    assert layer.gradients is None and layer.state_gradients is None


@pytest.mark.parametrize("kind", KINDS)
def test_grad_output_shape_and_dtype_errors(kind):
    layer, x = _called(kind)
    y = layer(x, training=True)
    with pytest.raises(ValueError, match=r"`grad_output`.*\(2, 3, 4\).*\(2, 3, 7\)") as e:
        layer.backward(np.ones((2, 3, 7)))
    assert str(y.shape) in str(e.value) and layer.name in str(e.value)
    with pytest.raises(TypeError, match="`grad_output`.*int64"):
        layer.backward(np.ones(y.shape, np.int64))
    with pytest.raises(TypeError, match="`grad_output`"):
        layer.backward(np.full(y.shape, "a"))
    assert layer.gradients is None  # a failed backward leaves nothing behind


@pytest.mark.parametrize("kind", KINDS)
def test_backward_of_an_empty_batch(kind):
    layer, x = _called(kind)
    x = x[:0]
    y = layer(x, training=True)
    dx = layer.backward(np.zeros(y.shape))
    assert (dx is None) if kind == "embedding" else (dx.shape == x.shape)
    assert [g.shape for g in layer.gradients] == [w.shape for w in layer.get_weights()]
    assert all(not g.any() for g in layer.gradients)


# -- teeth: planted bugs the checks above must catch -----------------------------------------------
def test_teeth_dense_bias_gradient_dropped(monkeypatch):
    wrap_backward(Dense, monkeypatch,
                   lambda s: s.gradients.__setitem__(1, np.zeros_like(s.gradients[1])))
    with pytest.raises(AssertionError, match="bias"):
        check_layer_fd(_dense(4, 3), np.random.default_rng(0).normal(size=(2, 3, 3)))


def test_teeth_dense_transposed_kernel_gradient(monkeypatch):
    wrap_backward(Dense, monkeypatch,
                   lambda s: s.gradients.__setitem__(0, s.gradients[0].T.copy()))
    with pytest.raises(AssertionError, match="kernel"):  # square kernel: same shape, wrong values
        check_layer_fd(_dense(3, 3), np.random.default_rng(0).normal(size=(2, 3, 3)))


def test_teeth_dense_activation_derivative_dropped(monkeypatch):
    monkeypatch.setattr(activations, "backward", lambda fn, z, y, g: g, raising=False)
    with pytest.raises(AssertionError):
        check_layer_fd(_dense(4, 3, activation="tanh"),
                       np.random.default_rng(0).normal(size=(4, 3)))


def _embedding_fancy_assignment(self, record, grad_output):
    g = self._grad_output(grad_output, record.shape + (self.output_dim,))
    d_table = np.zeros((self.input_dim, self.output_dim), self.dtype)
    d_table[record.reshape(-1)] = g.reshape(-1, self.output_dim)  # the bug: last repeat wins
    self.gradients = [d_table]


def test_teeth_embedding_not_accumulating_repeated_ids(monkeypatch):
    monkeypatch.setattr(Embedding, "_backward", _embedding_fancy_assignment)
    with pytest.raises(AssertionError, match="embeddings"):
        check_layer_fd(Embedding(5, 3, dtype="float64"), np.array([[1, 3, 1, 1]]),
                       input_grad=False)


def test_teeth_embedding_negative_ids_not_wrapped(monkeypatch):
    real = Embedding.__call__

    def unwrapped(self, ids, training=False):
        out = real(self, ids, training)
        if training:
            self._record = np.clip(self._ids(ids), 0, None)  # the bug: -1 read as row 0
        return out

    monkeypatch.setattr(Embedding, "__call__", unwrapped)
    with pytest.raises(AssertionError, match="embeddings"):
        check_layer_fd(Embedding(5, 3, dtype="float64"), np.array([[-1, 2]]), input_grad=False)


def test_teeth_masking_mask_ignored(monkeypatch):
    monkeypatch.setattr(Masking, "_backward",
                        lambda self, record, g: self._grad_output(g, record[1]))
    with pytest.raises(AssertionError):
        test_masking_fd_and_exact_zero_at_masked_steps(0.0)


def test_teeth_dropout_scale_dropped(monkeypatch):
    monkeypatch.setattr(Dropout, "_backward", lambda self, record, g: np.where(
        record[0], self._grad_output(g, record[2]), 0) if record[0] is not None else g)
    with pytest.raises(AssertionError):
        test_dropout_mask_statistics_scale_and_backward_same_mask()


def test_teeth_dropout_backward_draws_a_fresh_mask(monkeypatch):
    def fresh(self, record, g):
        keep = self._rng.random(record[2]) >= self.rate
        return np.where(keep, self._grad_output(g, record[2]) * record[1], 0)

    monkeypatch.setattr(Dropout, "_backward", fresh)
    with pytest.raises(AssertionError):
        test_dropout_mask_statistics_scale_and_backward_same_mask()


@pytest.mark.parametrize("kind", KINDS)
def test_an_inference_call_forgets_the_training_call(kind):
    """One rule for every layer (the recurrent ones too, tests/unit/test_grad_rnn.py): backward
    differentiates the LAST call. After an inference call there is nothing recorded -- except
    Dropout, whose inference call is the identity and records that (free) gradient."""
    layer, x = _called(kind)
    layer(x, training=True)
    y = layer(x)
    g = np.ones(y.shape)
    if kind == "dropout":
        np.testing.assert_array_equal(layer.backward(g), g)  # the identity, not the training mask
    else:
        with pytest.raises(RuntimeError, match="training=True"):
            layer.backward(g)
