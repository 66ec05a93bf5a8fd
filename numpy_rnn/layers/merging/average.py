"""``Average``: the mean of the inputs, as ``keras.layers.Average``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base_merge import Merge


class Average(Merge):
    """``(inputs[0] + ... + inputs[n-1]) / n`` (summed in order, then divided, as Keras)."""

    def _merge(self, xs: list[np.ndarray], masks: list) -> tuple[np.ndarray, Any]:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out / np.asarray(len(xs), out.dtype), len(xs)

    def _merge_backward(self, kept: int, g: np.ndarray) -> list[np.ndarray]:
        return [g / np.asarray(kept, g.dtype)] * kept
