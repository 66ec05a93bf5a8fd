"""The parity cases behind ``numpy-rnn parity``: each builds a Keras object, its NumPy twin and an
input, runs both and returns a ParityReport.

Groups register themselves in ``GROUPS``: a group is a function ``(rng_seed) -> list[Case]``.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from .compare import ParityReport


@dataclasses.dataclass
class Case:
    """One row of the parity table."""

    name: str
    run: Callable[[], ParityReport]
    group: str = ""


def gate_weights(shapes: list[tuple], gates: int, rng: np.random.Generator,
                 dtype="float32") -> list[np.ndarray]:
    """Random weights whose gate blocks differ in scale and whose biases are non-zero.

    Constant or identically scaled initializers hide gate-order bugs; here block ``j`` of the last
    axis gets its own scale, and 1-D weights (biases) get non-zero values.
    """
    out = []
    for shape in shapes:
        w = rng.normal(0.0, 1.0, size=shape)
        fan = shape[0] if len(shape) == 2 else 1
        if shape[-1] % gates == 0:
            scales = rng.uniform(0.3, 1.2, size=gates) / np.sqrt(max(fan, 1))
            w = w * np.repeat(scales, shape[-1] // gates)
        else:
            w = w / np.sqrt(max(fan, 1))
        if len(shape) == 1:
            w = w * 0.5 + rng.choice([-0.5, 0.5], size=shape)
        out.append(w.astype(dtype))
    return out


GROUPS: dict[str, Callable[[int], list[Case]]] = {}


def register(name: str):
    def deco(fn):
        GROUPS[name] = fn
        return fn
    return deco


def all_cases(seed: int = 0) -> list[Case]:
    from . import cases_core  # noqa: F401  (registers the core groups)
    for optional in ("cases_text", "cases_family", "cases_models", "cases_selftest"):
        try:
            __import__(f"{__package__}.{optional}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{optional}":
                raise
    out = []
    for group, fn in GROUPS.items():
        for case in fn(seed):
            case.group = group
            out.append(case)
    return out
