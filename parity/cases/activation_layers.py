"""Parity rows of the activation and regularization layers for ``numpy-rnn parity``, and the
builders the tests and property tests use (one generator of cases).

* ``act/<layer> <options> <dtype>``: forward and gradient rows in one report: the output, then
  ``d alpha`` (PReLU) and ``d inputs`` of ``sum(y * w)`` for a random ``w`` (the plain sum would
  be degenerate for Softmax, whose outputs sum to 1) against ``tf.GradientTape``.  Inputs hold
  every kink the options use (0, the threshold, ``max_value``) besides normal draws, so TensorFlow's
  choice of derivative at each kink is checked exactly there;
* ``act/softmax mask=...``: Softmax with boolean, integer, float and broadcast masks, a fully
  masked slice among them;
* ``reg/<layer> training``: a regularization layer called with ``training=True`` while Keras draws
  the numpy_rnn layer's own random numbers (:func:`keras_draws_ours` swaps Keras's TensorFlow
  draws for them), so the training-mode formula and its gradient are compared element for
  element although the random pattern itself cannot be reproduced;
* ``grad/training regularized ...``: ``train_on_batch`` steps of models with kernel, recurrent,
  bias, embeddings and alpha regularizers and ActivityRegularization, in float64, the loss
  Keras reports (penalties included) and every weight after each step (``compare_training``).

Small shapes: the group runs in a few seconds.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np

from numpy_rnn import losses

from ..bridge import BackendUnsupported, backend, compare, deviations, from_keras, to_keras
from ..bridge.autodiff import weighted_gradients
from ..bridge.referee import referee
from ..bridge.train import compare_training, floatx
from ..report import ParityReport, compare_outputs, diff_arrays
from .case import Case, register

SHAPE = (4, 6, 5)
#: Planted at the start of every input: the kinks of the options below.
KINKS = (0.0, 0.5, 1.0, 1.5, 2.0, 6.0, -0.0, 0.25, 3.0, -1.0)

#: (Keras class, options) rows of the sweep (each in float32 and float64).
ROWS: list[tuple[str, dict]] = [
    ("ReLU", {}),
    ("ReLU", {"max_value": 6.0}),
    ("ReLU", {"max_value": 1.5, "negative_slope": 0.2}),
    ("ReLU", {"threshold": 1.0}),
    ("ReLU", {"negative_slope": 0.1}),
    ("ReLU", {"negative_slope": 0.3, "threshold": 0.5, "max_value": 2.0}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 1.5}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.7}),
    ("PReLU", {}),
    ("PReLU", {"shared_axes": [1]}),
    ("Softmax", {}),
    ("Softmax", {"axis": 1}),
    ("Softmax", {"axis": [1, 2]}),
    ("Activation", {"activation": "gelu"}),
    ("Activation", {"activation": "softmax"}),
    ("ActivityRegularization", {"l1": 0.01, "l2": 0.02}),
]

#: Mask patterns for Softmax (the mask is broadcast from the right, as Keras does).
MASKS = ("bool", "int", "float", "row")


def _keras():
    import keras

    return keras


def label(cls: str, options: dict) -> str:
    if not options:
        return cls
    return f"{cls}(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"


def kink_inputs(rng: np.random.Generator, shape: tuple = SHAPE, dtype: str = "float32",
                kinks: tuple = KINKS) -> np.ndarray:
    """Normal draws (scale 2) with ``kinks`` planted at the first positions."""
    x = rng.normal(scale=2.0, size=shape)
    flat = x.reshape(-1)
    n = min(len(kinks), flat.size)
    flat[:n] = kinks[:n]
    return x.astype(dtype)


def make_mask(kind: str, rng: np.random.Generator, shape: tuple = SHAPE) -> np.ndarray:
    """A Softmax mask: ``bool`` of the input's shape (a fully masked slice at [0, 1]); ``int``
    and ``float`` of the last two axes (Keras reads them as ``> 0`` and ``> 0.5``); ``row``: one
    row broadcast over the batch and time axes."""
    if kind == "bool":
        m = rng.random(shape) > 0.35
        m[0, 1] = False
        return m
    if kind == "int":
        return rng.integers(0, 3, size=shape[1:]).astype("int32")
    if kind == "float":
        return rng.random(shape[1:]).astype("float32")
    if kind == "row":
        return (rng.random((1, shape[-1])) > 0.4).astype("float32")
    raise ValueError(f"unknown mask kind {kind!r}")


def keras_layer(cls: str, options: dict, dtype: str, shape: tuple,
                rng: np.random.Generator) -> Any:
    """A built Keras layer; PReLU gets random non-zero ``alpha`` (Keras initialises zeros)."""
    keras = _keras()
    k = getattr(keras.layers, cls)(**options, dtype=dtype)
    k.build(shape)
    if k.weights:
        k.set_weights([rng.normal(scale=0.6, size=tuple(w.shape)).astype(dtype)
                       for w in k.weights])
    return k


def keras_weighted_grads(layer: Any, x: np.ndarray, w: np.ndarray, training: bool = False,
                         **call: Any) -> tuple[np.ndarray, list, np.ndarray]:
    """``(y, [d weight], d x)`` of ``sum(layer(x) * w)`` from the backend's autodiff
    (``parity.bridge.autodiff.weighted_gradients``)."""
    return weighted_gradients(layer, x, w, training=training, **call)


def numpy_weighted_grads(layer: Any, x: np.ndarray, w: np.ndarray, training: bool = True,
                         **call: Any) -> tuple[np.ndarray, list, np.ndarray]:
    """The same three from the numpy_rnn layer (``training=True`` call, ``backward(w)``)."""
    y = layer(x, training=training, **call)
    dx = layer.backward(w.astype(y.dtype))
    return y, list(layer.gradients or []), dx


def float64_twin(k: Any, shape: tuple) -> Any:
    """The same Keras layer (config and weights) computing in float64, built for ``shape``."""
    twin = type(k).from_config({**k.get_config(), "dtype": "float64"})
    twin.build(shape)
    if k.weights:
        twin.set_weights([np.asarray(w, np.float64) for w in k.get_weights()])
    return twin


def grad_report(case: str, n: Any, k: Any, x: np.ndarray, rng: np.random.Generator,
                **call: Any) -> ParityReport:
    """Forward and gradient rows of one layer pair (weights already equal).

    A float32 row out of tolerance goes to the float64 referee (``parity.bridge.referee``): the
    Keras layer recomputed in float64 gives the exact answer, and NumPy passes where it is no
    farther from it than the tolerance plus twice Keras's own float32 error (PReLU's ``d alpha``
    sums the batch and the shared axes in float32 in TensorFlow; numpy_rnn sums in float64)."""
    w = rng.normal(size=x.shape).astype(x.dtype)
    k_y, k_w, k_x = keras_weighted_grads(k, x, w, **call)
    n_y, n_w, n_x = numpy_weighted_grads(n, x, w, **call)
    report = compare_outputs(case, [n_y], [k_y], ["output"])
    for name, a, e in zip(n.weight_names(), n_w, k_w):
        report.outputs.append(diff_arrays(f"d {name}", a, e, kind="gradient"))
    report.outputs.append(diff_arrays("d inputs", n_x, k_x, kind="gradient"))
    if not report.passed and deviations.active("kink-subgradient") is not None:
        off = np.ones(x.size, bool)
        off[:min(len(KINKS), x.size)] = False  # kink_inputs plants them first
        off = off.reshape(x.shape)
        scale = float(np.max(np.abs(k_x))) if k_x.size else 0.0
        kinks_only = all(d.passed for d in report.outputs[:-1]) and diff_arrays(
            "d inputs", n_x[off], k_x[off], kind="gradient", scale=scale).passed
        report = deviations.excuse(report, float64=x.dtype == np.float64,
                                   kinks_only=kinks_only)
    elif x.dtype == np.float64:
        report = deviations.excuse(report, float64=True)
    if report.passed or report.skipped or x.dtype != np.float32:
        return report
    r_y, r_w, r_x = keras_weighted_grads(float64_twin(k, x.shape), x.astype(np.float64),
                                         w.astype(np.float64), **call)
    rows = [referee(d, a, e, r, case) for d, a, e, r in
            zip(report.outputs, [n_y, *n_w, n_x], [k_y, *k_w, k_x], [r_y, *r_w, r_x])]
    return ParityReport(case, rows)


def layer_case(cls: str, options: dict, dtype: str = "float32", seed: int = 0,
               shape: tuple = SHAPE, direction: str = "keras->numpy",
               x: np.ndarray | None = None) -> ParityReport:
    """One activation layer: forward and gradients, float32 or float64, kinks included."""
    rng = np.random.default_rng(seed)
    x = kink_inputs(rng, shape, dtype) if x is None else x.astype(dtype)
    k = keras_layer(cls, options, dtype, x.shape, rng)
    n = from_keras(k)
    if direction == "numpy->keras":
        k = to_keras(n)
    return grad_report(f"act/{label(cls, options)} {dtype} [{direction}]", n, k, x, rng)


def softmax_mask_case(mask: str, axis: Any = -1, dtype: str = "float32",
                      seed: int = 0) -> ParityReport:
    """Softmax with a mask: masked outputs 0 and masked inputs' gradient exactly 0 (both sides)."""
    rng = np.random.default_rng(seed)
    x = kink_inputs(rng, SHAPE, dtype)
    k = keras_layer("Softmax", {"axis": axis}, dtype, x.shape, rng)
    m = make_mask(mask, rng)
    return grad_report(f"act/softmax axis={axis} mask={mask} {dtype}", from_keras(k), k, x, rng,
                       mask=m)


# -- regularization layers in training: Keras draws numpy_rnn's random numbers ------------------
@contextlib.contextmanager
def keras_draws_ours(draws: dict) -> Iterator[None]:
    """Inside, Keras's TensorFlow backend returns ``draws`` instead of random numbers:
    ``draws["normal"]`` (standard normal, for ``random.normal``: Keras's ``mean`` and ``stddev``
    then applied as ``tf.random.stateless_normal`` does, ``z * stddev + mean``),
    ``draws["uniform"]`` (for ``random.uniform``) and ``draws["dropout"]`` (the uniform draws
    of ``tf.nn.experimental.stateless_dropout``, which keeps ``u >= rate``)."""
    if backend.configured() != "tensorflow":
        raise BackendUnsupported(
            "a random layer in training is compared on NumPy's own draws, swapped into Keras's "
            f"TensorFlow random ops; Keras's {backend.configured()!r} backend draws its own "
            "(TensorFlow-only row)")
    import tensorflow as tf
    from keras.src.backend.tensorflow import random as krandom
    from tensorflow.python.ops import stateless_random_ops

    saved = (krandom.normal, krandom.uniform, stateless_random_ops.stateless_random_uniform)

    def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        z = tf.constant(np.asarray(draws["normal"]).astype(dtype))
        return z * tf.constant(stddev, dtype) + tf.constant(mean, dtype)

    def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        return tf.constant(np.asarray(draws["uniform"]).astype(dtype or "float32"))

    def dropout_uniform(shape, seed=None, dtype=None, alg=None, **_):
        return tf.constant(np.asarray(draws["dropout"]).astype(dtype.as_numpy_dtype
                                                               if hasattr(dtype, "as_numpy_dtype")
                                                               else dtype))

    krandom.normal, krandom.uniform = normal, uniform
    stateless_random_ops.stateless_random_uniform = dropout_uniform
    try:
        yield
    finally:
        krandom.normal, krandom.uniform, stateless_random_ops.stateless_random_uniform = saved


def _numpy_draws(layer: Any, shape: tuple) -> dict:
    """What the numpy_rnn layer's next training call draws, replayed from a copy of its
    generator (the layers draw exactly once per call)."""
    rng = np.random.default_rng()
    rng.bit_generator.state = layer._rng.bit_generator.state
    cls = type(layer).__name__
    if cls in ("GaussianNoise", "GaussianDropout"):
        return {"normal": rng.standard_normal(shape)}
    if cls == "AlphaDropout":
        noise = shape if layer.noise_shape is None else tuple(
            shape[i] if d is None else d for i, d in enumerate(layer.noise_shape))
        return {"uniform": rng.random(noise, dtype=np.float32)}
    if cls == "SpatialDropout1D":
        keep = rng.random((shape[0], 1, shape[2])) >= layer.rate
        return {"dropout": keep.astype("float64")}  # 1 >= rate, 0 < rate: Keras keeps the same
    raise ValueError(f"no draws for {cls}")


def noise_case(cls: str, options: dict, dtype: str = "float32", seed: int = 0) -> ParityReport:
    """A regularization layer in training, both sides on numpy_rnn's draws."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=SHAPE).astype(dtype)
    k = keras_layer(cls, options, dtype, x.shape, rng)
    n = from_keras(k)
    n._rng = np.random.default_rng(seed + 1)
    w = rng.normal(size=x.shape).astype(dtype)
    with keras_draws_ours(_numpy_draws(n, x.shape)):
        k_y, _, k_x = keras_weighted_grads(k, x, w, training=True)
    n_y, _, n_x = numpy_weighted_grads(n, x, w, training=True)
    report = compare_outputs(f"reg/{label(cls, options)} training {dtype}", [n_y], [k_y],
                             ["output"])
    report.outputs.append(diff_arrays("d inputs", n_x, k_x, kind="gradient"))
    return report


NOISE_ROWS: list[tuple[str, dict]] = [
    ("GaussianNoise", {"stddev": 0.3}),
    ("GaussianDropout", {"rate": 0.3}),
    ("AlphaDropout", {"rate": 0.3}),
    ("AlphaDropout", {"rate": 0.2, "noise_shape": (None, 1, SHAPE[2])}),
    ("SpatialDropout1D", {"rate": 0.4}),
]


# -- training steps with penalties -------------------------------------------------------------
def regularized_keras(kind: str, dtype: str) -> Any:
    """Keras models with every kind of penalty: ``dense`` (Dense with an L2 kernel regularizer),
    ``lstm`` (LSTM with an L2 kernel regularizer), ``mixed``
    (Dense L1L2 + bias L1, ActivityRegularization, LSTM kernel L2 / recurrent L1 / bias L2,
    PReLU alpha L2), ``embedding`` (embeddings L2) and ``bidirectional`` (GRU kernel L2 and
    recurrent L1L2 in both directions, SimpleRNN bias L1)."""
    keras = _keras()
    L = keras.layers
    shape = {"embedding": ((5,), "int32"), "dense": ((3,), dtype)}.get(kind, ((5, 3), dtype))
    inp = keras.Input(shape[0], dtype=shape[1])
    layers = {
        "dense": [L.Dense(4, kernel_regularizer=keras.regularizers.L2(0.05), dtype=dtype)],
        "lstm": [L.LSTM(4, kernel_regularizer="l2", dtype=dtype)],
        "mixed": [L.Dense(4, activation="tanh", dtype=dtype, bias_initializer="ones",
                          kernel_regularizer=keras.regularizers.L1L2(0.01, 0.03),
                          bias_regularizer="l1"),
                  L.ActivityRegularization(0.02, 0.05, dtype=dtype),
                  L.LSTM(4, kernel_regularizer="l2",
                         recurrent_regularizer=keras.regularizers.L1(0.02),
                         bias_regularizer=keras.regularizers.L2(0.3), dtype=dtype),
                  L.PReLU(alpha_regularizer="l2", alpha_initializer="ones", dtype=dtype)],
        "embedding": [L.Embedding(9, 3, embeddings_regularizer="l2", dtype=dtype),
                      L.LSTM(4, dtype=dtype)],
        "bidirectional": [L.Bidirectional(L.GRU(3, return_sequences=True,
                                                kernel_regularizer="l2",
                                                recurrent_regularizer=keras.regularizers.L1L2(
                                                    0.01, 0.02), dtype=dtype), dtype=dtype),
                          L.SimpleRNN(4, bias_regularizer=keras.regularizers.L1(0.05),
                                      bias_initializer="ones", dtype=dtype)],
    }[kind]
    return keras.Sequential([inp] + layers, name=f"regularized_{kind}")


def training_case(kind: str, optimizer: str = "sgd", dtype: str = "float64", seed: int = 0,
                  steps: int = 3) -> ParityReport:
    """``train_on_batch`` steps of :func:`regularized_keras` in numpy_rnn and in Keras."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    x = {"embedding": rng.integers(0, 9, size=(8, 5)),
         "dense": rng.normal(size=(8, 3)).astype(dtype)}.get(kind)
    x = rng.normal(size=(8, 5, 3)).astype(dtype) if x is None else x
    y = rng.normal(size=(8, 4)).astype(dtype)
    with floatx(dtype):
        k = regularized_keras(kind, dtype)
        n = from_keras(k)
        n.compile(optimizer=optimizer, loss=losses.MeanSquaredError(dtype=dtype))
        return compare_training(n, k, x, y, steps=steps, batch_size=4,
                                case=training_name(kind, optimizer, dtype))


def training_name(kind: str, optimizer: str, dtype: str) -> str:
    return f"grad/training regularized {kind} {optimizer} {dtype}"


@register("activation_layers")
def activation_layer_cases(seed: int) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, fn: Callable[[], ParityReport]) -> None:
        cases.append(Case(name, fn))

    for cls, options in ROWS:
        for dtype in ("float32", "float64"):
            add(f"act/{label(cls, options)} {dtype} [keras->numpy]",
                lambda c=cls, o=options, d=dtype: layer_case(c, o, d, seed))
    for cls, options in (("ReLU", {"negative_slope": 0.3, "threshold": 0.5, "max_value": 2.0}),
                         ("PReLU", {"shared_axes": [2]})):
        add(f"act/{label(cls, options)} float32 [numpy->keras]",
            lambda c=cls, o=options: layer_case(c, o, "float32", seed, direction="numpy->keras"))
    for mask in MASKS:
        for axis in (-1, [1, 2]):
            add(f"act/softmax axis={axis} mask={mask} float32",
                lambda m=mask, a=axis: softmax_mask_case(m, a, "float32", seed))
    for cls, options in NOISE_ROWS:
        add(f"reg/{label(cls, options)} training float32",
            lambda c=cls, o=options: noise_case(c, o, "float32", seed))
    for cls, options in (("Dropout", {"rate": 0.3}), ("GaussianNoise", {"stddev": 0.3}),
                         ("SpatialDropout1D", {"rate": 0.3}), ("AlphaDropout", {"rate": 0.3})):
        add(f"reg/{label(cls, options)} inference", lambda c=cls, o=options: _inference_case(
            c, o, seed))
    for kind, optimizer in (("dense", "sgd"), ("mixed", "adam")):  # more in tests/parity
        add(training_name(kind, optimizer, "float64"),
            lambda kd=kind, o=optimizer: training_case(kd, o, "float64", seed))
    return cases


def _inference_case(cls: str, options: dict, seed: int) -> ParityReport:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=SHAPE).astype("float32")
    k = keras_layer(cls, options, "float32", x.shape, rng)
    return compare(from_keras(k), k, x, case=f"reg/{label(cls, options)} inference")
