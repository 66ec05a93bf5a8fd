"""Keras's training habits against Keras 3 itself: compiled metrics, ``validation_split``,
``sample_weight`` / ``class_weight``, ``initial_epoch``, ``evaluate(return_dict=True)`` and the
callbacks' decisions (EarlyStopping's stop epoch and restored weights, ReduceLROnPlateau's and
LearningRateScheduler's learning rates, ModelCheckpoint's saved epochs, CSVLogger's file).

Both models start from the same weights (``parity.from_keras``) in float64 (Keras under
``floatx("float64")``, in eager mode), see the same batches (``shuffle=False``) and must report
the same numbers per epoch to ``RTOL64`` of their scale; counts and decisions must be equal.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import parity  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402

import numpy_rnn  # noqa: E402
from numpy_rnn import callbacks as ncb, losses, metrics as nmetrics, optimizers  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager")]

RTOL64 = 1e-12


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def classifier(kind):
    """(keras model, x, y, keras loss name, classes) in float64 under floatx float64."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(26, 5))
    if kind == "sparse":
        units, act, y = 4, "softmax", rng.integers(0, 4, size=(26,))
        loss = "SparseCategoricalCrossentropy"
    elif kind == "onehot":
        units, act, y = 4, "softmax", np.eye(4)[rng.integers(0, 4, size=(26,))]
        loss = "CategoricalCrossentropy"
    elif kind == "binary":
        units, act, y = 1, "sigmoid", rng.integers(0, 2, size=(26, 1)).astype("float64")
        loss = "BinaryCrossentropy"
    else:
        units, act, y = 2, None, rng.normal(size=(26, 2))
        loss = "MeanSquaredError"
    km = keras.Sequential([keras.Input((5,), dtype="float64"),
                           keras.layers.Dense(6, activation="tanh", dtype="float64"),
                           keras.layers.Dense(units, activation=act, dtype="float64")])
    return km, x, y, loss


def pair(kind, k_metrics=(), n_metrics=(), lr=0.05):
    keras.utils.set_random_seed(0)  # the same starting weights each run (a fixed trajectory)
    km, x, y, loss = classifier(kind)
    km.compile(optimizer=keras.optimizers.SGD(lr), loss=getattr(keras.losses, loss)(),
               metrics=list(k_metrics))
    nm = parity.from_keras(km)
    nm.compile(optimizer=optimizers.SGD(lr, floatx="float64"),
               loss=getattr(losses, loss)(dtype="float64"), metrics=list(n_metrics))
    return km, nm, x, y


def same_history(kh, nh, keys=None):
    keys = keys or sorted(kh)
    assert sorted(kh) == sorted(nh), (sorted(kh), sorted(nh))
    errs = {k: rel(nh[k], kh[k]) for k in keys}
    assert all(len(nh[k]) == len(kh[k]) for k in keys)
    assert all(e <= RTOL64 for e in errs.values()), errs
    return errs


# (TensorFlow's in_top_k takes float32 only, so the top-k metrics are compared in float32 below)
def same_dict(n, k, rtol=RTOL64):
    assert sorted(n) == sorted(k), (sorted(n), sorted(k))
    return all(rel(n[key], k[key]) <= rtol for key in k)


METRIC_CASES = {
    "sparse": (["accuracy", "sparse_categorical_accuracy", "acc"],
               [lambda: keras.metrics.SparseCategoricalAccuracy(name="sca")],
               [lambda: nmetrics.SparseCategoricalAccuracy(name="sca")]),
    "onehot": (["accuracy", "categorical_accuracy"],
               [lambda: keras.metrics.CategoricalAccuracy(name="ca")],
               [lambda: nmetrics.CategoricalAccuracy(name="ca")]),
    "binary": (["accuracy", "binary_accuracy", "mse"], [], []),
    "regression": (["mae", "mse", "mean_squared_error"],
                   [lambda: keras.metrics.MeanAbsoluteError()],
                   [lambda: nmetrics.MeanAbsoluteError()]),
}


@pytest.mark.parametrize("kind", sorted(METRIC_CASES))
def test_metrics_per_epoch_and_evaluate(kind):
    names, k_objs, n_objs = METRIC_CASES[kind]
    with floatx("float64"):
        km, nm, x, y = pair(kind, names + [f() for f in k_objs], names + [f() for f in n_objs])
        kh = km.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                    validation_split=0.3).history
        nh = nm.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                    validation_split=0.3).history
        ke = km.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
        ne = nm.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
        kl = km.evaluate(x, y, batch_size=7, verbose=0)
        nl = nm.evaluate(x, y, batch_size=7, verbose=0)
    errs = same_history(kh, nh)
    assert same_dict(ne, ke)
    assert rel(nl, kl) <= RTOL64
    print(f"\n{kind}: {errs}")


def test_top_k_metrics_float32():
    """float32 (TensorFlow's ``in_top_k`` refuses float64): top-k hits are counts, so the per
    epoch values agree to float32 rounding of the running mean."""
    rng = np.random.default_rng(4)
    x, labels = rng.normal(size=(30, 5)).astype("float32"), rng.integers(0, 5, size=(30,))
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(5, activation="softmax")])
    k_metrics = [keras.metrics.SparseTopKCategoricalAccuracy(k=2),
                 keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3"),
                 "sparse_top_k_categorical_accuracy"]
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
               metrics=k_metrics)
    nm = parity.from_keras(km)
    nm.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
               metrics=[nmetrics.SparseTopKCategoricalAccuracy(k=2),
                        nmetrics.SparseTopKCategoricalAccuracy(k=3, name="top3"),
                        "sparse_top_k_categorical_accuracy"])
    kh = km.fit(x, labels, batch_size=8, epochs=2, shuffle=False, verbose=0,
                validation_split=0.2).history
    nh = nm.fit(x, labels, batch_size=8, epochs=2, shuffle=False, verbose=0,
                validation_split=0.2).history
    assert sorted(kh) == sorted(nh)
    for key in kh:
        assert rel(nh[key], kh[key]) <= 1e-6, (key, nh[key], kh[key])
    y1 = np.eye(5)[labels]
    kt = keras.metrics.TopKCategoricalAccuracy(k=2)
    kt.update_state(y1, nm.predict(x))
    nt = nmetrics.TopKCategoricalAccuracy(k=2)
    nt.update_state(y1, nm.predict(x))
    assert nt.result() == pytest.approx(float(kt.result()), rel=1e-6)


@pytest.mark.parametrize("how", ["sample_weight", "class_weight", "both_split"])
def test_weights_and_split(how):
    with floatx("float64"):
        km, nm, x, y = pair("sparse", ["accuracy"], ["accuracy"])
        sw = np.random.default_rng(1).uniform(0.2, 2.0, size=(len(x),))
        kwargs = {"sample_weight": {"sample_weight": sw},
                  "class_weight": {"class_weight": {0: 2.0, 2: 0.5, 3: 1.5}},
                  "both_split": {"sample_weight": sw, "validation_split": 0.25}}[how]
        kh = km.fit(x, y, batch_size=6, epochs=3, shuffle=False, verbose=0, **kwargs).history
        nh = nm.fit(x, y, batch_size=6, epochs=3, shuffle=False, verbose=0, **kwargs).history
        ke = km.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
        ne = nm.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    same_history(kh, nh)
    assert same_dict(ne, ke)
    assert max(rel(a, b) for a, b in zip(nm.get_weights(), km.get_weights())) <= RTOL64


def run_callbacks(make, kind="regression", epochs=8, lr=0.3, **fit):
    """Fit both with ``make(module)`` callbacks; (keras history, numpy history, kcbs, ncbs)."""
    with floatx("float64"):
        km, nm, x, y = pair(kind, lr=lr)
        kcbs, ncbs = make(keras.callbacks), make(ncb)
        kh = km.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
                    callbacks=kcbs, **fit)
        nh = nm.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
                    callbacks=ncbs, **fit)
        weights = max(rel(a, b) for a, b in zip(nm.get_weights(), km.get_weights()))
    return kh, nh, kcbs, ncbs, weights


EARLY = {
    "patience": dict(monitor="val_loss", patience=2, min_delta=1e-4),
    "baseline": dict(monitor="loss", patience=2, baseline=0.05, min_delta=0.1),
    "restore": dict(monitor="val_loss", patience=1, min_delta=1e-4, restore_best_weights=True),
    "start": dict(monitor="val_loss", patience=0, min_delta=1e-2, start_from_epoch=3),
    "max": dict(monitor="loss", mode="max", patience=1),
}


@pytest.mark.parametrize("case", sorted(EARLY))
def test_early_stopping_stops_at_the_same_epoch(case):
    kh, nh, kc, nc, werr = run_callbacks(lambda m: [m.EarlyStopping(**EARLY[case])],
                                         validation_split=0.25)
    assert nh.epoch == kh.epoch
    assert nc[0].stopped_epoch == kc[0].stopped_epoch and nc[0].best_epoch == kc[0].best_epoch
    assert nc[0].wait == kc[0].wait
    assert 0 < nc[0].stopped_epoch < 7  # each case does stop early
    same_history(kh.history, nh.history)
    assert werr <= RTOL64
    print(f"\n{case}: epochs {nh.epoch}, stopped {nc[0].stopped_epoch}")


def test_reduce_lr_on_plateau_lowers_at_the_same_epochs():
    def make(m):
        return [m.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1,
                                    min_delta=5e-3, cooldown=1, min_lr=0.05)]
    kh, nh, kc, nc, werr = run_callbacks(make, epochs=10, validation_split=0.25)
    same_history(kh.history, nh.history)
    assert nh.history["learning_rate"] == kh.history["learning_rate"]
    assert len(set(nh.history["learning_rate"])) > 1  # it did lower the rate
    assert werr <= RTOL64


def test_learning_rate_scheduler_and_initial_epoch():
    def make(m):
        return [m.LearningRateScheduler(lambda epoch, lr: 0.4 / (epoch + 1))]
    kh, nh, _, _, werr = run_callbacks(make, epochs=5, initial_epoch=2)
    assert nh.epoch == kh.epoch == [2, 3, 4]
    same_history(kh.history, nh.history)
    assert werr <= RTOL64


def test_model_checkpoint_saves_the_same_epochs(tmp_path):
    def make(m):
        ext = "keras" if m is keras.callbacks else "npz"
        return [m.ModelCheckpoint(str(tmp_path / f"{ext}_{{epoch}}.{ext}"), monitor="val_loss",
                                  save_best_only=True)]
    kh, nh, kc, nc, _ = run_callbacks(make, epochs=6, lr=0.9, validation_split=0.25)
    k_saved = sorted(int(p.stem.split("_")[1]) for p in tmp_path.glob("keras_*.keras"))
    n_saved = sorted(int(p.stem.split("_")[1]) for p in tmp_path.glob("npz_*.npz"))
    assert n_saved == k_saved and nc[0].best == pytest.approx(kc[0].best, rel=1e-12)
    best = numpy_rnn.load(tmp_path / f"npz_{n_saved[-1]}.npz")
    assert best.name == "sequential" or best.layers


def test_csv_logger_writes_keras_file(tmp_path):
    def make(m):
        name = "k.csv" if m is keras.callbacks else "n.csv"
        return [m.CSVLogger(str(tmp_path / name))]
    run_callbacks(make, epochs=3, validation_split=0.25)
    k_rows = list(csv.reader(open(tmp_path / "k.csv")))
    n_rows = list(csv.reader(open(tmp_path / "n.csv")))
    assert n_rows[0] == k_rows[0]
    for kr, nr in zip(k_rows[1:], n_rows[1:]):
        assert nr[0] == kr[0]
        assert rel([float(v) for v in nr[1:]], [float(v) for v in kr[1:]]) <= RTOL64


def uncompiled_keras_pair(n_metrics):
    """A float64 Keras classifier (not compiled: compare_training compiles it) and its twin
    compiled with ``n_metrics``."""
    with floatx("float64"):
        keras.utils.set_random_seed(0)
        km, x, y, loss = classifier("sparse")
        nm = parity.from_keras(km)
    nm.compile(optimizer=optimizers.SGD(0.05, floatx="float64"),
               loss=getattr(losses, loss)(dtype="float64"), metrics=n_metrics)
    return km, nm, x, y


def test_compare_training_compares_the_metrics_of_each_step():
    """``parity.compare_training`` compiles Keras with the numpy model's metrics and reports a
    ``step k <metric>`` row per step; a metric computed wrongly turns those rows red."""
    km, nm, x, y = uncompiled_keras_pair(["accuracy", nmetrics.SparseCategoricalAccuracy(
        name="sca")])
    report = parity.compare_training(nm, km, x, y, steps=3, batch_size=8)
    names = [o.name for o in report.outputs]
    assert {"step 1 loss", "step 1 accuracy", "step 3 sca"} <= set(names)
    assert report.passed, report


def test_compare_training_metric_rows_have_teeth(monkeypatch):
    km, nm, x, y = uncompiled_keras_pair(["accuracy"])
    real = nmetrics.sparse_categorical_accuracy
    monkeypatch.setattr(nmetrics.SparseCategoricalAccuracy, "__init__",
                        lambda self, name=None, dtype=None, **kw: nmetrics.MeanMetricWrapper
                        .__init__(self, lambda t, p: 1.0 - real(t, p), name=name, dtype=dtype))
    report = parity.compare_training(nm, km, x, y, steps=2, batch_size=8)
    assert not report.passed
    assert not report.output("step 1 accuracy").passed


def test_functional_model_metrics_split_weights_and_callbacks():
    """A functional model (two inputs, one output) goes through the same loops: metrics,
    validation_split, class_weight and EarlyStopping equal to Keras's."""
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(24, 3)), rng.normal(size=(24, 2))
    y = rng.integers(0, 3, size=(24,))
    with floatx("float64"):
        keras.utils.set_random_seed(1)
        ia, ib = keras.Input((3,), dtype="float64"), keras.Input((2,), dtype="float64")
        h = keras.layers.Concatenate(dtype="float64")([ia, ib])
        out = keras.layers.Dense(3, activation="softmax", dtype="float64")(h)
        km = keras.Model([ia, ib], out)
        km.compile(optimizer=keras.optimizers.SGD(0.5),
                   loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
        na, nb = numpy_rnn.Input((3,), dtype="float64"), numpy_rnn.Input((2,), dtype="float64")
        nout = numpy_rnn.Dense(3, activation="softmax", dtype="float64")(
            numpy_rnn.Concatenate(dtype="float64")([na, nb]))
        nm = numpy_rnn.Model([na, nb], nout)
        nm.set_weights(km.get_weights())
        nm.compile(optimizer=optimizers.SGD(0.5, floatx="float64"),
                   loss=losses.SparseCategoricalCrossentropy(dtype="float64"),
                   metrics=["accuracy"])
        fit = dict(batch_size=8, epochs=6, shuffle=False, verbose=0, validation_split=0.25,
                   class_weight={0: 0.5, 1: 2.0})
        k_es = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=0.1)
        n_es = ncb.EarlyStopping(monitor="val_loss", patience=1, min_delta=0.1)
        kh = km.fit([a, b], y, callbacks=[k_es], **fit)
        nh = nm.fit([a, b], y, callbacks=[n_es], **fit)
        ke = km.evaluate([a, b], y, verbose=0, return_dict=True)
        ne = nm.evaluate([a, b], y, verbose=0, return_dict=True)
    assert nh.epoch == kh.epoch and n_es.stopped_epoch == k_es.stopped_epoch
    assert 0 < n_es.stopped_epoch < 5  # it does stop early
    same_history(kh.history, nh.history)
    assert same_dict(ne, ke)


def test_terminate_on_nan_stops_at_the_same_batch():
    """SGD at a rate that overflows: both losses turn inf / NaN at the same batch and
    TerminateOnNaN ends the fit there (one epoch recorded, the same epochs)."""
    class Batches:
        def __init__(self, module):
            base = module.callbacks.Callback if module is keras else ncb.Callback
            self.cb = type("Count", (base,), {"on_train_batch_end": self._end})()
            self.seen = []

        def _end(self, batch, logs=None):
            self.seen.append((batch, bool(np.isfinite(logs["loss"]))))

    with np.errstate(all="ignore"):
        k_count, n_count = Batches(keras), Batches(numpy_rnn)
        kh, nh, _, _, _ = run_callbacks(
            lambda m: [m.TerminateOnNaN(), (k_count if m is keras.callbacks else n_count).cb],
            epochs=4, lr=1e30)
    assert n_count.seen == k_count.seen and not n_count.seen[-1][1]
    assert [s for s in n_count.seen if not s[1]] == [n_count.seen[-1]]  # stopped at the first
    assert nh.epoch == kh.epoch and len(nh.epoch) < 4


@pytest.mark.parametrize("how", ["sample_weight", "class_weight"])
def test_weighted_metrics(how):
    """``weighted_metrics`` get the batch's sample weights (class weights included); the same
    name in both lists becomes ``weighted_<name>``, as Keras names it."""
    with floatx("float64"):
        keras.utils.set_random_seed(0)
        km, x, y, loss = classifier("sparse")
        km.compile(optimizer=keras.optimizers.SGD(0.05), loss=getattr(keras.losses, loss)(),
                   metrics=["accuracy"],
                   weighted_metrics=["accuracy", "sparse_categorical_accuracy"])
        nm = parity.from_keras(km)
        nm.compile(optimizer=optimizers.SGD(0.05, floatx="float64"),
                   loss=getattr(losses, loss)(dtype="float64"), metrics=["accuracy"],
                   weighted_metrics=["accuracy", "sparse_categorical_accuracy"])
        sw = np.random.default_rng(2).uniform(0.0, 3.0, size=(len(x),))
        kwargs = ({"sample_weight": sw} if how == "sample_weight"
                  else {"class_weight": {0: 3.0, 1: 0.1}})
        kh = km.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0,
                    validation_split=0.25, **kwargs).history
        nh = nm.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0,
                    validation_split=0.25, **kwargs).history
        ke = km.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
        ne = nm.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert "weighted_accuracy" in kh
    same_history(kh, nh)
    assert same_dict(ne, ke)
    assert ne["weighted_accuracy"] != ne["accuracy"]  # the weights do weigh
