"""Hypothesis strategies for LSTM parity examples (re-exported by ``parity.strategies``).

Composite strategies return named tuples (``LSTMCase(config, inputs, weights, mask,
initial_state)``).  Weights are drawn so the four gate blocks differ in scale and biases are
non-zero: constant initializers make all gates equal and hide gate-order bugs.  Arrays are made
by NumPy from a drawn seed, so examples are cheap and reproducible (shrinking works on the seed
and the shape/options).
"""
from __future__ import annotations

from hypothesis import strategies as st

from ..cases.masks import MASK_KINDS, make_mask
from ..cases.random import LSTMCase, Shape, call_kwargs, make_lstm_case

__all__ = ["ACTIVATIONS", "RECURRENT_ACTIVATIONS", "DTYPES", "MASK_KINDS", "Shape", "LSTMCase",
           "shapes", "make_mask", "mask_kinds", "lstm_configs", "make_lstm_case", "lstm_cases",
           "call_kwargs"]

#: Activations tried in the ``activation`` slot / the ``recurrent_activation`` slot.
ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear", None, "softsign", "elu",
               "selu", "softplus", "swish", "relu6", "hard_tanh", "mish", "leaky_relu")
RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid", "tanh", "softsign", "linear", "relu",
                         "hard_silu", "sparse_sigmoid", "log_sigmoid")
DTYPES = ("float32", "float64")


def shapes(max_batch: int = 6, max_timesteps: int = 9, max_features: int = 7,
           max_units: int = 9) -> st.SearchStrategy[Shape]:
    """Batch, timesteps (1 included), features and units."""
    return st.builds(Shape, st.integers(1, max_batch), st.integers(1, max_timesteps),
                     st.integers(1, max_features), st.integers(1, max_units))


def mask_kinds(kinds: tuple = MASK_KINDS) -> st.SearchStrategy[str]:
    return st.sampled_from(kinds)


@st.composite
def lstm_configs(draw, dtypes: tuple = DTYPES, activations: tuple = ACTIVATIONS,
                 recurrent_activations: tuple = RECURRENT_ACTIVATIONS) -> dict:
    """LSTM constructor options (without units / features)."""
    return {
        "return_sequences": draw(st.booleans()),
        "return_state": draw(st.booleans()),
        "go_backwards": draw(st.booleans()),
        "use_bias": draw(st.booleans()),
        "unit_forget_bias": draw(st.booleans()),
        "activation": draw(st.sampled_from(activations)),
        "recurrent_activation": draw(st.sampled_from(recurrent_activations)),
        "dtype": draw(st.sampled_from(dtypes)),
    }


@st.composite
def lstm_cases(draw, *, dtypes: tuple = DTYPES, masks: tuple = ("none",),
               max_batch: int = 6, max_timesteps: int = 9, max_features: int = 7,
               max_units: int = 9) -> LSTMCase:
    """A random LSTM parity example: shape, options, gate-distinct weights, inputs, mask, state."""
    shape = draw(shapes(max_batch, max_timesteps, max_features, max_units))
    config = draw(lstm_configs(dtypes=dtypes))
    return make_lstm_case(
        draw(st.integers(0, 2**32 - 1)), shape, config,
        mask_kind=draw(st.sampled_from(masks)),
        initial_state=draw(st.booleans()),
        input_scale=draw(st.sampled_from([0.1, 1.0, 3.0])),
    )
