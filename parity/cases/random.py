"""The random LSTM sweep (``numpy-rnn parity --examples N --seed S``) and the LSTM example builder
the hypothesis strategies share (``parity.strategies.lstm_cases`` draws through
:func:`make_lstm_case`).

Example ``index`` of sweep ``seed`` is drawn from its own generator, so the same pair always gives
the same case and adding examples never changes the earlier ones.  NumPy only until a case runs.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from ..bridge import REFERENCES, compare, from_keras, reference_module
from ..report import ParityReport
from .case import Case
from .masks import make_mask
from .weights import gate_weights

__all__ = ["Shape", "LSTMCase", "make_lstm_case", "call_kwargs", "RandomLSTMSpec",
           "draw_random_lstm", "run_random_lstm", "random_cases", "RANDOM_ACTIVATIONS",
           "RANDOM_GATE_ACTIVATIONS", "BOUNDED_ACTIVATIONS", "POSITIVE_GATES",
           "UNBOUNDED_MAX_TIMESTEPS", "RANDOM_MASKS", "RANDOM_BOUNDS"]


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


def call_kwargs(case: Any) -> dict:
    """The ``mask=`` / ``initial_state=`` keyword arguments of a case, for compare()."""
    kw = {}
    if getattr(case, "mask", None) is not None:
        kw["mask"] = case.mask
    if getattr(case, "initial_state", None) is not None:
        kw["initial_state"] = case.initial_state
    return kw


#: Activations whose meaning is the same in Keras 3, tf_keras and numpy_rnn.
RANDOM_ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear", "softsign", "elu", "selu", "softplus",
                      "swish")
#: Bounded gate activations (a linear/relu gate makes the cell state grow without bound).
#: ``hard_sigmoid`` is Keras 3's ``clip(x/6 + 0.5)`` against Keras 3 and Keras 2's
#: ``clip(0.2x + 0.5)`` against tf_keras (``from_keras`` maps a tf_keras layer's names to
#: numpy_rnn's ``keras2_hard_sigmoid``), so it is drawn against both.
_GATES = ("sigmoid", "hard_sigmoid", "tanh", "softsign")
RANDOM_GATE_ACTIVATIONS = {name: _GATES for name in REFERENCES}
#: Activations that keep h bounded.  With any other, h feeds back unbounded, and with gates
#: that can be negative (tanh, softsign) the recurrence amplifies rounding chaotically: two
#: correct float32 implementations then differ from a float64 reference by 1e-3 after 8 steps
#: (measured on linear/tanh and selu/tanh draws).  So an unbounded activation is drawn with
#: sigmoid-type gates only, inputs scaled at most 1, and at most ``UNBOUNDED_MAX_TIMESTEPS``.
BOUNDED_ACTIVATIONS = ("tanh", "sigmoid", "softsign")
POSITIVE_GATES = ("sigmoid", "hard_sigmoid")
UNBOUNDED_MAX_TIMESTEPS = 8
RANDOM_MASKS = ("none", "none", "right", "left", "holes", "some_fully_masked", "random")
#: Bounds of the random shapes: batch, timesteps, features, units (inclusive).
RANDOM_BOUNDS = {"batch": (1, 8), "timesteps": (1, 32), "features": (1, 16), "units": (1, 16)}


@dataclasses.dataclass(frozen=True)
class RandomLSTMSpec:
    """Everything that defines random example ``index`` of a sweep with seed ``seed``."""

    index: int
    case_seed: int
    shape: tuple  # Shape(batch, timesteps, features, units)
    config: dict
    mask_kind: str
    initial_state: bool
    input_scale: float

    def params(self) -> dict:
        return {"index": self.index, "case_seed": self.case_seed,
                "shape": dict(zip(("batch", "timesteps", "features", "units"), self.shape)),
                "config": dict(self.config), "mask": self.mask_kind,
                "initial_state": self.initial_state, "input_scale": self.input_scale}


def draw_random_lstm(seed: int, index: int, reference: str = "keras") -> RandomLSTMSpec:
    """Draw example ``index`` of the sweep ``seed``: the same pair always gives the same case,
    and adding examples never changes the earlier ones."""
    rng = np.random.default_rng([int(seed), int(index), 0x9A7E])  # seed, index >= 0

    def bounded(key: str) -> int:
        lo, hi = RANDOM_BOUNDS[key]
        return int(rng.integers(lo, hi + 1))

    shape = (bounded("batch"), bounded("timesteps"), bounded("features"), bounded("units"))
    config = {
        "return_sequences": bool(rng.random() < 0.7),
        "return_state": bool(rng.random() < 0.5),
        "go_backwards": bool(rng.random() < 0.3),
        "use_bias": bool(rng.random() < 0.8),
        "unit_forget_bias": bool(rng.random() < 0.8),
        "activation": str(rng.choice(RANDOM_ACTIVATIONS)),
        "recurrent_activation": str(rng.choice(RANDOM_GATE_ACTIVATIONS[reference])),
        "dtype": str(rng.choice(["float32", "float32", "float64"])),
    }
    case_seed = int(rng.integers(0, 2**32 - 1))
    mask_kind = str(rng.choice(RANDOM_MASKS))
    initial_state = bool(rng.random() < 0.3)
    input_scale = float(rng.choice([0.1, 1.0, 3.0]))
    if config["activation"] not in BOUNDED_ACTIVATIONS:
        shape = (shape[0], min(shape[1], UNBOUNDED_MAX_TIMESTEPS), shape[2], shape[3])
        gates = [g for g in RANDOM_GATE_ACTIVATIONS[reference] if g in POSITIVE_GATES]
        if config["recurrent_activation"] not in gates:
            config["recurrent_activation"] = gates[index % len(gates)]
        input_scale = min(input_scale, 1.0)
    return RandomLSTMSpec(index=index, case_seed=case_seed, shape=shape, config=config,
                          mask_kind=mask_kind, initial_state=initial_state,
                          input_scale=input_scale)


def run_random_lstm(spec: RandomLSTMSpec, reference: str, name: str) -> ParityReport:
    """Build the reference LSTM for ``spec``, copy its weights with ``from_keras``, compare."""
    ref = reference_module(reference)
    case = make_lstm_case(spec.case_seed, Shape(*spec.shape), spec.config,
                          mask_kind=spec.mask_kind, initial_state=spec.initial_state,
                          input_scale=spec.input_scale)
    config = dict(case.config)
    units = config.pop("units")
    layer = ref.layers.LSTM(units, **config)
    layer.build((None, None, spec.shape[2]))
    layer.set_weights(case.weights)
    return compare(from_keras(layer), layer, case.inputs, case=name, **call_kwargs(case))


def random_cases(seed: int, n: int, reference: str = "keras") -> list[Case]:
    """``n`` random LSTM cases (group ``random``) drawn from ``seed``, compared with ``reference``."""
    out = []
    for i in range(n):
        spec = draw_random_lstm(seed, i, reference)
        name = f"random/lstm-{i:03d} [{reference}]"
        out.append(Case(name, lambda s=spec, nm=name: run_random_lstm(s, reference, nm),
                        group="random", params=spec.params()))
    return out
