"""Keras training habits, NumPy only: metrics, validation_split, sample / class weights,
callbacks' decisions on a scripted loss sequence, evaluate(return_dict), save / load, get_layer,
Keras's default layer names.  The numbers Keras defines are checked against Keras in
tests/parity/test_training_habits_parity.py."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import callbacks as cb, fitting, metrics, naming
from numpy_rnn.layers import GRU, LSTM, BatchNormalization, Conv1D, Dense, SimpleRNN


def model(units=3, act="softmax", seed=0):
    m = numpy_rnn.Sequential([Dense(6, activation="tanh", seed=seed, name="hidden"),
                              Dense(units, activation=act, seed=seed + 1, name="out")])
    m.build((None, 4))
    return m


def data(n=20, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.integers(0, classes, size=(n,))


# -- metrics ------------------------------------------------------------------------------------
def test_metric_functions_by_hand():
    y_pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]])
    labels = np.array([1, 1, 2, 0])
    assert metrics.sparse_categorical_accuracy(labels, y_pred).tolist() == [1, 0, 1, 0]
    assert metrics.categorical_accuracy(np.eye(3)[labels], y_pred).tolist() == [1, 0, 1, 0]
    # top-2: sample 3's label 0 ties at 0.3 with class 1 -> in (TensorFlow's in_top_k)
    assert metrics.sparse_top_k_categorical_accuracy(labels, y_pred, k=2).tolist() == [1, 1, 1, 1]
    assert metrics.sparse_top_k_categorical_accuracy(labels, y_pred, k=1).tolist() == [1, 0, 1, 0]
    assert metrics.binary_accuracy(np.array([[1.], [0.]]), np.array([[0.6], [0.7]])).tolist() \
        == [1, 0]
    assert metrics.mean_absolute_error(np.zeros((2, 2)), np.array([[1., -3.], [2., 2.]])) \
        .tolist() == [2, 2]
    assert metrics.mean_squared_error(np.zeros((1, 2)), np.array([[1., 3.]])).tolist() == [5]


def test_mean_is_weighted_by_samples_across_batches():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(np.array([0, 1, 1]), np.eye(3)[[0, 1, 2]])    # 2 of 3
    m.update_state(np.array([2]), np.eye(3)[[2]])                 # 1 of 1
    assert m.result() == pytest.approx(3 / 4)
    m.reset_state()
    assert m.result() == 0.0


def test_accuracy_resolves_as_keras():
    onehot, sparse, probs = np.eye(3)[[0, 1]], np.array([0, 1]), np.full((2, 3), 1 / 3)
    assert isinstance(metrics.get("accuracy", sparse, probs), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get("acc", sparse[:, None], probs),
                      metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get("accuracy", onehot, probs), metrics.CategoricalAccuracy)
    assert isinstance(metrics.get("accuracy", np.ones((2, 1)), np.ones((2, 1))),
                      metrics.BinaryAccuracy)
    assert metrics.get("acc", sparse, probs).name == "acc"
    with pytest.raises(ValueError, match="Could not interpret metric identifier: nope"):
        metrics.get("nope")


def test_fit_reports_metrics_and_val_keys():
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy",
              metrics=["accuracy", metrics.SparseTopKCategoricalAccuracy(k=2)])
    x, y = data()
    h = m.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    assert list(h.history) == ["loss", "accuracy", "sparse_top_k_categorical_accuracy",
                               "val_loss", "val_accuracy",
                               "val_sparse_top_k_categorical_accuracy"]
    # the validation accuracy is the accuracy of the model (after the epoch) on the last 5
    val = m.evaluate(x[15:], y[15:], verbose=0, return_dict=True)
    assert h.history["val_accuracy"][-1] == pytest.approx(val["accuracy"])
    expected = np.mean(np.argmax(m.predict(x[15:]), -1) == y[15:])
    assert val["accuracy"] == pytest.approx(expected)


def test_duplicate_metric_names_get_suffixes():
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy", "accuracy"])
    x, y = data()
    assert list(m.evaluate(x, y, verbose=0, return_dict=True)) == ["loss", "accuracy",
                                                                   "accuracy_1"]


def test_evaluate_return_forms():
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy")
    x, y = data()
    assert isinstance(m.evaluate(x, y, verbose=0), float)
    assert list(m.evaluate(x, y, verbose=0, return_dict=True)) == ["loss"]
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["acc"])
    out = m.evaluate(x, y, verbose=0)
    assert isinstance(out, list) and len(out) == 2
    with pytest.raises(TypeError, match="return_dict"):
        m.evaluate(x, y, verbose=0, return_dict="yes")


def test_bad_metrics_are_refused_at_compile():
    m = model()
    with pytest.raises(TypeError, match="metrics"):
        m.compile("sgd", "mse", metrics="accuracy")
    with pytest.raises(ValueError, match="nope"):
        m.compile("sgd", "mse", metrics=["nope"])
    assert not m.compiled


# -- validation_split, sample / class weights ---------------------------------------------------
def test_validation_split_takes_the_last_fraction():
    x, y = data(n=10)
    a, b = model(), model()
    for mm in (a, b):
        mm.compile("sgd", "sparse_categorical_crossentropy")
    ha = a.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, validation_split=0.35)
    hb = b.fit(x[:6], y[:6], batch_size=4, epochs=2, shuffle=False, verbose=0,
               validation_data=(x[6:], y[6:]))  # floor(10 * 0.65) = 6
    assert ha.history == hb.history
    assert ha.params["steps"] == 2
    with pytest.raises(ValueError, match="not sufficient to split"):
        a.fit(x[:1], y[:1], validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        a.fit(x, y, validation_split=1.0, verbose=0)


def test_class_weight_equals_the_sample_weights_it_stands_for():
    x, y = data()
    cw = {0: 2.0, 2: 0.25}
    sw = fitting.class_weight_to_sample_weights(y, cw)
    assert sw.tolist() == [cw.get(int(c), 1.0) for c in y]
    assert fitting.class_weight_to_sample_weights(np.eye(3)[y], cw).tolist() == sw.tolist()
    a, b = model(), model()
    for mm in (a, b):
        mm.compile("sgd", "sparse_categorical_crossentropy")
    ha = a.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0, class_weight=cw)
    hb = b.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0, sample_weight=sw)
    assert ha.history == hb.history
    c = model()
    c.compile("sgd", "sparse_categorical_crossentropy")
    hc = c.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    assert hc.history["loss"] != ha.history["loss"]  # the weights do weigh
    with pytest.raises(ValueError, match="class_weight` and `sample_weight"):
        a.fit(x, y, class_weight=cw, sample_weight=sw, verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        a.fit(x, y, sample_weight=sw[:3], verbose=0)


def test_zero_sample_weights_leave_the_model_alone_with_sgd():
    x, y = data()
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy")
    before = m.get_weights()
    m.fit(x, y, batch_size=5, epochs=1, verbose=0, sample_weight=np.zeros(len(x)))
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


# -- callbacks on a scripted loss sequence -------------------------------------------------------
class Scripted:
    """A stand-in model for callbacks: weights are the epoch number, an optimizer with a lr."""

    def __init__(self):
        self.stop_training, self.w, self.compiled_metrics = False, 0, []
        self.optimizer = numpy_rnn.optimizers.SGD(0.1)

    def get_weights(self):
        return [self.w]

    def set_weights(self, w):
        self.w = w[0]


def drive(callback, values, key="val_loss"):
    """Run ``callback`` over epochs with ``key`` = values; returns the epochs run."""
    m = Scripted()
    callback.set_model(m)
    callback.on_train_begin()
    ran = []
    for epoch, value in enumerate(values):
        m.w = epoch
        callback.on_epoch_begin(epoch)
        logs = {key: value}
        callback.on_epoch_end(epoch, logs)
        ran.append(epoch)
        if m.stop_training:
            break
    callback.on_train_end()
    return ran, m


def test_early_stopping_patience_min_delta_and_restore():
    es = cb.EarlyStopping(patience=2)
    ran, _ = drive(es, [1.0, 0.9, 0.95, 0.91, 0.5])
    assert ran == [0, 1, 2, 3] and es.stopped_epoch == 3
    es = cb.EarlyStopping(patience=1, min_delta=0.2)
    ran, _ = drive(es, [1.0, 0.85, 0.5])
    assert ran == [0, 1]  # 0.15 is not an improvement of 0.2
    es = cb.EarlyStopping(patience=1, restore_best_weights=True)
    ran, m = drive(es, [1.0, 0.5, 0.7, 0.8])
    assert ran == [0, 1, 2] and m.w == 1 and es.best_epoch == 1
    es = cb.EarlyStopping(patience=0)
    ran, _ = drive(es, [1.0, 2.0, 3.0])
    assert ran == [0, 1]  # never stops at epoch 0


def test_early_stopping_baseline_start_and_mode():
    es = cb.EarlyStopping(patience=2, baseline=0.1)
    ran, _ = drive(es, [1.0, 1.1, 1.2, 1.3])
    assert ran == [0, 1]
    es = cb.EarlyStopping(patience=0, start_from_epoch=2)
    ran, _ = drive(es, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert ran == [0, 1, 2, 3]
    es = cb.EarlyStopping(monitor="val_accuracy", patience=0, mode="max")
    ran, _ = drive(es, [0.5, 0.6, 0.55], key="val_accuracy")
    assert ran == [0, 1, 2]
    with pytest.raises(ValueError, match="automatically determine"):
        drive(cb.EarlyStopping(monitor="val_thing"), [1.0], key="val_thing")


def test_reduce_lr_on_plateau_patience_cooldown_min_lr():
    r = cb.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_lr=0.03, min_delta=0)
    m = Scripted()
    r.set_model(m)
    r.on_train_begin()
    lrs = []
    for epoch, value in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        logs = {"val_loss": value}
        r.on_epoch_end(epoch, logs)
        lrs.append(logs["learning_rate"])
    # (each epoch logs the rate it ran with) epoch 1: reduce to .05, cooldown 1; epoch 2: the
    # cooldown ends at the start of the epoch (Keras's order), so it counts and reduces again
    # to max(.025, min_lr=.03); then the floor holds
    assert np.allclose(lrs, [0.1, 0.1, 0.05, 0.03, 0.03, 0.03], rtol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        cb.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler_and_terminate_on_nan():
    s = cb.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    m = Scripted()
    s.set_model(m)
    s.on_epoch_begin(0)
    s.on_epoch_begin(1)
    assert m.optimizer.learning_rate == pytest.approx(0.025)
    bad = cb.LearningRateScheduler(lambda e, lr: "x")
    bad.set_model(m)
    with pytest.raises(ValueError, match="should be a float"):
        bad.on_epoch_begin(0)
    t = cb.TerminateOnNaN()
    t.set_model(m)
    t.on_train_batch_end(0, {"loss": 1.0})
    assert not m.stop_training
    t.on_train_batch_end(1, {"loss": float("nan")})
    assert m.stop_training
    with pytest.raises(RuntimeError, match="NaN or Inf"):
        tr = cb.TerminateOnNaN(raise_error=True)
        tr.set_model(m)
        tr.on_train_batch_end(2, {"loss": float("inf")})


def test_stop_training_ends_the_epoch_after_the_batch(monkeypatch):
    x, y = data()
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy")

    class StopAtBatch(cb.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_train_batch_end(self, batch, logs=None):
            self.batches.append(batch)
            if batch == 1:
                self.model.stop_training = True
    s = StopAtBatch()
    h = m.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[s])
    assert s.batches == [0, 1] and h.epoch == [0]


def test_initial_epoch_and_history_callback():
    x, y = data()
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy")
    mine = cb.History()
    h = m.fit(x, y, epochs=4, initial_epoch=2, verbose=0, callbacks=[mine])
    assert h is mine and h.epoch == [2, 3] and len(h.history["loss"]) == 2
    assert m.history is h
    with pytest.raises(TypeError, match="callbacks"):
        m.fit(x, y, callbacks=[object()], verbose=0)


def test_csv_logger_and_checkpoint(tmp_path):
    x, y = data()
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    log = tmp_path / "log.csv"
    ck = cb.ModelCheckpoint(str(tmp_path / "m_{epoch}.npz"), monitor="loss")
    h = m.fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False,
              callbacks=[cb.CSVLogger(log), ck])
    rows = list(csv.reader(open(log)))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert rows[1][0] == "0" and float(rows[2][2]) == h.history["loss"][1]
    assert rows[1][3:] == ["NA", "NA"]
    assert [p.split("/")[-1] for p in ck.saved] == ["m_1.npz", "m_2.npz"]
    back = numpy_rnn.load(ck.saved[-1])
    assert np.allclose(back.predict(x), m.predict(x))


# -- save, get_layer, names, verbose ------------------------------------------------------------
def test_save_load_and_get_layer(tmp_path):
    m = model()
    path = m.save(tmp_path / "m.npz")
    back = numpy_rnn.load(path)
    x, _ = data()
    assert np.allclose(back.predict(x), m.predict(x))
    assert m.get_layer("out") is m.layers[1] and m.get_layer(index=0) is m.layers[0]
    with pytest.raises(ValueError, match="No such layer: nope"):
        m.get_layer("nope")


def test_default_names_are_keras():
    naming.reset_uids()
    layers = [LSTM(2), LSTM(2), GRU(2), SimpleRNN(2), Dense(1), BatchNormalization(),
              Conv1D(2, 2), Dense(1)]
    assert [layer.name for layer in layers] == ["lstm", "lstm_1", "gru", "simple_rnn", "dense",
                                                "batch_normalization", "conv1d", "dense_1"]
    assert naming.to_snake_case("PReLU") == "p_re_lu"
    assert numpy_rnn.Sequential().name == "sequential"
    assert numpy_rnn.Sequential().name == "sequential_1"


def test_verbose_auto_writes_a_line_per_epoch_to_a_stream():
    x, y = data()
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    out = io.StringIO()
    fitting.fit(m, x, y, batch_size=5, epochs=2, stream=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("4/4 ") and "accuracy:" in lines[1]
    assert len(lines) == 4


def test_auto_mode_follows_the_metric_direction_or_refuses():
    m = Scripted()
    m.compiled_metrics = [metrics.get("mae"), metrics.get("accuracy", np.array([0]),
                                                           np.ones((1, 2))),
                          metrics.get(lambda t, p: np.abs(t - p))]
    m.compiled_metrics[2].name = "custom"
    es = cb.EarlyStopping(monitor="val_mae", patience=0)
    es.set_model(m)
    es._set_monitor_op()
    assert es.monitor_op is np.less
    es = cb.EarlyStopping(monitor="val_accuracy")
    es.set_model(m)
    es._set_monitor_op()
    assert es.monitor_op is np.greater
    es = cb.EarlyStopping(monitor="val_custom")
    es.set_model(m)
    with pytest.raises(ValueError, match="automatically determine"):
        es._set_monitor_op()


def test_weighted_metrics_take_the_sample_weights():
    x, y = data()
    m = model()
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"],
              weighted_metrics=["accuracy"])
    sw = (y == 0).astype(float)  # only class 0 counts
    out = m.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert list(out) == ["loss", "accuracy", "weighted_accuracy"]
    hits = np.argmax(m.predict(x), -1) == y
    assert out["accuracy"] == pytest.approx(hits.mean())
    assert out["weighted_accuracy"] == pytest.approx(hits[y == 0].mean())
    assert fitting.class_weight_to_sample_weights(y, {0: 0.1}, "float64")[y == 0][0] == 0.1
