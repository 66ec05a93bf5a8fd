"""Sequential.compile / train_on_batch / fit / evaluate (numpy_rnn.training), NumPy only.

The loop is tested first with small fakes whose arithmetic is known exactly (a linear layer, a
float64 mean squared error, plain SGD), so each figure the loop reports can be recomputed by
hand; then with the real layers, losses and optimizers (masks reaching the loss, bundles).
Each loop check is a function that raises AssertionError; ``test_teeth_*`` plant a bug in the
loop and require the check to fail.
"""
from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

from numpy_rnn import Sequential, training
from numpy_rnn.layers.base import Layer, _features_of


# -- fakes: a linear layer, float64 MSE, SGD --------------------------------------------------
class Linear(Layer):
    """``y = x @ kernel`` on the last axis (no bias), with a correct backward."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units

    def weight_names(self):
        return ["kernel"]

    def _shapes_for(self, features):
        return {"kernel": (features, self.units)}

    def _initial_weights(self, features):
        return {"kernel": self._rng.standard_normal((features, self.units)).astype(self.dtype)}

    def build(self, input_shape):
        self.features = _features_of(input_shape)
        self.built = True

    def __call__(self, x, training=False):
        x = self._cast_input("inputs", x)
        if not self.built:
            self.build(x.shape)
        if training:
            self._record = x
        return x @ self.kernel

    _record = None

    def backward(self, grad):  # self-contained: does not lean on Layer's protocol
        if self._record is None:
            raise RuntimeError(f"Layer '{self.name}' has no recorded call")
        x = self._record
        g = np.asarray(grad, self.dtype)
        assert g.shape == x.shape[:-1] + (self.units,)
        self.gradients = [x.reshape(-1, self.features).T @ g.reshape(-1, self.units)]
        return g @ self.kernel.T


class MSE:
    """Mean over every entry of ``(y_pred - y_true)**2`` (float64), honouring a mask."""

    dtype = np.dtype("float64")

    def __init__(self):
        self.masks = []

    def _w(self, p, sample_weight, mask):
        w = np.ones(p.shape[:-1])
        if sample_weight is not None:
            w = w * np.asarray(sample_weight, float).reshape(w.shape[:1] + (1,) * (w.ndim - 1))
        if mask is not None:
            w = w * mask
        return w

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None):
        self.masks.append(mask)
        w = self._w(y_pred, sample_weight, mask)
        per = ((y_pred - y_true) ** 2).mean(axis=-1)
        return float((per * w).sum() / (w.size if mask is None else max(mask.sum(), 1)))

    def gradient(self, y_true, y_pred, sample_weight=None, mask=None):
        w = self._w(y_pred, sample_weight, mask)
        n = w.size if mask is None else max(mask.sum(), 1)
        return 2 * (y_pred - y_true) * w[..., None] / (n * y_pred.shape[-1])


class SGD:
    def __init__(self, learning_rate=0.1):
        self.learning_rate, self.iterations = learning_rate, 0

    def apply_gradients(self, pairs):
        for g, w in pairs:
            w -= self.learning_rate * g
        self.iterations += 1


def linear_model(seed=0, units=(3, 2), features=4):
    layers = [Linear(u, seed=seed + i, dtype="float64") for i, u in enumerate(units)]
    for layer, width in zip(layers, (features,) + units):
        layer.build(width)
    return Sequential(layers)


def data(n=10, features=4, out=2, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)), rng.standard_normal((n, out))


def compiled(model, lr=0.1):
    model.compile(optimizer=SGD(lr), loss=MSE())
    return model


# -- checks (each raises AssertionError when the loop is wrong) --------------------------------
def check_step_by_hand():
    """One step: the returned loss is the forward loss before the update; the weights move by
    -lr * the analytic gradient of the two-layer linear model."""
    model = compiled(linear_model())
    x, y = data()
    w1, w2 = model.get_weights()
    h = x @ w1
    p = h @ w2
    loss = ((p - y) ** 2).mean()
    dp = 2 * (p - y) / p.size
    g2, g1 = h.T @ dp, x.T @ (dp @ w2.T)
    got = model.train_on_batch(x, y)
    np.testing.assert_allclose(got, loss, rtol=1e-15)
    new1, new2 = model.get_weights()
    np.testing.assert_allclose(new1, w1 - 0.1 * g1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(new2, w2 - 0.1 * g2, rtol=1e-13, atol=1e-15)


def check_epoch_loss_is_size_weighted_mean():
    """fit's epoch loss is the batch losses' mean weighted by batch size (10 = 4 + 4 + 2), and
    fit takes batches in order with shuffle=False: its final weights equal train_on_batch's."""
    x, y = data(n=10)
    a, b = compiled(linear_model()), compiled(linear_model())
    losses = [b.train_on_batch(x[s:s + 4], y[s:s + 4]) for s in (0, 4, 8)]
    hist = a.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    want = (losses[0] * 4 + losses[1] * 4 + losses[2] * 2) / 10
    assert hist.history["loss"] == pytest.approx([want], rel=1e-15), (hist.history, want)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def check_evaluate_is_size_weighted_mean():
    x, y = data(n=7)
    model = compiled(linear_model())
    before = model.get_weights()
    p = model.predict(x)
    per_batch = [((p[s:s + 3] - y[s:s + 3]) ** 2).mean() for s in (0, 3, 6)]
    want = (per_batch[0] * 3 + per_batch[1] * 3 + per_batch[2]) / 7
    assert model.evaluate(x, y, batch_size=3, verbose=0) == pytest.approx(want, rel=1e-14)
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)


def check_frozen_layer():
    """A layer with trainable=False keeps its weights; the layer below it still learns (the
    gradient goes back through the frozen layer)."""
    model = compiled(linear_model())
    model.layers[1].trainable = False
    x, y = data()
    w1, w2 = model.get_weights()
    model.train_on_batch(x, y)
    n1, n2 = model.get_weights()
    np.testing.assert_array_equal(n2, w2)
    assert not np.array_equal(n1, w1)


CHECKS = [check_step_by_hand, check_epoch_loss_is_size_weighted_mean,
          check_evaluate_is_size_weighted_mean, check_frozen_layer]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_loop(check):
    check()


# -- teeth: plant a bug in the loop, the checks must fail -------------------------------------
def _unweighted_tracker(monkeypatch):
    orig = training.LossTracker.update
    monkeypatch.setattr(training.LossTracker, "update",
                        lambda self, value, weight: orig(self, value, 1))


def _loss_after_update(monkeypatch):
    orig = training.train_step

    def step(model, x, y, sample_weight=None):
        orig(model, x, y, sample_weight)
        return training.eval_step(model, x, y)
    monkeypatch.setattr(training, "train_step", step)


def _weights_copied(monkeypatch):
    orig = training.backward
    monkeypatch.setattr(training, "backward",
                        lambda model, grad: [(g, w.copy()) for g, w in orig(model, grad)])


def _top_layer_only(monkeypatch):
    orig = training._trainable
    monkeypatch.setattr(training, "_trainable", lambda model: orig(model)[-1:])


def _frozen_ignored(monkeypatch):
    monkeypatch.setattr(training, "_trainable",
                        lambda model: [i for i, l in enumerate(model.layers) if l.weight_names()])


MUTANTS = {
    "unweighted epoch mean": (_unweighted_tracker, check_epoch_loss_is_size_weighted_mean),
    "unweighted evaluate mean": (_unweighted_tracker, check_evaluate_is_size_weighted_mean),
    "loss after the update": (_loss_after_update, check_step_by_hand),
    "weights updated on copies": (_weights_copied, check_step_by_hand),
    "only the top layer learns": (_top_layer_only, check_step_by_hand),
    "trainable=False ignored": (_frozen_ignored, check_frozen_layer),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_teeth(name, monkeypatch):
    plant, check = MUTANTS[name]
    plant(monkeypatch)
    with pytest.raises(AssertionError):
        check()


# -- History, shuffling, validation ------------------------------------------------------------
def test_history_per_epoch_and_val_loss():
    x, y = data(n=9)
    xv, yv = data(n=5, seed=7)
    model = compiled(linear_model(), lr=0.05)
    hist = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                     validation_data=(xv, yv))
    assert isinstance(hist, training.History)
    assert hist.epoch == [0, 1, 2]
    assert sorted(hist.history) == ["loss", "val_loss"]
    assert all(len(v) == 3 and all(isinstance(f, float) for f in v) for v in hist.history.values())
    assert hist.history["loss"][2] < hist.history["loss"][0]
    assert hist.history["val_loss"][-1] == pytest.approx(model.evaluate(xv, yv, verbose=0),
                                                         rel=1e-15)


def test_shuffle_is_deterministic_from_seed():
    x, y = data(n=20)

    def run(seed, shuffle=True):
        model = compiled(linear_model())
        hist = model.fit(x, y, batch_size=3, epochs=2, shuffle=shuffle, seed=seed, verbose=0)
        return hist.history["loss"], model.get_weights()

    l1, w1 = run(5)
    l2, w2 = run(5)
    l3, w3 = run(6)
    l4, w4 = run(5, shuffle=False)
    assert l1 == l2 and all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert l1 != l3 and l1 != l4


def test_epochs_zero_trains_nothing():
    model = compiled(linear_model())
    x, y = data()
    before = model.get_weights()
    hist = model.fit(x, y, epochs=0, verbose=0)
    assert hist.history == {} and hist.epoch == []
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_sample_weight_reaches_the_loss():
    x, y = data(n=4)
    sw = np.array([1.0, 0.0, 2.0, 0.5])
    a, b = compiled(linear_model()), compiled(linear_model())
    got = a.train_on_batch(x, y, sample_weight=sw)
    p = b.predict(x)
    assert got == pytest.approx(float((((p - y) ** 2).mean(-1) * sw).mean()), rel=1e-14)


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("call", ["train_on_batch", "fit", "evaluate"])
def test_uncompiled_raises(call):
    model = linear_model()
    x, y = data()
    with pytest.raises(RuntimeError, match=re.escape(f"You must call `compile()` before calling "
                                                     f"`{call}()`")):
        getattr(model, call)(x, y)


def test_no_loss_raises():
    model = linear_model()
    model.compile(optimizer=SGD())
    with pytest.raises(ValueError, match="No loss to compute"):
        model.train_on_batch(*data())


@pytest.mark.parametrize("kind,value", [("optimizer", 3), ("optimizer", object()),
                                        ("loss", 3), ("loss", object())])
def test_compile_rejects_non_optimizers_and_losses(kind, value):
    kwargs = {"optimizer": SGD(), "loss": MSE(), kind: value}
    with pytest.raises(TypeError, match=f"`{kind}` must be"):
        linear_model().compile(**kwargs)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"epochs": -1}, ValueError, "epochs"),
    ({"verbose": 3}, ValueError, "verbose"),
    ({"verbose": True}, ValueError, "verbose"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"validation_data": ([1.0],)}, ValueError, "validation_data"),
])
def test_fit_rejects_bad_arguments(kwargs, exc, match):
    model = compiled(linear_model())
    x, y = data()
    with pytest.raises(exc, match=match):
        model.fit(x, y, **kwargs)


def test_mismatched_and_empty_data():
    model = compiled(linear_model())
    x, y = data()
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(x, y[:-1], verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        model.train_on_batch(x[:3], y)
    with pytest.raises(ValueError, match="empty"):
        model.evaluate(x[:0], y[:0])


def test_a_failing_step_changes_nothing():
    """The loss raising (targets of the wrong shape) leaves weights and records as they were."""
    model = compiled(linear_model())
    x, y = data()
    before = model.get_weights()
    with pytest.raises(ValueError):
        model.train_on_batch(x, y[:, :1] * np.ones((1, 5)))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert all(layer._record is None for layer in model.layers)


# -- progress bar ------------------------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_quiet_with_verbose_0(capsys):
    model = compiled(linear_model())
    x, y = data()
    model.fit(x, y, batch_size=2, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""


def test_auto_off_a_terminal_writes_a_line_per_epoch(capsys):
    """Keras's ``"auto"`` is 1 (``ProgbarLogger.set_params``): off a terminal the progress bar
    writes its final line of each epoch (issue 21: numpy_rnn used to print nothing)."""
    model = compiled(linear_model())
    x, y = data()
    hist = model.fit(x, y, batch_size=2, epochs=2)  # "auto": capsys is not a terminal
    model.evaluate(x, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 5
    for line, loss in zip(lines[1:4:2], hist.history["loss"]):
        assert line.startswith("5/5 ") and line.endswith(f"loss: {loss:.4f}")
    assert lines[4].startswith("1/1 ")


def test_verbose_2_one_line_per_epoch(capsys):
    model = compiled(linear_model())
    x, y = data()
    hist = model.fit(x, y, batch_size=4, epochs=2, verbose=2, validation_data=(x, y))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    for line, loss, val in zip(lines[1::2], hist.history["loss"], hist.history["val_loss"]):
        assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms|s)/step - loss: \S+ - val_loss: \S+", line)
        assert f"loss: {loss:.4f}" in line and f"val_loss: {val:.4f}" in line


def test_verbose_1_bar_per_batch_on_a_terminal(monkeypatch):
    term = Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    monkeypatch.setattr(training.ProgressBar, "__init__",
                        _with_interval(training.ProgressBar.__init__, 0.0))
    model = compiled(linear_model())
    x, y = data(n=12)
    hist = model.fit(x, y, batch_size=1, epochs=1)  # "auto" -> 1 on a terminal
    out = term.getvalue()
    frames = out.split("\r")[1:]
    assert len(frames) == 12, out  # one frame per batch, the last one final
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", f) for f in frames]
    assert re.match(r" 5/12 ━{8}━{12} \d+s \d+(us|ms|s)/step - loss: \d+\.\d{4}", plain[4])
    assert plain[-1].startswith("12/12 ━━━━━━━━━━━━━━━━━━━━ ")
    assert plain[-1].rstrip().endswith(f"loss: {hist.history['loss'][0]:.4f}")
    assert out.endswith("\n") and out.count("\n") == 1


def _with_interval(init, interval):
    def patched(self, target, verbose=1, stream=None, width=20, interval_=None, **kw):
        init(self, target, verbose, stream, width, interval)
    return patched


def test_verbose_1_off_a_terminal_writes_the_final_line_only(capsys):
    model = compiled(linear_model())
    x, y = data()
    model.fit(x, y, batch_size=2, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\r" not in out and "\x1b" not in out
    assert re.fullmatch(r"5/5 ━{20} \d+s \d+(us|ms|s)/step - loss: \S+\n", out)


# -- the real layers, losses and optimizers --------------------------------------------------
import numpy_rnn  # noqa: E402
from numpy_rnn import LSTM, Dense, Dropout, Embedding, losses, optimizers  # noqa: E402


def next_word_model(seed=0, mask_zero=True, return_sequences=False, dtype="float64"):
    """README's next-word model: Embedding(mask_zero) -> LSTM -> Dense(softmax)."""
    return Sequential([Embedding(12, 6, mask_zero=mask_zero, seed=seed, dtype=dtype),
                       LSTM(8, return_sequences=return_sequences, seed=seed + 1, dtype=dtype),
                       Dense(12, activation="softmax", seed=seed + 2, dtype=dtype)],
                      input_shape=(5,), input_dtype="int32")


def tokens(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 12, size=(n, 5)).astype("int32")
    for i, pad in enumerate(rng.integers(0, 4, size=n)):
        x[i, :pad] = 0
    return x, rng.integers(1, 12, size=n).astype("int32")


def test_compile_takes_keras_names():
    model = next_word_model()
    model.compile()
    assert isinstance(model.optimizer, optimizers.RMSprop) and model.loss is None
    model.compile("adam", "sparse_categorical_crossentropy")
    assert isinstance(model.optimizer, optimizers.Adam)
    assert isinstance(model.loss, losses.SparseCategoricalCrossentropy)
    with pytest.raises(ValueError, match="optimizer"):
        model.compile("no-such-optimizer", "mse")


def test_next_word_model_learns_saves_and_loads(tmp_path):
    """fit lowers the loss; the trained model goes to a bundle whose test vectors are its own
    (marked as not verified by Keras) and comes back with NumPy alone, predicting the same and
    able to go on training."""
    x, y = tokens()
    model = next_word_model()
    model.compile(optimizers.Adam(learning_rate=0.05), "sparse_categorical_crossentropy")
    hist = model.fit(x, y, batch_size=4, epochs=8, shuffle=True, seed=0, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0], hist.history
    path = numpy_rnn.save(model, tmp_path / "trained.npz", test_inputs=x[:6])
    bundle = numpy_rnn.read_bundle(path)
    assert bundle.verified_by == f"numpy-rnn {numpy_rnn.__version__} (not verified by Keras)"
    loaded = numpy_rnn.load(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    loaded.compile("sgd", "sparse_categorical_crossentropy")
    before = loaded.evaluate(x, y, verbose=0)
    assert loaded.train_on_batch(x, y) == pytest.approx(before, rel=1e-12)
    assert loaded.evaluate(x, y, verbose=0) < before


def _train_two_steps(y, return_sequences=True, mask_zero=True):
    x, _ = tokens(seed=3)
    model = next_word_model(mask_zero=mask_zero, return_sequences=return_sequences)
    model.compile(optimizers.SGD(learning_rate=0.5), "sparse_categorical_crossentropy")
    values = [model.train_on_batch(x[:8], y[:8]), model.train_on_batch(x[8:], y[8:])]
    return values, model.get_weights(), x


def test_padded_steps_do_not_reach_the_loss():
    """A masked sequence output: targets at padded steps change neither the loss nor the
    update (Keras applies the output mask in the loss); without the mask they do."""
    x, _ = tokens(seed=3)
    rng = np.random.default_rng(4)
    y = rng.integers(1, 12, size=(16, 5))
    y_other = np.where(x == 0, rng.integers(1, 12, size=(16, 5)), y)
    assert (y_other != y).any()
    v1, w1, _ = _train_two_steps(y)
    v2, w2, _ = _train_two_steps(y_other)
    assert v1 == v2 and all(np.array_equal(a, b) for a, b in zip(w1, w2))
    u1, _, _ = _train_two_steps(y, mask_zero=False)
    u2, _, _ = _train_two_steps(y_other, mask_zero=False)
    assert u1 != u2


def test_set_weights_keeps_the_optimizer_state():
    """On a compiled model set_weights writes into the arrays the optimizer was built with,
    as Keras assigns its variables: training goes on with the momenta it had."""
    x, y = tokens()
    a, b = next_word_model(), next_word_model()
    for m in (a, b):
        m.compile(optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy")
        m.train_on_batch(x[:8], y[:8])
    arrays = [id(w) for w in a.weights]
    a.set_weights(a.get_weights())
    assert [id(w) for w in a.weights] == arrays
    assert a.train_on_batch(x[8:], y[8:]) == b.train_on_batch(x[8:], y[8:])
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


def test_dropout_only_while_training():
    """Dropout draws masks in fit / train_on_batch (training=True) but not in evaluate."""
    x, y = data(n=8)
    model = Sequential([Dense(16, seed=0, dtype="float64"), Dropout(0.5, seed=1),
                        Dense(2, seed=2, dtype="float64")])
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    e = model.evaluate(x, y, verbose=0)
    assert model.evaluate(x, y, verbose=0) == e
    assert model.train_on_batch(x, y) != pytest.approx(e, rel=1e-6)


# -- the Embedding's gradient reaches the optimizer as IndexedSlices ---------------------------
def _embedding_dense_model(dtype="float64"):
    model = Sequential([Embedding(12, 4, mask_zero=True, dtype=dtype, seed=1),
                        Dense(6, activation="softmax", dtype=dtype, seed=2)],
                       input_shape=(5,), input_dtype="int32")
    model.build()
    return model


def test_embedding_backward_gives_slices_and_their_dense_sum():
    layer = Embedding(6, 3, dtype="float64", seed=0)
    ids = np.array([[1, 4, 1], [0, 1, 5]])
    layer(ids, training=True)
    g = np.random.default_rng(0).normal(size=(2, 3, 3))
    assert layer.backward(g) is None
    (slices,), (dense,) = layer.sparse_gradients, layer.gradients
    assert isinstance(slices, optimizers.IndexedSlices) and slices.dense_shape == (6, 3)
    np.testing.assert_array_equal(slices.indices, [1, 4, 1, 0, 1, 5])  # one per id read
    np.testing.assert_array_equal(slices.values, g.reshape(6, 3))
    np.testing.assert_array_equal(dense, slices.dense())
    np.testing.assert_array_equal(dense[1], (g[0, 0] + g[0, 2]) + g[1, 1])
    assert dense.shape == layer.embeddings.shape and dense.dtype == layer.embeddings.dtype
    assert slices.dense() is slices.dense() and dense is not slices.dense()  # kept, not shared


@pytest.mark.parametrize("name", ["Adam", "RMSprop", "SGD"])
def test_train_step_passes_the_embedding_slices(name):
    """train_on_batch == forward, loss gradient, backward, then the optimizer given the
    Embedding's IndexedSlices (Keras's tf.IndexedSlices), not its dense gradient."""
    x, y = tokens(8)
    y = np.random.default_rng(1).integers(0, 6, size=(8, 5))
    a, b, c = (_embedding_dense_model() for _ in range(3))
    for m in (a, b, c):
        m.compile(getattr(optimizers, name)(learning_rate=0.05),
                  losses.SparseCategoricalCrossentropy(dtype="float64"))
    a.train_on_batch(x, y)
    for model, sparse in ((b, True), (c, False)):
        y_pred, mask = model._forward(x, training=True)
        grad = model.loss.gradient(y, y_pred, mask=mask)
        for layer in reversed(model.layers):
            grad = layer.backward(grad)
        pairs = [((getattr(layer, "sparse_gradients", None) or layer.gradients) if sparse
                   else layer.gradients,
                  layer.weights) for layer in model.layers]
        model.optimizer.apply_gradients([(g, w) for gs, ws in pairs for g, w in zip(gs, ws)])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    table_gap = np.max(np.abs(a.get_weights()[0] - c.get_weights()[0]))
    assert table_gap > 1e-3 if name != "SGD" else table_gap < 1e-15
