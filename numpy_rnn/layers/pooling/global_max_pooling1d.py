"""GlobalMaxPooling1D: the largest value over the steps, as ``keras.layers.GlobalMaxPooling1D``.

Masks: Keras 3.15's GlobalMaxPooling1D does not take one (its ``call(inputs)`` has no ``mask``
and it does not support masking: Keras warns and drops an incoming mask), so masked steps take
part in the max -- a fully masked row is the max over its padding.  This layer does the same:
``mask`` is accepted and ignored.

Backward as TensorFlow's ``reduce_max`` gradient: ties share the gradient equally
(``indicators / count * grad``; measured: three equal maxima get 1/3 each).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Global max pooling over steps, as ``keras.layers.GlobalMaxPooling1D`` (alias
    ``GlobalMaxPool1D``).

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        keepdims: keep the steps axis with length 1.
    """

    supports_masking = False

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``(batch, steps, channels)`` -> ``(batch, channels)`` (``keepdims``: the steps axis
        kept with length 1).  ``mask`` is ignored, as Keras does."""
        x = self._inputs(inputs)
        y = x.max(axis=self._axis, keepdims=True)
        out = y if self.keepdims else np.squeeze(y, self._axis)
        self._record = (x, y, out.shape) if training else None
        return out

    def _unpool(self, record: tuple, g: np.ndarray) -> np.ndarray:
        x, y, _ = record
        hits = (x == y).astype(x.dtype)  # every step holding the max
        return hits / hits.sum(axis=self._axis, keepdims=True) * g
