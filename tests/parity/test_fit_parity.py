"""Sequential training against Keras 3: train_on_batch step by step, fit epoch losses, evaluate.

Both models start from the same weights (``parity.from_keras``), are compiled alike (same
optimizer hyper-parameters, same loss in the same dtype) and see the same batches in the same
order (``shuffle=False``: Keras's shuffle order cannot be reproduced with NumPy).

* float64 (``keras.config.set_floatx("float64")`` while the Keras side is built and trained):
  5 steps in a row; each step's loss and every weight's change since the start must agree to
  ``RTOL64`` of its scale.
* float32: one step at a time from the same weights (Adam and RMSprop turn rounding noise in a
  near-zero gradient into a visible step, so float32 trajectories drift apart; keras-training.md
  section 3): the loss to ``LOSS_RTOL32``; each new weight within ``RTOL32`` of the largest
  change of its array plus one float32 ulp of the weight (``change_error32``).
* fit: per-epoch ``loss`` and ``val_loss`` (float64, several epochs, a partial last batch);
  evaluate likewise.
"""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import parity  # noqa: E402
from parity.bridge.referee import NOISE_FACTOR  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402

losses = pytest.importorskip("numpy_rnn.losses")
optimizers = pytest.importorskip("numpy_rnn.optimizers")

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager")]  # conftest.py

RTOL64 = 1e-12
RTOL32 = 1e-6
LOSS_RTOL32 = 1e-6


# -- models: (keras builder, data maker, loss name) ---------------------------------------------
def dense_model(dtype):
    return keras.Sequential([keras.Input((6,), dtype=dtype),
                             keras.layers.Dense(8, activation="tanh", dtype=dtype),
                             keras.layers.Dense(3, dtype=dtype)])


def dense_data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype(dtype), rng.normal(size=(n, 3)).astype(dtype)


def embedding_dense_model(dtype, mask_zero=True):
    return keras.Sequential([keras.Input((5,), dtype="int32"),
                             keras.layers.Embedding(12, 4, mask_zero=mask_zero, dtype=dtype),
                             keras.layers.Dense(6, activation="softmax", dtype=dtype)])


def token_data(n, dtype, seed=0, vocab=12, steps=5, classes=6):
    """Token ids with zero padding on the left (a masked prefix of 0..3 steps) and per-step
    class targets."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(n, steps)).astype("int32")
    for i, pad in enumerate(rng.integers(0, 4, size=n)):
        x[i, :pad] = 0
    return x, rng.integers(0, classes, size=(n, steps)).astype("int32")


def next_word_model(dtype):
    """README's "Train in Keras, predict with NumPy only" model."""
    return keras.Sequential([keras.Input((6,), dtype="int32"),
                             keras.layers.Embedding(15, 8, mask_zero=True, dtype=dtype),
                             keras.layers.LSTM(10, dtype=dtype),
                             keras.layers.Dense(15, activation="softmax", dtype=dtype)])


def next_word_data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 15, size=(n, 6)).astype("int32")
    for i, pad in enumerate(rng.integers(0, 5, size=n)):
        x[i, :pad] = 0
    return x, rng.integers(1, 15, size=n).astype("int32")


def sequence_model(dtype):
    """A masked sequence output: the loss must ignore the padded steps."""
    return keras.Sequential([keras.Input((5,), dtype="int32"),
                             keras.layers.Embedding(12, 4, mask_zero=True, dtype=dtype),
                             keras.layers.GRU(7, return_sequences=True, dtype=dtype),
                             keras.layers.Dense(6, activation="softmax", dtype=dtype)])


def stacked_model(dtype):
    """Bidirectional (sum) over a masked sequence, Dropout(0), SimpleRNN on top."""
    return keras.Sequential([
        keras.Input((5,), dtype="int32"),
        keras.layers.Embedding(12, 4, mask_zero=True, dtype=dtype),
        keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True, dtype=dtype),
                                   merge_mode="sum", dtype=dtype),
        keras.layers.Dropout(0.0),
        keras.layers.SimpleRNN(3, dtype=dtype),
        keras.layers.Dense(6, activation="softmax", dtype=dtype)])


def last_step_data(n, dtype, seed=0):
    x, y = token_data(n, dtype, seed)
    return x, y[:, -1]


MODELS = {
    "dense": (dense_model, dense_data, "MeanSquaredError"),
    "embedding_dense": (embedding_dense_model, token_data, "SparseCategoricalCrossentropy"),
    "next_word_lstm": (next_word_model, next_word_data, "SparseCategoricalCrossentropy"),
    "masked_sequence_gru": (sequence_model, token_data, "SparseCategoricalCrossentropy"),
    "stacked_bidirectional": (stacked_model, last_step_data, "SparseCategoricalCrossentropy"),
}

OPTIMIZERS = {
    "sgd": ("SGD", {"learning_rate": 0.1}),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
    "adam": ("Adam", {"learning_rate": 0.01}),
}


def pair(model_key, opt_key, dtype):
    """A Keras model built and compiled under floatx=dtype, and its NumPy twin compiled alike."""
    build, make_data, loss_name = MODELS[model_key]
    opt_name, opt_kwargs = OPTIMIZERS[opt_key]
    keras.utils.set_random_seed(3)
    km = build(dtype)
    k_opt = getattr(keras.optimizers, opt_name)(**opt_kwargs)
    km.compile(optimizer=k_opt, loss=getattr(keras.losses, loss_name)(dtype=dtype))
    nm = parity.from_keras(km)
    # Keras holds the learning rate in a variable of the floatx at the optimizer's construction:
    # float32 (a Python float rounded) normally, float64 (exact) under floatx float64.
    floatx_now = keras.config.floatx()
    assert k_opt.learning_rate.dtype == floatx_now
    nm.compile(optimizer=getattr(optimizers, opt_name)(**opt_kwargs, floatx=floatx_now),
               loss=getattr(losses, loss_name)(dtype=dtype))
    return km, nm, make_data


def rel(actual, expected) -> float:
    """max |actual - expected| over the scale of ``expected`` (its max |.|; 1 if it is 0)."""
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    scale = float(np.max(np.abs(e))) if e.size else 0.0
    return float(np.max(np.abs(a - e))) / (scale or 1.0) if e.size else 0.0


def change_error32(new, keras_new, start) -> float:
    """How far a float32 weight after a step is from Keras's, over the scale of the step: the
    worst ``(|new - keras_new| - ulp(keras_new)) / max |keras_new - start|`` (at least 0).
    One unit in the last place of the weight is let through: a change of 1e-4 on a weight of
    0.2 lands on a float32 grid of 1.5e-8, so one rounding of the result already costs 1e-4 of
    the change however exact the gradient is."""
    a, b, s = (np.asarray(t, np.float64) for t in (new, keras_new, start))
    scale = float(np.max(np.abs(b - s))) or 1.0
    excess = np.abs(a - b) - np.spacing(np.abs(np.asarray(keras_new, np.float32))).astype(float)
    return max(float(np.max(excess)), 0.0) / scale


def step_errors(km, nm, x, y, referee=None) -> tuple[float, float]:
    """One float32 train_on_batch on both; (loss error relative, worst change_error32).

    ``referee``: ``(model_key, opt_key)``; when a weight misses the tolerance, the same step
    taken by Keras in float64 decides (``refereed_change_error32``)."""
    start = [w.copy() for w in nm.get_weights()]
    k_loss = float(km.train_on_batch(x, y))
    n_loss = nm.train_on_batch(x, y)
    worst = max(change_error32(nw, kw, s)
                for nw, kw, s in zip(nm.get_weights(), km.get_weights(), start))
    if worst > RTOL32 and referee is not None:
        exact = keras_float64_step(*referee, start, x, y)
        worst = max(refereed_change_error32(nw, kw, ew, s) for nw, kw, ew, s in
                    zip(nm.get_weights(), km.get_weights(), exact, start))
    return rel(n_loss, k_loss), worst


def keras_float64_step(model_key, opt_key, start, x, y) -> list:
    """The weights after the same step taken by Keras in float64 from ``start`` (the float32
    weights, widened), with the float32 learning rate the float32 models apply."""
    with floatx("float64"):
        k64, _, _ = pair(model_key, opt_key, "float64")
        lr32 = float(np.float32(OPTIMIZERS[opt_key][1]["learning_rate"]))
        k64.optimizer.learning_rate.assign(lr32)
        k64.set_weights([np.asarray(w, np.float64) for w in start])
        widen = (lambda a: a.astype(np.float64) if np.asarray(a).dtype.kind == "f" else a)
        k64.train_on_batch(widen(np.asarray(x)), widen(np.asarray(y)))
        return [np.asarray(w, np.float64) for w in k64.get_weights()]


def refereed_change_error32(new, keras_new, exact_new, start) -> float:
    """How far numpy's float32 step is from the float64 step, beyond Keras float32's own
    distance from it (twice: parity.bridge.referee.NOISE_FACTOR), measured in norm over the
    array and relative to the norm of the step.

    Adam and RMSprop divide by a running root, so where a gradient element is near
    sqrt(epsilon) the float32 rounding of that gradient becomes a visible step on both sides
    (keras-training.md section 3): measured on the next-word LSTM with Adam, a handful of kernel
    elements out of thousands leave the element-wise tolerance, numpy and Keras alike.  Element
    by element that noise has heavy tails; in norm over the array it is small, while a real bug
    (a dropped term, a wrong bias correction) moves the whole step."""
    a, b, r, s = (np.asarray(t, np.float64) for t in (new, keras_new, exact_new, start))
    step = float(np.linalg.norm(b - s)) or 1.0
    ulp = float(np.linalg.norm(np.spacing(np.abs(np.asarray(keras_new, np.float32)))))
    excess = np.linalg.norm(a - r) - ulp - NOISE_FACTOR * np.linalg.norm(b - r)
    return max(float(excess), 0.0) / step


def trajectory_errors(km, nm, x, y, batch_size, steps):
    """``steps`` train_on_batch calls in a row; per step (loss error, weight-change error), each
    weight's change measured from the very start."""
    start = [w.astype(np.float64) for w in nm.get_weights()]
    out = []
    for k in range(steps):
        xb, yb = x[k * batch_size:(k + 1) * batch_size], y[k * batch_size:(k + 1) * batch_size]
        k_loss, n_loss = float(km.train_on_batch(xb, yb)), nm.train_on_batch(xb, yb)
        worst = max(rel(nw - s, np.asarray(kw, np.float64) - s)
                    for nw, kw, s in zip(nm.get_weights(), km.get_weights(), start))
        out.append((rel(n_loss, k_loss), worst))
    return out


def _case(model_key: str, opt_key: str):
    return pytest.param(model_key, opt_key, id=f"{model_key}-{opt_key}")


def _model_case(model_key: str):
    return pytest.param(model_key, id=model_key)


CASES = [_case(m, o) for m in MODELS for o in OPTIMIZERS]


def five_steps_float64(model_key: str, opt_key: str) -> tuple[float, float]:
    """(worst loss error, worst weight-change error) over 5 float64 steps in a row."""
    with floatx("float64"):
        km, nm, make_data = pair(model_key, opt_key, "float64")
        x, y = make_data(20, "float64")
        errors = trajectory_errors(km, nm, x, y, batch_size=4, steps=5)
    return max(e[0] for e in errors), max(e[1] for e in errors)


@pytest.mark.parametrize("model_key,opt_key", CASES)
def test_five_steps_float64(model_key, opt_key):
    loss_err, weight_err = five_steps_float64(model_key, opt_key)
    print(f"\n{model_key}/{opt_key} float64: loss {loss_err:.2e}, weights {weight_err:.2e}")
    assert loss_err <= RTOL64 and weight_err <= RTOL64, (loss_err, weight_err)


@pytest.mark.parametrize("model_key,opt_key", CASES)
def test_steps_float32_one_at_a_time(model_key, opt_key):
    km, nm, make_data = pair(model_key, opt_key, "float32")
    x, y = make_data(20, "float32")
    errors = []
    for k in range(5):
        nm.set_weights(km.get_weights())  # each step from the same weights
        xb, yb = x[4 * k:4 * k + 4], y[4 * k:4 * k + 4]
        errors.append(step_errors(km, nm, xb, yb, referee=(model_key, opt_key)))
    loss_err = max(e[0] for e in errors)
    weight_err = max(e[1] for e in errors)
    print(f"\n{model_key}/{opt_key} float32: loss {loss_err:.2e}, weights {weight_err:.2e}")
    assert loss_err <= LOSS_RTOL32 and weight_err <= RTOL32, errors


def fit_float64(model_key: str) -> dict[str, float]:
    """Relative errors of fit's per-epoch loss / val_loss, evaluate and the final weights."""
    with floatx("float64"):
        km, nm, make_data = pair(model_key, "adam" if model_key == "dense" else "sgd_nesterov",
                                 "float64")
        x, y = make_data(22, "float64")  # batches of 8: 8 + 8 + 6
        xv, yv = make_data(9, "float64", seed=5)
        k_hist = km.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                        validation_data=(xv, yv)).history
        n_hist = nm.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                        validation_data=(xv, yv)).history
        k_eval = float(km.evaluate(x, y, batch_size=5, verbose=0))
        n_eval = nm.evaluate(x, y, batch_size=5, verbose=0)
    errs = {key: rel(n_hist[key], k_hist[key]) for key in ("loss", "val_loss")}
    errs["evaluate"] = rel(n_eval, k_eval)
    errs["weights"] = max(rel(a, b) for a, b in zip(nm.get_weights(), km.get_weights()))
    return errs


@pytest.mark.parametrize("model_key", [_model_case(m) for m in MODELS])
def test_fit_epoch_losses_and_evaluate_float64(model_key):
    errs = fit_float64(model_key)
    print(f"\n{model_key} fit float64: {errs}")
    assert all(e <= RTOL64 for e in errs.values()), errs


@pytest.mark.parametrize("model_key", [_model_case(m) for m in ("dense", "next_word_lstm")])
def test_fit_epoch_losses_float32(model_key):
    """float32 fit with SGD (no division by a running root, so no amplified noise): the epoch
    losses and Keras's size-weighted running mean agree to float32 rounding."""
    km, nm, make_data = pair(model_key, "sgd", "float32")
    x, y = make_data(22, "float32")
    k_hist = km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    n_hist = nm.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    k_eval = float(km.evaluate(x, y, batch_size=5, verbose=0))
    n_eval = nm.evaluate(x, y, batch_size=5, verbose=0)
    errs = {"loss": rel(n_hist["loss"], k_hist["loss"]), "evaluate": rel(n_eval, k_eval)}
    print(f"\n{model_key} fit float32: {errs}")
    assert all(e <= LOSS_RTOL32 for e in errs.values()), (errs, k_hist, n_hist)


# -- teeth: bugs planted in the loop must fail these comparisons -------------------------------
def _drop_output_mask(monkeypatch):
    from numpy_rnn import Sequential
    orig = Sequential._forward
    monkeypatch.setattr(Sequential, "_forward", lambda self, x, training: (
        orig(self, x, training)[0], None))


def _unweighted_mean(monkeypatch):
    from numpy_rnn import training
    orig = training.LossTracker.update
    monkeypatch.setattr(training.LossTracker, "update", lambda self, v, w: orig(self, v, 1))


def _loss_after_update(monkeypatch):
    from numpy_rnn import training
    orig = training.train_step

    def step(model, x, y, sample_weight=None):
        orig(model, x, y, sample_weight)
        return training.eval_step(model, x, y)
    monkeypatch.setattr(training, "train_step", step)


def _embedding_frozen(monkeypatch):
    from numpy_rnn import training
    orig = training._trainable
    monkeypatch.setattr(training, "_trainable", lambda model: orig(model)[1:])


def _embedding_gradient_dense(monkeypatch):
    from numpy_rnn import Embedding
    orig = Embedding._backward

    def dense_only(self, record, grad_output):
        orig(self, record, grad_output)
        self.sparse_gradients = None  # the optimizer then gets the summed table gradient
    monkeypatch.setattr(Embedding, "_backward", dense_only)


def _learning_rate_floatx_ignored(monkeypatch):
    monkeypatch.setattr(optimizers.Optimizer, "_lr", lambda self, dtype: (
        optimizers._through_float32(self.learning_rate, dtype)))


def float32_adam_step_error(model_key: str = "next_word_lstm") -> float:
    """The worst (refereed) float32 weight error over five single Adam steps."""
    km, nm, make_data = pair(model_key, "adam", "float32")
    x, y = make_data(20, "float32")
    worst = 0.0
    for k in range(5):
        nm.set_weights(km.get_weights())
        worst = max(worst, step_errors(km, nm, x[4 * k:4 * k + 4], y[4 * k:4 * k + 4],
                                       referee=(model_key, "adam"))[1])
    return worst


def test_float32_adam_referee_has_teeth(monkeypatch):
    """The float64 referee forgives float32 noise, not a bug: Adam's epsilon doubled (a small,
    whole-array change of the step where v is small) must still fail the float32 check."""
    assert float32_adam_step_error() <= RTOL32  # control
    real = optimizers.Adam.update_step

    def doubled_epsilon(self, gradient, variable, lr, slots):
        eps = self.epsilon
        self.epsilon = 2 * eps
        try:
            return real(self, gradient, variable, lr, slots)
        finally:
            self.epsilon = eps
    monkeypatch.setattr(optimizers.Adam, "update_step", doubled_epsilon)
    assert float32_adam_step_error() > RTOL32


TEETH = {
    "output mask not applied by the loss": (
        _drop_output_mask, lambda: five_steps_float64("masked_sequence_gru", "sgd")),
    "mask dropped after Embedding->Dense": (_drop_output_mask,
                                            lambda: fit_float64("embedding_dense")),
    "epoch loss not weighted by batch size": (_unweighted_mean, lambda: fit_float64("dense")),
    "loss reported after the update": (_loss_after_update,
                                       lambda: five_steps_float64("dense", "sgd")),
    "lowest layer left out of the update": (_embedding_frozen,
                                            lambda: five_steps_float64("next_word_lstm", "sgd")),
    "Embedding gradient given dense to Adam": (
        _embedding_gradient_dense, lambda: five_steps_float64("embedding_dense", "adam")),
    "Embedding gradient given dense to RMSprop": (
        _embedding_gradient_dense, lambda: five_steps_float64("embedding_dense", "rmsprop")),
    "learning rate rounded through float32 under floatx float64": (
        _learning_rate_floatx_ignored, lambda: five_steps_float64("dense", "adam")),
}


@pytest.mark.parametrize("name", sorted(TEETH))
def test_teeth(name, monkeypatch):
    plant, measure = TEETH[name]
    plant(monkeypatch)
    result = measure()
    values = result.values() if isinstance(result, dict) else result
    assert max(values) > RTOL64 * 1000, (name, result)
