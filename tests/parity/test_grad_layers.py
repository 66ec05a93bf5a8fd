"""Backward passes of Dense, Embedding, Masking and Dropout against tf.GradientTape.

Loss = sum(layer(x) * w) for a random ``w`` (so ``grad_output = w``); the Keras side is
``tape.gradient(loss, layer.trainable_variables + [x])`` with weights copied by
``parity.from_keras``.  Agreement is measured relative to the largest Keras gradient:
float64 within 1e-12, float32 within 1e-6 (spec/keras-semantics.md section 4)."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import parity  # noqa: E402
from numpy_rnn import activations  # noqa: E402
from numpy_rnn.layers.regularization.dropout import Dropout  # noqa: E402
from numpy_rnn.layers.core.dense import Dense  # noqa: E402
from numpy_rnn.layers.core.embedding import Embedding  # noqa: E402
from tests.helpers import wrap_backward  # noqa: E402

#: Tolerance relative to max |Keras gradient|, per dtype.
REL = {"float32": 1e-6, "float64": 1e-12}


def _agree(name: str, ours, theirs, dtype: str) -> float:
    theirs = np.asarray(theirs)
    assert ours is not None and ours.shape == theirs.shape, f"{name}: shape mismatch"
    assert ours.dtype == np.dtype(dtype), f"{name}: dtype {ours.dtype}"
    scale = max(float(np.max(np.abs(theirs))), np.finfo(dtype).tiny) if theirs.size else 1.0
    rel = float(np.max(np.abs(ours.astype(np.float64) - theirs))) / scale if theirs.size else 0.0
    assert rel <= REL[dtype], f"{name}: max |ours - keras| / max |keras| = {rel:.3g}"
    return rel


def _keras_grads(layer, x, w, **call_kw):
    """(output, [d weight for each trainable variable], d x or None) from the tape."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        if xt.dtype.is_floating:
            tape.watch(xt)
        y = layer(xt, **call_kw)
        loss = tf.reduce_sum(y * tf.constant(w, y.dtype))
    wanted = list(layer.trainable_variables) + ([xt] if xt.dtype.is_floating else [])
    grads = [None if g is None else np.asarray(tf.convert_to_tensor(g))
             for g in tape.gradient(loss, wanted)]
    if xt.dtype.is_floating:
        return np.asarray(y), grads[:-1], grads[-1]
    return np.asarray(y), grads, None


def compare_dense(units, activation, shape, dtype, use_bias=True, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    k = keras.layers.Dense(units, activation=activation, use_bias=use_bias, dtype=dtype)
    k.build((None, shape[-1]))
    k.set_weights([rng.normal(scale=0.5, size=v.shape).astype(dtype) for v in k.weights])
    n = parity.from_keras(k)
    x = rng.normal(scale=1.5, size=shape).astype(dtype)
    y = n(x, training=True)
    w = rng.normal(size=y.shape).astype(dtype)
    dx = n.backward(w)
    _, kgrads, kdx = _keras_grads(k, x, w)
    figures = {name: _agree(name, g, kg, dtype)
               for name, g, kg in zip(n.weight_names(), n.gradients, kgrads)}
    figures["inputs"] = _agree("inputs", dx, kdx, dtype)
    return figures


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(6, 5), (4, 7, 5), (2, 3, 4, 5)], ids=["2-D", "3-D", "4-D"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_linear_matches_tape(dtype, shape, use_bias):
    compare_dense(4, None, shape, dtype, use_bias)


#: Activations whose FORWARD differs from Keras 3.15 (so the gradients cannot agree either); the
#: finite-difference tests in tests/unit/test_grad_layers.py cover their backward.
FORWARD_DIFFERS = {
    # Keras's TensorFlow sparsemax sums the cumulative sums over the support for tau (its rows do
    # not sum to 1); numpy_rnn computes the textbook sparsemax: outputs differ by ~0.8.
    ("sparsemax", "float32"): "Keras 3.15's sparsemax is not the textbook one",
    ("sparsemax", "float64"): "Keras 3.15's sparsemax is not the textbook one",
}


def _activation_cases():
    for dtype in ("float32", "float64"):
        for name in activations.names():
            reason = FORWARD_DIFFERS.get((name, dtype))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(dtype, name, marks=marks, id=f"{name}-{dtype}")


@pytest.mark.parametrize("dtype, activation", list(_activation_cases()))
def test_dense_every_activation_matches_tape(dtype, activation):
    compare_dense(4, activation, (3, 6, 5), dtype)


def _float64_referee(shape, units, activation, seed=0):
    """The float32 case of ``compare_dense`` computed by Keras in float64 (the exact side)."""
    rng = np.random.default_rng(seed)
    k = keras.layers.Dense(units, activation=activation, dtype="float32")
    k.build((None, shape[-1]))
    weights = [rng.normal(scale=0.5, size=v.shape).astype("float32") for v in k.weights]
    x = rng.normal(scale=1.5, size=shape).astype("float32")
    k64 = keras.layers.Dense(units, activation=activation, dtype="float64")
    k64.build((None, shape[-1]))
    k64.set_weights([w.astype("float64") for w in weights])
    k.set_weights(weights)
    w = rng.normal(size=shape[:-1] + (units,)).astype("float32")
    n = parity.from_keras(k)
    n(x, training=True)
    dx = n.backward(w)
    _, k32, kdx32 = _keras_grads(k, x, w)
    _, k64g, kdx64 = _keras_grads(k64, x.astype("float64"), w.astype("float64"))
    rows = {}
    for name, ours, theirs, exact in zip(n.weight_names() + ["inputs"], n.gradients + [dx],
                                         k32 + [kdx32], k64g + [kdx64]):
        scale = float(np.max(np.abs(exact)))
        rows[name] = (float(np.max(np.abs(ours - exact))) / scale,
                      float(np.max(np.abs(theirs - exact))) / scale)
    return rows


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dense_large_batch_matches_tape(dtype):
    """Gradients summed over many rows (B*T = 3200): the float32 figure the spec quotes."""
    compare_dense(64, "tanh", (32, 100, 48), dtype)


def test_dense_large_batch_float32_referee():
    """Against Keras in float64 (the exact side), our float32 gradients are as exact as Keras's
    own float32 ones (measured, relative to max|grad|: kernel 4.6e-7 vs 5.8e-7, bias 3.4e-7 vs
    9.5e-7, inputs 6.0e-7 vs 6.4e-7): the float32 disagreement is both sides' rounding."""
    for name, (ours, keras32) in _float64_referee((32, 100, 48), 64, "tanh").items():
        assert ours <= 1.5 * max(keras32, 2e-7), \
            f"{name}: ours {ours:.3g} off float64, keras float32 {keras32:.3g}"


def compare_embedding(ids, dtype, mask_zero=False, input_dim=6, output_dim=4, seed=0) -> float:
    rng = np.random.default_rng(seed)
    k = keras.layers.Embedding(input_dim, output_dim, mask_zero=mask_zero, dtype=dtype)
    k.build((None,))
    k.set_weights([rng.normal(size=(input_dim, output_dim)).astype(dtype)])
    n = parity.from_keras(k)
    ids = np.asarray(ids)
    y = n(ids, training=True)
    w = rng.normal(size=y.shape).astype(dtype)
    assert n.backward(w) is None
    ky, kgrads, _ = _keras_grads(k, ids, w)
    np.testing.assert_array_equal(y, ky)
    return _agree("embeddings", n.gradients[0], kgrads[0], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ids", [
    [[1, 3, 1, 1, 0], [0, 3, 2, 1, 1]],        # repeated ids (Keras: IndexedSlices, made dense)
    [[-1, 5, -6, 0], [2, -1, -1, 3]],           # negative ids wrap
    [[[1, 2], [2, 1]], [[0, 0], [5, -2]]],      # rank 3
], ids=["repeated", "negative", "rank3"])
@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_matches_tape(dtype, ids, mask_zero):
    compare_embedding(ids, dtype, mask_zero)


def test_embedding_mask_zero_row_0_gets_gradient_in_keras_too():
    k = keras.layers.Embedding(3, 2, mask_zero=True, dtype="float64")
    k.build((None,))
    _, (g,), _ = _keras_grads(k, np.array([[0, 0, 1]]), np.ones((1, 3, 2)))
    np.testing.assert_array_equal(g[0], [2.0, 2.0])  # the mask does not stop row 0's gradient
    compare_embedding([[0, 0, 1]], "float64", mask_zero=True, input_dim=3, output_dim=2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mask_value", [0.0, 0.5])
def test_masking_matches_tape(dtype, mask_value):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5, 4)).astype(dtype)
    x[0, 1] = x[1, 3:] = x[2, :] = mask_value
    k = keras.layers.Masking(mask_value, dtype=dtype)
    n = parity.from_keras(k)
    y = n(x, training=True)
    w = rng.normal(size=y.shape).astype(dtype)
    dx = n.backward(w)
    _, _, kdx = _keras_grads(k, x, w)
    np.testing.assert_array_equal(dx, kdx)  # a product with 0/1: exactly equal
    assert np.all(dx[~np.any(x != mask_value, axis=-1)] == 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_inference_matches_tape(dtype):
    x = np.random.default_rng(0).normal(size=(4, 3, 5)).astype(dtype)
    w = np.random.default_rng(1).normal(size=x.shape).astype(dtype)
    k = keras.layers.Dropout(0.4, dtype=dtype)
    n = parity.from_keras(k)
    n(x)
    _, _, kdx = _keras_grads(k, x, w, training=False)
    np.testing.assert_array_equal(n.backward(w), kdx)


class _KerasMask:
    """A stand-in generator that draws Keras's keep-mask (Keras's RNG cannot be reproduced)."""

    def __init__(self, keep: np.ndarray, rate: float) -> None:
        self.keep, self.rate = keep, rate

    def random(self, shape):
        assert tuple(shape) == self.keep.shape
        return np.where(self.keep, 1.0, 0.0) if self.rate < 1 else np.zeros(shape)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.7])
def test_dropout_training_same_mask_gives_keras_forward_and_gradient(dtype, rate):
    """Given Keras's keep-mask, our forward and backward equal Keras's bit for bit."""
    x = np.random.default_rng(0).uniform(0.5, 2.0, size=(8, 6, 5)).astype(dtype)  # never 0
    w = np.random.default_rng(1).normal(size=x.shape).astype(dtype)
    k = keras.layers.Dropout(rate, dtype=dtype, seed=3)
    ky, _, kdx = _keras_grads(k, x, w, training=True)
    keep = ky != 0
    n = Dropout(rate, dtype=dtype)
    n._rng = _KerasMask(keep, rate)
    np.testing.assert_array_equal(n(x, training=True), ky)
    np.testing.assert_array_equal(n.backward(w), kdx)


# -- teeth: the same comparisons must fail on planted bugs -----------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_teeth_dense_bias_gradient_dropped(monkeypatch, dtype):
    wrap_backward(Dense, monkeypatch,
                   lambda s: s.gradients.__setitem__(1, np.zeros_like(s.gradients[1])))
    with pytest.raises(AssertionError, match="bias"):
        compare_dense(4, "tanh", (4, 7, 5), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_teeth_dense_transposed_kernel_gradient(monkeypatch, dtype):
    wrap_backward(Dense, monkeypatch,
                   lambda s: s.gradients.__setitem__(0, s.gradients[0].T.copy()))
    with pytest.raises(AssertionError, match="kernel"):
        compare_dense(5, None, (4, 7, 5), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_teeth_embedding_not_accumulating_repeated_ids(monkeypatch, dtype):
    def fancy(self, record, grad_output):
        g = self._grad_output(grad_output, record.shape + (self.output_dim,))
        d_table = np.zeros((self.input_dim, self.output_dim), self.dtype)
        d_table[record.reshape(-1)] = g.reshape(-1, self.output_dim)  # the bug
        self.gradients = [d_table]

    monkeypatch.setattr(Embedding, "_backward", fancy)
    with pytest.raises(AssertionError, match="embeddings"):
        compare_embedding([[1, 3, 1, 1, 0]], dtype)


def test_teeth_masking_mask_ignored(monkeypatch):
    from numpy_rnn.layers.core.masking import Masking

    monkeypatch.setattr(Masking, "_backward",
                        lambda self, record, g: self._grad_output(g, record[1]))
    with pytest.raises(AssertionError):
        test_masking_matches_tape("float64", 0.0)
