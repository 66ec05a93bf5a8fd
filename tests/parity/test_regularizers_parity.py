"""Weight regularizers and ActivityRegularization in training, against Keras 3.15's
``train_on_batch`` / ``evaluate`` / ``model.losses``: Keras adds ``model.losses`` (activity
penalties, then weight penalties) to the compiled loss in ``compute_loss``, reports the sum, and
the tape adds each penalty's gradient.  float64 trajectories are held to the training tolerance
(1e-9 of the change, 4.5 ulp of the weight); the loss Keras returns is compared each step."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn import losses, regularizers  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402
from parity.cases import activation_layers as cases  # noqa: E402

pytestmark = pytest.mark.usefixtures("keras_eager")


def _check(report):
    __tracebackhide__ = True
    assert report.passed, str(report)
    return report


@pytest.mark.parametrize("kind, optimizer", [
    ("dense", "sgd"), ("lstm", "sgd"), ("lstm", "adam"), ("mixed", "sgd"), ("mixed", "adam"),
    ("embedding", "rmsprop"), ("embedding", "sgd"), ("bidirectional", "adam")])
def test_training_steps_float64(kind, optimizer):
    report = _check(cases.training_case(kind, optimizer, "float64", steps=3))
    # the reported loss includes the penalties (checked against Keras's in the "loss" rows)
    assert all(report.output(f"step {k} loss").max_rel_err <= 1e-14 for k in (1, 2, 3))


@pytest.mark.parametrize("kind", ["dense", "lstm", "mixed"])
def test_training_steps_float32_sgd(kind):
    _check(cases.training_case(kind, "sgd", "float32", steps=2))


def _pair(dtype="float64"):
    with floatx(dtype):
        k = cases.regularized_keras("mixed", dtype)
        n = parity.from_keras(k)
    return n, k


def test_model_losses_after_a_call_equal_keras_in_order():
    n, k = _pair()
    x = np.random.default_rng(0).normal(size=(4, 5, 3))
    k(x)
    n(x)
    theirs = [float(v) for v in k.losses]
    ours = [float(v) for v in n.losses]
    assert len(ours) == len(theirs) == 1 + 6  # the activity penalty, then 6 weight penalties
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)


def test_reported_loss_and_evaluate_include_the_penalties():
    n, k = _pair()
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 5, 3)), rng.normal(size=(6, 4))
    with floatx("float64"):
        k.compile("sgd", keras.losses.MeanSquaredError(dtype="float64"))
        theirs_eval = k.evaluate(x, y, batch_size=3, verbose=0)
        theirs_step = float(k.train_on_batch(x, y))
    n.compile("sgd", losses.MeanSquaredError(dtype="float64"))
    ours_eval = n.evaluate(x, y, batch_size=3, verbose=0)
    plain = float(losses.MeanSquaredError(dtype="float64")(y, n(x)))
    ours_step = n.train_on_batch(x, y)
    assert ours_step > plain + 0.01  # the penalties are not negligible here
    np.testing.assert_allclose(ours_eval, theirs_eval, rtol=1e-14)
    np.testing.assert_allclose(ours_step, theirs_step, rtol=1e-14)


@pytest.mark.parametrize("reg", [regularizers.L1(0.02), regularizers.L2(0.3),
                                 regularizers.L1L2(0.01, 0.05)], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_penalty_and_gradient_equal_keras_tape(reg, dtype):
    w = np.random.default_rng(2).normal(size=(5, 4)).astype(dtype)
    w[0, 0] = 0.0  # sign(0) = 0 on both sides
    k_reg = keras.regularizers.get(regularizers.serialize(reg))
    v = tf.Variable(w)
    with tf.GradientTape() as tape:
        value = k_reg(v)
    grad = np.asarray(tape.gradient(value, v))
    np.testing.assert_allclose(reg(w), np.asarray(value), rtol=1e-6 if dtype == "float32"
                               else 1e-15)
    assert reg(w).dtype == np.dtype(dtype)
    np.testing.assert_allclose(reg.gradient(w), grad, rtol=1e-7 if dtype == "float32" else 1e-16,
                               atol=0)


def test_config_round_trip_through_keras():
    layer = numpy_rnn.Dense(3, kernel_regularizer=regularizers.L1L2(0.1, 0.2),
                            bias_regularizer="l1", features=2)
    k = parity.to_keras(layer)
    assert keras.regularizers.serialize(k.kernel_regularizer) == \
        layer.get_config()["kernel_regularizer"]
    assert k.bias_regularizer.get_config() == {"l1": pytest.approx(0.01)}
    back = parity.from_keras(k)
    assert back.get_config()["kernel_regularizer"] == layer.get_config()["kernel_regularizer"]
    lstm = keras.layers.LSTM(2, recurrent_regularizer="l2")
    lstm.build((None, 3, 2))
    assert parity.from_keras(lstm).weight_regularizers()[1] == regularizers.L2(0.01)


def test_tf_keras_regularizer_configs_are_read():
    tf_keras = pytest.importorskip("tf_keras")
    k = tf_keras.layers.Dense(2, kernel_regularizer=tf_keras.regularizers.l1_l2(0.1, 0.2),
                              bias_regularizer="l2")
    k.build((None, 3))
    n = parity.from_keras(k)
    kern, bias = n.weight_regularizers()
    assert isinstance(kern, regularizers.L1L2) and kern.l1 == pytest.approx(0.1)
    assert isinstance(bias, regularizers.L2) and bias.l2 == pytest.approx(0.01)


def test_planted_l2_gradient_without_the_factor_2_is_caught(monkeypatch):
    _check(cases.training_case("dense", "sgd", "float64", steps=1))  # honest first
    monkeypatch.setattr(regularizers.L2, "gradient",
                        lambda self, x: regularizers._cast(self.l2, x.dtype) * x)
    assert not cases.training_case("dense", "sgd", "float64", steps=1).passed
