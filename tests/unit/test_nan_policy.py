"""One NaN policy (issue 21 item 3): ``fit`` / ``train_on_batch`` refuse non-finite inputs,
targets and sample weights with a ValueError naming the argument, before any update, whatever
the optimizer and the layers; the message needs no knowledge of Keras's internals."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn

OPTIMIZERS = ["sgd", "adam", "rmsprop", "adamw"]


def _float_model(optimizer):
    model = numpy_rnn.Sequential([numpy_rnn.LSTM(3, seed=1), numpy_rnn.Dense(2, seed=2)],
                                 input_shape=(4, 2))
    model.build()
    model.compile(optimizer, "mse")
    return model


def _text_model(optimizer):
    model = numpy_rnn.Sequential([numpy_rnn.Embedding(6, 3, seed=3), numpy_rnn.LSTM(3, seed=4),
                                  numpy_rnn.Dense(4, activation="softmax", seed=5)],
                                 input_shape=(4,), input_dtype="int32")
    model.build()
    model.compile(optimizer, "sparse_categorical_crossentropy")
    return model


def _unchanged(model, before, iterations):
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)
    assert model.optimizer.iterations == iterations


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("call, where", [("train_on_batch", "x"), ("train_on_batch", "y"),
                                         ("train_on_batch", "sample_weight"), ("fit", "x"),
                                         ("fit", "y")])
def test_non_finite_float_data_is_refused_before_any_update(optimizer, where, call):
    rng = np.random.default_rng(0)
    model = _float_model(optimizer)
    model.train_on_batch(rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2)))  # optimizer state
    before, it = model.get_weights(), model.optimizer.iterations
    x, y = rng.normal(size=(5, 4, 2)), rng.normal(size=(5, 2))
    sw = None
    if where == "x":
        x[3, 1, 0] = np.nan
    elif where == "y":
        y[2, 1] = np.inf
    else:
        sw = np.ones(5)
        sw[4] = np.nan
    with pytest.raises(ValueError, match=rf"`{where}` must be finite") as info:
        if call == "fit":
            model.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False)
        else:
            model.train_on_batch(x, y, sample_weight=sw)
    assert "IndexedSlices" not in str(info.value)
    _unchanged(model, before, it)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_nan_class_ids_with_sparse_gradients_are_a_value_error_not_an_index_error(optimizer):
    model = _text_model(optimizer)
    before, it = model.get_weights(), model.optimizer.iterations
    x = np.array([[1, 2, 3, 4], [0, 5, 1, 2]])
    y = np.array([1.0, np.nan])
    with pytest.raises(ValueError, match=r"`y` must be finite.*index \[1\]"):
        model.train_on_batch(x, y)
    with pytest.raises(ValueError, match=r"`y` must be finite"):
        model.fit(x, y, verbose=0)
    _unchanged(model, before, it)


def test_nan_validation_data_is_refused_before_training():
    rng = np.random.default_rng(1)
    model = _float_model("adam")
    before, it = model.get_weights(), model.optimizer.iterations
    xv = rng.normal(size=(2, 4, 2))
    xv[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"`validation_data\[0\]` must be finite"):
        model.fit(rng.normal(size=(4, 4, 2)), rng.normal(size=(4, 2)), verbose=0,
                  validation_data=(xv, rng.normal(size=(2, 2))))
    _unchanged(model, before, it)


def test_evaluate_and_predict_still_compute_with_nan():
    """Only training refuses: inference on NaN gives NaN, as Keras does."""
    model = _float_model("sgd")
    x = np.zeros((2, 4, 2))
    x[0, 0, 0] = np.nan
    out = model.predict(x)
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()
    assert np.isnan(model.evaluate(x, np.zeros((2, 2)), verbose=0))
