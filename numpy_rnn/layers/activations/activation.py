"""``Activation(activation)``, as ``keras.layers.Activation``; and :class:`ElementwiseLayer`, the
call protocol every activation layer shares (masks pass through, output shape = input shape)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import activations
from ..base import Layer


class ElementwiseLayer(Layer):
    """The shared protocol of the activation layers.

    ``__call__(inputs, mask=None, training=False)`` casts ``inputs`` to the layer dtype and
    returns ``_apply(x)`` (same shape); ``training=True`` keeps ``(x, y, mask)`` for
    ``backward``, an inference call forgets the last record (as Dense).  A mask passes through
    (``supports_masking``, ``compute_mask``), as Keras's base ``Layer.compute_mask``.
    Subclasses write ``_apply(x, mask)`` and ``_grad(x, y, g, mask)`` (dL/dx from dL/dy)."""

    supports_masking = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built = True  # weightless: built at construction, as Keras's ``_build_at_init``

    def _apply(self, x: np.ndarray, mask: Any = None) -> np.ndarray:
        raise NotImplementedError

    def _grad(self, x: np.ndarray, y: np.ndarray, g: np.ndarray, mask: Any) -> np.ndarray:
        raise NotImplementedError

    def _prepare(self, inputs: Any, mask: Any) -> tuple[np.ndarray, Any]:
        """The input in the layer dtype, and the mask as the layer uses it (ignored here)."""
        return self._cast_input("inputs", inputs), None

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``inputs (batch, ...)`` -> the same shape, in the layer dtype."""
        x, m = self._prepare(inputs, mask)
        y = self._apply(x, m)
        self._record = (x, y, m) if training else None
        return y

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the output's shape) -> dL/dinputs (the input's shape)."""
        x, y, m = record
        g = self._grad_output(grad_output, y.shape)
        dx = self._grad(x, y, g, m)
        if not self.weight_names():
            self.gradients = []
        return dx.astype(self.dtype, copy=False)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask


class Activation(ElementwiseLayer):
    """Applies a Keras activation by name (any of ``numpy_rnn.activations.names()``) or a
    callable; the backward pass is ``numpy_rnn.activations.backward`` (TensorFlow's gradient,
    kinks included), so a custom callable runs but cannot be differentiated.

    Args:
        activation: the activation (``None`` is ``"linear"``).
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation, "activation")

    def _apply(self, x: np.ndarray, mask: Any = None) -> np.ndarray:
        return np.asarray(self.activation(x), x.dtype)

    def _grad(self, x: np.ndarray, y: np.ndarray, g: np.ndarray, mask: Any) -> np.ndarray:
        return activations.backward(self.activation, x, y, g)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self.activation is activations.glu and shape and shape[-1] is not None:
            return shape[:-1] + (shape[-1] // 2,)  # glu splits the last axis in two
        return shape

    def get_config(self) -> dict:
        return {"activation": activations.serialize(self.activation), **self._base_config()}
