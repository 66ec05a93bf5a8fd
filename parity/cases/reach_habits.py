"""The main job's rows for Keras's training habits (issue 21 item 5), in the ``reach`` group
(``parity.cases.reach`` adds them, passing its training model, data and Keras context):

* ``reach/fit metrics ...``: ``compile(metrics=["accuracy", "sparse_categorical_accuracy"])``
  on a masked sequence output (the mask weighs the metric), ``fit(validation_split=0.25,
  sample_weight=...)`` for 2 epochs: every history key per epoch (``loss``, the metrics, their
  ``val_`` twins) and the keys themselves; then ``evaluate(return_dict=True)``.
* ``reach/callbacks ...``: ``EarlyStopping(patience=1, min_delta)`` and
  ``ReduceLROnPlateau(patience=1)`` on ``val_loss`` with SGD at a rate that overshoots: the epochs
  run, the stop epoch and the learning rate of each epoch must be equal (exact rows), the
  losses within the ``"training"`` tolerance.
* ``reach/fit outputs ...``: a two-output functional model compiled with metrics per output (a
  dict by output name) and ``weighted_metrics`` per output (a list), ``fit(validation_freq=[1,
  3])`` for 3 epochs: the history keys (``out1_mae``, ``out2_accuracy_1``,
  ``out1_weighted_mae``...), each value per epoch (the ``val_`` keys on the validated epochs
  only), ``evaluate(return_dict=True)`` and ``evaluate``'s list in Keras's order.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from numpy_rnn import callbacks as ncb, losses, optimizers

from ..bridge import deviations, from_keras
from ..bridge.grad import keras_loss
from ..bridge.train import floatx, keras_optimizer
from ..report import OutputDiff, ParityReport, diff_arrays
from .case import verdict

METRICS_NAME = ("reach/fit metrics accuracy masked validation_split=0.25 sample_weight "
                "return_dict float64")
CALLBACKS_NAME = "reach/callbacks EarlyStopping ReduceLROnPlateau decisions float64"
OUTPUTS_NAME = ("reach/fit outputs metrics per output weighted_metrics validation_freq=[1,3] "
                "evaluate float64")


def _history_rows(n_hist: dict, k_hist: dict, epochs: int,
                  validated: int | None = None) -> list[OutputDiff]:
    rows = [verdict("history keys", sorted(n_hist) == sorted(k_hist),
                    f"numpy {sorted(n_hist)}, keras {sorted(k_hist)}")]
    for key in sorted(k_hist):
        got, want = list(n_hist.get(key, [])), list(k_hist[key])
        count = validated if validated is not None and key.startswith("val_") else epochs
        rows.append(verdict(f"{key} epochs", len(got) == len(want) == count,
                            f"numpy recorded {len(got)} value(s), keras {len(want)}"))
        for epoch, (a, e) in enumerate(zip(got, want), 1):
            rows.append(diff_arrays(f"epoch {epoch} {key}", np.float64(a), np.float64(e),
                                    kind="training"))
    return rows


def metrics_case(seed: int, make_model: Callable, make_data: Callable,
                 context: Callable) -> ParityReport:
    rng = np.random.default_rng(seed)
    model = make_model(rng)
    x, y = make_data(rng, 24)
    sw = rng.uniform(0.2, 2.0, size=y.shape)  # per step: Keras refuses (batch,) with a mask
    twin = from_keras(model)
    names = ["accuracy", "sparse_categorical_accuracy"]
    twin.compile(optimizer=optimizers.SGD(learning_rate=0.2, momentum=0.5, floatx="float64"),
                 loss=losses.SparseCategoricalCrossentropy(dtype="float64"), metrics=names)
    fit = dict(batch_size=8, epochs=2, shuffle=False, verbose=0, validation_split=0.25,
               sample_weight=sw)
    with context(), floatx("float64"):
        model.compile(optimizer=keras_optimizer(twin.optimizer), loss=keras_loss(twin.loss),
                      metrics=names)
        k_hist = model.fit(x, y, **fit).history
        k_eval = model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
    n_hist = twin.fit(x, y, **fit).history
    n_eval = twin.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
    rows = _history_rows(n_hist, k_hist, 2)
    rows.append(verdict("evaluate keys", sorted(n_eval) == sorted(k_eval),
                        f"numpy {sorted(n_eval)}, keras {sorted(k_eval)}"))
    for key in sorted(k_eval):
        if key in n_eval:
            rows.append(diff_arrays(f"evaluate {key}", np.float64(n_eval[key]),
                                    np.float64(k_eval[key]), kind="training"))
    return deviations.excuse(ParityReport(METRICS_NAME, rows), float64=True)  # a float64 model


def callbacks_case(seed: int, make_model: Callable, make_data: Callable,
                   context: Callable) -> ParityReport:
    rng = np.random.default_rng(seed)
    model = make_model(rng)
    x, y = make_data(rng, 24)
    twin = from_keras(model)
    twin.compile(optimizer=optimizers.SGD(learning_rate=2.0, floatx="float64"),
                 loss=losses.SparseCategoricalCrossentropy(dtype="float64"))

    def make(module: Any) -> list:
        return [module.EarlyStopping(monitor="val_loss", patience=2, min_delta=1e-3),
                module.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1,
                                         min_delta=1e-3)]
    fit = dict(batch_size=8, epochs=6, shuffle=False, verbose=0, validation_split=0.25)
    n_cbs = make(ncb)
    import keras

    with context(), floatx("float64"):
        k_cbs = make(keras.callbacks)
        model.compile(optimizer=keras_optimizer(twin.optimizer), loss=keras_loss(twin.loss))
        k_run = model.fit(x, y, callbacks=k_cbs, **fit)
    n_run = twin.fit(x, y, callbacks=n_cbs, **fit)
    rows = [verdict("epochs run", n_run.epoch == k_run.epoch,
                    f"numpy ran epochs {n_run.epoch}, keras {k_run.epoch}"),
            verdict("EarlyStopping stopped_epoch", n_cbs[0].stopped_epoch
                    == k_cbs[0].stopped_epoch,
                    f"numpy {n_cbs[0].stopped_epoch}, keras {k_cbs[0].stopped_epoch}"),
            verdict("learning_rate per epoch", n_run.history.get("learning_rate")
                    == k_run.history.get("learning_rate"),
                    f"numpy {n_run.history.get('learning_rate')}, "
                    f"keras {k_run.history.get('learning_rate')}")]
    hist_n = {k: v for k, v in n_run.history.items() if k != "learning_rate"}
    hist_k = {k: v for k, v in k_run.history.items() if k != "learning_rate"}
    rows += _history_rows(hist_n, hist_k, len(k_run.epoch))
    return ParityReport(CALLBACKS_NAME, rows)


def outputs_case(seed: int, context: Callable) -> ParityReport:
    import keras

    rng = np.random.default_rng(seed)
    x, y1, y2 = rng.normal(size=(20, 3)), rng.normal(size=(20, 2)), rng.integers(0, 3, size=20)
    sw = rng.uniform(0.5, 2.0, size=20)
    metrics = {"out1": ["mse", "mae"], "out2": ["accuracy", "accuracy"]}
    weighted = [["mae"], None]
    fit = dict(batch_size=8, epochs=3, shuffle=False, verbose=0, validation_split=0.25,
               sample_weight=sw, validation_freq=[1, 3])
    with context(), floatx("float64"):
        inp = keras.Input((3,), dtype="float64")
        h = keras.layers.Dense(4, activation="tanh", dtype="float64")(inp)
        model = keras.Model(inp, [keras.layers.Dense(2, name="out1", dtype="float64")(h),
                                  keras.layers.Dense(3, activation="softmax", name="out2",
                                                     dtype="float64")(h)])
        for w in model.weights:
            w.assign(rng.normal(scale=0.5, size=w.shape))
        twin = from_keras(model)
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=[keras.losses.MeanSquaredError(),
                            keras.losses.SparseCategoricalCrossentropy()],
                      metrics=metrics, weighted_metrics=weighted)
        k_hist = model.fit(x, [y1, y2], **fit).history
        k_eval = model.evaluate(x, [y1, y2], batch_size=7, verbose=0, return_dict=True)
        k_list = model.evaluate(x, [y1, y2], batch_size=7, verbose=0)
    twin.compile(optimizer=optimizers.SGD(0.1, floatx="float64"),
                 loss=[losses.MeanSquaredError(dtype="float64"),
                       losses.SparseCategoricalCrossentropy(dtype="float64")],
                 metrics=metrics, weighted_metrics=weighted)
    n_hist = twin.fit(x, [y1, y2], **fit).history
    n_eval = twin.evaluate(x, [y1, y2], batch_size=7, verbose=0, return_dict=True)
    n_list = twin.evaluate(x, [y1, y2], batch_size=7, verbose=0)
    rows = _history_rows(n_hist, k_hist, 3, validated=2)
    rows.append(verdict("evaluate keys", sorted(n_eval) == sorted(k_eval),
                        f"numpy {sorted(n_eval)}, keras {sorted(k_eval)}"))
    for key in sorted(k_eval):
        if key in n_eval:
            rows.append(diff_arrays(f"evaluate {key}", np.float64(n_eval[key]),
                                    np.float64(k_eval[key]), kind="training"))
    same_length = len(n_list) == len(k_list)
    rows.append(verdict("evaluate list length", same_length,
                        f"numpy {len(n_list)} values, keras {len(k_list)}"))
    if same_length:
        rows.append(diff_arrays("evaluate list (Keras's order)", np.float64(n_list),
                                np.float64(k_list), kind="training"))
    # a float64 model (tanh): on JAX / PyTorch float32-accurate (float64-promotion)
    return deviations.excuse(ParityReport(OUTPUTS_NAME, rows), float64=True)
