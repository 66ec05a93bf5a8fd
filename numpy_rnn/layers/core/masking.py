"""``Masking(mask_value=0.0)``, as ``keras.layers.Masking`` (``keras/src/layers/core/masking.py``)."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..base import Layer


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
