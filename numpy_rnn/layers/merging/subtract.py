"""``Subtract``: ``inputs[0] - inputs[1]``, as ``keras.layers.Subtract``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base_merge import Merge


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    _min_inputs, _max_inputs = 2, 2

    def _merge(self, xs: list[np.ndarray], masks: list) -> tuple[np.ndarray, Any]:
        return xs[0] - xs[1], None

    def _merge_backward(self, kept: Any, g: np.ndarray) -> list[np.ndarray]:
        return [g, -g]
