"""GlobalAveragePooling1D: the mean over the steps, as ``keras.layers.GlobalAveragePooling1D``.

With a mask ``(batch, steps)`` Keras 3.15 averages the unmasked steps only:
``sum(where(mask, x, 0)) / sum(mask)`` -- a fully masked row is ``0 / 0 = NaN``, in Keras and
here.  Without one it is the plain mean.  The output carries no mask.  Backward as TensorFlow's:
``grad / count`` at the unmasked steps, exactly 0 at the masked ones (a fully masked row gets 0
everywhere).  Keras 2 (tf_keras) multiplies by the mask instead (``inputs *= mask``): the same
result for finite inputs; a masked step holding inf or NaN would turn its row NaN there, not here
(a Keras 2 file is read with Keras 3's rule).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from .base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Global average pooling over steps, as ``keras.layers.GlobalAveragePooling1D`` (alias
    ``GlobalAvgPool1D``).

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        keepdims: keep the steps axis with length 1.
    """

    supports_masking = True

    def _mask(self, mask: Any, x: np.ndarray) -> np.ndarray | None:
        """The mask as booleans broadcastable against ``x`` (a channels axis inserted)."""
        if mask is None:
            return None
        m = v.numeric_array("mask", mask).astype(bool)
        steps = x.shape[self._axis]
        if m.shape != (x.shape[0], steps):
            raise ValueError(f"`mask` of layer '{self.name}' must have shape (batch, steps) = "
                             f"{(x.shape[0], steps)}. Received: mask with shape {m.shape}")
        return m[:, :, None] if self.data_format == "channels_last" else m[:, None, :]

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``(batch, steps, channels)`` -> ``(batch, channels)`` (``keepdims``: the steps axis
        kept with length 1); with ``mask`` the mean of the unmasked steps."""
        x = self._inputs(inputs)
        m = self._mask(mask, x)
        axis = self._axis
        if m is None:
            y = x.mean(axis=axis, keepdims=True)
            counts = np.asarray(x.shape[axis], x.dtype)
        else:
            counts = m.sum(axis=axis, keepdims=True).astype(x.dtype)
            with np.errstate(invalid="ignore", divide="ignore"):  # a fully masked row: NaN
                y = np.where(m, x, np.zeros((), x.dtype)).sum(axis=axis, keepdims=True) / counts
        out = y if self.keepdims else np.squeeze(y, axis)
        self._record = (m, counts, x.shape, out.shape) if training else None
        return out

    def _unpool(self, record: tuple, g: np.ndarray) -> np.ndarray:
        m, counts, in_shape, _ = record
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.broadcast_to(g / counts, in_shape)
        if m is None:
            return np.array(share)
        return np.where(m, share, np.zeros((), g.dtype))
