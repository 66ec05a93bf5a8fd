"""``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``, as ``keras.layers.ReLU``: Keras 3's
``activations.relu`` on TensorFlow, operation for operation, and its gradient.

Keras's piecewise formula (``keras/src/activations/activations.py`` ``ReLU.static_call``):

* ``negative_slope != 0`` with neither ``max_value`` nor ``threshold``: TensorFlow's LeakyRelu,
  whose slope is a float32 attribute (a float64 layer multiplies by ``float32(slope)``);
  gradient 1 for ``x > 0``, else ``slope`` (so ``slope`` at 0);
* otherwise ``y = clip(pos, 0, max_value) - slope * relu(threshold - x)``, ``pos`` being
  ``where(x > threshold, x, 0)`` with a threshold, ``relu6(x)`` when ``max_value == 6``, else
  ``relu(x)``.  Gradients as TensorFlow's: ``x > threshold`` is strict (0 at the threshold);
  relu passes for ``x > 0``; relu6 for ``0 < x < 6``; ``clip_by_value`` (``minimum`` then
  ``maximum``) passes at ``x == max_value``; the negative part passes where ``threshold - x > 0``
  (so the slope does not reach ``x == threshold`` or ``x == 0``).  The threshold of the
  comparison and ``max_value`` go through Keras's ``ops.cast``, which rounds a Python float
  through float32 on TensorFlow (a float64 ``ReLU(max_value=0.1)`` clips at
  0.10000000149011612); the threshold inside ``relu(threshold - x)`` and the slope are converted
  exactly.  Measured against Keras 3.15.1
  at every kink, float32 and float64 (tests/parity/test_activation_layers_parity.py).
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .activation import ElementwiseLayer


def _cast(value: float, dtype: np.dtype) -> Any:
    """Keras's ``ops.cast(value, dtype)`` of a Python float on TensorFlow: ``tf.cast`` makes a
    float32 tensor first, so a float64 layer gets ``float64(float32(value))``."""
    return np.dtype(dtype).type(np.float32(value))


def _non_negative(name: str, value: Any, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        value = value.item()  # tf_keras's live config holds 0-d float32 arrays
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, type(None))):
        raise TypeError(f"`{name}` of a ReLU layer must be a real number. "
                        f"Received: {name}={value!r}")
    if value is None or value < 0:
        what = "a negative value" if allow_none else "None or a negative value"
        raise ValueError(f"{name} of a ReLU layer cannot be {what}. Received: {name}={value}")
    return float(value)


class ReLU(ElementwiseLayer):
    """Rectified linear unit with Keras's ``max_value``, ``negative_slope`` and ``threshold``
    (module docstring); masks pass through."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        max_value = _non_negative("max_value", max_value, allow_none=True)
        negative_slope = _non_negative("negative_slope", negative_slope)
        threshold = _non_negative("threshold", threshold)
        super().__init__(**kwargs)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def _leaky(self) -> bool:
        return self.negative_slope != 0 and self.max_value is None and self.threshold == 0

    def _relu6(self) -> bool:
        return self.threshold == 0 and self.max_value == 6

    def _parts(self, x: np.ndarray) -> tuple:
        """``(pos before the clip, negative part or None)`` in x's dtype."""
        dt = x.dtype.type
        zero = dt(0)
        neg = None
        if self.negative_slope != 0:
            neg = np.maximum(-x + dt(self.threshold), zero) if self.threshold != 0 \
                else np.maximum(-x, zero)
        if self.threshold != 0:
            pos = np.where(x > _cast(self.threshold, x.dtype), x, zero)
        elif self._relu6():
            pos = np.minimum(np.maximum(x, zero), dt(6))
        else:
            pos = np.maximum(x, zero)
        return pos, neg

    def _apply(self, x: np.ndarray, mask: Any = None) -> np.ndarray:
        dt = x.dtype.type
        if self._leaky():  # TF's LeakyRelu: the slope is a float32 attribute
            return np.where(x > 0, x, x * dt(np.float32(self.negative_slope)))
        pos, neg = self._parts(x)
        if self.max_value is not None and not self._relu6():
            pos = np.maximum(np.minimum(pos, _cast(self.max_value, x.dtype)), dt(0))  # clip
        if neg is not None:
            pos = pos - dt(self.negative_slope) * neg
        return pos

    def _grad(self, x: np.ndarray, y: np.ndarray, g: np.ndarray, mask: Any) -> np.ndarray:
        dt = g.dtype.type
        zero = dt(0)
        if self._leaky():  # LeakyReluGrad: x > 0 ? g : g * alpha (alpha at 0)
            return np.where(x > 0, g, g * dt(np.float32(self.negative_slope)))
        pos, neg = self._parts(x)
        if self.threshold != 0:
            passes = x > _cast(self.threshold, x.dtype)  # where's gradient: strict
        elif self._relu6():
            passes = (x > 0) & (x < 6)  # Relu6Grad on the input: 0 at 0 and at 6
        else:
            passes = pos > 0  # ReluGrad on the output: 0 at 0
        if self.max_value is not None and not self._relu6():
            passes = passes & (pos <= _cast(self.max_value, x.dtype))  # minimum: <= max passes
        dx = np.where(passes, g, zero)
        if neg is not None:  # Mul, Relu and Neg gradients of - slope * relu(threshold - x)
            dx = dx + np.where(neg > 0, g * dt(self.negative_slope), zero)
        return dx

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold, **self._base_config()}
