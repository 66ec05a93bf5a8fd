"""numpy_rnn.losses without TensorFlow: finite-difference gradients in float64, bad input, get()."""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import losses

C = 4


def _inputs(kind: str, shape: tuple, seed: int = 0):
    """Inputs away from every kink (no ties, probabilities well inside [eps, 1 - eps])."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=shape)
    if kind in ("mse", "mae"):
        t = z + rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 1.0, size=shape)
        return t, z
    if kind == "bce":
        return rng.random(shape), rng.uniform(0.05, 0.95, size=shape)
    if kind == "bce-logits":
        return np.where(rng.random(shape) < 0.5, 1.0, 0.0), z * 3
    if kind == "cce":
        return np.eye(C)[rng.integers(0, C, shape[:-1])], rng.uniform(0.1, 1.0, size=shape)
    if kind == "cce-logits":
        return rng.dirichlet(np.ones(C), size=shape[:-1]), z * 2
    ids = rng.integers(0, C, shape[:-1])
    if kind == "scce":
        return ids, rng.uniform(0.05, 0.9, size=shape)  # unnormalised rows as well
    return ids, z * 2


LOSSES = {
    "mse": lambda: losses.MeanSquaredError(dtype="float64"),
    "mae": lambda: losses.MeanAbsoluteError(dtype="float64"),
    "bce": lambda: losses.BinaryCrossentropy(dtype="float64"),
    "bce-logits": lambda: losses.BinaryCrossentropy(from_logits=True, dtype="float64"),
    "cce": lambda: losses.CategoricalCrossentropy(dtype="float64"),
    "cce-logits": lambda: losses.CategoricalCrossentropy(from_logits=True, dtype="float64"),
    "scce": lambda: losses.SparseCategoricalCrossentropy(dtype="float64"),
    "scce-logits": lambda: losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"),
}


def _weights(kind: str, shape: tuple):
    rng = np.random.default_rng(3)
    if kind == "none":
        return None, None
    if kind == "sample_weight":
        return rng.uniform(0.2, 2.0, size=shape[:-1]), None
    mask = rng.random(shape[:-1]) < 0.6
    mask.flat[0] = True
    return (rng.uniform(0.2, 2.0, size=(shape[0],) + (1,) * (len(shape) - 2)), mask)


@pytest.mark.parametrize("weighting", ["none", "sample_weight", "mask+sample_weight"])
@pytest.mark.parametrize("shape", [(3, C), (2, 5, C)], ids=["2-D", "3-D"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_matches_central_differences_float64(name, shape, weighting):
    loss = LOSSES[name]()
    t, p = _inputs(name, shape)
    sw, mask = _weights(weighting, shape)
    if mask is not None and len(shape) == 2:
        mask = None
    grad = loss.gradient(t, p, sw, mask)
    assert grad.shape == p.shape and grad.dtype == np.float64
    h = 1e-6
    numeric = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (loss(t, up, sw, mask) - loss(t, down, sw, mask)) / (2 * h)
    # central differences: truncation O(h^2) and rounding O(eps/h) ~ 1e-10 on losses of order 1
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8 * np.max(np.abs(numeric)))
    if mask is not None:
        assert not np.any(grad[~mask])


def test_categorical_probability_gradient_carries_plus_one_over_sum():
    """Keras divides y_pred by its row sum: dL/dp_i = -t_i/p_i + 1/sum(p) (no clipping)."""
    t = np.array([[0.0, 1.0, 0.0]])
    p = np.array([[0.2, 0.5, 0.6]])
    grad = losses.CategoricalCrossentropy(dtype="float64").gradient(t, p)
    np.testing.assert_allclose(grad, -t / p + 1.0 / p.sum(), rtol=1e-15)


def test_clipped_probabilities_get_zero_gradient():
    p = np.array([[0.0, 0.3, 1.0, 0.7]])
    t = np.array([[1.0, 0.0, 1.0, 1.0]])
    grad = losses.BinaryCrossentropy(dtype="float64").gradient(t, p)
    assert grad[0, 0] == 0.0 and grad[0, 2] == 0.0 and np.all(grad[0, [1, 3]] != 0)


def test_reduction_divides_by_batch_times_steps_and_mask_by_valid_count():
    t, p = np.zeros((2, 3, 1)), np.ones((2, 3, 1))
    mse = losses.MeanSquaredError()
    assert mse(t, p) == 1.0
    sw = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert mse(t, p, sample_weight=sw) == pytest.approx(6.0 / 6)  # not normalised by weights
    mask = np.array([[True, True, False], [False, False, False]])
    assert mse(t, p * 2, mask=mask) == pytest.approx(4.0)  # sum over 2 valid / 2
    assert mse(t, p, sample_weight=sw, mask=mask) == pytest.approx(3.0 / 2)


def test_default_dtype_is_float32_and_gradient_keeps_y_pred_dtype():
    t, p = _inputs("mse", (3, C))
    loss = losses.MeanSquaredError()
    assert loss.dtype == np.float32
    assert loss.gradient(t, p).dtype == np.float64
    assert loss.gradient(t, p.astype(np.float32)).dtype == np.float32
    assert loss(t, p) == pytest.approx(losses.MeanSquaredError(dtype="float64")(t, p), rel=1e-6)


def test_rank_alignment_like_keras():
    mse = losses.MeanSquaredError(dtype="float64")
    y = np.arange(4.0)
    assert mse(y, y[:, None] + 1) == 1.0  # (B,) targets for a (B, 1) output
    assert mse(y[:, None], y + 1) == 1.0
    assert mse.gradient(y, y[:, None] + 1).shape == (4, 1)
    scce = losses.SparseCategoricalCrossentropy(dtype="float64")
    p = np.full((2, 3, C), 1.0 / C)
    ids = np.zeros((2, 3), dtype=int)
    assert scce(ids, p) == scce(ids[..., None], p) == pytest.approx(np.log(C))


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("ids,match", [
    (np.array([0, 4]), "class id 4, outside"), (np.array([-1, 0]), "class id -1"),
    (np.array([0.5, 1.0]), "integer class ids"), (np.array([np.nan, 1.0]), "integer class ids"),
    (np.array([0, 1, 2]), "y_true.shape=\\(3,\\)"),
])
def test_sparse_labels_rejected(ids, match):
    with pytest.raises(ValueError, match=match) as info:
        losses.SparseCategoricalCrossentropy()(ids, np.full((2, C), 0.25))
    assert "`y_true`" in str(info.value)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_shape_mismatch_names_both(name):
    loss = LOSSES[name]()
    with pytest.raises(ValueError, match="y_true") as info:
        loss(np.zeros((3, 2, 2)), np.zeros((2, C)))
    assert "y_pred" in str(info.value)


def test_scalar_and_non_numeric_inputs_rejected():
    with pytest.raises(ValueError, match="`y_pred` must be at least rank 1"):
        losses.MeanSquaredError()(np.zeros(()), np.float64(1.0))
    with pytest.raises(TypeError, match="`y_true`"):
        losses.MeanSquaredError()(np.array(["a", "b"]), np.zeros(2))


def test_bad_mask_and_sample_weight_rejected():
    mse = losses.MeanSquaredError()
    t = p = np.zeros((4, 3, 2))
    with pytest.raises(ValueError, match="`mask` must have the shape"):
        mse(t, p, mask=np.ones((4, 2), dtype=bool))
    with pytest.raises(ValueError, match=r"shape \(batch, 1\)"):
        mse(t, p, sample_weight=np.ones(4))  # Keras would broadcast it over the steps if B == T
    with pytest.raises(ValueError, match="does not broadcast"):
        mse(t, p, sample_weight=np.ones((4, 2)))


def test_constructor_arguments_checked():
    with pytest.raises(TypeError, match="from_logits"):
        losses.BinaryCrossentropy(from_logits="yes")
    with pytest.raises(ValueError, match="dtype"):
        losses.MeanSquaredError(dtype="int32")


def test_get_knows_keras_strings_and_passes_instances():
    for name, cls in [("mse", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
                      ("mae", losses.MeanAbsoluteError),
                      ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
                      ("categorical_crossentropy", losses.CategoricalCrossentropy),
                      ("binary_crossentropy", losses.BinaryCrossentropy),
                      ("BinaryCrossentropy", losses.BinaryCrossentropy)]:
        assert type(losses.get(name)) is cls
    inst = losses.CategoricalCrossentropy(from_logits=True)
    assert losses.get(inst) is inst
    with pytest.raises(ValueError, match="'hinge'") as info:
        losses.get("hinge")
    assert "'mse'" in str(info.value) and "sparse_categorical_crossentropy" in str(info.value)


def test_config_round_trip():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    again = type(loss).from_config(loss.get_config())
    assert again.get_config() == loss.get_config() and again.from_logits and again.dtype == np.float64
