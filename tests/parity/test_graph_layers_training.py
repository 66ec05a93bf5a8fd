"""The layers around the recurrent ones inside functional graphs, trained (float64) step by step
equal to Keras: a shared Dense with an L2 kernel regularizer on two inputs (its penalty once,
its gradients summed over both calls), ActivityRegularization (its penalty's gradient joins the
gradient of its output), BatchNormalization (moving statistics moved by the training call, never
by the optimizer), an LSTM with an L1L2 kernel regularizer."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import numpy_rnn  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager")]


def _build(lib):
    layers = keras.layers if lib == "keras" else numpy_rnn
    make_input = keras.Input if lib == "keras" else numpy_rnn.Input
    a, b = make_input((5, 4), dtype="float64"), make_input((5, 4), dtype="float64")
    shared = layers.Dense(3, kernel_regularizer="l2", dtype="float64")
    x = layers.Add()([shared(a), shared(b)])
    x = layers.ActivityRegularization(l1=0.01, l2=0.02, dtype="float64")(x)
    x = layers.BatchNormalization(dtype="float64")(x)
    x = layers.LSTM(2, dtype="float64", kernel_regularizer={
        "class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.03}})(x)
    out = layers.Dense(1, dtype="float64")(x)
    return (keras.Model if lib == "keras" else numpy_rnn.Model)([a, b], out)


def test_regularized_normalized_shared_graph_trains_equal_to_keras():
    rng = np.random.default_rng(0)
    with floatx("float64"):
        k, n = _build("keras"), _build("numpy")
        n.set_weights(k.get_weights())
        k.compile(keras.optimizers.Adam(0.01), keras.losses.MeanSquaredError(dtype="float64"))
        n.compile(numpy_rnn.optimizers.Adam(0.01, floatx="float64"),
                  numpy_rnn.losses.MeanSquaredError(dtype="float64"))
        x = [rng.normal(size=(6, 5, 4)), rng.normal(size=(6, 5, 4))]
        y = rng.normal(size=(6, 1))
        for _ in range(3):
            lk, ln = k.train_on_batch(x, y), n.train_on_batch(x, y)
            assert ln == pytest.approx(lk, rel=1e-12)
            for wk, wn in zip(k.get_weights(), n.get_weights()):
                np.testing.assert_allclose(wn, wk, rtol=1e-12, atol=1e-14)
        assert n.evaluate(x, y, verbose=0) == pytest.approx(k.evaluate(x, y, verbose=0),
                                                           rel=1e-12)


def _attention_block(lib):
    """A transformer-style block of two inputs as keras.io writes it: ``mha(query, value)``
    positionally, a residual Add, LayerNormalization, Conv1D, pooling."""
    layers = keras.layers if lib == "keras" else numpy_rnn
    make_input = keras.Input if lib == "keras" else numpy_rnn.Input
    q, v = make_input((4, 6), dtype="float64"), make_input((5, 6), dtype="float64")
    att = layers.MultiHeadAttention(2, 3, dtype="float64")(q, v)
    x = layers.LayerNormalization(dtype="float64")(layers.Add(dtype="float64")([q, att]))
    x = layers.Conv1D(5, 2, padding="causal", activation="relu", dtype="float64")(x)
    out = layers.Dense(1, dtype="float64")(layers.GlobalAveragePooling1D(dtype="float64")(x))
    return (keras.Model if lib == "keras" else numpy_rnn.Model)([q, v], out)


def test_attention_called_positionally_in_a_graph_trains_equal_to_keras():
    """MultiHeadAttention called as ``mha(query, value)`` inside a graph: built from both
    shapes, both inputs fed, and its input gradients reach the query AND the value (each
    input's own gradient: a graph that sent the whole list to the query failed here)."""
    rng = np.random.default_rng(1)
    with floatx("float64"):
        k, n = _attention_block("keras"), _attention_block("numpy")
        n.set_weights(k.get_weights())
        x = [rng.normal(size=(3, 4, 6)), rng.normal(size=(3, 5, 6))]
        y = rng.normal(size=(3, 1))
        np.testing.assert_allclose(n.predict(x), np.asarray(k.predict(x, verbose=0)),
                                   rtol=1e-12, atol=1e-13)
        k.compile(keras.optimizers.SGD(0.1), keras.losses.MeanSquaredError(dtype="float64"))
        n.compile(numpy_rnn.optimizers.SGD(0.1, floatx="float64"),
                  numpy_rnn.losses.MeanSquaredError(dtype="float64"))
        for _ in range(2):
            lk, ln = k.train_on_batch(x, y), n.train_on_batch(x, y)
            assert ln == pytest.approx(lk, rel=1e-12)
            for wk, wn in zip(k.get_weights(), n.get_weights()):
                np.testing.assert_allclose(wn, wk, rtol=1e-11, atol=1e-13)


def test_attention_block_gradients_in_a_graph_equal_keras():
    """compare_gradients on the graph: every weight row, MultiHeadAttention's key bias (zero in
    exact arithmetic) measured on the key kernel's scale inside a graph too, both inputs."""
    import parity

    rng = np.random.default_rng(2)
    with floatx("float64"):
        k, n = _attention_block("keras"), _attention_block("numpy")
        n.set_weights(k.get_weights())
        x = [rng.normal(size=(3, 4, 6)), rng.normal(size=(3, 5, 6))]
        report = parity.compare_gradients(n, k, x)
    assert report.passed, str(report)
    names = [d.name for d in report.outputs]
    assert any("key/bias" in name for name in names), names
