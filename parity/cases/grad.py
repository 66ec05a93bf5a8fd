"""Gradient and training rows of ``numpy-rnn parity`` (``--only 'grad/*'``).

* ``grad/pipeline``: the original example's Embedding -> LSTM on the shipped corpus windows
  (Keras's own initialisation), the sum of the LSTM's last output differentiated;
* ``grad/lstm/<option>``: the LSTM option grid of ``parity.cases.core`` at its shapes (batch 500,
  12 steps, 20 features, 100 units), the same inputs, masks, initial states and weights as the
  forward rows;
* ``grad/gru``, ``grad/simple_rnn``, ``grad/bidirectional``, ``grad/dense``, ``grad/embedding``,
  ``grad/masking``: the family at ``parity.cases.family``'s small shapes, with mask patterns;
* ``grad/models``: stacked models with a loss (the output mask of a sequence output applied);
* ``grad/training``: the seed's next-word model (Embedding(mask_zero) -> LSTM -> Dense softmax,
  sparse categorical cross-entropy) trained five steps on the corpus windows in NumPy and in
  Keras, float64 (``compare_training``): with ``"rmsprop"`` as the original seed compiled it,
  and with plain SGD; and its LSTM -> Dense trained with SGD in float32 on the windows embedded
  by its Embedding (each step from the same weights): the training row of a backend whose Keras
  does not compute float64 (``parity.bridge.deviations``).  Not the Embedding in float32: Keras on
  TensorFlow applies an Embedding's gradient as ``IndexedSlices``, one rounded update per read of
  a row, which numpy_rnn reproduces; Keras on JAX and PyTorch apply the summed gradient once, so a
  frequently read row ends a float32 step up to 7 ulp apart (measured, docs/backends.md).

Every gradient row is one :func:`parity.compare_gradients` call whose float32 disagreements, if
any, the float64 Keras referee settles (``parity.bridge.grad_referee``, as the forward grid rows
use ``parity.bridge.referee``); every training row one :func:`parity.compare_training` call.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import numpy_rnn
from numpy_rnn import losses

from ..bridge import backend, from_keras, to_numpy
from ..bridge.grad_referee import refereed_gradients
from ..bridge.train import compare_training
from ..report import ParityReport
from .case import Case, register
from .core import LSTM_GRID, SEED_HIDDEN_DIM, SEED_UNITS, SEED_WINDOW, lstm_grid_keras
from .family import BATCH, FEATURES, TIMESTEPS, UNITS, family_mask
from .models import padded_ids, stacked_keras
from .weights import GATES, randomize, randomize_model

#: Rows of the seed's training: windows per batch and steps.
TRAIN_BATCH, TRAIN_STEPS = 32, 5


def _keras():
    return backend.require()  # Keras 3 on this process's backend


def _windows() -> tuple[numpy_rnn.Vocabulary, np.ndarray]:
    vocab = numpy_rnn.Vocabulary()
    windows = vocab.tokenize(numpy_rnn.datasets.load_corpus_lines(), SEED_WINDOW)
    return vocab, windows


def pipeline_case(seed: int) -> ParityReport:
    """Corpus windows -> Embedding -> LSTM (Keras init): d(sum of the last output)."""
    keras = _keras()
    vocab, windows = _windows()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((SEED_WINDOW - 1,), dtype="int32"),
                              keras.layers.Embedding(vocab.size, SEED_HIDDEN_DIM),
                              keras.layers.LSTM(SEED_UNITS)], name="seed_pipeline")
    return refereed_gradients(from_keras(model), model, windows[:, :-1],
                             case="grad/pipeline embedding->lstm (keras init)")


def lstm_grid_grad_case(option: str, seed: int) -> ParityReport:
    k, x, call = lstm_grid_keras(option, seed)
    return refereed_gradients(from_keras(k), k, x, case=f"grad/lstm/{option}", **call)


def _label(options: dict) -> str:
    return ",".join(k if v is True else f"{k}={v}" for k, v in options.items()) or "default"


def rnn_grad_case(cls: str, options: dict, mask: str, seed: int,
                  initial_state: bool = False) -> ParityReport:
    """One recurrent layer of the family (gate-distinct weights), every output summed."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    dtype = options.get("dtype", "float32")
    x = rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype(dtype)
    k = getattr(keras.layers, cls)(UNITS, **options)
    k.build((None, None, FEATURES))
    randomize(k, GATES[cls], rng, dtype)
    call: dict[str, Any] = {} if mask == "none" else {"mask": family_mask(mask)}
    if initial_state:
        n_states = 2 if cls == "LSTM" else 1
        call["initial_state"] = [rng.normal(size=(BATCH, UNITS)).astype(dtype) * 0.5
                                 for _ in range(n_states)]
    name = f"grad/{cls.lower()}/{_label(options)} mask={mask}" + (
        " initial_state" if initial_state else "")
    return refereed_gradients(from_keras(k), k, x, case=name, **call)


def bidirectional_grad_case(cls: str, merge_mode: str | None, mask: str, seed: int) -> ParityReport:
    keras = _keras()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype("float32")
    k = keras.layers.Bidirectional(getattr(keras.layers, cls)(
        UNITS, return_sequences=True, return_state=True), merge_mode=merge_mode)
    k.build((None, None, FEATURES))
    randomize(k, GATES[cls], rng)
    call = {} if mask == "none" else {"mask": family_mask(mask)}
    return refereed_gradients(from_keras(k), k, x, case=f"grad/bidirectional/{cls.lower()} "
                             f"merge={merge_mode} mask={mask}", **call)


def dense_grad_case(shape: tuple, activation: str | None, seed: int,
                    loss: str | None = None) -> ParityReport:
    keras = _keras()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype("float32")
    k = keras.layers.Dense(UNITS, activation=activation)
    k.build((None, shape[-1]))
    randomize(k, 1, rng)
    targets = None
    if loss is not None:  # one-hot targets for a cross-entropy
        targets = np.eye(UNITS, dtype="float32")[rng.integers(0, UNITS, size=shape[:-1])]
    return refereed_gradients(from_keras(k), k, x, targets=targets, loss=loss,
                             case=f"grad/dense/{len(shape)}-D activation={activation}"
                                  + (f" loss={loss}" if loss else ""))


def embedding_grad_case(seed: int) -> ParityReport:
    """Ids read several times each: the table's gradient sums over every read."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    k = keras.layers.Embedding(11, FEATURES)
    k.build()
    randomize(k, 1, rng)
    ids = rng.integers(0, 11, size=(BATCH, TIMESTEPS)).astype("int32")
    return refereed_gradients(from_keras(k), k, ids, case="grad/embedding ids read repeatedly")


def masking_grad_case(seed: int) -> ParityReport:
    """Masking(0.5) -> GRU(sequences) as a model: the masked steps get no input gradient."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype("float32")
    x[~family_mask("all_masked_row")] = 0.5
    model = keras.Sequential([keras.Input((TIMESTEPS, FEATURES)), keras.layers.Masking(0.5),
                              keras.layers.GRU(UNITS, return_sequences=True)], name="masking_gru")
    randomize_model(model, rng)
    return refereed_gradients(from_keras(model), model, x, case="grad/masking(0.5) -> gru")


def stacked_grad_case(top: str, seed: int) -> ParityReport:
    """The stacked models of ``parity.cases.models`` with an MSE loss on random targets (the
    bidirectional one ends in a masked sequence: the loss skips the padded steps)."""
    rng = np.random.default_rng(seed)
    k = stacked_keras(top, rng)
    ids = padded_ids("left", rng)
    targets = rng.normal(size=tuple(to_numpy(k(ids)).shape)).astype("float32")
    return refereed_gradients(from_keras(k), k, ids, targets=targets, loss="mse",
                             case=f"grad/models/stacked embedding->lstm->{top}->dense loss=mse")


def seed_training_case(optimizer: str, seed: int) -> ParityReport:
    """The seed's next-word model, float64, five ``train_on_batch`` steps in both libraries."""
    keras = _keras()
    vocab, windows = _windows()
    keras.utils.set_random_seed(seed)
    dtype = "float64"
    model = keras.Sequential([
        keras.Input((SEED_WINDOW - 1,), dtype="int32"),
        keras.layers.Embedding(vocab.size, SEED_HIDDEN_DIM, mask_zero=True, dtype=dtype),
        keras.layers.LSTM(SEED_UNITS, dtype=dtype),
        keras.layers.Dense(vocab.size, activation="softmax", dtype=dtype)], name="seed_next_word")
    twin = from_keras(model)
    twin.compile(optimizer=optimizer, loss=losses.SparseCategoricalCrossentropy(dtype=dtype))
    return compare_training(twin, model, windows[:, :-1], windows[:, -1], steps=TRAIN_STEPS,
                            batch_size=TRAIN_BATCH, case=training_name(optimizer))


def training_name(optimizer: str) -> str:
    return (f"grad/training seed next-word model {TRAIN_STEPS} steps {optimizer} float64")


#: The float32 training row (module docstring).
DENSE_TRAINING = (f"grad/training seed lstm->dense on embedded windows {TRAIN_STEPS} steps sgd "
                  "float32")


def embedded_training_case(seed: int) -> ParityReport:
    """The seed's LSTM -> Dense(softmax), float32, on the windows its Embedding embeds (Keras's
    initialisation), five SGD steps in both libraries."""
    keras = _keras()
    vocab, windows = _windows()
    keras.utils.set_random_seed(seed)
    embedding = keras.layers.Embedding(vocab.size, SEED_HIDDEN_DIM)
    x = to_numpy(embedding(windows[:, :-1]))  # (n_windows, 25, 50) float32
    model = keras.Sequential([keras.Input((SEED_WINDOW - 1, SEED_HIDDEN_DIM)),
                              keras.layers.LSTM(SEED_UNITS),
                              keras.layers.Dense(vocab.size, activation="softmax")],
                             name="seed_lstm_dense")
    twin = from_keras(model)
    twin.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy())
    return compare_training(twin, model, x, windows[:, -1], steps=TRAIN_STEPS,
                            batch_size=TRAIN_BATCH, case=DENSE_TRAINING)


#: Family rows: (layer, options, mask, initial_state).
RNN_ROWS: list[tuple[str, dict, str, bool]] = [
    ("GRU", {"return_sequences": True, "return_state": True}, "holes", True),
    ("GRU", {"reset_after": False, "return_sequences": True}, "left", False),
    ("GRU", {"go_backwards": True, "return_sequences": True, "dtype": "float64"}, "right", True),
    ("SimpleRNN", {"return_sequences": True, "return_state": True}, "all_masked_row", True),
    ("SimpleRNN", {"activation": "relu", "go_backwards": True}, "holes", False),
    ("LSTM", {"return_sequences": True, "return_state": True,
              "zero_output_for_mask": True}, "all_masked_row", True),
]


@register("grad")
def grad_cases(seed: int) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, fn: Callable[[], ParityReport]) -> None:
        cases.append(Case(name, fn))

    add("grad/pipeline embedding->lstm (keras init)", lambda: pipeline_case(seed))
    for option in LSTM_GRID:
        add(f"grad/lstm/{option}", lambda o=option: lstm_grid_grad_case(o, seed))
    for cls, options, mask, init in RNN_ROWS:
        name = f"grad/{cls.lower()}/{_label(options)} mask={mask}" + (
            " initial_state" if init else "")
        add(name, lambda c=cls, o=options, m=mask, i=init: rnn_grad_case(c, o, m, seed, i))
    for cls, merge_mode, mask in (("LSTM", "concat", "holes"), ("LSTM", "mul", "left"),
                                  ("GRU", "sum", "right"), ("GRU", None, "all_masked_row"),
                                  ("SimpleRNN", "ave", "holes")):
        add(f"grad/bidirectional/{cls.lower()} merge={merge_mode} mask={mask}",
            lambda c=cls, mm=merge_mode, m=mask: bidirectional_grad_case(c, mm, m, seed))
    for shape, activation, loss in (((BATCH, FEATURES), None, None),
                                    ((BATCH, TIMESTEPS, FEATURES), "tanh", None),
                                    ((BATCH, FEATURES), "softmax", "categorical_crossentropy")):
        label = f"grad/dense/{len(shape)}-D activation={activation}"
        add(label + (f" loss={loss}" if loss else ""),
            lambda s=shape, a=activation, lo=loss: dense_grad_case(s, a, seed, lo))
    add("grad/embedding ids read repeatedly", lambda: embedding_grad_case(seed))
    add("grad/masking(0.5) -> gru", lambda: masking_grad_case(seed))
    for top in ("gru", "bidirectional"):
        add(f"grad/models/stacked embedding->lstm->{top}->dense loss=mse",
            lambda t=top: stacked_grad_case(t, seed))
    for optimizer in ("rmsprop", "sgd"):
        add(training_name(optimizer), lambda o=optimizer: seed_training_case(o, seed))
    # float32 with SGD only: an adaptive optimizer turns float32 rounding in a near-zero
    # gradient into a full step (rmsprop float32, measured: lstm/bias 4.8e-6 of its change after
    # one step, 129 ulp), which is why training is proven in float64 above
    add(DENSE_TRAINING, lambda: embedded_training_case(seed))
    return cases
