"""Weightless layers: ``Masking`` and ``Dropout``, as ``keras.layers.Masking`` / ``Dropout``."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import _validation as v
from .base import Layer


class Masking(Layer):
    """Marks timesteps whose features ALL equal ``mask_value`` as padding.

    ``__call__(inputs (batch, timesteps, ...))`` returns the inputs with masked steps replaced
    by 0 (Keras does the same); ``compute_mask(inputs)`` returns the boolean mask
    ``(batch, timesteps)``: True where any feature differs from ``mask_value``.  Comparisons
    happen in the layer dtype, after the cast, as in Keras.
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Real):
            raise TypeError(
                f"`mask_value` must be a real number. Received: mask_value={mask_value!r}"
            )
        self.mask_value = float(mask_value)
        self.built = True

    def _keep(self, x: np.ndarray) -> np.ndarray:
        return np.any(x != np.asarray(self.mask_value, x.dtype), axis=-1)  # (batch, timesteps)

    def _inputs(self, inputs: Any) -> np.ndarray:
        x = self._cast_input("inputs", inputs)
        if x.ndim < 2:
            raise ValueError(
                f"`inputs` of layer '{self.name}' must have at least 2 dimensions "
                f"(batch, ..., features). Received: inputs with shape {x.shape}"
            )
        return x

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``(batch, timesteps, features)`` -> same shape, masked steps set to 0.

        ``training=True`` keeps the mask for ``backward``."""
        x = self._inputs(inputs)
        keep = self._keep(x)[..., None]  # (batch, timesteps, 1)
        self._record = (keep, x.shape) if training else None  # inference forgets the last record
        return np.where(keep, x, np.zeros((), x.dtype))

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the input's shape) -> dL/dinputs: exactly 0 at masked steps."""
        keep, shape = record
        g = self._grad_output(grad_output, shape)
        self.gradients = []  # no weights
        return np.where(keep, g, np.zeros((), g.dtype))

    def compute_mask(self, inputs: Any, mask: Any = None) -> np.ndarray:
        """``(batch, timesteps)`` booleans: True for a step with any feature != mask_value."""
        return self._keep(self._inputs(inputs))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {"mask_value": self.mask_value, **self._base_config()}


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
