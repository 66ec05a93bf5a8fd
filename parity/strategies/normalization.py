"""Hypothesis strategies for the normalization layers (BatchNormalization, LayerNormalization,
UnitNormalization, GroupNormalization, RMSNormalization).

``normalization_cases()`` draws a layer, its options (``axis`` in every form Keras takes: an int,
negative or not, a list of mixed signs in any order; ``center`` / ``scale``; ``epsilon``;
``groups`` dividing the axis; ``rms_scaling``; ``synchronized``; ``momentum``), an input shape of
rank 2 to 4, a dtype, BatchNormalization's ``training`` flag and a mask (training calls on 3-D
inputs), and a seed; :func:`make_normalization_case` builds the arrays from it with
``parity.cases.normalization`` (the weights and inputs of the ``numpy-rnn parity`` rows).  Every
statistic runs over at least :data:`MIN_COUNT` elements, so none is degenerate.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hypothesis import strategies as st

import numpy_rnn

from ..cases.masks import MASK_KINDS, make_mask
from ..cases.normalization import norm_inputs, norm_weights

#: The fewest elements a statistic runs over: with two, a normalized pair is +-1 whatever the
#: inputs, so its gradient is rounding noise (measured: float64 d inputs 2e-5 made of O(1)
#: terms, the two sides 2.7e-12 of it apart).
MIN_COUNT = 3

__all__ = ["NormalizationCase", "MIN_COUNT", "NORMALIZATION_LAYERS", "make_normalization_case",
           "normalization_cases"]

NORMALIZATION_LAYERS = ("BatchNormalization", "LayerNormalization", "UnitNormalization",
                        "GroupNormalization", "RMSNormalization")


class NormalizationCase(NamedTuple):
    """One example: the layer's class name and constructor options (with ``dtype``), inputs,
    weights in Keras's order, the call's ``training`` flag and mask, and MSE targets."""

    layer: str
    config: dict
    inputs: np.ndarray
    weights: list
    training: bool
    mask: np.ndarray | None
    targets: np.ndarray


def _as_drawn(draw: Any, axes: list[int], rank: int) -> list[int]:
    """Each axis written as drawn: positive or negative."""
    return [a - rank if draw(st.booleans()) else a for a in axes]


@st.composite
def _options(draw: Any, layer: str, shape: tuple) -> dict:
    rank = len(shape)
    non_batch = list(range(1, rank))
    options: dict[str, Any] = {}
    if layer == "BatchNormalization":
        options["axis"] = _as_drawn(draw, [draw(st.sampled_from(non_batch))], rank)[0]
        options["momentum"] = draw(st.sampled_from([0.99, 0.9, 0.5, 0.0]))
        options["synchronized"] = draw(st.booleans())
    elif layer == "LayerNormalization":
        axes = draw(st.lists(st.sampled_from(non_batch), min_size=1, max_size=rank - 1,
                             unique=True))
        raw = _as_drawn(draw, axes, rank)
        options["axis"] = raw[0] if len(raw) == 1 and draw(st.booleans()) else raw
        options["rms_scaling"] = draw(st.booleans())
    elif layer == "UnitNormalization":
        axes = draw(st.lists(st.sampled_from(non_batch), min_size=1, max_size=rank - 1,
                             unique=True))
        options["axis"] = _as_drawn(draw, axes, rank)
    elif layer == "GroupNormalization":
        axis = draw(st.sampled_from(non_batch))
        size = shape[axis]
        options["groups"] = draw(st.sampled_from([g for g in range(1, size + 1) if size % g == 0]
                                                 + [-1]))
        options["axis"] = -1 if axis == rank - 1 and draw(st.booleans()) else axis
    else:  # RMSNormalization: Keras multiplies by `scale` from the last axis: trailing axes,
        # all of one sign (mixed signs sort into another order, and Keras's broadcast then
        # changes the output's shape, which numpy_rnn refuses)
        k = draw(st.integers(1, rank - 1))
        trailing = list(range(rank - k, rank))
        order = draw(st.permutations(trailing))
        raw = [a - rank for a in order] if draw(st.booleans()) else order
        options["axis"] = raw[0] if len(raw) == 1 else raw
    if layer in ("BatchNormalization", "LayerNormalization", "GroupNormalization"):
        options["center"] = draw(st.booleans())
        options["scale"] = draw(st.booleans())
    if layer != "UnitNormalization":
        options["epsilon"] = draw(st.sampled_from([1e-3, 1e-5, 0.1]))
    return options


def _reduced_count(layer: str, options: dict, shape: tuple) -> int:
    """How many elements one statistic (or norm) runs over."""
    rank = len(shape)
    axis = options.get("axis", -1)
    axes = {a % rank for a in (axis if isinstance(axis, list) else [axis])}
    if layer == "BatchNormalization":
        return int(np.prod([shape[i] for i in range(rank) if i not in axes]))
    if layer == "GroupNormalization":
        groups = shape[axis % rank] if options["groups"] == -1 else options["groups"]
        rest = [shape[i] for i in range(1, rank) if i != axis % rank]
        return int(np.prod(rest)) * shape[axis % rank] // groups
    return int(np.prod([shape[a] for a in axes]))


def make_normalization_case(layer: str, options: dict, shape: tuple, dtype: str, training: bool,
                            mask_kind: str, seed: int) -> NormalizationCase:
    """The arrays of one example, from ``seed`` (weights by ``norm_weights``, inputs by
    ``norm_inputs``, the mask by ``make_mask``)."""
    rng = np.random.default_rng(seed)
    config = {**options, "dtype": dtype}
    twin = getattr(numpy_rnn, layer)(**config)
    twin.build(shape)
    shapes = twin.weight_shapes()
    names = twin.weight_names()
    weights = norm_weights(names, [shapes[n] for n in names], rng, dtype)
    x = norm_inputs(rng, shape, dtype)
    mask = make_mask(mask_kind, shape[0], shape[1], rng) if len(shape) == 3 else None
    targets = rng.normal(size=shape).astype(dtype)
    return NormalizationCase(layer, config, x, weights, training, mask, targets)


@st.composite
def normalization_cases(draw: Any, layers: tuple = NORMALIZATION_LAYERS,
                        dtypes: tuple = ("float32", "float64")) -> NormalizationCase:
    """A :class:`NormalizationCase` of one of ``layers``."""
    layer = draw(st.sampled_from(layers))
    rank = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))
    shape = (max(shape[0], 2),) + shape[1:]
    options = draw(_options(layer, shape))
    if _reduced_count(layer, options, shape) < MIN_COUNT:  # every size >= 3: no statistic
        shape = tuple(d + 2 for d in shape)  # runs over fewer than 3 elements
        options = draw(_options(layer, shape))
    training = layer == "BatchNormalization" and draw(st.booleans())
    mask_kind = draw(st.sampled_from(MASK_KINDS)) if training and rank == 3 else "none"
    if layer == "BatchNormalization" and options["axis"] != -1 and \
            shape[options["axis"] % rank] == 1:
        mask_kind = "none"  # Keras crashes there (its masked moments squeeze the size-1 axis)
    return make_normalization_case(layer, options, shape, draw(st.sampled_from(dtypes)),
                                   training, mask_kind, draw(st.integers(0, 2**31 - 1)))
