"""Parity cases of the normalization layers for ``numpy-rnn parity`` (``--only 'normalization/*'``
forward, ``--only 'grad/normalization/*'`` gradients and the training steps).

* ``normalization/<layer>/<options> [training] mask=...``: BatchNormalization at inference (the
  moving statistics) and in training mode (the batch's statistics; the row also compares the
  moving mean and variance the call leaves behind), with a mask (masked moments) and with
  ``synchronized``; LayerNormalization over one axis and two (mixed signs: Keras's reshape of
  gamma), ``rms_scaling``; UnitNormalization, GroupNormalization, RMSNormalization; float32 and
  float64; Keras -> NumPy and NumPy -> Keras;
* ``grad/normalization/...``: the same layers' gradients (training mode, so through the batch
  statistics) against ``tf.GradientTape``, an MSE loss on random targets (the sum of a
  normalized output has no gradient to speak of);
* ``grad/normalization/training ...``: Embedding(mask_zero) -> LSTM(sequences) ->
  BatchNormalization -> LayerNormalization -> LSTM -> BatchNormalization -> Dense trained three
  ``train_on_batch`` steps in both libraries, float64 (``compare_training``: every weight after
  every step, the moving statistics included), with SGD.

Random weights with a different value per feature (gamma around 1, beta, moving mean and a
moving variance in [0.5, 2.5]) and inputs off zero (``N(0.3, 1.5)``), so a statistic taken over
the wrong axis, a variance off by n / (n - 1) or a moving average the wrong way round is seen.
Small shapes: the group runs in a few seconds.
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

import numpy as np

from numpy_rnn import losses

from ..bridge import BackendUnsupported, backend, compare, deviations, from_keras, to_keras
from ..bridge.grad_referee import refereed_gradients
from ..bridge.train import compare_training
from ..report import ParityReport, compare_outputs
from .case import Case, register
from .masks import make_mask

BATCH, TIMESTEPS, FEATURES = 6, 7, 8

__all__ = ["BATCH", "TIMESTEPS", "FEATURES", "norm_weights", "norm_inputs", "keras_norm_layer",
           "forward_case", "grad_case", "training_case", "FORWARD_ROWS", "GRAD_ROWS"]


def _keras():
    import keras

    return keras


def _quiet(fn: Callable) -> Callable:
    """Without Keras's deprecation warning for ``rms_scaling=True`` (printed at every call)."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*rms_scaling.*")
            return fn(*args, **kwargs)
    return run


def norm_weights(names: list[str], shapes: list[tuple], rng: np.random.Generator,
                 dtype: str = "float32") -> list[np.ndarray]:
    """Random weights by name: gamma / scale ``1 + N(0, 0.3)``, beta and the moving mean
    ``N(0, 0.3)``, the moving variance in ``[0.5, 2.5]``."""
    out = []
    for name, shape in zip(names, shapes):
        if name in ("gamma", "scale"):
            w = 1 + 0.3 * rng.normal(size=shape)
        elif name == "moving_variance":
            w = rng.uniform(0.5, 2.5, size=shape)
        else:
            w = 0.3 * rng.normal(size=shape)
        out.append(w.astype(dtype))
    return out


def norm_inputs(rng: np.random.Generator, shape: tuple, dtype: str = "float32") -> np.ndarray:
    """``N(0.3, 1.5)`` inputs: a mean and a scale that normalization has to remove."""
    return (0.3 + 1.5 * rng.normal(size=shape)).astype(dtype)


def keras_norm_layer(cls: str, options: dict, shape: tuple, rng: np.random.Generator) -> Any:
    """A built Keras normalization layer with :func:`norm_weights`."""
    keras = _keras()
    if options.get("synchronized") and backend.configured() != "tensorflow":
        # Keras's own rule: "synchronized=True is only supported with the TensorFlow backend"
        raise BackendUnsupported(f"Keras supports {cls}(synchronized=True) on TensorFlow only "
                                 f"(this process runs {backend.configured()!r})")
    k = getattr(keras.layers, cls)(**options)
    k.build(shape)
    names = [w.path.split("/")[-1] for w in k.weights]
    k.set_weights(norm_weights(names, [tuple(w.shape) for w in k.weights], rng,
                               options.get("dtype", "float32")))
    return k


def _label(cls: str, options: dict, training: bool, mask: str, shape: tuple) -> str:
    opts = ",".join(k if v is True else f"{k}={v}" for k, v in options.items()) or "default"
    mode = " training" if training else ""
    return f"{cls}/{len(shape)}-D {opts}{mode} mask={mask}"


@_quiet
def forward_case(cls: str, options: dict, shape: tuple, training: bool, mask: str, seed: int,
                 direction: str = "keras->numpy") -> ParityReport:
    """One layer's output (and, for a BatchNormalization training call, the moving statistics
    the call leaves)."""
    rng = np.random.default_rng(seed)
    k = keras_norm_layer(cls, options, shape, rng)
    n = from_keras(k)
    if direction == "numpy->keras":
        k = to_keras(n)
    x = norm_inputs(rng, shape, options.get("dtype", "float32"))
    call: dict[str, Any] = {}
    m = make_mask(mask, shape[0], shape[1])
    if m is not None:
        call["mask"] = m
    name = f"normalization/{_label(cls, options, training, mask, shape)} [{direction}]"
    if not training:
        return compare(n, k, x, case=name, **call)
    got = n(x, training=True, **call)
    k_call = {key: backend.convert(val) for key, val in call.items()}
    expected = backend.to_numpy(k(backend.convert(x), training=True, **k_call))
    names = ["output"] + [nm for nm in n.weight_names() if nm.startswith("moving_")]
    got_w = dict(zip(n.weight_names(), n.get_weights()))
    k_w = dict(zip([w.path.split("/")[-1] for w in k.weights], k.get_weights()))
    report = compare_outputs(name, [got] + [got_w[nm] for nm in names[1:]],
                             [expected] + [np.asarray(k_w[nm]) for nm in names[1:]], names)
    return deviations.excuse(report, float64=x.dtype == np.float64)


@_quiet
def grad_case(cls: str, options: dict, shape: tuple, mask: str, seed: int) -> ParityReport:
    """The layer's gradients in training mode (MSE on random targets), refereed in float32."""
    rng = np.random.default_rng(seed)
    dtype = options.get("dtype", "float32")
    k = keras_norm_layer(cls, options, shape, rng)
    x = norm_inputs(rng, shape, dtype)
    targets = rng.normal(size=shape).astype(dtype)
    call: dict[str, Any] = {}
    m = make_mask(mask, shape[0], shape[1])
    if m is not None:
        call["mask"] = m
    return refereed_gradients(from_keras(k), k, x, targets=targets, loss="mse",
                             case=f"grad/normalization/{_label(cls, options, True, mask, shape)}",
                             **call)


def training_model(optimizer: str, seed: int, dtype: str = "float64") -> tuple[Any, Any]:
    """``(keras model, numpy twin compiled with optimizer and MSE)`` of the training row."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = keras.Sequential([
        keras.Input((TIMESTEPS,), dtype="int32"),
        keras.layers.Embedding(20, FEATURES, mask_zero=True, dtype=dtype),
        keras.layers.LSTM(FEATURES, return_sequences=True, dtype=dtype),
        keras.layers.BatchNormalization(momentum=0.9, dtype=dtype),
        keras.layers.LayerNormalization(dtype=dtype),
        keras.layers.LSTM(5, dtype=dtype),
        keras.layers.BatchNormalization(dtype=dtype),
        keras.layers.Dense(3, dtype=dtype)], name="normalized_stack")
    for layer in model.layers:  # random statistics and affine weights, not Keras's 1s and 0s
        names = [w.path.split("/")[-1] for w in layer.weights]
        if any(nm in ("gamma", "moving_variance") for nm in names):
            layer.set_weights(norm_weights(names, [tuple(w.shape) for w in layer.weights], rng,
                                           dtype))
    twin = from_keras(model)
    twin.compile(optimizer=optimizer, loss=losses.MeanSquaredError(dtype=dtype))
    return model, twin


def training_data(seed: int, dtype: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    """Left-padded ids (some rows shorter) and random targets, 16 rows."""
    rng = np.random.default_rng(seed + 1)
    x = rng.integers(1, 20, size=(16, TIMESTEPS))
    x[:6, :3] = 0
    return x, rng.normal(size=(16, 3)).astype(dtype)


def training_name(optimizer: str) -> str:
    return (f"grad/normalization/training embedding->lstm->batchnorm->layernorm->lstm->"
            f"batchnorm->dense 3 steps {optimizer} float64")


def training_case(optimizer: str, seed: int) -> ParityReport:
    model, twin = training_model(optimizer, seed)
    x, y = training_data(seed)
    return compare_training(twin, model, x, y, steps=3, batch_size=8,
                            case=training_name(optimizer))


#: (layer, options, input shape, training, mask) forward rows; float64 variants get "dtype".
FORWARD_ROWS: list[tuple[str, dict, tuple, bool, str]] = [
    ("BatchNormalization", {}, (BATCH, TIMESTEPS, FEATURES), False, "none"),
    ("BatchNormalization", {}, (BATCH, TIMESTEPS, FEATURES), True, "none"),
    ("BatchNormalization", {}, (BATCH, TIMESTEPS, FEATURES), True, "left"),
    ("BatchNormalization", {"axis": 1, "momentum": 0.9}, (BATCH, TIMESTEPS, FEATURES), True,
     "none"),
    ("BatchNormalization", {"synchronized": True, "center": False}, (BATCH, FEATURES), True,
     "none"),
    ("BatchNormalization", {"dtype": "float64"}, (BATCH, TIMESTEPS, FEATURES), True, "holes"),
    ("LayerNormalization", {}, (BATCH, TIMESTEPS, FEATURES), False, "none"),
    ("LayerNormalization", {"axis": [-1, 1], "epsilon": 1e-5}, (BATCH, TIMESTEPS, FEATURES),
     False, "none"),
    ("LayerNormalization", {"rms_scaling": True}, (BATCH, TIMESTEPS, FEATURES), False, "none"),
    ("LayerNormalization", {"dtype": "float64", "scale": False}, (BATCH, FEATURES), False,
     "none"),
    ("UnitNormalization", {}, (BATCH, TIMESTEPS, FEATURES), False, "none"),
    ("UnitNormalization", {"axis": [1, 2]}, (BATCH, TIMESTEPS, FEATURES), False, "none"),
    ("GroupNormalization", {"groups": 4}, (BATCH, TIMESTEPS, FEATURES), False, "none"),
    ("GroupNormalization", {"groups": -1, "axis": 1}, (BATCH, TIMESTEPS, FEATURES), False,
     "none"),
    ("RMSNormalization", {}, (BATCH, TIMESTEPS, FEATURES), False, "none"),
    ("RMSNormalization", {"axis": [1, 2], "dtype": "float64"}, (BATCH, TIMESTEPS, FEATURES),
     False, "none"),
]

#: (layer, options, input shape, mask) gradient rows (training mode).
GRAD_ROWS: list[tuple[str, dict, tuple, str]] = [
    ("BatchNormalization", {}, (BATCH, TIMESTEPS, FEATURES), "none"),
    ("BatchNormalization", {}, (BATCH, TIMESTEPS, FEATURES), "holes"),
    ("BatchNormalization", {"axis": 1, "synchronized": True}, (BATCH, TIMESTEPS, FEATURES),
     "none"),
    ("BatchNormalization", {"dtype": "float64"}, (BATCH, FEATURES), "none"),
    ("LayerNormalization", {}, (BATCH, TIMESTEPS, FEATURES), "none"),
    ("LayerNormalization", {"axis": [1, 2], "rms_scaling": True}, (BATCH, TIMESTEPS, FEATURES),
     "none"),
    ("LayerNormalization", {"dtype": "float64"}, (BATCH, TIMESTEPS, FEATURES), "none"),
    ("UnitNormalization", {}, (BATCH, TIMESTEPS, FEATURES), "none"),
    ("GroupNormalization", {"groups": 2}, (BATCH, TIMESTEPS, FEATURES), "none"),
    ("RMSNormalization", {}, (BATCH, TIMESTEPS, FEATURES), "none"),
]


@register("normalization")
def normalization_cases(seed: int) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, fn: Callable[[], ParityReport]) -> None:
        cases.append(Case(name, fn))

    for cls, options, shape, training, mask in FORWARD_ROWS:
        label = _label(cls, options, training, mask, shape)
        add(f"normalization/{label} [keras->numpy]",
            lambda c=cls, o=options, s=shape, t=training, m=mask: forward_case(c, o, s, t, m,
                                                                               seed))
    for cls, options in (("BatchNormalization", {"axis": 1}), ("LayerNormalization",
                                                              {"axis": [1, 2]})):
        shape = (BATCH, TIMESTEPS, FEATURES)
        add(f"normalization/{_label(cls, options, False, 'none', shape)} [numpy->keras]",
            lambda c=cls, o=options, s=shape: forward_case(c, o, s, False, "none", seed,
                                                           "numpy->keras"))
    for cls, options, shape, mask in GRAD_ROWS:
        add(f"grad/normalization/{_label(cls, options, True, mask, shape)}",
            lambda c=cls, o=options, s=shape, m=mask: grad_case(c, o, s, m, seed))
    # one training row (Keras traces its train function once per model: seconds; Adam and
    # RMSprop run in tests/parity/test_normalization_parity.py)
    add(training_name("sgd"), lambda: training_case("sgd", seed))
    return cases
