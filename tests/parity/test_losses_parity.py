"""numpy_rnn.losses against keras.losses (Keras 3.15): value and dLoss/dy_pred.

Keras's side: the loss object called on ``y_pred`` under ``tf.GradientTape``; a mask is attached
to ``y_pred`` the way a masked recurrent layer attaches it (``set_keras_mask``).  Every loss and
option runs on ``(B, D)`` and ``(B, T, D)`` outputs, with no weights, per-sample and per-step
``sample_weight``, a mask, and mask and weights together; in float32, float64, and a float64
``y_pred`` under the default float32 loss (a float64 model compiled with a loss string).

Tolerances (the standards of issue 12): value relative to |value|, gradient relative to
max|gradient|: 1e-12 in float64 and 1e-6 in float32.  Measured figures are in the module's
``test_report_measured_agreement`` output (``-s``).  Teeth at the end.
"""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from keras.src.backend import set_keras_mask  # noqa: E402

from numpy_rnn import losses  # noqa: E402

KINDS = {
    "mse": ("MeanSquaredError", {}),
    "mae": ("MeanAbsoluteError", {}),
    "bce": ("BinaryCrossentropy", {}),
    "bce-logits": ("BinaryCrossentropy", {"from_logits": True}),
    "cce": ("CategoricalCrossentropy", {}),
    "cce-logits": ("CategoricalCrossentropy", {"from_logits": True}),
    "scce": ("SparseCategoricalCrossentropy", {}),
    "scce-logits": ("SparseCategoricalCrossentropy", {"from_logits": True}),
    "scce-ids-with-unit-axis": ("SparseCategoricalCrossentropy", {}),
}
WEIGHTINGS = ["none", "per-sample", "per-step", "mask", "mask+per-sample"]
DTYPES = {"float32": ("float32", "float32"), "float64": ("float64", "float64"),
          "float64-pred-default-loss": ("float64", "float32")}
TOL = {"float32": 1e-6, "float64": 1e-12}
C = 5


def make_inputs(kind: str, shape: tuple, seed: int = 0):
    """(y_true, y_pred) in float64 for a kind and an output shape (..., C); includes the edges
    each loss has (clipped probabilities, exact ties, zero logits, unnormalised rows)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=shape) * 2.0
    onehot = np.eye(C)[rng.integers(0, C, size=shape[:-1])]
    if kind in ("mse", "mae"):
        t, p = rng.normal(size=shape), z
        t.flat[3] = p.flat[3]  # an exact tie: MAE's gradient is 0 there
        return t, p
    if kind == "bce":
        p = 1.0 / (1.0 + np.exp(-z))
        p.flat[0], p.flat[1], p.flat[2] = 0.0, 1.0, 1e-9  # outside [eps, 1 - eps]: clipped
        t = np.where(rng.random(shape) < 0.5, 1.0, 0.0)
        t[0] = rng.random(shape[1:])  # soft labels in the first sample
        return t, p
    if kind == "bce-logits":
        z.flat[4] = 0.0
        return np.where(rng.random(shape) < 0.5, 1.0, 0.0), z
    if kind == "cce":
        p = rng.uniform(0.05, 1.0, size=shape)  # rows do not sum to 1: Keras divides by the sum
        p.flat[1] = 0.0  # clipped
        onehot[0] = rng.dirichlet(np.ones(C), size=shape[1:-1]) if len(shape) > 2 else \
            rng.dirichlet(np.ones(C))
        return onehot, p
    if kind == "cce-logits":
        return onehot, z
    ids = rng.integers(0, C, size=shape[:-1]).astype(np.float64)
    if kind == "scce-ids-with-unit-axis":
        ids = ids[..., None]
    if kind == "scce-logits":
        return ids, z
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    p.flat[0] = 0.0
    return ids, p


def make_weights(weighting: str, shape: tuple, seed: int = 1):
    rng = np.random.default_rng(seed)
    per_sample_shape = shape[:-1]
    sw = mask = None
    if "per-sample" in weighting:
        sw = rng.uniform(0.1, 2.0, size=(shape[0],) + (1,) * (len(per_sample_shape) - 1))
    if weighting == "per-step":
        sw = rng.uniform(0.0, 2.0, size=per_sample_shape)
    if "mask" in weighting:
        lengths = rng.integers(1, per_sample_shape[-1] + 1, size=shape[0])
        mask = np.arange(per_sample_shape[-1]) < lengths[:, None]
        mask = mask.reshape(per_sample_shape)
        mask.flat[0] = True
    return sw, mask


def keras_value_and_gradient(kind, y_true, y_pred, sw, mask, loss_dtype):
    name, kw = KINDS[kind]
    loss = getattr(keras.losses, name)(dtype=loss_dtype, **kw)
    var = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        out = tf.identity(var)
        if mask is not None:
            set_keras_mask(out, tf.constant(mask))
        value = loss(tf.constant(y_true), out,
                     sample_weight=None if sw is None else tf.constant(sw.astype(y_pred.dtype)))
    return float(value), tape.gradient(value, var).numpy()


def numpy_value_and_gradient(kind, y_true, y_pred, sw, mask, loss_dtype):
    name, kw = KINDS[kind]
    loss = getattr(losses, name)(dtype=loss_dtype, **kw)
    return loss(y_true, y_pred, sw, mask), loss.gradient(y_true, y_pred, sw, mask)


def compare(kind, shape, weighting, dtypes):
    """``(value relative error, gradient error / max|gradient|, masked_nonzero)``:
    ``masked_nonzero`` counts masked entries of our gradient that are not exactly 0."""
    pred_dtype, loss_dtype = DTYPES[dtypes]
    t, p = make_inputs(kind, shape)
    p = p.astype(pred_dtype)
    t = t.astype(pred_dtype) if not kind.startswith("scce") else t.astype(np.int64)
    sw, mask = make_weights(weighting, shape)
    kv, kg = keras_value_and_gradient(kind, t, p, sw, mask, loss_dtype)
    nv, ng = numpy_value_and_gradient(kind, t, p, sw, mask, loss_dtype)
    assert ng.shape == kg.shape == p.shape and ng.dtype == kg.dtype == np.dtype(pred_dtype)
    masked_nonzero = 0 if mask is None else int(np.count_nonzero(ng[~mask]))
    if mask is not None:
        assert not np.any(kg[~mask])  # Keras: masked steps get exactly zero gradient
    value_err = abs(nv - kv) / max(abs(kv), 1e-30)
    grad_err = float(np.max(np.abs(ng.astype(np.float64) - kg))) / float(np.max(np.abs(kg)))
    return value_err, grad_err, masked_nonzero


def fails(kind, shape, weighting, dtypes="float64") -> bool:
    value_err, grad_err, masked_nonzero = compare(kind, shape, weighting, dtypes)
    tol = TOL[DTYPES[dtypes][1]]
    return value_err > tol or grad_err > tol or masked_nonzero > 0


CASES = [(kind, shape, w)
         for kind in KINDS
         for shape in [(4, C), (3, 6, C)]
         for w in WEIGHTINGS
         if len(shape) == 3 or "mask" not in w]


@pytest.mark.parametrize("dtypes", sorted(DTYPES))
@pytest.mark.parametrize("kind,shape,weighting", CASES,
                         ids=[f"{k}-{len(s)}d-{w}" for k, s, w in CASES])
def test_loss_value_and_gradient_match_keras(kind, shape, weighting, dtypes):
    value_err, grad_err, masked_nonzero = compare(kind, shape, weighting, dtypes)
    tol = TOL[DTYPES[dtypes][1]]
    assert value_err <= tol, f"value off by {value_err:.3g} (relative)"
    assert grad_err <= tol, f"gradient off by {grad_err:.3g} of max|gradient|"
    assert masked_nonzero == 0, f"{masked_nonzero} masked entries have a non-zero gradient"


def test_report_measured_agreement():
    """Prints the worst value / gradient error per loss dtype (run with -s)."""
    worst = {}
    for kind, shape, weighting in CASES:
        for dtypes in DTYPES:
            v, g, _ = compare(kind, shape, weighting, dtypes)
            key = DTYPES[dtypes][1]
            wv, wg = worst.get(key, (0.0, 0.0))
            worst[key] = (max(wv, v), max(wg, g))
    for key, (v, g) in sorted(worst.items()):
        print(f"losses vs Keras, loss dtype {key}: value {v:.2g} relative, gradient {g:.2g} of max")
    assert worst["float64"][1] <= TOL["float64"]


@pytest.mark.parametrize("kind", ["mse", "cce", "scce-logits"])
def test_empty_mask_gives_zero_like_keras(kind):
    """All steps masked: Keras's divide_no_nan makes the loss and its gradient 0."""
    t, p = make_inputs(kind, (2, 3, C))
    t = t if not kind.startswith("scce") else t.astype(np.int64)
    mask = np.zeros((2, 3), dtype=bool)
    kv, kg = keras_value_and_gradient(kind, t, p, None, mask, "float64")
    nv, ng = numpy_value_and_gradient(kind, t, p, None, mask, "float64")
    assert nv == kv == 0.0
    np.testing.assert_array_equal(ng, kg)


def test_string_identifiers_build_keras_equivalents():
    for name in ["mse", "mean_squared_error", "mae", "sparse_categorical_crossentropy",
                 "categorical_crossentropy", "binary_crossentropy"]:
        ours = losses.get(name)
        kind = {"mse": "mse", "mean_squared_error": "mse", "mae": "mae",
                "sparse_categorical_crossentropy": "scce", "categorical_crossentropy": "cce",
                "binary_crossentropy": "bce"}[name]
        assert type(ours).__name__ == KINDS[kind][0]
        t, p = make_inputs(kind, (4, C))
        t, p = (t.astype(np.float32) if kind != "scce" else t.astype(np.int64)), p.astype(np.float32)
        expected = float(keras.losses.get(name)(t, p).numpy().mean())  # Keras's loss function
        assert abs(ours(t, p) - expected) <= 1e-6 * abs(expected)


# -- teeth ----------------------------------------------------------------------------------
def _cce_grad_without_sum_term(self, cache, dv):
    dv = dv[..., None]
    if self.from_logits:
        t, softmax = cache
        return dv * (softmax - t)
    t, p, s, qc, passes = cache
    return np.where(passes, (-dv * t) / qc, 0.0) / s  # textbook -t/p: the +1/sum term dropped


def _weighted_ignoring_mask(self, values, sample_weight, mask):
    return _real_weighted(self, values, sample_weight, None)


def _weighted_mask_not_renormalised(self, values, sample_weight, mask):
    if mask is not None:  # masked entries 0, valid ones 1 instead of total / n_valid
        sw = np.asarray(mask, dtype=self.dtype) * (1.0 if sample_weight is None else sample_weight)
        return _real_weighted(self, values, sw, None)
    return _real_weighted(self, values, sample_weight, None)


def _clip_gradient_everywhere(p):
    lo, hi = p.dtype.type(losses.EPSILON), p.dtype.type(1.0 - losses.EPSILON)
    return np.clip(p, lo, hi), np.ones(p.shape, dtype=bool)


_real_weighted = losses.Loss._weighted

LOSS_MUTANTS = {
    "cce-gradient-missing-plus-one-over-sum": (
        losses.CategoricalCrossentropy, "_values_grad", _cce_grad_without_sum_term,
        [("cce", (4, C), "none"), ("cce", (3, 6, C), "mask")]),
    "reduction-divides-by-batch-not-batch-times-steps": (
        losses, "_reduction_count", lambda shape: shape[0],
        [("mse", (3, 6, C), "none"), ("scce", (3, 6, C), "per-step")]),
    "mask-ignored": (losses.Loss, "_weighted", _weighted_ignoring_mask,
                     [("mse", (3, 6, C), "mask"), ("scce-logits", (3, 6, C), "mask+per-sample")]),
    "mask-weight-not-renormalised": (losses.Loss, "_weighted", _weighted_mask_not_renormalised,
                                     [("mae", (3, 6, C), "mask"), ("bce", (3, 6, C), "mask")]),
    "clip-gradient-not-zeroed-outside-eps": (losses, "_clip_probabilities",
                                             _clip_gradient_everywhere,
                                             [("bce", (4, C), "none"), ("scce", (4, C), "none")]),
}


@pytest.mark.parametrize("mutant", sorted(LOSS_MUTANTS))
def test_teeth_planted_loss_bugs_fail_the_parity_comparison(mutant, monkeypatch):
    owner, attr, replacement, cases = LOSS_MUTANTS[mutant]
    for case in cases:  # green without the mutant ...
        assert not fails(*case), case
    monkeypatch.setattr(owner, attr, replacement)
    for case in cases:  # ... red with it
        assert fails(*case), (mutant, case)
