"""Hypothesis strategies for the activation layers (ReLU, LeakyReLU, ELU, PReLU, Softmax).

:func:`activation_cases` draws an :class:`ActivationCase`: a Keras class name, its options (ReLU's
``max_value`` / ``negative_slope`` / ``threshold`` drawn independently, so every branch of Keras's
piecewise formula comes up; PReLU's ``shared_axes`` among the input's axes; Softmax's ``axis`` an
int or a list), the dtype, inputs with the options' kinks planted among normal draws (so
TensorFlow's derivative at each kink is exercised), and for Softmax an optional mask
(``parity.cases.activation_layers.make_mask`` patterns, or a random boolean mask of the input's
shape).  Arrays come from NumPy with a drawn seed: examples are cheap and reproducible.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hypothesis import strategies as st

from ..cases.activation_layers import kink_inputs

__all__ = ["ActivationCase", "activation_cases", "ACTIVATION_LAYERS"]

ACTIVATION_LAYERS = ("ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax")


class ActivationCase(NamedTuple):
    """One example: ``cls`` (a Keras class name), ``options``, ``dtype``, ``inputs`` and
    ``mask`` (Softmax only, else None)."""

    cls: str
    options: dict
    dtype: str
    inputs: np.ndarray
    mask: Any


_FACTORS = st.sampled_from([0.0, 0.1, 0.3, 0.5, 1.0, 1.5, 2.0, 6.0])


@st.composite
def _options(draw, cls: str, rank: int) -> dict:
    if cls == "ReLU":
        out = {}
        if draw(st.booleans()):
            out["max_value"] = draw(st.sampled_from([0.5, 1.5, 2.0, 6.0, 6]))
        if draw(st.booleans()):
            out["negative_slope"] = draw(_FACTORS)
        if draw(st.booleans()):
            out["threshold"] = draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]))
        return out
    if cls == "LeakyReLU":
        return {"negative_slope": draw(_FACTORS)}
    if cls == "ELU":
        return {"alpha": draw(st.sampled_from([1.0, 0.5, 1.7]))}
    if cls == "PReLU":
        axes = draw(st.lists(st.integers(1, rank - 1), unique=True, max_size=rank - 1))
        return {"shared_axes": axes or None}
    axes = draw(st.lists(st.integers(0, rank - 1), unique=True, min_size=1, max_size=2))
    if len(axes) == 1 and draw(st.booleans()):
        return {"axis": axes[0] - rank if draw(st.booleans()) else axes[0]}  # an int
    return {"axis": axes}


@st.composite
def activation_cases(draw, classes: tuple = ACTIVATION_LAYERS) -> ActivationCase:
    """An :class:`ActivationCase` for one of ``classes``."""
    cls = draw(st.sampled_from(classes))
    rank = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    options = draw(_options(cls, rank))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    kinks = tuple({0.0, -0.0, *[float(v) for v in options.values()
                                if isinstance(v, (int, float)) and not isinstance(v, bool)]})
    x = kink_inputs(rng, shape, dtype, kinks)
    mask = None
    if cls == "Softmax" and draw(st.booleans()):
        mask = rng.random(shape[-draw(st.integers(1, rank)):]) > 0.4
    return ActivationCase(cls, options, dtype, x, mask)
