"""The fixed grid's Embedding and LSTM option rows rebuilt on another reference library
(``numpy-rnn parity --reference tf_keras``: Keras 2)."""
from __future__ import annotations

from typing import Any

import numpy as np

import numpy_rnn

from ..bridge import compare, from_keras, reference_module, refereed_parity
from ..report import ParityReport
from .case import Case
from .core import LSTM_GRID, LSTM_SHAPE
from .masks import make_mask
from .weights import gate_weights

__all__ = ["reference_cases"]


def _reference_grid_case(option: str, seed: int, reference: str, name: str) -> ParityReport:
    """``parity.cases.core``'s LSTM option at the original example's shapes, built with ``reference``."""
    kwargs, extras = LSTM_GRID[option]
    ref = reference_module(reference)
    batch, timesteps, features, units = LSTM_SHAPE
    rng = np.random.default_rng(seed)
    dtype = kwargs.get("dtype", "float32")
    x = rng.normal(size=(batch, timesteps, features)).astype(dtype)
    call: dict[str, Any] = {}
    if extras.get("initial_state"):
        call["initial_state"] = [rng.normal(size=(batch, units)).astype(dtype) * 0.5
                                 for _ in range(2)]
    if "mask" in extras:
        call["mask"] = make_mask(extras["mask"], batch, timesteps, rng)
    layer = ref.layers.LSTM(units, **kwargs)
    layer.build((None, None, features))
    layer.set_weights(gate_weights([tuple(w.shape) for w in layer.weights], 4, rng, dtype))
    # a float32 disagreement is settled by the same layer rebuilt in float64 (parity/bridge/referee)
    return refereed_parity(from_keras(layer), layer, x, case=name, **call)


def _reference_embedding_case(seed: int, reference: str, name: str) -> ParityReport:
    """The original example's Embedding (corpus windows, 50 dims) built with ``reference``."""
    ref = reference_module(reference)
    vocab = numpy_rnn.Vocabulary()
    windows = vocab.tokenize(numpy_rnn.datasets.load_corpus_lines(), 26)
    layer = ref.layers.Embedding(vocab.size, 50)
    layer.build((None, None))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=(vocab.size, 50)).astype("float32")])
    return compare(from_keras(layer), layer, windows[:, :-1], case=name)


def reference_cases(seed: int, reference: str) -> list[Case]:
    """Cases rebuilt on ``reference`` when it is another library than the fixed grid's Keras 3
    (tf_keras); none for Keras 3 on any backend (the fixed grid runs on that backend)."""
    if reference != "tf_keras":
        return []
    out = [Case(f"{reference}/embedding",
                lambda: _reference_embedding_case(seed, reference, f"{reference}/embedding"),
                group=reference, params={"reference": reference})]
    for option in LSTM_GRID:
        name = f"{reference}/lstm {option}"
        out.append(Case(name, lambda o=option, n=name: _reference_grid_case(o, seed, reference, n),
                        group=reference, params={"reference": reference, "option": option}))
    return out
