"""AveragePooling1D: the mean of each window, as ``keras.layers.AveragePooling1D``.

With ``padding="same"`` a window overlapping the padding is divided by the number of real steps
in it (TensorFlow's ``avg_pool`` excludes padding: ``[1..5]``, pool 2, stride 1 ends in 5, not
2.5 -- measured).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..convolutional import base_conv as bc
from .base_pooling import BasePooling


class AveragePooling1D(BasePooling):
    """Average pooling over steps, as ``keras.layers.AveragePooling1D`` (alias ``AvgPool1D``).

    Args:
        pool_size: window length (required, as in Keras). strides, padding, data_format: as
            MaxPooling1D.
    """

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _counts(self, steps: int, dtype: np.dtype) -> np.ndarray:
        """Real steps in each window, ``(out_steps, 1)`` in ``dtype``."""
        out_steps, before, after = self._layout(steps)
        ones = bc.pad_steps(np.ones((1, steps, 1), dtype), before, after)
        return sum(self._taps(ones, out_steps))[0]

    def _pool(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, Any]:
        steps = x.shape[1]
        out_steps, before, after = self._layout(steps)
        xp = bc.pad_steps(x, before, after)
        taps = self._taps(xp, out_steps)
        total = taps[0].copy()
        for window in taps[1:]:
            total += window
        counts = self._counts(steps, x.dtype)  # (out_steps, 1)
        return total / counts, ((counts, xp.shape[1], before, steps) if training else None)

    def _unpool(self, cache: Any, g: np.ndarray) -> np.ndarray:
        counts, padded, before, steps = cache
        share = g / counts
        return self._spread([share] * self.pool_size, padded, before, steps)
