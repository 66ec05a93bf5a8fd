"""Normalization layers against Keras 3.15: forward (inference and training mode, the moving
statistics a training call leaves), gradients (``tf.GradientTape``, float32 and float64, through
the batch statistics in training mode and through the moving ones at inference), the moving
statistics after ``train_on_batch`` steps, ``.keras`` files and Keras 2 ``.h5`` files."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402
from parity.cases import normalization as cases  # noqa: E402

pytestmark = [pytest.mark.usefixtures("keras_eager"),
              pytest.mark.filterwarnings("ignore:.*rms_scaling.*:UserWarning")]

B, T, F = cases.BATCH, cases.TIMESTEPS, cases.FEATURES

FORWARD = [
    ("BatchNormalization", {}, (B, T, F), False, "none"),
    ("BatchNormalization", {"axis": 1, "epsilon": 1e-5}, (B, T, F), False, "none"),
    ("BatchNormalization", {}, (B, T, F), True, "none"),
    ("BatchNormalization", {"momentum": 0.5}, (B, T, F), True, "right"),
    ("BatchNormalization", {}, (B, T, F), True, "all_masked_row"),
    ("BatchNormalization", {"synchronized": True}, (B, T, F), True, "none"),
    ("BatchNormalization", {"axis": 1, "scale": False}, (B, T, F), True, "none"),
    ("BatchNormalization", {"center": False, "scale": False}, (B, F), True, "none"),
    ("LayerNormalization", {}, (B, T, F), False, "none"),
    ("LayerNormalization", {"axis": [1, 2]}, (B, T, F), False, "none"),
    ("LayerNormalization", {"axis": [-1, 1]}, (B, T, F), False, "none"),
    ("LayerNormalization", {"axis": 1, "center": False}, (B, T, F), False, "none"),
    ("LayerNormalization", {"rms_scaling": True}, (B, T, F), False, "none"),
    ("LayerNormalization", {"epsilon": None}, (B, F), False, "none"),
    ("UnitNormalization", {}, (B, T, F), False, "none"),
    ("UnitNormalization", {"axis": [1, 2]}, (B, T, F), False, "none"),
    ("GroupNormalization", {"groups": 2}, (B, T, F), False, "none"),
    ("GroupNormalization", {"groups": -1, "axis": 1}, (B, T, F), False, "none"),
    ("GroupNormalization", {"groups": 4, "axis": -2, "scale": False}, (B, F, T), False, "none"),
    ("RMSNormalization", {}, (B, T, F), False, "none"),
    ("RMSNormalization", {"axis": [1, 2], "epsilon": 1e-3}, (B, T, F), False, "none"),
]


def _id(row):
    cls, options, shape, training, mask = row
    return f"{cls}-{options}-{len(shape)}D-{'train' if training else 'infer'}-{mask}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", FORWARD, ids=[_id(r) for r in FORWARD])
def test_forward(row, dtype):
    cls, options, shape, training, mask = row
    report = cases.forward_case(cls, {**options, "dtype": dtype}, shape, training, mask, seed=3)
    assert report.passed, report
    if training and cls == "BatchNormalization":
        assert [d.name for d in report.outputs][-2:] == ["moving_mean", "moving_variance"]


@pytest.mark.parametrize("row", [r for r in FORWARD if not r[3]][::3], ids=lambda r: _id(r))
def test_forward_numpy_to_keras(row):
    cls, options, shape, training, mask = row
    report = cases.forward_case(cls, options, shape, training, mask, seed=4,
                                direction="numpy->keras")
    assert report.passed, report


GRADS = [
    ("BatchNormalization", {}, (B, T, F), "none"),
    ("BatchNormalization", {"axis": 1}, (B, T, F), "none"),
    ("BatchNormalization", {}, (B, T, F), "left"),
    ("BatchNormalization", {}, (B, T, F), "all_masked_row"),
    ("BatchNormalization", {"synchronized": True, "center": False}, (B, T, F), "none"),
    ("BatchNormalization", {"scale": False}, (B, F), "none"),
    ("LayerNormalization", {}, (B, T, F), "none"),
    ("LayerNormalization", {"axis": [-1, 1]}, (B, T, F), "none"),
    ("LayerNormalization", {"rms_scaling": True}, (B, T, F), "none"),
    ("LayerNormalization", {"scale": False, "center": False}, (B, F), "none"),
    ("UnitNormalization", {"axis": [1, 2]}, (B, T, F), "none"),
    ("UnitNormalization", {}, (B, T, F), "none"),
    ("GroupNormalization", {"groups": 4}, (B, T, F), "none"),
    ("GroupNormalization", {"groups": -1, "axis": 1}, (B, T, F), "none"),
    ("RMSNormalization", {}, (B, T, F), "none"),
    ("RMSNormalization", {"axis": [1, 2]}, (B, T, F), "none"),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", GRADS, ids=lambda r: f"{r[0]}-{r[1]}-{len(r[2])}D-{r[3]}")
def test_gradients_training_mode(row, dtype):
    cls, options, shape, mask = row
    report = cases.grad_case(cls, {**options, "dtype": dtype}, shape, mask, seed=5)
    assert report.passed, report
    names = [d.name for d in report.outputs]
    assert "d inputs" in names


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [{}, {"axis": 1, "center": False}])
def test_batch_normalization_gradients_at_inference(options, dtype):
    """Through the moving statistics (constants): Keras's tape with ``training=False``."""
    rng = np.random.default_rng(6)
    k = cases.keras_norm_layer("BatchNormalization", {**options, "dtype": dtype}, (B, T, F), rng)
    n = parity.from_keras(k)
    n.trainable = False  # numpy_rnn: a frozen layer records an inference-statistics call
    x = cases.norm_inputs(rng, (B, T, F), dtype)
    w = rng.normal(size=(B, T, F)).astype(dtype)
    xt = tf.constant(x)
    trainable = [v for v in k.weights if v.trainable]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(k(xt, training=False) * w)
    k_grads = tape.gradient(loss, trainable + [xt])
    n(x, training=True)
    dx = n.backward(w)
    tol = {"float32": 1e-6, "float64": 1e-12}[dtype]
    ours = dict(zip(n.weight_names(), n.gradients))
    for var, g in zip(trainable, k_grads[:-1]):
        name = var.path.split("/")[-1]
        g = np.asarray(g)
        assert np.abs(ours[name] - g).max() <= tol * np.abs(g).max(), name
    g = np.asarray(k_grads[-1])
    assert np.abs(dx - g).max() <= tol * np.abs(g).max()
    assert not ours["moving_mean"].any() and not ours["moving_variance"].any()


def test_unit_normalization_zero_slice_gradient_is_kerases():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    x[1] = 0
    k = keras.layers.UnitNormalization()
    n = parity.from_keras(k)
    report = parity.compare_gradients(n, k, x, targets=np.ones((3, 4), "float32"), loss="mse")
    assert report.passed, report


# -- train_on_batch ------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_training_steps_float64_moving_statistics_included(optimizer):
    report = cases.training_case(optimizer, seed=1)
    assert report.passed, report
    moving = [d for d in report.outputs if "moving_" in d.name]
    assert len(moving) == 3 * 4  # two BatchNormalization layers, three steps


def test_training_step_float32():
    """One float32 step: the loss and the moving statistics within the training tolerance;
    the trained weights refereed by the float64 run from the same start (in this deep
    normalized stack float32 gradients carry up to ~2e-5 of a step on both sides, each as far
    from the float64 step as from the other: measured over 3 seeds x 2 steps)."""
    model, twin = cases.training_model("sgd", seed=2, dtype="float32")
    x, y = cases.training_data(seed=2, dtype="float32")
    start = twin.get_weights()
    report = parity.compare_training(twin, model, x[:8], y[:8], steps=1)
    for d in report.outputs:
        if "loss" in d.name or "moving_" in d.name:
            assert d.passed, d.line()
    with floatx("float64"):
        exact_model, _ = cases.training_model("sgd", seed=2, dtype="float64")
        exact_model.set_weights([w.astype("float64") for w in start])
        exact_model.compile(optimizer=keras.optimizers.SGD(float(np.float32(0.01))), loss="mse")
        exact_model.train_on_batch(x[:8], y[:8].astype("float64"))
    for name, a, k, e, s in zip(twin.weight_names(), twin.get_weights(), model.get_weights(),
                                exact_model.get_weights(), start):
        change = np.abs(e - s).max()
        if change == 0:
            continue
        ours, theirs = np.abs(a - e).max(), np.abs(np.asarray(k) - e).max()
        assert ours <= 1e-6 * change + 2 * theirs, (name, ours / change, theirs / change)


def test_a_frozen_batch_normalization_trains_like_kerases():
    model, twin = cases.training_model("sgd", seed=3)
    model.layers[2].trainable = False
    twin.layers[2].trainable = False
    x, y = cases.training_data(seed=3)
    report = parity.compare_training(twin, model, x, y, steps=2, batch_size=8)
    assert report.passed, report
    frozen = [d for d in report.outputs
              if d.name.split()[-1].startswith(model.layers[2].name + "/")]
    assert frozen and all(d.max_abs_err == 0 for d in frozen)


# -- files -----------------------------------------------------------------------------------
def _ids(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 30, size=(12, 9))
    x[:4, :3] = 0
    return x


def _keras_fit(model, seed=0):
    x = _ids(seed)
    y = np.random.default_rng(seed + 1).normal(size=(len(x),) + tuple(model.output_shape[1:]))
    model.compile("adam", "mse")
    for i in range(0, len(x), 4):  # the moving statistics move
        model.train_on_batch(x[i:i + 4], y[i:i + 4])
    return x


@pytest.mark.parametrize("name, layers", [
    ("bn", lambda: [keras.layers.Embedding(30, 8, mask_zero=True), keras.layers.LSTM(6),
                    keras.layers.BatchNormalization(), keras.layers.Dense(3)]),
    ("ln", lambda: [keras.layers.Embedding(30, 8, mask_zero=True),
                    keras.layers.LayerNormalization(), keras.layers.LSTM(6),
                    keras.layers.Dense(3)]),
    ("all", lambda: [keras.layers.Embedding(30, 8, mask_zero=True),
                     keras.layers.LSTM(8, return_sequences=True),
                     keras.layers.BatchNormalization(axis=1, momentum=0.5),
                     keras.layers.GroupNormalization(groups=4),
                     keras.layers.LayerNormalization(axis=[1, 2]),
                     keras.layers.UnitNormalization(), keras.layers.RMSNormalization(),
                     keras.layers.LSTM(4)]),
])
def test_keras_file_loads_and_matches(tmp_path, name, layers):
    model = keras.Sequential([keras.Input((9,), dtype="int32"), *layers()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RMSNormalization drops the mask: Keras warns
        x = _keras_fit(model)
        expected = model.predict(x, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = numpy_rnn.load_keras_model(str(path))
    bn = [lay for lay in model.layers if isinstance(lay, keras.layers.BatchNormalization)]
    if bn:  # trained: the moving statistics are not their initial 0 and 1
        assert np.abs(np.asarray(bn[0].moving_mean)).max() > 0
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        assert np.array_equal(a, np.asarray(b))
    np.testing.assert_allclose(loaded.predict(x), expected, rtol=1e-5, atol=1e-6)
    report = parity.compare(loaded, model, x)
    assert report.passed, report


def test_legacy_h5_batch_and_layer_normalization(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    model = tf_keras.Sequential([
        tf_keras.layers.Embedding(30, 8, input_length=9, mask_zero=True),
        tf_keras.layers.LayerNormalization(),
        tf_keras.layers.LSTM(6, return_sequences=True),
        tf_keras.layers.BatchNormalization(momentum=0.5),
        tf_keras.layers.LayerNormalization(axis=[1, 2], epsilon=1e-4),
        tf_keras.layers.LSTM(4),
        tf_keras.layers.BatchNormalization(center=False),
        tf_keras.layers.Dense(3),
    ])
    model.build((None, 9))
    x = _keras_fit(model)
    path = tmp_path / "legacy.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 is legacy"
        model.save(path)
    loaded = numpy_rnn.load_keras_model(str(path))
    assert [type(lay).__name__ for lay in loaded.layers][1:4] == [
        "LayerNormalization", "LSTM", "BatchNormalization"]
    np.testing.assert_allclose(loaded.predict(x), model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_legacy_h5_unit_normalization_is_refused(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    model = tf_keras.Sequential([tf_keras.layers.Embedding(30, 8, input_length=9),
                                 tf_keras.layers.UnitNormalization(),
                                 tf_keras.layers.LSTM(3)])
    model.build((None, 9))
    path = tmp_path / "unit.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    with pytest.raises(numpy_rnn.UnsupportedModelError, match="l2_normalize"):
        numpy_rnn.load_keras_model(str(path))


def test_model_bridge_both_ways():
    model = keras.Sequential([keras.Input((9,), dtype="int32"),
                              keras.layers.Embedding(30, 8, mask_zero=True),
                              keras.layers.LSTM(6, return_sequences=True),
                              keras.layers.BatchNormalization(),
                              keras.layers.LayerNormalization(), keras.layers.LSTM(3)])
    x = _keras_fit(model)
    twin = parity.from_keras(model)
    assert parity.compare(twin, model, x).passed
    back = parity.to_keras(twin)
    for a, b in zip(back.get_weights(), model.get_weights()):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=0, atol=0)
