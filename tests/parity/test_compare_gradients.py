"""``parity.compare_gradients``: rows, both dtypes, layers and models, losses, teeth, bad input."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn import losses  # noqa: E402
from numpy_rnn.testing import TABLE  # noqa: E402
from parity.cases import selftest_grad  # noqa: E402
from parity.cases.weights import gate_weights, randomize_model  # noqa: E402

B, T, F, U, V = 4, 6, 3, 5, 11


def lstm(dtype: str = "float32", **options):
    rng = np.random.default_rng(0)
    n = numpy_rnn.LSTM(U, F, dtype=dtype, **options)
    n.set_weights(gate_weights([w.shape for w in n.get_weights()], 4, rng, dtype))
    x = rng.normal(size=(B, T, F)).astype(dtype)
    mask = np.ones((B, T), bool)
    mask[1, :2] = False
    mask[2, 3:] = False
    mask[3] = False
    init = [rng.normal(size=(B, U)).astype(dtype) * 0.5 for _ in range(2)]
    return n, x, mask, init


def next_word(dtype: str = "float32", seed: int = 0):
    """Embedding(mask_zero) -> LSTM -> Dense softmax (Keras), ids with padding, targets."""
    rng = np.random.default_rng(seed)
    model = keras.Sequential([keras.Input((T,), dtype="int32"),
                              keras.layers.Embedding(V, 4, mask_zero=True, dtype=dtype),
                              keras.layers.LSTM(U, dtype=dtype),
                              keras.layers.Dense(V, activation="softmax", dtype=dtype)],
                             name=f"next_word_{dtype}")
    randomize_model(model, rng, dtype)
    ids = rng.integers(1, V, size=(B, T)).astype("int32")
    ids[1, :3] = 0
    return model, ids, rng.integers(0, V, size=B)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_rows_names_and_agreement(dtype):
    n, x, mask, init = lstm(dtype, return_sequences=True, return_state=True)
    k = parity.to_keras(n)
    report = parity.compare_gradients(n, k, x, mask=mask, initial_state=init)
    assert report.passed, report
    assert [o.name for o in report.outputs] == [
        "d kernel", "d recurrent_kernel", "d bias", "d inputs", "d initial_state[0]",
        "d initial_state[1]"]
    tol = TABLE[(dtype, "gradient")]
    for o in report.outputs:
        assert o.dtype == dtype and o.atol_scale > 0
        assert o.atol == pytest.approx(tol.atol * o.atol_scale) and o.rtol == tol.rtol
        assert o.max_abs_err <= 1e-6 * o.atol_scale if dtype == "float32" else \
            o.max_abs_err <= 1e-13 * o.atol_scale


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_with_a_loss(dtype):
    model, ids, targets = next_word(dtype)
    twin = parity.from_keras(model)
    report = parity.compare_gradients(twin, model, ids, targets=targets,
                                      loss="sparse_categorical_crossentropy")
    assert report.passed, report
    names = [o.name for o in report.outputs]
    assert names == [f"d {layer.name}/{w}" for layer, ws in zip(
        model.layers, (["embeddings"], ["kernel", "recurrent_kernel", "bias"],
                       ["kernel", "bias"])) for w in ws]  # ids: no input gradient


def test_loss_instance_and_masked_sequence_output():
    """A sequence output of a masked model: the loss skips the padded steps on both sides
    (Keras through the output's mask, numpy_rnn through the model's output mask)."""
    rng = np.random.default_rng(3)
    model = keras.Sequential([keras.Input((T,), dtype="int32"),
                              keras.layers.Embedding(V, 4, mask_zero=True),
                              keras.layers.GRU(U, return_sequences=True),
                              keras.layers.Dense(3)])
    randomize_model(model, rng)
    ids = rng.integers(1, V, size=(B, T)).astype("int32")
    ids[0, 4:] = 0
    ids[2, :2] = 0
    targets = rng.normal(size=(B, T, 3)).astype("float32")
    report = parity.compare_gradients(parity.from_keras(model), model, ids, targets=targets,
                                      loss=losses.MeanSquaredError())
    assert report.passed, report


def test_bidirectional_names():
    k = keras.layers.Bidirectional(keras.layers.GRU(U, return_sequences=True))
    k.build((None, None, F))
    x = np.random.default_rng(1).normal(size=(B, T, F)).astype("float32")
    report = parity.compare_gradients(parity.from_keras(k), k, x)
    assert report.passed, report
    fw, bw = k.forward_layer.name, k.backward_layer.name  # forward_gru, backward_gru (+ suffix)
    assert fw.startswith("forward_gru") and bw.startswith("backward_gru")
    assert [o.name for o in report.outputs] == [
        f"d {side}/{w}" for side in (fw, bw) for w in ("kernel", "recurrent_kernel", "bias")
    ] + ["d inputs"]


def test_dense_loss_by_name_in_float64():
    k = keras.layers.Dense(4, activation="softmax", dtype="float64")
    k.build((None, F))
    rng = np.random.default_rng(2)
    x = rng.normal(size=(B, F))
    y = np.eye(4)[rng.integers(0, 4, size=B)]
    report = parity.compare_gradients(parity.from_keras(k), k, x, targets=y,
                                      loss="categorical_crossentropy")
    assert report.passed, report
    assert all(o.dtype == "float64" for o in report.outputs)  # the loss ran in float64 too


# -- teeth -------------------------------------------------------------------------------------
class HalfBiasDense(numpy_rnn.Dense):
    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.gradients[1] = self.gradients[1] * 0.5
        return dx


class Float64Gradients(numpy_rnn.Dense):
    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.gradients = [g.astype(np.float64) for g in self.gradients]
        return dx


def _dense_pair(cls):
    k = keras.layers.Dense(4)
    k.build((None, F))
    n = cls.from_config(parity.from_keras(k).get_config())
    n.set_weights(k.get_weights())
    return n, k, np.random.default_rng(0).normal(size=(B, F)).astype("float32")


def test_a_dropped_bias_term_fails_only_its_row():
    n, k, x = _dense_pair(HalfBiasDense)
    report = parity.compare_gradients(n, k, x)
    assert [o.name for o in report.outputs if not o.passed] == ["d bias"]


def test_a_gradient_in_the_wrong_dtype_fails():
    n, k, x = _dense_pair(Float64Gradients)
    report = parity.compare_gradients(n, k, x)
    assert not report.passed
    assert "numpy gradient is float64" in report.output("d kernel").note


@pytest.mark.parametrize("plant", [selftest_grad.DroppedCarryLSTM,
                                   selftest_grad.MaskBlindBackwardLSTM,
                                   selftest_grad.SwappedGateGradLSTM,
                                   selftest_grad.NoForgetBiasGradLSTM])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_planted_lstm_backward_bugs_fail(plant, dtype):
    n, x, mask, init = lstm(dtype, return_sequences=True)
    k = parity.to_keras(n)
    planted = plant.from_config(n.get_config())
    planted.set_weights(n.get_weights())
    assert parity.compare_gradients(n, k, x, mask=mask, initial_state=init).passed
    report = parity.compare_gradients(planted, k, x, mask=mask, initial_state=init)
    assert not report.passed
    worst = max(o.max_abs_err / o.atol_scale for o in report.outputs)
    assert worst > 1e-3, report  # a bug, not rounding


def test_table_entries_are_what_the_comparison_uses(monkeypatch):
    """Loosening the gradient entry lets a planted error through: the table is what decides."""
    n, k, x = _dense_pair(HalfBiasDense)
    monkeypatch.setitem(TABLE, ("float32", "gradient"), TABLE[("float32", "gradient")]._replace(
        atol=1.0))
    assert parity.compare_gradients(n, k, x).passed


# -- bad input ---------------------------------------------------------------------------------
def test_layer_against_a_model_is_refused():
    model, ids, _ = next_word()
    with pytest.raises(ValueError, match="both be layers or both be models"):
        parity.compare_gradients(parity.from_keras(model).layers[0], model, ids)


def test_models_of_different_layers_are_refused():
    model, ids, _ = next_word()
    twin = parity.from_keras(model)
    twin.pop()
    with pytest.raises(ValueError, match="the models differ"):
        parity.compare_gradients(twin, model, ids)


def test_weights_of_different_shapes_are_refused():
    k = keras.layers.Dense(4)
    k.build((None, F))
    n = numpy_rnn.Dense(4)
    n.build((None, F + 1))
    with pytest.raises(ValueError, match="weights of shapes"):
        parity.compare_gradients(n, k, np.zeros((B, F), "float32"))


@pytest.mark.parametrize("kwargs,match", [
    ({"targets": np.zeros(B)}, "`targets` given without `loss`"),
    ({"loss": "mse"}, "`loss` needs `targets`"),
])
def test_loss_and_targets_go_together(kwargs, match):
    n, k, x = _dense_pair(numpy_rnn.Dense)
    with pytest.raises(ValueError, match=match):
        parity.compare_gradients(n, k, x, **kwargs)


def test_a_bad_loss_is_a_type_error():
    n, k, x = _dense_pair(numpy_rnn.Dense)
    with pytest.raises(TypeError, match="`loss` must be"):
        parity.compare_gradients(n, k, x, targets=np.zeros((B, 4)), loss=3)


def test_dropout_is_refused():
    k = keras.layers.Dropout(0.3)
    with pytest.raises(ValueError, match="dropout > 0"):
        parity.compare_gradients(parity.from_keras(k), k, np.zeros((B, F), "float32"))


def test_mask_on_a_model_is_refused():
    model, ids, _ = next_word()
    with pytest.raises(ValueError, match="apply to a layer"):
        parity.compare_gradients(parity.from_keras(model), model, ids, mask=ids > 0)
