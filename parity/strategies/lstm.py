"""Hypothesis strategies for parity tests: the project's own property tests use these, and users
can import them for theirs.

Composite strategies return named tuples (``LSTMCase(config, inputs, weights, mask,
initial_state)``).  Weights are drawn so the four gate blocks differ in scale and biases are
non-zero: constant initializers make all gates equal and hide gate-order bugs.  Arrays are made
by NumPy from a drawn seed, so examples are cheap and reproducible (shrinking works on the seed
and the shape/options).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover
    raise ImportError("parity.strategies needs hypothesis: pip install 'numpy-rnn[keras]' "
                      "(from a checkout: pip install -e '.[keras]')") from exc

from .cases import gate_weights

#: Activations tried in the ``activation`` slot / the ``recurrent_activation`` slot.
ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear", None, "softsign", "elu",
               "selu", "softplus", "swish", "relu6", "hard_tanh", "mish", "leaky_relu")
RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid", "tanh", "softsign", "linear", "relu",
                         "hard_silu", "sparse_sigmoid", "log_sigmoid")
DTYPES = ("float32", "float64")
MASK_KINDS = ("none", "all_valid", "left", "right", "holes", "some_fully_masked", "random")


class Shape(NamedTuple):
    batch: int
    timesteps: int
    features: int
    units: int


class LSTMCase(NamedTuple):
    """Everything one LSTM parity example needs."""

    config: dict
    inputs: np.ndarray
    weights: list
    mask: np.ndarray | None
    initial_state: list | None


def shapes(max_batch: int = 6, max_timesteps: int = 9, max_features: int = 7,
           max_units: int = 9) -> st.SearchStrategy[Shape]:
    """Batch, timesteps (1 included), features and units."""
    return st.builds(Shape, st.integers(1, max_batch), st.integers(1, max_timesteps),
                     st.integers(1, max_features), st.integers(1, max_units))


def make_mask(kind: str, batch: int, timesteps: int, rng: np.random.Generator) -> np.ndarray | None:
    """A boolean (batch, timesteps) mask of the given pattern (None for "none")."""
    steps = np.arange(timesteps)
    if kind == "none":
        return None
    if kind == "all_valid":
        return np.ones((batch, timesteps), bool)
    lengths = rng.integers(0, timesteps + 1, size=batch)
    if kind == "left":
        return steps[None, :] >= (timesteps - lengths)[:, None]
    if kind == "right":
        return steps[None, :] < lengths[:, None]
    if kind == "holes":
        m = rng.random((batch, timesteps)) < 0.6
        m[:, 0] |= rng.random(batch) < 0.5
        return m
    if kind == "some_fully_masked":
        m = rng.random((batch, timesteps)) < 0.7
        m[rng.random(batch) < 0.5] = False
        m[0] = False
        return m
    if kind == "random":
        return rng.random((batch, timesteps)) < rng.uniform(0.1, 0.9)
    raise ValueError(f"unknown mask kind {kind!r}; expected one of {MASK_KINDS}")


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


def make_lstm_case(seed: int, shape: Shape, config: dict, *, mask_kind: str = "none",
                   initial_state: bool = False, input_scale: float = 1.0) -> LSTMCase:
    """Build one LSTM case deterministically from ``seed`` (used by the strategy and by tests)."""
    rng = np.random.default_rng(seed)
    dtype = config.get("dtype", "float32")
    cfg = {**config, "units": shape.units}
    h4 = 4 * shape.units
    wshapes = [(shape.features, h4), (shape.units, h4)] + ([(h4,)] if cfg.get("use_bias", True) else [])
    weights = gate_weights(wshapes, 4, rng, dtype)
    x = (rng.normal(size=(shape.batch, shape.timesteps, shape.features)) * input_scale).astype(dtype)
    mask = make_mask(mask_kind, shape.batch, shape.timesteps, rng)
    init = ([(rng.normal(size=(shape.batch, shape.units)) * 0.5).astype(dtype) for _ in range(2)]
            if initial_state else None)
    return LSTMCase(cfg, x, weights, mask, init)


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


def call_kwargs(case: Any) -> dict:
    """The ``mask=`` / ``initial_state=`` keyword arguments of a case, for compare()."""
    kw = {}
    if getattr(case, "mask", None) is not None:
        kw["mask"] = case.mask
    if getattr(case, "initial_state", None) is not None:
        kw["initial_state"] = case.initial_state
    return kw


# Strategies of the other parts of the project, re-exported under one public module.
try:  # noqa: SIM105
    from .text_strategies import *  # noqa: F401,F403,E402
except ModuleNotFoundError as _exc:  # pragma: no cover - while a part is not there yet
    if _exc.name != f"{__package__}.text_strategies":
        raise
try:  # noqa: SIM105
    from .family_strategies import *  # noqa: F401,F403,E402
except ModuleNotFoundError as _exc:  # pragma: no cover
    if _exc.name != f"{__package__}.family_strategies":
        raise
