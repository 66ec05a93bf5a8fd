"""Regularization layers (SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout,
ActivityRegularization), weight regularizers (numpy_rnn.regularizers) and how training adds
their penalties, NumPy only: the identity at inference, seeded noise and its statistics in
training, backward with the same noise, penalties and their gradients against float64 finite
differences of the whole training objective, configs and errors."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import (LSTM, ActivityRegularization, AlphaDropout, Dense, Embedding,
                       GaussianDropout, GaussianNoise, PReLU, Sequential, SpatialDropout1D,
                       losses, optimizers, regularizers)
from numpy_rnn.training import add_penalties

NOISE = {
    "spatial_dropout1d": lambda **kw: SpatialDropout1D(0.4, **kw),
    "gaussian_noise": lambda **kw: GaussianNoise(0.3, **kw),
    "gaussian_dropout": lambda **kw: GaussianDropout(0.3, **kw),
    "alpha_dropout": lambda **kw: AlphaDropout(0.3, **kw),
    "activity_regularization": lambda **kw: ActivityRegularization(0.01, 0.02, **kw),
}


# -- the identity at inference, configs, masks ---------------------------------------------------
@pytest.mark.parametrize("kind", NOISE)
def test_identity_at_inference_config_mask_and_shape(kind):
    layer = NOISE[kind](seed=1)
    x = np.random.default_rng(0).normal(size=(3, 5, 4))
    y = layer(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x.astype(np.float32))
    g = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    np.testing.assert_array_equal(layer.backward(g), g)  # identity at inference, as Dropout
    assert layer.supports_masking and layer.get_weights() == []
    mask = np.ones((3, 5), bool)
    assert layer.compute_mask(x, mask) is mask
    assert layer.compute_output_shape((None, 5, 4)) == (None, 5, 4)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("kind", ["spatial_dropout1d", "gaussian_noise", "gaussian_dropout",
                                  "alpha_dropout"])
def test_training_noise_is_seeded_and_backward_uses_it(kind):
    x = np.random.default_rng(0).uniform(1, 2, size=(6, 7, 5))
    a, b, c = NOISE[kind](seed=3), NOISE[kind](seed=3), NOISE[kind](seed=4)
    ya, yb, yc = a(x, training=True), b(x, training=True), c(x, training=True)
    np.testing.assert_array_equal(ya, yb)  # the layer seed fixes the draw
    assert not np.array_equal(ya, yc)
    assert not np.array_equal(a(x, training=True), ya)  # the next call draws anew
    g = np.random.default_rng(1).normal(size=x.shape)
    yd = a(x, training=True)
    dx = a.backward(g)
    # each layer is affine in x for a fixed draw: dx = g * dy/dx
    slope = {
        "spatial_dropout1d": lambda: np.where(yd != 0, 1 / 0.6, 0.0),
        "gaussian_noise": lambda: np.ones_like(x),
        "gaussian_dropout": lambda: a._record[0],
        "alpha_dropout": lambda: a._record[1] * a._record[0],
    }[kind]()
    np.testing.assert_allclose(dx, (g * slope).astype(np.float32), rtol=1e-6, atol=0)
    assert dx.dtype == np.float32


def test_spatial_dropout_drops_whole_channels():
    layer = SpatialDropout1D(0.5, seed=0, dtype="float64")
    x = np.random.default_rng(0).uniform(1, 2, size=(50, 9, 8))
    y = layer(x, training=True)
    kept = y != 0
    assert np.all(kept == kept[:, :1, :])  # one decision per (sample, channel)
    np.testing.assert_array_equal(y[kept], x[kept] * 2.0)
    assert abs(1 - kept[:, 0].mean() - 0.5) < 0.1
    with pytest.raises(ValueError, match="expected ndim=3"):
        layer(np.ones((2, 3)), training=True)
    with pytest.raises(ValueError, match="noise_shape"):
        SpatialDropout1D(0.2, noise_shape=(None, 1, 3))
    assert "noise_shape" not in layer.get_config()


def test_gaussian_noise_and_dropout_statistics():
    x = np.full((400, 500), 2.0)
    noisy = GaussianNoise(0.5, seed=0, dtype="float64")(x, training=True) - x
    assert abs(noisy.mean()) < 0.01 and abs(noisy.std() - 0.5) < 0.01
    rate = 0.2
    mult = GaussianDropout(rate, seed=0, dtype="float64")(x, training=True) / x
    assert abs(mult.mean() - 1) < 0.01 and abs(mult.std() - np.sqrt(rate / (1 - rate))) < 0.01


def test_alpha_dropout_keeps_selu_mean_and_variance():
    x = numpy_rnn.activations.selu(np.random.default_rng(0).normal(size=(500, 400)))
    y = AlphaDropout(0.2, seed=0, dtype="float64")(x, training=True)
    assert abs(y.mean() - x.mean()) < 0.02 and abs(y.std() - x.std()) < 0.02
    layer = AlphaDropout(0.5, noise_shape=(None, 1, 4), seed=0)
    y = layer(np.ones((3, 6, 4), np.float32), training=True)
    assert np.all(y == y[:, :1, :])


@pytest.mark.parametrize("make, match", [
    (lambda: GaussianNoise(1.5), "`stddev`. Expected a float value between 0 and 1"),
    (lambda: GaussianDropout(-0.1), "`rate`. Expected a float value between 0 and 1"),
    (lambda: AlphaDropout(2), "`rate`"),
    (lambda: SpatialDropout1D(1.1), "`rate`"),
    (lambda: ActivityRegularization(-1.0), "Invalid value for argument l1"),
    (lambda: AlphaDropout(0.1, noise_shape="x"), "noise_shape"),
])
def test_argument_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("layer", [GaussianDropout(1.0), AlphaDropout(1.0)])
def test_rate_one_in_training_raises_and_changes_nothing(layer):
    x = np.ones((2, 3), np.float32)
    state = layer._rng.bit_generator.state
    with pytest.raises(ValueError, match="rate=1"):
        layer(x, training=True)
    assert layer._rng.bit_generator.state == state
    np.testing.assert_array_equal(layer(x), x)  # inference is still the identity


# -- ActivityRegularization ----------------------------------------------------------------------
def test_activity_penalty_value_is_keras_formula_and_kept_after_every_call():
    x = np.random.default_rng(0).normal(size=(4, 3, 2))
    layer = ActivityRegularization(0.01, 0.02, dtype="float64")
    np.testing.assert_array_equal(layer(x), x)
    l1, l2 = float(np.float32(0.01)), float(np.float32(0.02))  # ops.cast: through float32
    want = (l1 * np.abs(x).sum() + l2 * np.square(x).sum()) / 4  # / batch size
    assert len(layer.losses) == 1
    np.testing.assert_allclose(layer.losses[0], want, rtol=1e-15)
    layer(x[:2], training=True)
    np.testing.assert_allclose(layer.losses[0], (l1 * np.abs(x[:2]).sum()
                                                 + l2 * np.square(x[:2]).sum()) / 2, rtol=1e-15)
    empty = ActivityRegularization(0.1)
    assert empty(np.zeros((0, 3))).shape == (0, 3)
    assert float(empty.losses[0]) == 0.0  # divide_no_nan on an empty batch


# -- regularizers --------------------------------------------------------------------------------
REGS = [regularizers.L1(0.03), regularizers.L2(0.05), regularizers.L1L2(0.02, 0.04),
        regularizers.L1L2(l2=0.1), regularizers.L1L2()]


@pytest.mark.parametrize("reg", REGS, ids=repr)
def test_regularizer_values_gradients_and_config(reg):
    w = np.random.default_rng(0).normal(size=(3, 4))
    cfg = reg.get_config()
    l1 = float(np.float32(cfg.get("l1", 0.0)))
    l2 = float(np.float32(cfg.get("l2", 0.0)))
    np.testing.assert_allclose(reg(w), l1 * np.abs(w).sum() + l2 * np.square(w).sum(),
                               rtol=1e-14)
    np.testing.assert_allclose(reg.gradient(w), l1 * np.sign(w) + 2 * l2 * w, rtol=1e-14)
    assert reg(w.astype(np.float32)).dtype == np.float32
    assert reg.gradient(w.astype(np.float32)).dtype == np.float32
    for form in (regularizers.serialize(reg), {"class_name": type(reg).__name__, "config": cfg}):
        assert regularizers.get(form) == reg  # Keras 3's and Keras 2's serialized forms


def test_regularizer_names_defaults_and_errors():
    assert regularizers.get("l2") == regularizers.L2(0.01)
    assert regularizers.get("L1").get_config() == {"l1": 0.009999999776482582}  # as Keras
    assert regularizers.get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get(None) is None
    assert regularizers.serialize(regularizers.L2(0.5)) == {
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5},
        "registered_name": None}
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
        regularizers.get("l1_l2")  # Keras 3 does not know it either
    with pytest.raises(TypeError, match="`kernel_regularizer`"):
        regularizers.get(lambda w: 0.0, "kernel_regularizer")
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-1)


def test_unsupported_regularizer_runs_at_inference_and_refuses_training():
    ortho = {"module": "keras.regularizers", "class_name": "OrthogonalRegularizer",
             "config": {"factor": 0.01, "mode": "rows"}, "registered_name": None}
    layer = Dense(3, kernel_regularizer=ortho, features=2, seed=0)
    assert layer(np.ones((1, 2))).shape == (1, 3)
    assert layer.get_config()["kernel_regularizer"] == ortho
    model = Sequential([layer])
    model.compile("sgd", "mse")
    with pytest.raises(NotImplementedError, match="OrthogonalRegularizer"):
        model.train_on_batch(np.ones((1, 2)), np.ones((1, 3)))
    custom = regularizers.get({"module": "my.mod", "class_name": "L2", "config": {"l2": 1.0}})
    assert isinstance(custom, regularizers.Unsupported)


@pytest.mark.parametrize("make, args", [
    (lambda **r: Dense(3, features=4, **r), ("kernel_regularizer", "bias_regularizer")),
    (lambda **r: LSTM(3, features=4, **r),
     ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer")),
    (lambda **r: numpy_rnn.GRU(3, features=4, **r),
     ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer")),
    (lambda **r: numpy_rnn.SimpleRNN(3, features=4, **r),
     ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer")),
    (lambda **r: Embedding(6, 3, **r), ("embeddings_regularizer",)),
])
def test_layers_carry_regularizers_in_their_config(make, args):
    plain = make()
    assert all(plain.get_config()[a] is None for a in args)
    assert plain.losses == [] and plain.weight_regularizers() == [None] * len(
        plain.weight_names())
    layer = make(**{a: "l2" for a in args})
    cfg = layer.get_config()
    assert all(cfg[a]["class_name"] == "L2" for a in args)
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    assert [r is not None for r in clone.weight_regularizers()] == [True] * len(args)
    assert len(layer.losses) == len(args)
    layer.trainable = False
    assert layer.losses == []  # Keras: trainable weights only


# -- training adds the penalties: the loss and every gradient -----------------------------------
def _objective(model, x, y):
    """Keras's training objective: the compiled loss plus model.losses."""
    model(x)
    return float(model.loss(y, model(x))) + float(sum(np.sum(p) for p in model.losses))


def _regularized_model(seed=0):
    return Sequential([
        Dense(4, activation="tanh", kernel_regularizer=regularizers.L1L2(0.01, 0.03),
              bias_regularizer="l1", features=3, dtype="float64", seed=seed),
        ActivityRegularization(0.02, 0.05, dtype="float64"),
        LSTM(3, kernel_regularizer="l2", recurrent_regularizer=regularizers.L1(0.02),
             bias_regularizer=regularizers.L2(0.3), dtype="float64", seed=seed + 1,
             return_sequences=True),
        PReLU(alpha_regularizer=regularizers.L2(0.2), alpha_initializer="ones",
              dtype="float64"),
        ActivityRegularization(l2=0.1, dtype="float64"),
    ])


def test_training_gradient_of_loss_plus_penalties_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 5, 3))
    model = _regularized_model()
    model.compile(optimizers.SGD(1.0), losses.MeanSquaredError(dtype="float64"))
    model(x)
    for w in model.layers[0].weights + model.layers[2].weights:  # non-zero everywhere
        w[...] = rng.normal(scale=0.5, size=w.shape)
    before = [w.copy() for w in model.get_weights()]
    reported = model.train_on_batch(x, y)  # SGD(1): new = old - gradient
    grads = [b - a for b, a in zip(before, model.get_weights())]
    model.set_weights(before)
    np.testing.assert_allclose(reported, _objective(model, x, y), rtol=1e-14)
    eps = 1e-6
    for name, w, g in zip(model.weight_names(), model.weights, grads):
        numeric = np.zeros(w.shape)
        for i in np.ndindex(w.shape):  # in place (a weight may not be C-contiguous)
            old = w[i]
            w[i] = old + eps
            up = _objective(model, x, y)
            w[i] = old - eps
            down = _objective(model, x, y)
            w[i] = old
            numeric[i] = (up - down) / (2 * eps)
        err = np.max(np.abs(g - numeric))
        assert err <= 1e-6 * max(1.0, np.max(np.abs(numeric))), f"{name}: {err:.3g}"


def test_loss_and_evaluate_include_penalties_as_keras():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 5, 3)), rng.normal(size=(6, 5, 3))
    model = _regularized_model(3)
    model.compile("sgd", losses.MeanSquaredError(dtype="float64"))
    plain = float(losses.MeanSquaredError(dtype="float64")(y, model(x)))
    found = model.losses
    assert len(found) == 2 + 5 + 1  # two activity penalties, then five regularized weights
    total = model.evaluate(x, y, batch_size=6, verbose=0)
    np.testing.assert_allclose(total, plain + sum(float(p) for p in found), rtol=1e-14)
    assert total > plain


def test_penalties_of_another_dtype_are_refused_as_keras_does():
    model = Sequential([Dense(2, kernel_regularizer="l2", features=3, dtype="float64")])
    model.compile("sgd", "mse")  # a float32 loss
    before = model.get_weights()
    with pytest.raises(TypeError, match="float32 but the model's regularization penalties"):
        model.train_on_batch(np.ones((2, 3)), np.ones((2, 2)))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # a call that raises changes nothing
    assert add_penalties(1.5, [], "float32") == 1.5


def test_zero_factor_penalty_leaves_training_bit_for_bit():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 4)), rng.normal(size=(8, 3))
    runs = []
    for reg in (None, regularizers.L2(0.0)):
        model = Sequential([Dense(5, activation="relu", kernel_regularizer=reg, features=4,
                                  seed=0), Dense(3, seed=1)])
        model.compile(optimizers.Adam(0.01), "mse")
        hist = model.fit(x, y, epochs=3, batch_size=3, shuffle=False, verbose=0)
        runs.append((hist.history["loss"], model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_embedding_regularizer_makes_its_gradient_dense():
    model = Sequential([Embedding(6, 2, embeddings_regularizer="l2", dtype="float64", seed=0),
                        LSTM(2, dtype="float64", seed=1)])
    model.compile(optimizers.SGD(1.0), losses.MeanSquaredError(dtype="float64"))
    before = model.get_weights()[0].copy()
    model.train_on_batch(np.array([[1, 1, 2]]), np.zeros((1, 2)))
    step = before - model.get_weights()[0]
    # rows 0, 3, 4, 5 were not read: only the penalty's gradient 0.01 * 2 w moved them
    l2 = float(np.float32(0.01))
    np.testing.assert_allclose(step[[0, 3, 4, 5]], l2 * 2 * before[[0, 3, 4, 5]], rtol=1e-14)


def test_sequential_losses_after_a_call():
    model = Sequential([Dense(2, kernel_regularizer="l1", features=3, seed=0),
                        ActivityRegularization(l2=0.5)])
    x = np.ones((2, 3), np.float32)
    out = model(x)
    act = float(np.float32(0.5)) * np.sum(np.square(out)) / 2
    np.testing.assert_allclose(model.losses[0], act, rtol=1e-6)
    np.testing.assert_allclose(model.losses[1],
                               np.float32(0.01) * np.abs(model.layers[0].kernel).sum(), rtol=1e-6)


# -- teeth: planted bugs the checks above must catch ---------------------------------------------
def _l2_without_2(self, x):
    return regularizers._cast(self.l2, np.asarray(x).dtype) * np.asarray(x)  # l2 x, not 2 l2 x


def _l1l2_without_2(self, x):
    x = np.asarray(x)
    return regularizers._cast(self.l1, x.dtype) * np.sign(x) + \
        regularizers._cast(self.l2, x.dtype) * x


TEETH = {
    "L2 gradient without the factor 2": (regularizers.L2, "gradient", _l2_without_2),
    "L1L2 gradient without the factor 2": (regularizers.L1L2, "gradient", _l1l2_without_2),
    "activity penalty's gradient dropped": (ActivityRegularization, "_activity_gradient",
                                            lambda self: None),
    "penalties left out of the loss": (numpy_rnn.training, "add_penalties",
                                       lambda value, found, dtype: value),
}


@pytest.mark.parametrize("bug", TEETH)
def test_planted_bug_is_caught(bug, monkeypatch):
    owner, name, mutant = TEETH[bug]
    monkeypatch.setattr(owner, name, mutant)
    with pytest.raises(AssertionError):
        test_training_gradient_of_loss_plus_penalties_matches_finite_differences()
