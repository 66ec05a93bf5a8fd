"""MaxPooling1D: the largest value of each window, as ``keras.layers.MaxPooling1D``.

Backward as TensorFlow's ``MaxPoolGrad`` on CPU: each window's gradient goes to ONE input step,
the first (earliest) step holding the window's maximum (measured, float32 and float64: windows
[1, 1, 0] send their gradient to step 0); overlapping windows add up.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..convolutional import base_conv as bc
from .base_pooling import BasePooling


class MaxPooling1D(BasePooling):
    """Max pooling over steps, as ``keras.layers.MaxPooling1D`` (alias ``MaxPool1D``).

    Args:
        pool_size: window length (default 2). strides: step between windows (None:
            ``pool_size``). padding: ``"valid"`` or ``"same"``. data_format:
            ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _pool(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, Any]:
        steps = x.shape[1]
        out_steps, before, after = self._layout(steps)
        xp = bc.pad_steps(x, before, after, -np.inf)  # padding never wins
        taps = self._taps(xp, out_steps)
        y = taps[0].copy()
        arg = np.zeros(y.shape, np.int32) if training else None
        for p, window in enumerate(taps[1:], start=1):
            better = window > y  # strict: a tie stays with the earlier step
            np.copyto(y, window, where=better)
            if training:
                arg[better] = p
        return y, ((arg, xp.shape[1], before, steps) if training else None)

    def _unpool(self, cache: Any, g: np.ndarray) -> np.ndarray:
        arg, padded, before, steps = cache
        zero = np.zeros((), g.dtype)
        parts = [np.where(arg == p, g, zero) for p in range(self.pool_size)]
        return self._spread(parts, padded, before, steps)
