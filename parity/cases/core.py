"""Core parity cases: the original numpy-RNN example's pipeline (corpus -> Vocabulary -> Embedding -> LSTM) at its
sizes, and a grid of LSTM options at its LSTM shapes (batch 500, 12 steps, 20 features,
100 units)."""
from __future__ import annotations

import numpy as np

import numpy_rnn

from ..bridge import (backend, compare, from_keras, install_hint, refereed_parity, to_keras,
                      to_numpy)
from ..report import ParityReport, diff_arrays
from .case import Case, register
from .masks import make_mask
from .weights import gate_weights

SEED_HIDDEN_DIM = 50
SEED_UNITS = 100
SEED_WINDOW = 26
LSTM_SHAPE = (500, 12, 20, 100)  # batch, timesteps, features, units (the original example's README)


def _keras():
    return backend.require()  # Keras 3 on this process's backend


def _seed_pipeline(seed: int):
    """Corpus -> ids -> windows, once per run (shared by the pipeline cases)."""
    corpus = numpy_rnn.datasets.load_corpus_lines()
    vocab = numpy_rnn.Vocabulary()
    windows = vocab.tokenize(corpus, SEED_WINDOW)
    return corpus, vocab, windows


def _tokenize_case(seed: int) -> ParityReport:
    corpus, vocab, windows = _seed_pipeline(seed)
    try:
        from tf_keras.preprocessing.text import Tokenizer
    except ImportError:
        return ParityReport("pipeline/tokenize", [],
                            skipped=f"tf_keras is not installed ({install_hint('legacy')})")
    tok = Tokenizer()
    tok.fit_on_texts(corpus)
    stream = np.array([i for seq in tok.texts_to_sequences(corpus) for i in seq])
    n = len(stream) - SEED_WINDOW + 1
    expected = np.stack([stream[i:i + SEED_WINDOW] for i in range(n)])
    same_index = vocab.word_index == tok.word_index
    diff = diff_arrays("windows", windows, expected)
    if not same_index:
        diff.passed = False
        diff.note = "word_index differs from Tokenizer.word_index"
    return ParityReport("pipeline/tokenize", [diff])


def _embedding_case(seed: int) -> ParityReport:
    keras = _keras()
    _, vocab, windows = _seed_pipeline(seed)
    keras.utils.set_random_seed(seed)
    k_emb = keras.layers.Embedding(vocab.size, SEED_HIDDEN_DIM)
    k_emb.build()
    np_emb = from_keras(k_emb)
    x = windows[:, :-1]
    return compare(np_emb, k_emb, x, case="pipeline/embedding (keras init)")


def _pipeline_lstm_case(seed: int, return_sequences: bool) -> ParityReport:
    keras = _keras()
    _, vocab, windows = _seed_pipeline(seed)
    keras.utils.set_random_seed(seed)
    k_emb = keras.layers.Embedding(vocab.size, SEED_HIDDEN_DIM)
    k_emb.build()
    lstm_inputs = to_numpy(k_emb(windows[:, :-1]))  # (n_windows, 25, 50)
    k_lstm = keras.layers.LSTM(SEED_UNITS, return_sequences=return_sequences)
    k_lstm.build((None, None, SEED_HIDDEN_DIM))
    name = "pipeline/lstm " + ("sequences" if return_sequences else "last") + " (keras init)"
    return compare(from_keras(k_lstm), k_lstm, lstm_inputs, case=name)


#: name -> (LSTM kwargs, call extras) for the option grid.
LSTM_GRID = {
    "default": ({}, {}),
    "return_sequences": ({"return_sequences": True}, {}),
    "return_state": ({"return_sequences": True, "return_state": True}, {}),
    "go_backwards": ({"return_sequences": True, "go_backwards": True}, {}),
    "use_bias=False": ({"use_bias": False, "return_sequences": True}, {}),
    "relu/hard_sigmoid": ({"activation": "relu", "recurrent_activation": "hard_sigmoid",
                           "return_sequences": True}, {}),
    "softsign/linear": ({"activation": "softsign", "recurrent_activation": "linear",
                         "return_sequences": True}, {}),
    "initial_state": ({"return_sequences": True, "return_state": True}, {"initial_state": True}),
    "mask right-pad": ({"return_sequences": True, "return_state": True}, {"mask": "right"}),
    "mask left-pad+go_backwards": ({"return_sequences": True, "go_backwards": True},
                                   {"mask": "left"}),
    "float64": ({"return_sequences": True, "dtype": "float64"}, {}),
}


def lstm_grid_example(option: str, seed: int) -> tuple[dict, np.ndarray, dict, np.random.Generator]:
    """``(LSTM kwargs, inputs, call arguments, rng)`` of one grid option at the original
    example's shapes; the rng then draws the weights (``gate_weights``)."""
    kwargs, extras = LSTM_GRID[option]
    batch, timesteps, features, units = LSTM_SHAPE
    rng = np.random.default_rng(seed)
    dtype = kwargs.get("dtype", "float32")
    x = rng.normal(size=(batch, timesteps, features)).astype(dtype)
    call = {}
    if extras.get("initial_state"):
        call["initial_state"] = [rng.normal(size=(batch, units)).astype(dtype) * 0.5
                                 for _ in range(2)]
    if "mask" in extras:
        call["mask"] = make_mask(extras["mask"], batch, timesteps, rng)
    return kwargs, x, call, rng


def lstm_grid_keras(option: str, seed: int):
    """``(keras LSTM with gate-distinct weights, inputs, call arguments)`` of a grid option."""
    keras = _keras()
    kwargs, x, call, rng = lstm_grid_example(option, seed)
    _, _, features, units = LSTM_SHAPE
    k = keras.layers.LSTM(units, **kwargs)
    k.build((None, None, features))
    k.set_weights(gate_weights([tuple(w.shape) for w in k.weights], 4, rng,
                               kwargs.get("dtype", "float32")))
    return k, x, call


def lstm_grid_case(option: str, seed: int, direction: str = "keras->numpy") -> ParityReport:
    """One option of the grid at the original example's shapes, with gate-distinct random weights."""
    if direction == "keras->numpy":
        k, x, call = lstm_grid_keras(option, seed)
        np_layer = from_keras(k)
    else:
        kwargs, x, call, rng = lstm_grid_example(option, seed)
        _, _, features, units = LSTM_SHAPE
        dtype = kwargs.get("dtype", "float32")
        np_layer = numpy_rnn.LSTM(units, features, **kwargs, seed=seed)
        np_layer.set_weights(gate_weights([w.shape for w in np_layer.get_weights()], 4, rng, dtype))
        k = to_keras(np_layer)
    # A linear gate ("softsign/linear") lets the state grow and amplifies float32 rounding on
    # both sides (measured: 2.8e-6 against an allowance of 2.25e-6 on an AMD EPYC with FMA, within
    # tolerance elsewhere); the float64 Keras referee then decides (parity/referee.py).
    return refereed_parity(np_layer, k, x, case=f"lstm/{option} [{direction}]", **call)


@register("core")
def core_cases(seed: int) -> list[Case]:
    cases = [
        Case("pipeline/tokenize", lambda: _tokenize_case(seed)),
        Case("pipeline/embedding (keras init)", lambda: _embedding_case(seed)),
        Case("pipeline/lstm last (keras init)", lambda: _pipeline_lstm_case(seed, False)),
        Case("pipeline/lstm sequences (keras init)", lambda: _pipeline_lstm_case(seed, True)),
    ]
    for option in LSTM_GRID:
        cases.append(Case(f"lstm/{option} [keras->numpy]",
                          lambda o=option: lstm_grid_case(o, seed, "keras->numpy")))
    for option in ("return_state", "go_backwards", "float64"):
        cases.append(Case(f"lstm/{option} [numpy->keras]",
                          lambda o=option: lstm_grid_case(o, seed, "numpy->keras")))
    return cases
