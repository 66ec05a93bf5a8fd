"""``Add``: the sum of the inputs, as ``keras.layers.Add``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base_merge import Merge


class Add(Merge):
    """``inputs[0] + inputs[1] + ...`` (summed in order, broadcasting as Keras)."""

    def _merge(self, xs: list[np.ndarray], masks: list) -> tuple[np.ndarray, Any]:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out, len(xs)

    def _merge_backward(self, kept: int, g: np.ndarray) -> list[np.ndarray]:
        return [g] * kept
