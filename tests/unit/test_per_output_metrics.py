"""``compile(metrics=...)`` per output of a functional model (NumPy only; the numbers against
Keras are in tests/parity/test_training_habits_parity.py): the names, which output each metric
follows, the order of ``evaluate``'s list, and the errors."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import Dense


def two_outputs():
    inp = numpy_rnn.Input((3,))
    h = Dense(4, activation="tanh", seed=0)(inp)
    model = numpy_rnn.Model(inp, [Dense(2, name="out1", seed=1)(h),
                                  Dense(3, activation="softmax", name="out2", seed=2)(h)])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    return model, x, [rng.normal(size=(10, 2)).astype(np.float32), rng.integers(0, 3, size=10)]


LOSSES = ["mse", "sparse_categorical_crossentropy"]


def test_names_outputs_and_keras_list_order():
    model, x, ys = two_outputs()
    model.compile("sgd", LOSSES, metrics={"out1": ["mse", "mae"], "out2": "accuracy"},
                  weighted_metrics=[["mae"], None])
    logs = model.evaluate(x, ys, verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "out1_loss", "out1_mae", "out1_mse", "out1_weighted_mae",
                            "out2_accuracy", "out2_loss"]
    p1, p2 = model.predict(x)
    assert np.isclose(logs["out1_mae"], np.mean(np.abs(p1 - ys[0])), rtol=1e-5)
    assert np.isclose(logs["out1_mse"], logs["out1_loss"], rtol=1e-6)
    assert np.isclose(logs["out2_accuracy"], np.mean(p2.argmax(-1) == ys[1]))
    values = model.evaluate(x, ys, verbose=0)
    order = ["loss", "out1_loss", "out2_loss", "out1_mae", "out1_mse", "out1_weighted_mae",
             "out2_accuracy"]  # Keras: the losses, then the prefixed names sorted
    assert values == pytest.approx([logs[k] for k in order])


def test_a_repeat_and_a_list_with_one_entry_per_output():
    model, x, ys = two_outputs()
    model.compile("sgd", LOSSES, metrics=["mae", ["accuracy", "accuracy"]])
    h = model.fit(x, ys, epochs=2, batch_size=4, verbose=0).history
    assert {"out1_mae", "out2_accuracy", "out2_accuracy_1"} <= set(h)


@pytest.mark.parametrize("metrics, message", [
    ({"out3": "mae"}, r"`metrics` keys must be output names \['out1', 'out2'\]"),
    (["mae"], "one entry per output \\(2\\) or a dict by output name"),
    (["mae", "nope"], "nope"),
])
def test_errors(metrics, message):
    model, _, _ = two_outputs()
    with pytest.raises(ValueError, match=message):
        model.compile("sgd", LOSSES, metrics=metrics)


def test_a_flat_list_still_follows_the_one_output_with_a_loss():
    model, x, ys = two_outputs()
    model.compile("sgd", [None, "sparse_categorical_crossentropy"], metrics=["accuracy"])
    logs = model.evaluate(x, [None, ys[1]], verbose=0, return_dict=True)
    assert "accuracy" in logs and not any(k.startswith("out2_acc") for k in logs)
