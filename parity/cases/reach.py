"""The main job's reach (issue 21): rows for what the suite checked and ``numpy-rnn parity`` did
not (``--only 'reach/*'``).  Every row compares with Keras; none can pass without measuring.

* ``reach/training/<optimizer>``: three float64 ``train_on_batch`` steps in a row
  (:func:`parity.compare_training`) with Adam, AdamW (decoupled weight decay), SGD with momentum,
  SGD Nesterov, centered RMSprop, and SGD with ``clipnorm``, ``clipvalue`` and
  ``global_clipnorm`` (thresholds that bind: each clip changes the step);
* ``reach/fit``: ``fit`` for 2 epochs (``shuffle=False``, three batches of which the last is
  partial, ``validation_data``) in both libraries: ``loss`` / ``val_loss`` per epoch and every
  weight after;
* ``reach/fit metrics ...``, ``reach/callbacks ...`` and ``reach/fit outputs ...``
  (``parity.cases.reach_habits``): compiled metrics (per output too), ``validation_split``,
  ``validation_freq``, ``sample_weight``, ``evaluate(return_dict=True)`` and its list, and
  EarlyStopping / ReduceLROnPlateau's decisions;
* ``reach/loss/...``: ``BinaryCrossentropy`` (probabilities and logits), and each
  cross-entropy's own gradient (``numpy_rnn.losses`` ``X.gradient``) at probabilities of exactly
  0 and 1, where Keras clips to ``epsilon`` and the clip's gradient is 0, against
  ``tf.GradientTape`` of the Keras loss;
* ``reach/keras2 .h5``: a model saved by tf_keras as ``model.h5``, read by
  ``numpy_rnn.load_keras_model``, against tf_keras (skipped, saying so, without tf_keras);
* ``reach/trace``: :func:`parity.trace` of a stacked model: no layer diverges, every row passes;
* ``reach/grad/bidirectional lstm initial_state``: the gradients of all four initial states
  (``h``, ``c`` forward, then backward) and the weights against ``tf.GradientTape``;
* ``reach/bundle``: a Keras-verified bundle loads and matches Keras; the same bundle with one
  byte of one weight changed is refused (``BundleIntegrityError``);
* ``reach/comparison/...`` (``parity.cases.reach_compare``): the comparison itself against
  Keras's outputs: a NaN on one side fails, NaN on both sides at the same places passes (the
  gradient kind too); a float64 side against a float32 side is compared in float32 (the *less*
  precise dtype).

The sweep's sharding and merging has its row in ``parity.gate.selfcheck``: it needs the gate,
which sits above the cases.  Keras's training runs eagerly here (:func:`keras_eager`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import warnings
from typing import Any, Callable, Iterator

import numpy as np

import numpy_rnn
from numpy_rnn import losses, optimizers
from numpy_rnn.formats.bundle_format import CONFIG_KEY

from ..bridge import backend, compare, deviations, from_keras, install_hint, require_tf, trace
from ..bridge.grad import keras_loss, pair_layers
from ..bridge.grad_referee import refereed_gradients
from ..bridge.train import compare_training, floatx, keras_optimizer
from ..report import OutputDiff, ParityReport, diff_arrays
from .case import Case, register, verdict
from .family import BATCH, FEATURES, TIMESTEPS, UNITS, family_mask
from .reach_compare import DTYPE_NAME, NAN_NAME, dtype_case, nan_case
from .reach_habits import (CALLBACKS_NAME, METRICS_NAME, OUTPUTS_NAME, callbacks_case,
                           metrics_case, outputs_case)
from .weights import GATES, randomize, randomize_model

#: The training rows' model: Embedding(mask_zero) -> Dense(softmax) on every step of padded
#: ids, sparse targets per step (the output mask reaches the loss).  Small on purpose: eight
#: optimizer rows and ``fit`` cost about 5 s together.
VOCAB, LENGTH, EMBED, CLASSES = 12, 5, 4, 6
TRAIN_BATCH, TRAIN_STEPS = 8, 3

#: label -> (numpy_rnn.optimizers class, arguments); each a ``reach/training/<label>`` row.
OPTIMIZERS: dict[str, tuple[str, dict]] = {
    "adam": ("Adam", {"learning_rate": 0.02}),
    "adamw weight_decay=0.1": ("AdamW", {"learning_rate": 0.02, "weight_decay": 0.1}),
    "sgd momentum=0.9": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    "sgd nesterov momentum=0.9": ("SGD", {"learning_rate": 0.1, "momentum": 0.9,
                                          "nesterov": True}),
    "rmsprop centered": ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    # SGD: a step proportional to the gradient, so a clip's scale shows in full
    "sgd clipnorm=0.05": ("SGD", {"learning_rate": 0.5, "clipnorm": 0.05}),
    "sgd clipvalue=0.01": ("SGD", {"learning_rate": 0.5, "clipvalue": 0.01}),
    "sgd momentum=0.5 global_clipnorm=0.1": ("SGD", {"learning_rate": 0.5, "momentum": 0.5,
                                                     "global_clipnorm": 0.1}),
}


def _keras():
    import keras

    return keras


@contextlib.contextmanager
def quiet_keras() -> Iterator[None]:
    """Inside, Python warnings and TensorFlow's logger below ERROR are silenced (tf_keras's
    ``model.save("x.h5")`` warns that HDF5 is legacy and logs about compiled metrics): the
    sweep's table stays readable."""
    if backend.configured() != "tensorflow" and "tensorflow" not in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
        return
    tf = require_tf()
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def keras_eager() -> Iterator[None]:
    """Keras's train / test functions run eagerly inside (``tf.config.run_functions_eagerly``),
    as the test suite's ``keras_eager`` fixture does: tracing a ``tf.function`` costs more than
    the few tiny steps taken (measured: 1 to 2 s a row, 0.3 s eagerly); the ops and their order
    are the same.  On another Keras backend: nothing (its own compiled step)."""
    if backend.configured() != "tensorflow":
        yield
        return
    tf = require_tf()
    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


@contextlib.contextmanager
def _quiet_eager() -> Iterator[None]:
    with keras_eager(), quiet_keras():
        yield


# -- training steps and fit --------------------------------------------------------------------
def train_model(rng: np.random.Generator):
    """The float64 Keras model of the training rows, gate-distinct random weights."""
    keras = _keras()
    dtype = "float64"
    model = keras.Sequential([
        keras.Input((LENGTH,), dtype="int32"),
        keras.layers.Embedding(VOCAB, EMBED, mask_zero=True, dtype=dtype, name="embedding"),
        keras.layers.Dense(CLASSES, activation="softmax", dtype=dtype, name="softmax")],
        name="reach_train")
    randomize_model(model, rng, dtype)
    return model


def small_stack(rng: np.random.Generator):
    """Embedding(mask_zero) -> LSTM(return_sequences) -> Dense(tanh), float32, random
    gate-distinct weights: the trace and bundle rows' model (a masked sequence through every
    layer)."""
    keras = _keras()
    model = keras.Sequential([keras.Input((LENGTH,), dtype="int32"),
                              keras.layers.Embedding(VOCAB, EMBED, mask_zero=True,
                                                     name="embedding"),
                              keras.layers.LSTM(UNITS, return_sequences=True, name="lstm"),
                              keras.layers.Dense(CLASSES, activation="tanh", name="dense")],
                             name="reach_stack")
    randomize_model(model, rng)
    return model


def small_ids(rng: np.random.Generator) -> np.ndarray:
    """Ids for :func:`small_stack`: left padding, holes and an all-padding row."""
    x, _ = train_data(rng, 6)
    x[1, 1::2] = 0
    x[-1] = 0
    return x


def train_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of ids with 0 to 2 padded steps on the left (ids repeat within a batch, so
    the Embedding's gradient has duplicate slices) and a class per step."""
    x = rng.integers(1, VOCAB, size=(n, LENGTH)).astype("int32")
    for i, pad in enumerate(rng.integers(0, 3, size=n)):
        x[i, :pad] = 0
    return x, rng.integers(0, CLASSES, size=(n, LENGTH)).astype("int32")


def training_name(label: str) -> str:
    return f"reach/training/{label} {TRAIN_STEPS} steps float64"


def optimizer_case(label: str, seed: int) -> ParityReport:
    """``TRAIN_STEPS`` float64 steps with the optimizer ``label`` in both libraries."""
    cls, kwargs = OPTIMIZERS[label]
    rng = np.random.default_rng(seed)
    model = train_model(rng)
    x, y = train_data(rng, TRAIN_BATCH * TRAIN_STEPS)
    twin = from_keras(model)
    twin.compile(optimizer=getattr(optimizers, cls)(**kwargs),
                 loss=losses.SparseCategoricalCrossentropy(dtype="float64"))
    with keras_eager():
        return compare_training(twin, model, x, y, steps=TRAIN_STEPS, batch_size=TRAIN_BATCH,
                                case=training_name(label))


FIT_NAME = "reach/fit 2 epochs shuffle=False validation_data sgd momentum float64"


def fit_case(seed: int) -> ParityReport:
    """``fit`` on 22 rows in batches of 8 (8 + 8 + 6) for 2 epochs with validation data, both
    libraries from the same weights: each epoch's ``loss`` and ``val_loss`` (``"training"``
    tolerance, scale the loss) and every weight after (scale its change since the start)."""
    rng = np.random.default_rng(seed)
    model = train_model(rng)
    x, y = train_data(rng, 22)
    xv, yv = train_data(rng, 9)
    twin = from_keras(model)
    twin.compile(optimizer=optimizers.SGD(learning_rate=0.1, momentum=0.9),
                 loss=losses.SparseCategoricalCrossentropy(dtype="float64"))
    _, _, names = pair_layers(twin, model, "reach/fit")
    start = [np.array(w, dtype=np.float64) for w in twin.get_weights()]
    fit = dict(batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(xv, yv))
    with keras_eager(), quiet_keras(), floatx("float64"):  # quiet: tf.data says it stays a graph
        model.compile(optimizer=keras_optimizer(twin.optimizer), loss=keras_loss(twin.loss))
        k_hist = model.fit(x, y, **fit).history
    n_hist = twin.fit(x, y, **fit).history
    rows: list[OutputDiff] = []
    for key in ("loss", "val_loss"):
        got, want = list(n_hist.get(key, [])), list(k_hist.get(key, []))
        rows.append(verdict(f"{key} epochs", len(got) == len(want) == fit["epochs"],
                            f"numpy recorded {len(got)} {key} value(s), keras {len(want)}, "
                            f"expected {fit['epochs']}"))
        for epoch, (a, e) in enumerate(zip(got, want), 1):
            rows.append(diff_arrays(f"epoch {epoch} {key}", np.float64(a), np.float64(e),
                                    kind="training"))
    for name, a, e, s in zip(names, twin.get_weights(), model.get_weights(), start):
        e = np.asarray(e)
        change = float(np.max(np.abs(e.astype(np.float64) - s)))
        rows.append(diff_arrays(f"{name} after fit", a, e, kind="training", scale=change))
    return deviations.excuse(ParityReport(FIT_NAME, rows), float64=True)  # a float64 model


# -- losses ------------------------------------------------------------------------------------
LOSS_SHAPE = (4, 3, 5)  # (batch, timesteps, classes)


def _loss_inputs(loss: str, from_logits: bool, clipped: bool,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` float32; ``clipped``: probabilities of exactly 0 and 1 next to
    targets of 1 and 0 (the log's argument clipped to epsilon on both sides)."""
    b, t, c = LOSS_SHAPE
    if loss == "BinaryCrossentropy":
        y_true = rng.choice([0.0, 1.0, 0.3], size=LOSS_SHAPE)  # hard and soft labels
        y_pred = (rng.normal(0.0, 3.0, size=LOSS_SHAPE) if from_logits
                  else rng.uniform(0.02, 0.98, size=LOSS_SHAPE))
        if clipped:
            y_pred[0, :, :2] = 0.0
            y_pred[1, :, :2] = 1.0
            y_true[0, :, 0] = y_true[1, :, 1] = 1.0
            y_true[0, :, 1] = y_true[1, :, 0] = 0.0
        return y_true.astype("float32"), y_pred.astype("float32")
    y_pred = rng.uniform(0.05, 1.0, size=LOSS_SHAPE)
    ids = rng.integers(0, c, size=(b, t))
    if clipped:
        y_pred[0, :, 1:] = 0.0           # one-hot predictions: exactly 0 and 1 ...
        y_pred[0, :, 0] = 1.0
        ids[0, :2] = 0                   # ... right (q = 1 clipped to 1 - eps)
        ids[0, 2] = 3                    # and wrong (q = 0 clipped to eps)
        y_pred[1, :, 2] = 0.0            # a zero in a row that sums to more than 1
        ids[1, :] = 2
    y_pred = y_pred / y_pred.sum(axis=-1, keepdims=True) if not clipped else y_pred
    if loss == "SparseCategoricalCrossentropy":
        return ids.astype("int32"), y_pred.astype("float32")
    return np.eye(c)[ids].astype("float32"), y_pred.astype("float32")


def loss_name(loss: str, from_logits: bool, clipped: bool) -> str:
    what = "at probabilities 0 and 1 (clipped)" if clipped else f"from_logits={from_logits}"
    return f"reach/loss/{loss} {what}"


def loss_case(loss: str, from_logits: bool, clipped: bool, seed: int) -> ParityReport:
    """The loss value and ``X.gradient`` (float32) against the Keras loss and
    ``tf.GradientTape`` of it with respect to ``y_pred``."""
    rng = np.random.default_rng(seed)
    y_true, y_pred = _loss_inputs(loss, from_logits, clipped, rng)
    np_loss = getattr(losses, loss)(from_logits=from_logits)
    k_loss = keras_loss(np_loss)
    t = backend.convert(y_true)
    value = backend.to_numpy(k_loss(t, backend.convert(y_pred)))
    k_grad = backend.gradients(lambda ps: k_loss(t, ps[0]), [y_pred])[0]
    rows = [diff_arrays("loss", np.float32(np_loss(y_true, y_pred)), np.asarray(value)),
            diff_arrays("d y_pred", np_loss.gradient(y_true, y_pred), k_grad, kind="gradient")]
    if clipped:  # the row is about the clip: Keras's gradient must be 0 somewhere
        rows.append(verdict("clipped", bool(np.any(k_grad == 0)),
                            f"{int(np.count_nonzero(k_grad == 0))} element(s) of Keras's "
                            "gradient are 0 (outside the clip)"))
    report = ParityReport(loss_name(loss, from_logits, clipped), rows)
    meets = ("sparse-crossentropy-clip",) if clipped and loss.startswith("Sparse") else ()
    return deviations.excuse(report, meets=meets)


#: (loss, from_logits, clipped) of the loss rows.
LOSS_ROWS = [("BinaryCrossentropy", False, False), ("BinaryCrossentropy", True, False),
             ("BinaryCrossentropy", False, True), ("CategoricalCrossentropy", False, True),
             ("SparseCategoricalCrossentropy", False, True)]


# -- files: a Keras 2 .h5, a bundle ------------------------------------------------------------
H5_NAME = "reach/keras2 .h5 (tf_keras model.save) -> load_keras_model"


def legacy_h5_case(seed: int) -> ParityReport:
    """tf_keras saves Embedding(mask_zero) -> LSTM -> Dense as ``model.h5``; numpy_rnn reads it
    and is compared with tf_keras's own model on padded ids."""
    try:
        import tf_keras
    except ImportError:
        return ParityReport(H5_NAME, [], skipped=f"tf_keras is not installed "
                                                 f"({install_hint('legacy')})")
    rng = np.random.default_rng(seed)
    L = tf_keras.layers
    # embedding size = units: the LSTM's kernel and recurrent kernel have the same shape, so a
    # reader that paired them the wrong way round passes every shape check; the values catch it
    model = tf_keras.Sequential([
        L.Embedding(VOCAB, UNITS, mask_zero=True, input_length=LENGTH, name="embedding"),
        L.LSTM(UNITS, recurrent_activation="hard_sigmoid", name="lstm"),
        L.Dense(CLASSES, activation="tanh", name="dense")], name="reach_h5")
    model.build((None, LENGTH))
    randomize_model(model, rng)
    x = small_ids(rng)
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        path = os.path.join(tmp, "model.h5")
        with quiet_keras():
            model.save(path)
        loaded = numpy_rnn.load_keras_model(path)
    return compare(loaded, model, x, case=H5_NAME)


BUNDLE_NAME = "reach/bundle verified load, one weight byte changed is refused"


def _change_one_byte(path: str) -> str:
    """Rewrite the bundle at ``path`` with the lowest byte of the first element of its second
    weight (an LSTM kernel) flipped, one ulp of that float; the config and the stored digest are
    kept.  Returns the weight's name."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    spec = json.loads(arrays[CONFIG_KEY].tobytes().decode("utf-8"))["weights"][1]
    weight = arrays[spec["key"]]
    raw = weight.copy().reshape(-1).view(np.uint8)
    raw[0] ^= 1
    arrays[spec["key"]] = raw.view(weight.dtype).reshape(weight.shape)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return str(spec["name"])


def bundle_case(seed: int) -> ParityReport:
    keras = _keras()
    rng = np.random.default_rng(seed)
    model = small_stack(rng)
    ids = small_ids(rng)
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        path = os.path.join(tmp, "model.npz")
        numpy_rnn.save(from_keras(model), path, test_inputs=ids,
                       test_outputs=np.asarray(model(ids)),
                       verified_by=f"keras {keras.__version__}")
        report = compare(numpy_rnn.load(path), model, ids, case=BUNDLE_NAME)
        key = _change_one_byte(path)
        try:
            numpy_rnn.load(path)
            refused, note = False, f"loaded although {key} had one byte changed"
        except numpy_rnn.BundleIntegrityError as exc:
            refused, note = True, f"refused ({key}): {str(exc)[-80:]}"
        except Exception as exc:  # noqa: BLE001 - refused, but not for the right reason
            refused, note = False, f"{key} changed: {type(exc).__name__}: {exc}"
    report.outputs.append(verdict("one byte changed: BundleIntegrityError", refused, note))
    return report


# -- trace, and a gradient row the family rows lack ---------------------------------------------
TRACE_NAME = "reach/trace embedding->lstm->dense"


def trace_rows(result: Any) -> list[OutputDiff]:
    """A TraceReport as report rows: each layer's chained and isolated comparison, its masks,
    and the verdict (no divergent layer)."""
    rows = []
    for r in result.rows:
        rows.append(dataclasses.replace(r.chained, name=f"{r.layer} chained"))
        rows.append(dataclasses.replace(r.isolated, name=f"{r.layer} isolated"))
        if r.mask_mismatch is not None or r.isolated_mask_mismatch is not None:
            rows.append(verdict(f"{r.layer} mask", not r.mask_mismatch
                                and not r.isolated_mask_mismatch,
                                f"{r.mask_mismatch} / {r.isolated_mask_mismatch} mask entries "
                                "differ (chained / isolated)"))
    rows.append(verdict("first divergent layer", result.first_divergent is None and result.passed,
                        result.summary()))
    return rows


def trace_case(seed: int) -> ParityReport:
    rng = np.random.default_rng(seed)
    model = small_stack(rng)
    ids = small_ids(rng)
    return ParityReport(TRACE_NAME, trace_rows(trace(from_keras(model), model, ids,
                                                     case=TRACE_NAME)))


BIDI_NAME = "reach/grad/bidirectional lstm initial_state (4 states) mask=holes"


def bidirectional_state_grad_case(seed: int) -> ParityReport:
    """Bidirectional(LSTM(return_sequences, return_state)) given ``[h_fw, c_fw, h_bw, c_bw]``:
    every output summed, the gradients of the weights, the input and all four states."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype("float32")
    k = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True,
                                                     return_state=True))
    k.build((None, None, FEATURES))
    randomize(k, GATES["LSTM"], rng)
    states = [rng.normal(size=(BATCH, UNITS)).astype("float32") * 0.5 for _ in range(4)]
    return refereed_gradients(from_keras(k), k, x, mask=family_mask("holes"),
                              initial_state=states, case=BIDI_NAME)


@register("reach")
def reach_cases(seed: int) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, fn: Callable[[], ParityReport]) -> None:
        cases.append(Case(name, fn))

    for label in OPTIMIZERS:
        add(training_name(label), lambda lab=label: optimizer_case(lab, seed))
    add(FIT_NAME, lambda: fit_case(seed))
    add(METRICS_NAME, lambda: metrics_case(seed, train_model, train_data, _quiet_eager))
    add(CALLBACKS_NAME, lambda: callbacks_case(seed, train_model, train_data, _quiet_eager))
    add(OUTPUTS_NAME, lambda: outputs_case(seed, _quiet_eager))
    for loss, logits, clipped in LOSS_ROWS:
        add(loss_name(loss, logits, clipped),
            lambda lo=loss, lg=logits, c=clipped: loss_case(lo, lg, c, seed))
    add(H5_NAME, lambda: legacy_h5_case(seed))
    add(TRACE_NAME, lambda: trace_case(seed))
    add(BIDI_NAME, lambda: bidirectional_state_grad_case(seed))
    add(BUNDLE_NAME, lambda: bundle_case(seed))
    add(NAN_NAME, lambda: nan_case(seed))
    add(DTYPE_NAME, lambda: dtype_case(seed))
    return cases
