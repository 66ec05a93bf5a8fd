"""Functional-graph rows of ``numpy-rnn parity``: ``models/graph <kind>`` and
``grad/models/graph <kind>`` for each model of :mod:`parity.cases.graph_models` (seq2seq with
states, residual add, two inputs, two outputs, nested, shared), plus a legacy ``.h5`` written by
tf_keras, a bundle round trip, a model that reads strings (``TextVectorization`` inside) and
``selftest/graph bugs are caught``.

* forward (float32): Keras saves the model (``model.save("m.keras")``),
  ``numpy_rnn.load_keras_model`` reads it, every output compared with Keras's;
* gradients (float64): the ``parity.from_keras`` twin against the backend's autodiff
  (``tf.GradientTape`` on TensorFlow), every weight and every float input, the scalar the sum of
  every output; and the same in float32, ``grad/models/graph <kind> float32``, which every
  backend runs (Keras on JAX computes a float64 graph float32-accurately: ``float64-promotion``);
* training (float64): ``grad/training/graph <kind> ...``, three ``train_on_batch`` steps of the
  twin against Keras's own (``compare_training``: the loss(es) and every weight after each step)
  for the seq2seq, two-output and shared graphs, compiled after the zoo's published examples
  (RMSprop / Adam; sparse and categorical cross-entropies from logits, MSE, ``loss_weights``);
* the self-test plants one graph bug per model in a fresh twin (merge inputs swapped, a merged
  mask combined with AND instead of OR, a fan-out gradient overwritten instead of summed, a
  nested model's weights out of order, the states wired the other way round) and passes only
  when every plant fails its comparison and the honest twins pass.  Plants live in copies
  (instance attributes, a config edited before rebuilding); the fan-out plant replaces
  ``numpy_rnn.graph.backward._add_grad`` for the length of its one comparison and puts it back.
"""
from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import types
import warnings
from typing import Any, Callable, Iterator

import numpy as np

import numpy_rnn
from numpy_rnn.graph import backward as graph_backward
from numpy_rnn.testing import lookup

from ..bridge import (BackendUnsupported, backend, compare, compare_gradients, compare_training,
                      deviations, from_keras)
from ..bridge.train import floatx
from ..report import ParityReport
from .case import Case, register
from .graph_models import GRAPHS, graph_inputs, keras_namespace
from .reach import keras_eager
from .selftest import verdict
from .weights import randomize_model


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keras warns that a nested functional model drops the mask it is given (and so does
    numpy_rnn's twin, as the rows check); and that ``.h5`` is legacy.  Not news in a row."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not support masking.*")
        warnings.filterwarnings("ignore", message=".*HDF5 file.*legacy.*")
        yield


def _quietly(fn: Callable[..., ParityReport]) -> Callable[..., ParityReport]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> ParityReport:
        with _quiet():
            return fn(*args, **kwargs)
    return run


def keras_graph(kind: str, seed: int, dtype: str = "float32") -> tuple[Any, list]:
    """The Keras model of ``kind`` with gate-distinct random weights, and inputs for it."""
    import keras

    keras.backend.clear_session()
    rng = np.random.default_rng(seed)
    with floatx(dtype):
        model = GRAPHS[kind](keras_namespace(), dtype)
        randomize_model(model, rng, dtype)
    return model, graph_inputs(model, rng, dtype=dtype)


@_quietly
def file_case(kind: str, seed: int) -> ParityReport:
    """Keras's ``.keras`` file read by ``numpy_rnn.load_keras_model``, against Keras."""
    k, xs = keras_graph(kind, seed)
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        path = os.path.join(tmp, "model.keras")
        k.save(path)
        loaded = numpy_rnn.load_keras_model(path)
    return compare(loaded, k, xs, case=f"models/graph {kind}")


@_quietly
def grad_case(kind: str, seed: int, dtype: str = "float64") -> ParityReport:
    """Gradients of every weight and float input against the backend's autodiff: float64 (the
    proof; TensorFlow only, ``float64-promotion``), and float32, which every backend runs."""
    k, xs = keras_graph(kind, seed, dtype)
    name = f"grad/models/graph {kind}" + (" float32" if dtype == "float32" else "")
    with floatx(dtype):
        try:
            return compare_gradients(from_keras(k), k, xs, case=name)
        except TypeError as exc:
            # Keras on JAX: a float64 recurrent layer's scan gets a float32 carry back from
            # its tanh (float64-promotion) and jax.lax.scan refuses it
            reason = deviations.float64_reason()
            if reason is None or "carry" not in str(exc):
                raise
            raise BackendUnsupported(f"{reason} (here Keras itself raises: "
                                     f"{str(exc).splitlines()[0][:160]})") from None


#: Training rows: graph -> (optimizer, losses, loss_weights), after the published examples this
#: graph stands for in the zoo (tests/parity/test_zoo.py): the character seq2seq's RMSprop and
#: per-step cross-entropy (here sparse, from the tanh head's logits, padded steps masked), the
#: functional-API guide's two heads (RMSprop there; Adam here) with a cross-entropy and a
#: weighted second loss, and a Siamese pair on MSE.
TRAINING: dict[str, tuple[str, Callable[[str], Any], Any]] = {
    "seq2seq with states": ("rmsprop", lambda dt: numpy_rnn.losses.SparseCategoricalCrossentropy(
        from_logits=True, dtype=dt), None),
    "two outputs": ("adam", lambda dt: [
        numpy_rnn.losses.CategoricalCrossentropy(from_logits=True, dtype=dt),
        numpy_rnn.losses.MeanSquaredError(dtype=dt)], [1.0, 0.2]),
    "shared": ("adam", lambda dt: numpy_rnn.losses.MeanSquaredError(dtype=dt), None),
}
TRAIN_STEPS = 3


def training_name(kind: str) -> str:
    optimizer = TRAINING[kind][0]
    return f"grad/training/graph {kind} {TRAIN_STEPS} steps {optimizer} float64"


@_quietly
def training_case(kind: str, seed: int) -> ParityReport:
    """``TRAIN_STEPS`` float64 ``train_on_batch`` steps (batches of 4 of 8 rows) of the twin
    against Keras's own: the loss(es) and every weight after each step."""
    k, _ = keras_graph(kind, seed, "float64")
    rng = np.random.default_rng(seed + 1)
    xs = graph_inputs(k, rng, n=8, dtype="float64")
    optimizer, make_losses, weights = TRAINING[kind]
    loss = make_losses("float64")
    shapes = [(8,) + tuple(int(d) for d in o.shape[1:]) for o in k.outputs]
    ys = [rng.normal(size=shape) for shape in shapes]  # MSE targets
    if kind == "seq2seq with states":  # a next-character id per decoder step
        ys = [rng.integers(0, shapes[0][-1], size=shapes[0][:-1])]
    elif kind == "two outputs":  # one class per row for the cross-entropy head
        ys[0] = np.eye(shapes[0][-1])[rng.integers(0, shapes[0][-1], size=8)]
    twin = from_keras(k)
    twin.compile(optimizer=optimizer, loss=loss,
                 **({} if weights is None else {"loss_weights": weights}))
    with keras_eager():  # no tf.function traced for three tiny steps
        return compare_training(twin, k, xs, ys if len(ys) > 1 else ys[0],
                                steps=TRAIN_STEPS, batch_size=4, case=training_name(kind))


@_quietly
def tf_keras_h5_case(seed: int) -> ParityReport:
    """A Keras 2 graph (tf_keras, two outputs) saved as ``.h5``, read with Keras 2's
    semantics, against tf_keras."""
    try:
        import tensorflow as tf
        import tf_keras
    except ImportError as exc:  # a Keras 2 row: TensorFlow's, whatever Keras 3 runs on
        return ParityReport("models/graph two outputs (tf_keras .h5)", [],
                            skipped=f"tf_keras is not installed ({exc})")

    rng = np.random.default_rng(seed)
    k = GRAPHS["two outputs"](_tf_keras_namespace(tf_keras), "float32")
    for w in k.weights:
        w.assign(rng.normal(scale=0.4, size=tuple(w.shape)).astype("float32"))
    xs = graph_inputs(k, rng)
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        path = os.path.join(tmp, "model.h5")
        k.save(path)
        loaded = numpy_rnn.load_keras_model(path)
    expected = [np.asarray(o) for o in k(tf.convert_to_tensor(xs[0]), training=False)]
    report = compare(loaded, _Fixed(expected), xs, case="models/graph two outputs (tf_keras .h5)")
    return report


def _tf_keras_namespace(tf_keras: Any) -> Any:
    names = {n: getattr(tf_keras.layers, n) for n in dir(tf_keras.layers) if n[:1].isupper()}
    names.update(Input=tf_keras.Input, Model=tf_keras.Model, Sequential=tf_keras.Sequential)
    return types.SimpleNamespace(**names)


class _Fixed:
    """A reference that answers with outputs computed already (tf_keras's)."""

    def __init__(self, outputs: list) -> None:
        self.outputs = outputs

    def __call__(self, inputs: Any, **kwargs: Any) -> list:
        return self.outputs


@_quietly
def text_case(seed: int) -> ParityReport:
    """A model that reads strings (TextVectorization -> Embedding(mask_zero) -> LSTM -> Dense)
    from Keras's ``.keras`` file, the vocabulary from its assets, on texts with unknown words
    and an empty one."""
    if backend.configured() != "tensorflow":
        raise BackendUnsupported(
            "a functional model with a string Input runs on TensorFlow only: Keras on "
            f"{backend.configured()!r} cannot make a tensor of strings (JAX: \"data type "
            "'string' not understood\")")
    import keras

    keras.backend.clear_session()
    tv = keras.layers.TextVectorization(max_tokens=24, output_sequence_length=6)
    tv.adapt(["the quick brown fox", "jumps over the lazy dog", "the end of the story"])
    text = keras.Input((1,), dtype="string")
    x = keras.layers.Embedding(24, 4, mask_zero=True)(tv(text))
    k = keras.Model(text, keras.layers.Dense(2, activation="tanh")(keras.layers.LSTM(3)(x)))
    randomize_model(k, np.random.default_rng(seed))
    texts = np.array([["the lazy fox"], ["THE END!"], [""], ["unknown words here"]],
                     dtype=object)
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        path = os.path.join(tmp, "text.keras")
        k.save(path)
        loaded = numpy_rnn.load_keras_model(path)
    return compare(loaded, k, texts, case="models/graph text (TextVectorization)")


@_quietly
def bundle_case(seed: int) -> ParityReport:
    """A two-input graph bundled with Keras's outputs, loaded back, against Keras."""
    k, xs = keras_graph("seq2seq with states", seed)
    twin = from_keras(k)
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        path = os.path.join(tmp, "graph.npz")
        numpy_rnn.save(twin, path, test_inputs=xs, test_outputs=np.asarray(k(xs)),
                       verified_by="keras")
        loaded = numpy_rnn.load(path)
    tol = lookup("float32")
    return compare(loaded, k, xs, case="models/graph bundle save->load", rtol=tol.rtol,
                   atol=tol.atol)


# -- the self-test -------------------------------------------------------------------------------
def _swap_subtract(twin: Any) -> None:
    layer = twin.get_layer("diff")
    layer._merge = lambda xs, masks: (xs[1] - xs[0], None)


def _and_masks(twin: Any) -> None:
    layer = twin.get_layer("merge")

    def and_mask(inputs: Any, mask: Any = None) -> Any:
        if mask is None or any(m is None for m in mask):
            return None
        out = np.asarray(mask[0], bool)
        for m in mask[1:]:
            out = out & np.asarray(m, bool)
        return out
    layer.compute_mask = and_mask


def _nested_out_of_order(twin: Any) -> None:
    inner = twin.get_layer("rnn_block")
    weights = inner.get_weights()
    shapes = [w.shape for w in weights]
    i, j = next((a, b) for a in range(len(weights)) for b in range(a + 1, len(weights))
                if shapes[a] == shapes[b] and not np.array_equal(weights[a], weights[b])) \
        if any(shapes.count(s) > 1 for s in shapes) else (None, None)
    if i is None:  # no two weights of one shape: move each one's values along instead
        inner.set_weights([np.roll(w, 1) for w in weights])
        return
    weights[i], weights[j] = weights[j], weights[i]
    inner.set_weights(weights)


def _states_swapped(twin: Any) -> Any:
    config = twin.get_config()
    for item in config["layers"]:
        for node in item.get("inbound_nodes", []):
            state = node["kwargs"].get("initial_state")
            if state is not None:
                node["kwargs"]["initial_state"] = state[::-1]
    swapped = numpy_rnn.Model.from_config(config)
    swapped.set_weights(twin.get_weights())
    return swapped


def _planted(kind: str, seed: int, plant: Callable[[Any], Any], grad: bool = False,
             patch: Any = None) -> bool:
    """Whether the comparison of a twin of ``kind`` with ``plant`` applied fails."""
    # gradients in float64, but in float32 where Keras's float64 is float32-accurate (JAX...)
    dtype = "float64" if grad and deviations.float64_reason() is None else "float32"
    k, xs = keras_graph(kind, seed, dtype)
    twin = from_keras(k)
    twin = plant(twin) or twin
    original = graph_backward._add_grad
    try:
        if patch is not None:
            graph_backward._add_grad = patch
        with floatx(dtype):
            report = (compare_gradients if grad else compare)(twin, k, xs, case="plant")
        return not report.passed
    except Exception:  # noqa: BLE001 - a plant that crashes is not caught by a comparison
        return False
    finally:
        graph_backward._add_grad = original


def _overwrite(grads: dict, tensor: Any, g: Any) -> None:
    if g is not None and isinstance(tensor, graph_backward.SymbolicTensor):
        grads[id(tensor)] = g


PLANTS: dict[str, tuple[str, Callable, bool, Any]] = {
    "merge inputs swapped": ("shared", _swap_subtract, False, None),
    "merged mask AND instead of OR": ("two inputs", _and_masks, False, None),
    "fan-out gradient overwritten": ("residual add", lambda t: None, True, _overwrite),
    "nested weights out of order": ("nested", _nested_out_of_order, False, None),
    "states wired the other way": ("seq2seq with states", _states_swapped, False, None),
}


@_quietly
def selftest_case(seed: int) -> ParityReport:
    rows = []
    for kind, grad in (("residual add", False), ("residual add", True)):
        honest = not _planted(kind, seed, lambda t: None, grad)
        rows.append(verdict(f"control {kind}{' gradients' if grad else ''}", honest,
                            "the honest twin must pass"))
    for name, (kind, plant, grad, patch) in PLANTS.items():
        caught = _planted(kind, seed, plant, grad, patch)
        rows.append(verdict(f"plant: {name}", caught, f"planted in a twin of '{kind}': "
                            + ("caught" if caught else "NOT caught")))
    return ParityReport("selftest/graph bugs are caught", rows)


@register("graphs")
def graph_cases(seed: int) -> list[Case]:
    out = []
    for kind in GRAPHS:
        out.append(Case(f"models/graph {kind}", lambda k=kind: file_case(k, seed)))
    out.append(Case("models/graph two outputs (tf_keras .h5)", lambda: tf_keras_h5_case(seed)))
    out.append(Case("models/graph bundle save->load", lambda: bundle_case(seed)))
    out.append(Case("models/graph text (TextVectorization)", lambda: text_case(seed)))
    for kind in GRAPHS:
        out.append(Case(f"grad/models/graph {kind}", lambda k=kind: grad_case(k, seed)))
    for kind in GRAPHS:  # float32: graph gradients proven on every backend (JAX's float64 is not)
        out.append(Case(f"grad/models/graph {kind} float32",
                        lambda k=kind: grad_case(k, seed, "float32")))
    for kind in TRAINING:
        out.append(Case(training_name(kind), lambda k=kind: training_case(k, seed)))
    out.append(Case("selftest/graph bugs are caught", lambda: selftest_case(seed)))
    return out
