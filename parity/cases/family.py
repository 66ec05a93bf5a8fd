"""Parity cases of the recurrent family for ``numpy-rnn parity``: GRU (both reset_after
conventions), SimpleRNN, Bidirectional (every merge mode), Dense (2-D and 3-D), Masking and
Dropout, across the mask patterns (left pad, right pad, holes, a fully masked row), plus stateful
carry across calls.  Small shapes: the whole group runs in a few seconds."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..bridge import (backend, compare, deviations, from_keras, output_specs, to_keras,
                      to_numpy)
from ..report import ParityReport, compare_outputs
from .case import Case, register
from .masks import make_mask
from .weights import GATES, randomize

BATCH, TIMESTEPS, FEATURES, UNITS = 4, 7, 5, 6
MASKS = ("none", "left", "right", "holes", "all_masked_row")


def _keras():
    return backend.require()  # Keras 3 on this process's backend


def family_mask(kind: str, batch: int = BATCH, timesteps: int = TIMESTEPS) -> np.ndarray | None:
    """The group's fixed mask patterns (``parity.cases.masks``, without an rng)."""
    return make_mask(kind, batch, timesteps)


def _inputs(rng: np.random.Generator, dtype: str = "float32") -> np.ndarray:
    return rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype(dtype)


def rnn_case(cls: str, options: dict, mask: str, seed: int,
             direction: str = "keras->numpy") -> ParityReport:
    """One recurrent layer (LSTM / GRU / SimpleRNN) with gate-distinct random weights."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    dtype = options.get("dtype", "float32")
    x = _inputs(rng, dtype)
    k = getattr(keras.layers, cls)(UNITS, **options)
    k.build((None, None, FEATURES))
    randomize(k, GATES[cls], rng, dtype)
    n = from_keras(k)
    if direction == "numpy->keras":
        k = to_keras(n)
    name = f"{cls.lower()}/{_label(options)} mask={mask} [{direction}]"
    call = {} if mask == "none" else {"mask": family_mask(mask)}
    return compare(n, k, x, case=name, **call)


def bidirectional_case(cls: str, merge_mode: str | None, mask: str, seed: int,
                       return_sequences: bool = True) -> ParityReport:
    """Bidirectional around ``cls`` with return_state: the merged output(s) and both directions'
    states are compared."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    x = _inputs(rng)
    inner = getattr(keras.layers, cls)(UNITS, return_sequences=return_sequences,
                                       return_state=True)
    k = keras.layers.Bidirectional(inner, merge_mode=merge_mode)
    k.build((None, None, FEATURES))
    randomize(k, GATES[cls], rng)
    call = {} if mask == "none" else {"mask": family_mask(mask)}
    seq = "sequences" if return_sequences else "last"
    return compare(from_keras(k), k, x, case=f"bidirectional/{cls.lower()} "
                   f"merge={merge_mode} {seq} mask={mask}", **call)


def stateful_case(cls: str, seed: int, bidirectional: bool = False) -> ParityReport:
    """Three calls of a stateful layer (states carried, masks in each call), then reset_state
    and one more call; every call's outputs are compared."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    x = _inputs(rng)
    mask = family_mask("holes")
    layer = getattr(keras.layers, cls)(UNITS, stateful=True, return_sequences=True,
                                       return_state=not bidirectional)
    k = keras.layers.Bidirectional(layer) if bidirectional else layer
    k.build((BATCH, None, FEATURES))
    randomize(k, GATES[cls], rng)
    n = from_keras(k)
    diffs = []
    bounds = [(0, 2), (2, 5), (5, TIMESTEPS), "reset", (0, 3)]
    for part in bounds:
        if part == "reset":
            k.reset_state()
            n.reset_state()
            continue
        a, b = part
        got = n(x[:, a:b], mask=mask[:, a:b])
        expected = k(x[:, a:b], mask=mask[:, a:b])
        expected = [to_numpy(e) for e in expected] if isinstance(expected, (list, tuple)) \
            else to_numpy(expected)
        count = len(got) if isinstance(got, list) else 1
        specs = output_specs(n, count)
        diffs += compare_outputs("", got, expected, [f"t{a}:{b} {nm}" for nm, _ in specs],
                                 [kind for _, kind in specs]).outputs
    kind = "bidirectional/" if bidirectional else ""
    return deviations.excuse(ParityReport(f"{kind}{cls.lower()}/stateful 3 calls + reset_state",
                                          diffs), mask=mask, stateful=True)


def dense_case(shape: tuple, activation: str | None, seed: int,
               direction: str = "keras->numpy") -> ParityReport:
    keras = _keras()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype("float32")
    k = keras.layers.Dense(UNITS, activation=activation)
    k.build((None, shape[-1]))
    randomize(k, 1, rng)
    n = from_keras(k)
    if direction == "numpy->keras":
        k = to_keras(n)
    return compare(n, k, x, case=f"dense/{len(shape)}-D activation={activation} [{direction}]")


def masking_case(seed: int) -> ParityReport:
    """Masking(0.5) -> GRU: the Masking output, its mask and the GRU on top."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    x = _inputs(rng)
    m = family_mask("all_masked_row")
    x[~m] = 0.5
    k_masking = keras.layers.Masking(0.5)
    k_gru = keras.layers.GRU(UNITS, return_sequences=True)
    k_gru.build((None, None, FEATURES))
    randomize(k_gru, 3, rng)
    model = keras.Sequential([keras.Input((TIMESTEPS, FEATURES)), k_masking, k_gru])
    n_masking, n_gru = from_keras(k_masking), from_keras(k_gru)
    got = [n_masking(x), n_masking.compute_mask(x).astype("float32"),
           n_gru(n_masking(x), mask=n_masking.compute_mask(x))]
    expected = [to_numpy(k_masking(x)), to_numpy(k_masking.compute_mask(x)).astype("float32"),
                to_numpy(model(x))]
    return compare_outputs("masking(0.5) -> gru", got, expected, ["masked", "mask", "sequence"])


def dropout_case(seed: int) -> ParityReport:
    keras = _keras()
    x = _inputs(np.random.default_rng(seed))
    k = keras.layers.Dropout(0.4)
    return compare(from_keras(k), k, x, case="dropout(0.4) at inference")


def _label(options: dict) -> str:
    if not options:
        return "default"
    parts = []
    for key, value in options.items():
        parts.append(key if value is True else f"{key}={value}")
    return ",".join(parts)


#: (layer, options) rows crossed with every mask pattern.
RNN_ROWS: list[tuple[str, dict]] = [
    ("GRU", {"return_sequences": True, "return_state": True}),
    ("GRU", {"reset_after": False, "return_sequences": True, "return_state": True}),
    ("GRU", {"go_backwards": True, "return_sequences": True}),
    ("SimpleRNN", {"return_sequences": True, "return_state": True}),
]


@register("family")
def family_cases(seed: int) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, fn: Callable[[], ParityReport]) -> None:
        cases.append(Case(name, fn))

    for cls, options in RNN_ROWS:
        for mask in MASKS:
            add(f"{cls.lower()}/{_label(options)} mask={mask} [keras->numpy]",
                lambda c=cls, o=options, m=mask: rnn_case(c, o, m, seed))
    for cls, options in [("GRU", {"zero_output_for_mask": True}),
                         ("GRU", {"reset_after": False, "dtype": "float64",
                                  "return_sequences": True}),
                         ("SimpleRNN", {"activation": "relu", "return_sequences": True})]:
        add(f"{cls.lower()}/{_label(options)} mask=right [keras->numpy]",
            lambda c=cls, o=options: rnn_case(c, o, "right", seed))
    for cls, options in [("GRU", {"return_sequences": True, "return_state": True}),
                         ("GRU", {"reset_after": False, "return_sequences": True}),
                         ("SimpleRNN", {"return_state": True})]:
        add(f"{cls.lower()}/{_label(options)} mask=holes [numpy->keras]",
            lambda c=cls, o=options: rnn_case(c, o, "holes", seed, "numpy->keras"))
    for merge_mode in ("concat", "sum", "mul", "ave", None):
        for cls, mask in (("LSTM", "holes"), ("GRU", "left"), ("SimpleRNN", "all_masked_row")):
            add(f"bidirectional/{cls.lower()} merge={merge_mode} sequences mask={mask}",
                lambda c=cls, mm=merge_mode, m=mask: bidirectional_case(c, mm, m, seed))
    for mask in ("right", "all_masked_row"):
        add(f"bidirectional/gru merge=concat last mask={mask}",
            lambda m=mask: bidirectional_case("GRU", "concat", m, seed, return_sequences=False))
    for cls in ("GRU", "SimpleRNN", "LSTM"):
        add(f"{cls.lower()}/stateful 3 calls + reset_state",
            lambda c=cls: stateful_case(c, seed))
    add("bidirectional/gru/stateful 3 calls + reset_state",
        lambda: stateful_case("GRU", seed, bidirectional=True))
    for shape, activation in (((BATCH, FEATURES), None), ((BATCH, TIMESTEPS, FEATURES), "relu"),
                              ((BATCH, TIMESTEPS, FEATURES), "softmax")):
        add(f"dense/{len(shape)}-D activation={activation} [keras->numpy]",
            lambda s=shape, a=activation: dense_case(s, a, seed))
    add("dense/3-D activation=tanh [numpy->keras]",
        lambda: dense_case((BATCH, TIMESTEPS, FEATURES), "tanh", seed, "numpy->keras"))
    add("masking(0.5) -> gru", lambda: masking_case(seed))
    add("dropout(0.4) at inference", lambda: dropout_case(seed))
    return cases
