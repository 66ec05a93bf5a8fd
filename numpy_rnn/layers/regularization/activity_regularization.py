"""``ActivityRegularization(l1=0.0, l2=0.0)``, as ``keras.layers.ActivityRegularization``: the
identity, which adds ``(l1 * sum|y| + l2 * sum y**2) / batch`` to the training loss.

Keras 3.15 (``Layer.__call__``) computes ``L1L2(l1, l2)(output)`` after every call, training or
not, divides it by the batch size (``divide_no_nan``) and ``add_loss``es it; the trainer sums
``model.losses`` into the loss of ``train_on_batch``, ``fit`` and ``evaluate``.  This layer keeps
that penalty in ``losses`` after each call, and ``numpy_rnn.training`` adds it to the loss and
its gradient (``_activity_gradient``: ``(l1/B) * sign(y) + (l2/B) * (2 y)``, TensorFlow's
DivNoNan, Mul, Abs and Square gradients) to the gradient of this layer's output.  ``backward``
itself is the identity: the derivative of the output alone, as ``tf.GradientTape`` gives for the
layer's output.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import regularizers
from ..base import Layer


class ActivityRegularization(Layer):
    """Identity layer with an L1/L2 activity penalty (training loss only); masks pass through."""

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        reg = regularizers.L1L2(l1=l1, l2=l2)  # Keras's check: finite numbers >= 0
        super().__init__(**kwargs)
        self.l1, self.l2 = reg.l1, reg.l2
        self._regularizer = reg
        self.built = True

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``inputs`` in the layer dtype; ``losses`` then holds the penalty of this call."""
        x = self._cast_input("inputs", inputs)
        penalty = self._regularizer(x)
        if x.ndim > 0:
            batch = x.dtype.type(x.shape[0])
            penalty = penalty / batch if batch else np.zeros((), x.dtype)  # divide_no_nan
        self._activity_losses = (np.asarray(penalty, x.dtype),)
        self._activity_input = x
        self._record = x.shape
        return x

    def _activity_gradient(self) -> np.ndarray | None:
        x = self.__dict__.get("_activity_input")
        if x is None or (self.l1 == 0 and self.l2 == 0):
            return None
        dt = x.dtype.type
        inv = dt(1) / dt(x.shape[0]) if x.ndim > 0 and x.shape[0] else dt(0 if x.ndim else 1)
        out = np.zeros_like(x)
        if self.l1 != 0:  # the factors as L1L2 casts them (through float32)
            out = out + (dt(np.float32(self.l1)) * inv) * np.sign(x)
        if self.l2 != 0:
            out = out + (dt(np.float32(self.l2)) * inv) * (x * dt(2))
        return out

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """The identity (the penalty's gradient is added by the training loop)."""
        g = self._grad_output(grad_output, record)
        self.gradients = []
        return g

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2, **self._base_config()}
