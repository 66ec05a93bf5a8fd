"""The one generator of ``(batch, timesteps)`` boolean masks for parity cases and strategies.

:func:`make_mask` draws a pattern from ``rng`` (the property tests and the random sweep: lengths,
holes and fully masked rows at random), or, without ``rng``, gives the fixed pattern of the
example-based cases (lengths from ``timesteps`` down to 1, so row 0 is always fully valid and the
outputs are non-trivial).  ``True`` marks a valid step.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MASK_KINDS", "FIXED_MASK_KINDS", "make_mask"]

#: Patterns drawn from an ``rng``.
MASK_KINDS = ("none", "all_valid", "left", "right", "holes", "some_fully_masked", "random")
#: Patterns without an ``rng`` (fixed).
FIXED_MASK_KINDS = ("none", "all_valid", "left", "right", "holes", "all_masked_row")


def _padded(kind: str, lengths: np.ndarray, timesteps: int) -> np.ndarray:
    """Valid steps of length ``lengths[row]``: at the end (``left`` padding) or the start."""
    steps = np.arange(timesteps)
    if kind == "left":
        return steps[None, :] >= (timesteps - lengths)[:, None]
    return steps[None, :] < lengths[:, None]


def _fixed(kind: str, batch: int, timesteps: int) -> np.ndarray:
    if kind in ("left", "right"):
        return _padded(kind, np.linspace(timesteps, 1, batch).round().astype(int), timesteps)
    m = np.ones((batch, timesteps), bool)
    if kind == "holes":
        m[1:, 1::2] = False
    elif kind == "all_masked_row":
        m[1, :] = False
        m[2, 3:] = False
    return m


def _random(kind: str, batch: int, timesteps: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "all_valid":
        return np.ones((batch, timesteps), bool)
    # Lengths are drawn for every other pattern too, so that each pattern's draws (and so every
    # recorded example and sweep case) stay what they have always been.
    lengths = rng.integers(0, timesteps + 1, size=batch)
    if kind in ("left", "right"):
        return _padded(kind, lengths, timesteps)
    if kind == "holes":
        m = rng.random((batch, timesteps)) < 0.6
        m[:, 0] |= rng.random(batch) < 0.5
        return m
    if kind == "some_fully_masked":
        m = rng.random((batch, timesteps)) < 0.7
        m[rng.random(batch) < 0.5] = False
        m[0] = False
        return m
    return rng.random((batch, timesteps)) < rng.uniform(0.1, 0.9)  # "random"


def make_mask(kind: str, batch: int, timesteps: int,
              rng: np.random.Generator | None = None) -> np.ndarray | None:
    """A boolean ``(batch, timesteps)`` mask of pattern ``kind`` (None for ``"none"``).

    With ``rng``: one of :data:`MASK_KINDS`, drawn.  Without: one of :data:`FIXED_MASK_KINDS`.
    """
    kinds = MASK_KINDS if rng is not None else FIXED_MASK_KINDS
    if kind not in kinds:
        raise ValueError(f"unknown mask kind {kind!r}; expected one of {kinds}"
                         + ("" if rng is not None else " (without an rng)"))
    if kind == "none":
        return None
    if rng is None:
        return _fixed(kind, batch, timesteps)
    return _random(kind, batch, timesteps, rng)
