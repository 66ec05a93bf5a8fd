"""Parity cases of the reshaping layers for ``numpy-rnn parity`` (``--only 'reshaping/*'``):
Flatten, Reshape, Permute, RepeatVector, Cropping1D, ZeroPadding1D, UpSampling1D and
TimeDistributed (around Dense, around an LSTM given a per-step mask, around a Bidirectional GRU),
forward rows in both directions of the weight copy and ``grad/`` rows (every weight gradient and
the input gradient against ``tf.GradientTape``), float32 and float64; plus two models: the Keras
number-addition example (Embedding -> LSTM -> RepeatVector -> LSTM(sequences) ->
TimeDistributed(Dense softmax), sparse categorical cross-entropy) and Embedding -> ZeroPadding1D
-> Cropping1D -> UpSampling1D -> Permute -> Reshape -> Flatten -> Dense.  Small shapes: the group
runs in a few seconds.

The builders (:func:`keras_layer`, :func:`built_keras`) are also what the hypothesis strategies
(``parity.strategies.reshaping``) and the tests use.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..bridge import compare, from_keras, to_keras
from ..bridge.grad_referee import refereed_gradients
from ..report import ParityReport
from .case import Case, register
from .weights import GATES, gate_weights, randomize_model

BATCH = 3

#: (row label, Keras class, constructor options, input shape without the batch axis, mask).
#: TimeDistributed's options hold ``"layer": (class, options)`` (nested for a Bidirectional).
ROWS: list[tuple[str, str, dict, tuple, bool]] = [
    ("flatten 4-D", "Flatten", {}, (3, 2, 4), False),
    ("flatten channels_first", "Flatten", {"data_format": "channels_first"}, (3, 2, 4), False),
    ("reshape (-1, 4)", "Reshape", {"target_shape": (-1, 4)}, (6, 2), False),
    ("permute (3, 1, 2)", "Permute", {"dims": (3, 1, 2)}, (3, 2, 4), False),
    ("repeat_vector n=3", "RepeatVector", {"n": 3}, (5,), False),
    ("cropping1d (2, 1)", "Cropping1D", {"cropping": (2, 1)}, (7, 4), False),
    ("zero_padding1d (1, 3)", "ZeroPadding1D", {"padding": (1, 3)}, (5, 4), False),
    ("zero_padding1d (2, 0) channels_first", "ZeroPadding1D",
     {"padding": (2, 0), "data_format": "channels_first"}, (4, 5), False),
    ("up_sampling1d size=3", "UpSampling1D", {"size": 3}, (4, 2), False),
    ("time_distributed dense tanh", "TimeDistributed",
     {"layer": ("Dense", {"units": 5, "activation": "tanh"})}, (4, 6), False),
    ("time_distributed lstm sequences, per-step mask", "TimeDistributed",
     {"layer": ("LSTM", {"units": 4, "return_sequences": True})}, (3, 5, 4), True),
    ("time_distributed bidirectional gru", "TimeDistributed",
     {"layer": ("Bidirectional", {"layer": ("GRU", {"units": 3}), "merge_mode": "concat"})},
     (3, 5, 4), False),
]


def _keras():
    import keras

    return keras


def keras_layer(cls: str, options: dict, dtype: str = "float32") -> Any:
    """A Keras layer from a row's class and options (wrapped layers built recursively)."""
    keras = _keras()
    options = dict(options)
    if cls in ("TimeDistributed", "Bidirectional"):
        inner_cls, inner_options = options.pop("layer")
        inner = keras_layer(inner_cls, inner_options, dtype)
        return getattr(keras.layers, cls)(inner, dtype=dtype, **options)
    return getattr(keras.layers, cls)(dtype=dtype, **options)


def _gates(cls: str, options: dict) -> int:
    while cls in ("TimeDistributed", "Bidirectional"):
        cls, options = options["layer"]
    return GATES.get(cls, 1)


def built_keras(cls: str, options: dict, shape: tuple, dtype: str,
                rng: np.random.Generator) -> Any:
    """The Keras layer built for ``(None, *shape)`` with gate-distinct random weights."""
    k = keras_layer(cls, options, dtype)
    k.build((None,) + tuple(shape))
    if k.weights:
        k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], _gates(cls, options),
                                   rng, dtype))
    return k


def step_mask(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """A mask over the first three axes of ``shape`` (batch, timesteps, steps of the wrapped
    layer), every (sample, timestep) with a valid step; one fully masked sequence."""
    m = rng.random(shape[:3]) < 0.6
    m[..., 0] = True
    m[0, 0, 1:] = False
    return m


def row_inputs(label: str, dtype: str, seed: int) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """``(built Keras layer, inputs, mask or None)`` of the row ``label``."""
    _, cls, options, shape, masked = next(r for r in ROWS if r[0] == label)
    rng = np.random.default_rng(seed)
    k = built_keras(cls, options, shape, dtype, rng)
    x = rng.normal(size=(BATCH,) + tuple(shape)).astype(dtype)
    mask = step_mask(rng, x.shape) if masked else None
    k(x, **({} if mask is None else {"mask": mask}))  # weightless Keras layers build here
    return k, x, mask


def forward_case(label: str, dtype: str, seed: int, direction: str) -> ParityReport:
    k, x, mask = row_inputs(label, dtype, seed)
    n = from_keras(k)
    if direction == "numpy->keras":
        k = to_keras(n)
    call = {} if mask is None else {"mask": mask}
    return compare(n, k, x, case=f"reshaping/{label} {dtype} [{direction}]", **call)


def grad_case(label: str, dtype: str, seed: int) -> ParityReport:
    k, x, mask = row_inputs(label, dtype, seed)
    return refereed_gradients(from_keras(k), k, x, mask=mask,
                              case=f"grad/reshaping/{label} {dtype}")


def number_addition_keras(dtype: str = "float32", rng: np.random.Generator | None = None):
    """The Keras number-addition example at small sizes (digits + '+' + ' ': 12 ids)."""
    keras = _keras()
    rng = rng or np.random.default_rng(0)
    model = keras.Sequential([
        keras.Input((7,), dtype="int32"),
        keras.layers.Embedding(12, 6, dtype=dtype),
        keras.layers.LSTM(8, dtype=dtype),
        keras.layers.RepeatVector(4, dtype=dtype),
        keras.layers.LSTM(8, return_sequences=True, dtype=dtype),
        keras.layers.TimeDistributed(keras.layers.Dense(12, activation="softmax", dtype=dtype),
                                     dtype=dtype)], name="number_addition")
    randomize_model(model, rng, dtype)
    return model


def reshaping_chain_keras(dtype: str = "float32", rng: np.random.Generator | None = None):
    """Embedding -> ZeroPadding1D -> Cropping1D -> UpSampling1D -> Permute -> Reshape ->
    Flatten -> Dense."""
    keras = _keras()
    rng = rng or np.random.default_rng(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((6,), dtype="int32"), layers.Embedding(9, 4, dtype=dtype),
        layers.ZeroPadding1D((1, 2), dtype=dtype), layers.Cropping1D((2, 0), dtype=dtype),
        layers.UpSampling1D(2, dtype=dtype), layers.Permute((2, 1), dtype=dtype),
        layers.Reshape((-1, 7), dtype=dtype), layers.Flatten(dtype=dtype),
        layers.Dense(3, activation="tanh", dtype=dtype)], name="reshaping_chain")
    randomize_model(model, rng, dtype)
    return model


def model_forward_case(name: str, dtype: str, seed: int) -> ParityReport:
    rng = np.random.default_rng(seed)
    build = number_addition_keras if name == "number addition" else reshaping_chain_keras
    k = build(dtype, rng)
    ids = rng.integers(0, 9, size=(5, k.inputs[0].shape[1])).astype("int32")
    n = from_keras(k)
    report = compare(n, k, ids, case=f"reshaping/models/{name} {dtype}")
    for diff in compare(n, to_keras(n), ids, case="").outputs:
        diff.name = f"{diff.name} [numpy->keras]"
        report.outputs.append(diff)
    return report


def model_grad_case(name: str, dtype: str, seed: int) -> ParityReport:
    rng = np.random.default_rng(seed)
    build = number_addition_keras if name == "number addition" else reshaping_chain_keras
    k = build(dtype, rng)
    ids = rng.integers(0, 9, size=(5, k.inputs[0].shape[1])).astype("int32")
    if name == "number addition":
        targets = rng.integers(0, 12, size=(5, 4))
        loss = "sparse_categorical_crossentropy"
    else:
        targets = rng.normal(size=(5, 3)).astype(dtype)
        loss = "mse"
    return refereed_gradients(from_keras(k), k, ids, targets=targets, loss=loss,
                              case=f"grad/reshaping/models/{name} {dtype} loss={loss}")


@register("reshaping")
def reshaping_cases(seed: int) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, fn: Callable[[], ParityReport]) -> None:
        cases.append(Case(name, fn))

    for i, (label, *_rest) in enumerate(ROWS):
        dtype = "float64" if i % 3 == 2 else "float32"
        for direction in ("keras->numpy", "numpy->keras"):
            add(f"reshaping/{label} {dtype} [{direction}]",
                lambda lb=label, d=dtype, dr=direction: forward_case(lb, d, seed, dr))
        add(f"grad/reshaping/{label} {dtype}", lambda lb=label, d=dtype: grad_case(lb, d, seed))
    for name in ("number addition", "reshaping chain"):
        for dtype in ("float32", "float64"):
            add(f"reshaping/models/{name} {dtype}",
                lambda nm=name, d=dtype: model_forward_case(nm, d, seed))
        loss = "sparse_categorical_crossentropy" if name == "number addition" else "mse"
        add(f"grad/reshaping/models/{name} float32 loss={loss}",
            lambda nm=name: model_grad_case(nm, "float32", seed))
    return cases
