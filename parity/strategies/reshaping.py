"""Hypothesis strategies for the reshaping layers: Flatten, Reshape, Permute, RepeatVector,
Cropping1D, ZeroPadding1D, UpSampling1D and TimeDistributed (around Dense, Flatten, an LSTM / GRU
with a per-step mask, a Bidirectional).

``reshaping_cases()`` returns :class:`ReshapingCase` named tuples: the Keras class, its
constructor options (``parity.cases.reshaping.keras_layer`` builds the layer from them), the
inputs, an optional mask and a seed for the weights; everything is built deterministically from
drawn integers, so examples are cheap and reproducible.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from hypothesis import strategies as st

from ..cases.reshaping import step_mask

__all__ = ["ReshapingCase", "RESHAPING_LAYERS", "reshaping_cases"]

RESHAPING_LAYERS = ("Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D",
                    "ZeroPadding1D", "UpSampling1D", "TimeDistributed")
_DTYPES = ("float32", "float64")
_ACTIVATIONS = (None, "tanh", "relu", "sigmoid", "softmax")


class ReshapingCase(NamedTuple):
    """``layer``: a Keras class name; ``options``: its constructor options (TimeDistributed /
    Bidirectional: ``"layer": (class, options)``); ``inputs`` ``(batch, ...)``; ``mask`` (the
    first three axes, for a TimeDistributed recurrent layer) or None; ``seed`` for the weights."""

    layer: str
    options: dict
    inputs: np.ndarray
    mask: np.ndarray | None
    seed: int
    dtype: str


def _dims(draw, rank: int, low: int = 1, high: int = 4) -> tuple:
    return tuple(draw(st.integers(low, high)) for _ in range(rank))


def _split(draw, size: int) -> tuple:
    """A random factorisation of ``size`` into 1 to 3 factors (one maybe replaced by -1)."""
    factors = []
    rest = size
    for _ in range(draw(st.integers(0, 2))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        factors.append(d)
        rest //= d
    factors.append(rest)
    factors = draw(st.permutations(factors))
    if draw(st.booleans()):
        factors[draw(st.integers(0, len(factors) - 1))] = -1
    return tuple(factors)


@st.composite
def _options(draw, layer: str) -> tuple[dict, tuple, bool]:
    """``(options, input shape without the batch axis, masked)`` for ``layer``."""
    if layer == "Flatten":
        fmt = draw(st.sampled_from([None, "channels_last", "channels_first"]))
        options = {} if fmt is None else {"data_format": fmt}
        return options, _dims(draw, draw(st.integers(1, 3))), False
    if layer == "Reshape":
        shape = _dims(draw, draw(st.integers(1, 3)))
        return {"target_shape": _split(draw, math.prod(shape))}, shape, False
    if layer == "Permute":
        rank = draw(st.integers(1, 3))
        return {"dims": tuple(draw(st.permutations(range(1, rank + 1))))}, _dims(draw, rank), False
    if layer == "RepeatVector":
        return {"n": draw(st.integers(1, 4))}, _dims(draw, 1, 1, 5), False
    if layer == "Cropping1D":
        steps = draw(st.integers(1, 7))
        start = draw(st.integers(0, steps - 1))
        end = draw(st.integers(0, steps - 1 - start))
        cropping = start if start == end and draw(st.booleans()) else (start, end)
        return {"cropping": cropping}, (steps, draw(st.integers(1, 3))), False
    if layer == "ZeroPadding1D":
        padding = draw(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3),
                                                               st.integers(0, 3))))
        fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
        return {"padding": padding, "data_format": fmt}, _dims(draw, 2, 1, 5), False
    if layer == "UpSampling1D":
        return {"size": draw(st.integers(1, 4))}, _dims(draw, 2, 1, 4), False
    inner = draw(st.sampled_from(["Dense", "Flatten", "LSTM", "GRU", "Bidirectional"]))
    steps = draw(st.integers(1, 4))
    if inner == "Dense":
        rank = draw(st.integers(1, 2))
        opts = {"units": draw(st.integers(1, 5)),
                "activation": draw(st.sampled_from(_ACTIVATIONS)),
                "use_bias": draw(st.booleans())}
        return {"layer": ("Dense", opts)}, (steps,) + _dims(draw, rank, 1, 5), False
    if inner == "Flatten":
        return {"layer": ("Flatten", {})}, (steps,) + _dims(draw, 2, 1, 3), False
    rnn = {"units": draw(st.integers(1, 4)), "return_sequences": draw(st.booleans()),
           "go_backwards": draw(st.booleans())}
    shape = (steps, draw(st.integers(1, 5)), draw(st.integers(1, 4)))
    if inner == "Bidirectional":
        cls = draw(st.sampled_from(["LSTM", "GRU", "SimpleRNN"]))
        rnn.pop("go_backwards")
        layer_opts = ("Bidirectional", {"layer": (cls, rnn),
                                        "merge_mode": draw(st.sampled_from(
                                            ["concat", "sum", "mul", "ave"]))})
        return {"layer": layer_opts}, shape, draw(st.booleans())
    return {"layer": (inner, rnn)}, shape, draw(st.booleans())


@st.composite
def reshaping_cases(draw, layers: tuple = RESHAPING_LAYERS,
                    dtypes: tuple = _DTYPES) -> ReshapingCase:
    """One example of a layer of ``layers``: options, inputs of batch 1 to 3, maybe a mask."""
    layer = draw(st.sampled_from(layers))
    options, shape, masked = draw(_options(layer))
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(draw(st.integers(1, 3)),) + tuple(shape)).astype(dtype)
    mask = step_mask(rng, x.shape) if masked else None
    return ReshapingCase(layer, options, x, mask, seed, dtype)
