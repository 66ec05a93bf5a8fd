"""Hypothesis strategies for the recurrent family: GRU, SimpleRNN, Bidirectional, Dense, and masks.

Composite strategies return named tuples (``GRUCase(config, inputs, weights, mask,
initial_state)`` ...), built deterministically by ``make_*_case`` from a drawn seed, so examples are
cheap and reproducible.  Weights come from ``parity.cases.weights.gate_weights``: every gate block gets its
own scale and biases are non-zero, so a gate-order or bias-placement bug cannot hide.

Masks use the project's patterns (``parity.cases.masks.MASK_KINDS``: none, all_valid, left,
right, holes, some_fully_masked, random); ``mask_arrays`` draws one.  ``parity.strategies``
re-exports every name in ``__all__``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hypothesis import strategies as st

from ..cases.masks import MASK_KINDS, make_mask
from ..cases.random import Shape
from ..cases.weights import GATES, gate_weights

__all__ = [
    "GRUCase", "SimpleRNNCase", "BidirectionalCase", "DenseCase", "FAMILY_MASK_KINDS",
    "MERGE_MODES", "mask_arrays", "gru_configs", "simple_rnn_configs", "make_gru_case",
    "make_simple_rnn_case", "make_bidirectional_case", "make_dense_case", "gru_cases",
    "simple_rnn_cases", "bidirectional_cases", "dense_cases", "recurrent_weight_shapes",
]

#: Every mask pattern; the same names as ``parity.strategies.MASK_KINDS``.
FAMILY_MASK_KINDS = MASK_KINDS
MERGE_MODES = ("concat", "sum", "mul", "ave", None)
#: Element-wise activations whose float32 rounding stays within the tolerance table over a few
#: steps (unbounded ones are included: the relative term of the tolerance covers them).
_ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear", None, "softsign", "elu")
_RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid", "tanh", "softsign", "linear")
_DTYPES = ("float32", "float64")
_N_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}


class GRUCase(NamedTuple):
    """One GRU parity example: constructor options (with units), inputs, weights in Keras order,
    an optional ``(batch, timesteps)`` mask and an optional ``[h0]``."""

    config: dict
    inputs: np.ndarray
    weights: list
    mask: np.ndarray | None
    initial_state: list | None


class SimpleRNNCase(NamedTuple):
    config: dict
    inputs: np.ndarray
    weights: list
    mask: np.ndarray | None
    initial_state: list | None


class BidirectionalCase(NamedTuple):
    """``config = {"layer": class name, "layer_config": inner options, "merge_mode": ...}``;
    ``weights`` forward layer's then backward layer's; ``initial_state`` forward then backward."""

    config: dict
    inputs: np.ndarray
    weights: list
    mask: np.ndarray | None
    initial_state: list | None


class DenseCase(NamedTuple):
    """``inputs`` of rank 2 to 4; ``weights`` ``[kernel (features, units), bias (units,)]``."""

    config: dict
    inputs: np.ndarray
    weights: list


def mask_arrays(batch: int, timesteps: int,
                kinds: tuple = FAMILY_MASK_KINDS) -> st.SearchStrategy[np.ndarray | None]:
    """A ``(batch, timesteps)`` boolean mask of a drawn pattern (None for "none")."""
    return st.builds(lambda kind, seed: make_mask(kind, batch, timesteps,
                                                        np.random.default_rng(seed)),
                     st.sampled_from(kinds), st.integers(0, 2**32 - 1))


def recurrent_weight_shapes(layer: str, features: int, units: int, *, use_bias: bool = True,
                            reset_after: bool = True) -> list[tuple]:
    """Keras's weight shapes ``[kernel, recurrent_kernel, (bias)]`` of an LSTM/GRU/SimpleRNN."""
    g = GATES[layer] * units
    out = [(features, g), (units, g)]
    if use_bias:
        out.append((2, g) if layer == "GRU" and reset_after else (g,))
    return out


def _rnn_options(draw, dtypes, activations) -> dict:
    return {
        "return_sequences": draw(st.booleans()),
        "return_state": draw(st.booleans()),
        "go_backwards": draw(st.booleans()),
        "use_bias": draw(st.booleans()),
        "zero_output_for_mask": draw(st.booleans()),
        "activation": draw(st.sampled_from(activations)),
        "dtype": draw(st.sampled_from(dtypes)),
    }


@st.composite
def gru_configs(draw, dtypes: tuple = _DTYPES, activations: tuple = _ACTIVATIONS,
                recurrent_activations: tuple = _RECURRENT_ACTIVATIONS) -> dict:
    """GRU constructor options (without units)."""
    cfg = _rnn_options(draw, dtypes, activations)
    cfg["recurrent_activation"] = draw(st.sampled_from(recurrent_activations))
    cfg["reset_after"] = draw(st.booleans())
    return cfg


@st.composite
def simple_rnn_configs(draw, dtypes: tuple = _DTYPES, activations: tuple = _ACTIVATIONS) -> dict:
    """SimpleRNN constructor options (without units)."""
    return _rnn_options(draw, dtypes, activations)


def _arrays(rng, shape, dtype, scale=1.0):
    return (rng.normal(size=shape) * scale).astype(dtype)


def _recurrent_case(cls, layer: str, seed: int, shape: Any, config: dict, mask_kind: str,
                    initial_state: bool, input_scale: float):
    rng = np.random.default_rng(seed)
    dtype = config.get("dtype", "float32")
    cfg = {**config, "units": shape.units}
    wshapes = recurrent_weight_shapes(layer, shape.features, shape.units,
                                      use_bias=cfg.get("use_bias", True),
                                      reset_after=cfg.get("reset_after", True))
    weights = gate_weights(wshapes, GATES[layer], rng, dtype)
    x = _arrays(rng, (shape.batch, shape.timesteps, shape.features), dtype, input_scale)
    mask = make_mask(mask_kind, shape.batch, shape.timesteps, rng)
    init = ([_arrays(rng, (shape.batch, shape.units), dtype, 0.5)
             for _ in range(_N_STATES[layer])] if initial_state else None)
    return cls(cfg, x, weights, mask, init)


def make_gru_case(seed: int, shape: Any, config: dict, *, mask_kind: str = "none",
                  initial_state: bool = False, input_scale: float = 1.0) -> GRUCase:
    """One GRU case from ``seed``; ``shape`` has batch, timesteps, features, units."""
    return _recurrent_case(GRUCase, "GRU", seed, shape, config, mask_kind, initial_state,
                           input_scale)


def make_simple_rnn_case(seed: int, shape: Any, config: dict, *, mask_kind: str = "none",
                         initial_state: bool = False, input_scale: float = 1.0) -> SimpleRNNCase:
    """One SimpleRNN case from ``seed``."""
    return _recurrent_case(SimpleRNNCase, "SimpleRNN", seed, shape, config, mask_kind,
                           initial_state, input_scale)


def make_bidirectional_case(seed: int, shape: Any, layer: str, layer_config: dict,
                            merge_mode: str | None, *, mask_kind: str = "none",
                            initial_state: bool = False,
                            input_scale: float = 1.0) -> BidirectionalCase:
    """One Bidirectional case around ``layer`` ("LSTM", "GRU" or "SimpleRNN") from ``seed``."""
    rng = np.random.default_rng(seed)
    dtype = layer_config.get("dtype", "float32")
    inner = {**layer_config, "units": shape.units}
    wshapes = recurrent_weight_shapes(layer, shape.features, shape.units,
                                      use_bias=inner.get("use_bias", True),
                                      reset_after=inner.get("reset_after", True))
    weights = (gate_weights(wshapes, GATES[layer], rng, dtype)
               + gate_weights(wshapes, GATES[layer], rng, dtype))
    x = _arrays(rng, (shape.batch, shape.timesteps, shape.features), dtype, input_scale)
    mask = make_mask(mask_kind, shape.batch, shape.timesteps, rng)
    init = ([_arrays(rng, (shape.batch, shape.units), dtype, 0.5)
             for _ in range(2 * _N_STATES[layer])] if initial_state else None)
    cfg = {"layer": layer, "layer_config": inner, "merge_mode": merge_mode, "dtype": dtype}
    return BidirectionalCase(cfg, x, weights, mask, init)


def make_dense_case(seed: int, lead_shape: tuple, features: int, units: int,
                    config: dict) -> DenseCase:
    """One Dense case: inputs ``(*lead_shape, features)``."""
    rng = np.random.default_rng(seed)
    dtype = config.get("dtype", "float32")
    cfg = {**config, "units": units}
    wshapes = [(features, units)] + ([(units,)] if cfg.get("use_bias", True) else [])
    weights = gate_weights(wshapes, 1, rng, dtype)
    return DenseCase(cfg, _arrays(rng, (*lead_shape, features), dtype, 1.5), weights)


def _case_args(draw, masks, max_batch, max_timesteps, max_features, max_units):
    # At least 2 of batch, timesteps and units: with one of either, real bugs hide (h0 = 0 hides
    # the recurrent path; one unit makes (r*h) @ R == r * (h @ R); the "some_fully_masked"
    # pattern masks row 0 entirely).  The example-based tests cover the size-1 edges.
    shape = Shape(draw(st.integers(2, max_batch)), draw(st.integers(2, max_timesteps)),
                          draw(st.integers(1, max_features)), draw(st.integers(2, max_units)))
    return shape, dict(
        mask_kind=draw(st.sampled_from(masks)),
        initial_state=draw(st.booleans()),
        input_scale=draw(st.sampled_from([0.1, 1.0, 3.0])),
    )


@st.composite
def gru_cases(draw, *, dtypes: tuple = _DTYPES, masks: tuple = FAMILY_MASK_KINDS,
              max_batch: int = 5, max_timesteps: int = 8, max_features: int = 5,
              max_units: int = 6) -> GRUCase:
    """A random GRU example: shape, options (both reset_after), gate-distinct weights, inputs,
    mask pattern and initial state."""
    shape, extra = _case_args(draw, masks, max_batch, max_timesteps, max_features, max_units)
    config = draw(gru_configs(dtypes=dtypes))
    return make_gru_case(draw(st.integers(0, 2**32 - 1)), shape, config, **extra)


@st.composite
def simple_rnn_cases(draw, *, dtypes: tuple = _DTYPES, masks: tuple = FAMILY_MASK_KINDS,
                     max_batch: int = 5, max_timesteps: int = 8, max_features: int = 5,
                     max_units: int = 6) -> SimpleRNNCase:
    """A random SimpleRNN example."""
    shape, extra = _case_args(draw, masks, max_batch, max_timesteps, max_features, max_units)
    config = draw(simple_rnn_configs(dtypes=dtypes))
    return make_simple_rnn_case(draw(st.integers(0, 2**32 - 1)), shape, config, **extra)


@st.composite
def bidirectional_cases(draw, *, layers: tuple = ("LSTM", "GRU", "SimpleRNN"),
                        merge_modes: tuple = MERGE_MODES, dtypes: tuple = _DTYPES,
                        masks: tuple = FAMILY_MASK_KINDS, max_batch: int = 4,
                        max_timesteps: int = 7, max_features: int = 4,
                        max_units: int = 5) -> BidirectionalCase:
    """A random Bidirectional example around an LSTM, GRU or SimpleRNN (go_backwards False:
    Keras refuses a wrapped layer that already goes backwards)."""
    shape, extra = _case_args(draw, masks, max_batch, max_timesteps, max_features, max_units)
    layer = draw(st.sampled_from(layers))
    inner = draw(gru_configs(dtypes=dtypes)) if layer == "GRU" else draw(
        simple_rnn_configs(dtypes=dtypes))
    if layer == "LSTM":
        inner["recurrent_activation"] = draw(st.sampled_from(_RECURRENT_ACTIVATIONS))
        inner["unit_forget_bias"] = draw(st.booleans())
    inner["go_backwards"] = False
    inner.pop("zero_output_for_mask")  # Bidirectional sets it to return_sequences
    return make_bidirectional_case(draw(st.integers(0, 2**32 - 1)), shape, layer, inner,
                                   draw(st.sampled_from(merge_modes)), **extra)


@st.composite
def dense_cases(draw, *, dtypes: tuple = _DTYPES, max_rank: int = 4) -> DenseCase:
    """A random Dense example on inputs of rank 2 .. ``max_rank``."""
    rank = draw(st.integers(2, max_rank))
    lead = tuple(draw(st.lists(st.integers(1, 4), min_size=rank - 1, max_size=rank - 1)))
    config = {
        "activation": draw(st.sampled_from(_ACTIVATIONS + ("softmax", "selu", "swish"))),
        "use_bias": draw(st.booleans()),
        "dtype": draw(st.sampled_from(dtypes)),
    }
    return make_dense_case(draw(st.integers(0, 2**32 - 1)), lead, draw(st.integers(1, 6)),
                           draw(st.integers(1, 6)), config)
