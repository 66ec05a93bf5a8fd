"""``parity.compare_training``: train_on_batch steps against Keras; both dtypes, teeth, bad input."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn import losses, optimizers  # noqa: E402
from parity.cases.weights import randomize_model  # noqa: E402

pytestmark = pytest.mark.usefixtures("keras_eager")  # conftest.py: no tf.function traced per model

B, T, F, U, V = 4, 5, 3, 6, 9


def recurrent_model(dtype: str, seed: int = 0) -> numpy_rnn.Sequential:
    """LSTM(return_sequences) -> GRU -> Dense on float inputs (no Embedding: see the xfail)."""
    rng = np.random.default_rng(seed)
    k = keras.Sequential([keras.Input((T, F)),
                          keras.layers.LSTM(U, return_sequences=True, dtype=dtype),
                          keras.layers.GRU(U, dtype=dtype),
                          keras.layers.Dense(3, activation="tanh", dtype=dtype)])
    randomize_model(k, rng, dtype)
    return parity.from_keras(k)


def next_word_model(dtype: str, seed: int = 0) -> numpy_rnn.Sequential:
    rng = np.random.default_rng(seed)
    k = keras.Sequential([keras.Input((T,), dtype="int32"),
                          keras.layers.Embedding(V, 4, mask_zero=True, dtype=dtype),
                          keras.layers.LSTM(U, dtype=dtype),
                          keras.layers.Dense(V, activation="softmax", dtype=dtype)])
    randomize_model(k, rng, dtype)
    return parity.from_keras(k)


def float_data(n: int, dtype: str, seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, T, F)).astype(dtype), rng.normal(size=(n, 3)).astype(dtype)


def token_data(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, V, size=(n, T)).astype("int32")
    x[::3, :2] = 0
    return x, rng.integers(0, V, size=n)


@pytest.mark.parametrize("optimizer", [
    optimizers.RMSprop(learning_rate=0.01),
    optimizers.Adam(learning_rate=0.01, clipnorm=0.5),
    optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
], ids=["rmsprop", "adam-clipnorm", "sgd-nesterov"])
def test_float64_trajectory(optimizer):
    n = recurrent_model("float64")
    n.compile(optimizer=optimizer, loss=losses.MeanSquaredError(dtype="float64"))
    k = parity.to_keras(n)
    x, y = float_data(12, "float64")
    report = parity.compare_training(n, k, x, y, steps=3, batch_size=4)
    assert report.passed, report
    names = [o.name for o in report.outputs]
    per_step = 1 + len(n.get_weights())
    assert len(names) == 3 * per_step
    assert names[0] == "step 1 loss" and names[per_step] == "step 2 loss"
    assert names[1] == f"step 1 {k.layers[0].name}/kernel"
    assert keras.config.floatx() == "float32"  # restored
    # both models were trained in place, to the same weights
    for a, b in zip(n.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_float64_seed_model_with_sgd():
    n = next_word_model("float64")
    n.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(dtype="float64"))
    x, y = token_data(8)
    report = parity.compare_training(n, parity.to_keras(n), x, y, steps=4, batch_size=4)
    assert report.passed, report


def test_float32_single_steps():
    n = recurrent_model("float32")
    n.compile(optimizer="sgd", loss="mse")
    x, y = float_data(8, "float32")
    report = parity.compare_training(n, parity.to_keras(n), x, y, steps=3)
    assert report.passed, report
    assert {o.dtype for o in report.outputs} == {"float32"}


def test_embedding_with_rmsprop_follows_keras():
    """Keras (TensorFlow) hands RMSprop an Embedding's gradient as IndexedSlices and squares each
    slice before duplicates are summed; numpy_rnn does the same (numpy_rnn.sparse)."""
    n = next_word_model("float64")
    n.compile(optimizer="rmsprop", loss=losses.SparseCategoricalCrossentropy(dtype="float64"))
    x, y = token_data(8)
    report = parity.compare_training(n, parity.to_keras(n), x, y, steps=3)
    assert report.passed, report


class HalfBiasDense(numpy_rnn.Dense):
    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.gradients[1] = self.gradients[1] * 0.5
        return dx


def test_a_planted_backward_bug_fails_the_steps():
    n = recurrent_model("float64")
    k = parity.to_keras(n)
    dense = n.layers[-1]
    planted = HalfBiasDense.from_config(dense.get_config())
    planted.set_weights(dense.get_weights())
    n = numpy_rnn.Sequential(n.layers[:-1] + [planted])
    n.compile(optimizer="sgd", loss=losses.MeanSquaredError(dtype="float64"))
    x, y = float_data(4, "float64")
    report = parity.compare_training(n, k, x, y, steps=2)
    bad = [o.name for o in report.outputs if not o.passed]
    assert f"step 1 {k.layers[-1].name}/bias" in bad
    assert "step 1 loss" not in bad  # the loss of step 1 comes before any update


# -- bad input ---------------------------------------------------------------------------------
def _compiled(**compile_kwargs):
    n = recurrent_model("float32")
    n.compile(**{"optimizer": "sgd", "loss": "mse", **compile_kwargs})
    return n


def test_uncompiled_numpy_model():
    n = recurrent_model("float32")
    x, y = float_data(4, "float32")
    with pytest.raises(RuntimeError, match="call `compile\\(\\)` on the numpy model"):
        parity.compare_training(n, parity.to_keras(n), x, y)


def test_layers_are_refused():
    n = _compiled()
    with pytest.raises(TypeError, match="numpy_rnn.Sequential and a Keras model"):
        parity.compare_training(n.layers[-1], parity.to_keras(n), *float_data(4, "float32"))


def test_models_of_different_layers():
    n = _compiled()
    k = parity.to_keras(recurrent_model("float32"))
    k.pop()
    with pytest.raises(ValueError, match="the models differ"):
        parity.compare_training(n, k, *float_data(4, "float32"))


def test_keras_compiled_differently():
    n = _compiled()
    k = parity.to_keras(n)
    k.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mae")
    with pytest.raises(ValueError, match="compiled differently") as err:
        parity.compare_training(n, k, *float_data(4, "float32"))
    assert "learning_rate=0.5 in keras" in str(err.value)
    assert "loss MeanAbsoluteError in keras, MeanSquaredError in numpy" in str(err.value)


def test_optimizer_that_already_stepped():
    n = _compiled()
    x, y = float_data(4, "float32")
    n.train_on_batch(x, y)
    with pytest.raises(ValueError, match="already taken 1 step"):
        parity.compare_training(n, parity.to_keras(n), x, y)


def test_learning_rate_schedule_is_refused():
    n = _compiled(optimizer=optimizers.SGD(learning_rate=lambda step: 0.1))
    with pytest.raises(ValueError, match="learning-rate schedule"):
        parity.compare_training(n, parity.to_keras(n), *float_data(4, "float32"))


@pytest.mark.parametrize("kwargs,match", [({"steps": 0}, "`steps` must be a positive integer"),
                                          ({"batch_size": 2.5}, "`batch_size` must be")])
def test_bad_steps_and_batch_size(kwargs, match):
    n = _compiled()
    with pytest.raises(ValueError, match=match):
        parity.compare_training(n, parity.to_keras(n), *float_data(4, "float32"), **kwargs)


def test_x_and_y_of_different_lengths():
    n = _compiled()
    x, y = float_data(4, "float32")
    with pytest.raises(ValueError, match="same number of rows"):
        parity.compare_training(n, parity.to_keras(n), x, y[:3])


def test_floatx_is_restored_when_keras_fails():
    n = recurrent_model("float64")
    n.compile(optimizer="sgd", loss=losses.MeanSquaredError(dtype="float64"))
    k = parity.to_keras(n)
    x, y = float_data(4, "float64")
    with pytest.raises(Exception):
        parity.compare_training(n, k, x, y[:, :2])  # targets of the wrong width: Keras raises
    assert keras.config.floatx() == "float32"


def test_floatx_context_leaves_no_float64_layers_behind():
    """Keras derives its global dtype policy from floatx when a layer first needs it (again after
    clear_session): a first layer built inside ``floatx("float64")`` used to leave every later
    layer of the process in float64 (a Bidirectional test failed depending on xdist's order)."""
    from parity.bridge.train import floatx

    keras.backend.clear_session()
    with floatx("float64"):
        keras.layers.Dense(2)
    assert keras.config.floatx() == "float32"
    assert keras.layers.Dense(2).dtype == "float32"
