"""Weights for parity cases: gate blocks of distinct scale and non-zero biases."""
from __future__ import annotations

from typing import Any

import numpy as np

from numpy_rnn.formats.keras_layers import GATES

__all__ = ["GATES", "gate_weights", "gates_of", "randomize", "randomize_model"]


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


def gates_of(layer: Any) -> int:
    """Gate blocks of a Keras layer's kernels (a Bidirectional's inner layer's; 1 otherwise)."""
    inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None) or layer
    return GATES.get(type(inner).__name__, 1)


def randomize(layer: Any, gates: int, rng: np.random.Generator, dtype: str = "float32") -> None:
    """Set gate-distinct random weights on a built Keras layer."""
    layer.set_weights(gate_weights([tuple(w.shape) for w in layer.weights], gates, rng, dtype))


def randomize_model(model: Any, rng: np.random.Generator, dtype: str = "float32") -> None:
    """Gate-distinct random weights in every layer of a Keras model (biases non-zero)."""
    for layer in model.layers:
        if layer.weights:
            randomize(layer, gates_of(layer), rng, dtype)
