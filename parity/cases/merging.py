"""Merge-layer rows of ``numpy-rnn parity``: ``merging/<layer>`` (forward, float32) and
``grad/merging/<layer>`` (input gradients, float64, through the backend's autodiff), at small shapes,
with masks for the merges whose values use them (``Multiply``, ``Maximum``, ``Minimum``: Keras
reads the masks attached to the input tensors) and a broadcast (a rank-2 input merged into rank-3
ones, which Keras reshapes with ``expand_dims(x, 1)``).  Both sides are built here from the same
arguments (merge layers have no weights), so no bridge is needed.
"""
from __future__ import annotations

import numpy as np

import numpy_rnn

from ..bridge import backend, deviations
from ..report import ParityReport, diff_arrays
from .case import Case, register

B, T, F = 3, 4, 5

#: row name -> (class name, constructor kwargs, input shapes (batch first), masked)
MERGES: dict[str, tuple[str, dict, list[tuple], bool]] = {
    "add": ("Add", {}, [(B, T, F), (B, T, F), (B, F)], False),
    "subtract": ("Subtract", {}, [(B, T, F), (B, T, F)], False),
    "multiply": ("Multiply", {}, [(B, T, F), (B, T, F)], True),
    "average": ("Average", {}, [(B, T, F), (B, T, F), (B, T, F)], False),
    "maximum": ("Maximum", {}, [(B, T, F), (B, T, F), (B, T, F)], True),
    "minimum": ("Minimum", {}, [(B, T, F), (B, T, F)], True),
    "concatenate": ("Concatenate", {}, [(B, T, F), (B, T, 2)], False),
    "concatenate_axis1": ("Concatenate", {"axis": 1}, [(B, T, F), (B, 2, F)], False),
    "dot": ("Dot", {"axes": (2, 2)}, [(B, T, F), (B, 3, F)], False),
    "dot_normalize": ("Dot", {"axes": 1, "normalize": True}, [(B, F), (B, F)], False),
}


def _data(shapes: list[tuple], masked: bool, dtype: str, seed: int) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=s).astype(dtype) for s in shapes]
    if not masked:
        return xs, [None] * len(xs)
    masks = [rng.random(s[:2]) > 0.35 for s in shapes]
    return xs, masks


def _with_masks(tensors: list, masks: list) -> list:
    """Keras's merges read the mask attached to each input tensor: attach them."""
    for t, m in zip(tensors, masks):
        if m is not None:
            backend.set_keras_mask(t, m)
    return list(tensors)


def _forward_case(name: str, seed: int) -> ParityReport:
    keras = backend.require()
    cls, kwargs, shapes, masked = MERGES[name]
    xs, masks = _data(shapes, masked, "float32", seed)
    tensors = _with_masks([backend.convert(x, "float32") for x in xs], masks)
    expected = backend.to_numpy(getattr(keras.layers, cls)(**kwargs)(tensors))
    actual = getattr(numpy_rnn.layers, cls)(**kwargs)(xs, mask=masks if masked else None)
    return ParityReport(f"merging/{name}", [diff_arrays("output", actual, expected)])


def _grad_case(name: str, seed: int) -> ParityReport:
    keras = backend.require()
    cls, kwargs, shapes, masked = MERGES[name]
    xs, masks = _data(shapes, masked, "float64", seed)
    k_layer = getattr(keras.layers, cls)(dtype="float64", **kwargs)
    y = k_layer(_with_masks([backend.convert(x) for x in xs], masks))
    g = np.random.default_rng(seed + 1).normal(size=tuple(y.shape))

    def loss(tensors: list):  # sum(y * g): the input gradients are g pulled back
        out = k_layer(_with_masks(tensors, masks))
        return keras.ops.sum(out * keras.ops.convert_to_tensor(g, dtype="float64"))

    expected = backend.gradients(loss, xs)
    layer = getattr(numpy_rnn.layers, cls)(dtype="float64", **kwargs)
    layer(xs, mask=masks if masked else None, training=True)
    actual = layer.backward(g)
    return deviations.excuse(ParityReport(f"grad/merging/{name}", [
        diff_arrays(f"d inputs[{i}]", a, e, kind="gradient")
        for i, (a, e) in enumerate(zip(actual, expected))]), float64=True)


@register("merging")
def merging_cases(seed: int) -> list[Case]:
    """One forward row and one gradient row per merge configuration."""
    out = []
    for name in MERGES:
        out.append(Case(f"merging/{name}", lambda n=name: _forward_case(n, seed)))
        out.append(Case(f"grad/merging/{name}", lambda n=name: _grad_case(n, seed)))
    return out
