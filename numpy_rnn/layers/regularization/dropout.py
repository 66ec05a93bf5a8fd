"""``Dropout(rate, noise_shape=None)``, as ``keras.layers.Dropout`` (Keras files it under
``keras/src/layers/regularization/dropout.py``)."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer


class Dropout(Layer):
    """Dropout: the identity at inference (``training=False``, the default), as in Keras.

    With ``training=True`` and ``rate > 0`` it zeroes each element with probability ``rate``
    and scales the rest by ``1 / (1 - rate)`` (inverted dropout, as Keras), drawing from the
    layer's NumPy generator, so the random pattern is not Keras's.
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(
                "Invalid value received for argument `rate`. Expected a float value between "
                f"0 and 1. Received: rate={rate!r}"
            )
        self.rate = float(rate)
        self.noise_shape = self._noise_shape(noise_shape)
        self.built = True

    @staticmethod
    def _noise_shape(noise_shape: Any) -> tuple | None:
        if noise_shape is None:
            return None
        if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
            raise ValueError(
                "Invalid value received for argument `noise_shape`. Expected a tuple or list of "
                f"integers or None. Received: noise_shape={noise_shape!r}"
            )
        shape = tuple(noise_shape)
        for i, dim in enumerate(shape):
            if dim is not None:
                v.positive_int(f"noise_shape[{i}]", dim)
        return shape

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """Returns ``inputs`` (cast to the layer dtype) unless ``training`` is True.

        ``training=True`` draws the keep-mask (``noise_shape``, broadcast to the input) and
        keeps it for ``backward``.  Every call keeps a record (at inference only the input
        shape, which costs nothing), so ``backward`` after a ``training=False`` call is the
        identity, as Keras's gradient at inference."""
        x = self._cast_input("inputs", inputs)
        if not v.boolean("training", bool(training)) or self.rate == 0:
            self._record = (None, None, x.shape)  # the identity: only the shape is kept
            return x
        if self.rate == 1:
            self._record = (np.zeros((1,) * x.ndim, bool), np.ones((), x.dtype), x.shape)
            return np.zeros_like(x)
        shape = x.shape if self.noise_shape is None else tuple(
            x.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        keep = self._rng.random(shape) >= self.rate  # noise_shape, broadcast against x
        # TensorFlow: ``where(keep, x * scale, 0)`` with scale = 1/(1-rate) in the input dtype
        scale = np.asarray(1 / (1 - self.rate), x.dtype)
        self._record = (keep, scale, x.shape)
        return np.where(keep, x * scale, np.zeros((), x.dtype))

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the input's shape) -> dL/dinputs: the same keep-mask and scale as
        the forward (``where(keep, grad * scale, 0)``), or ``grad_output`` at inference."""
        keep, scale, shape = record
        g = self._grad_output(grad_output, shape)
        self.gradients = []  # no weights
        if keep is None:
            return g
        return np.where(keep, g * scale, np.zeros((), g.dtype))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {"rate": self.rate, "noise_shape": self.noise_shape, **self._base_config()}
