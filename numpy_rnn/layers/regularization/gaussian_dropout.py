"""``GaussianDropout(rate)``, as ``keras.layers.GaussianDropout``: multiplies by 1-centred Gaussian
noise of standard deviation ``sqrt(rate / (1 - rate))`` in training, the identity at inference.

The noise comes from the layer's NumPy generator (see ``gaussian_noise``); ``backward`` multiplies
by the same noise.  ``rate=1`` has no finite noise: Keras raises ZeroDivisionError in a training
call, this layer a ValueError.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .gaussian_noise import NoiseLayer, check_rate, normal_noise


class GaussianDropout(NoiseLayer):
    """Multiplicative Gaussian noise in training."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        rate = check_rate("rate", rate)
        super().__init__(**kwargs)
        self.rate = rate

    @property
    def random_in_training(self) -> bool:
        return self.rate > 0

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``inputs * noise`` when ``training`` is True, else ``inputs`` (in the layer dtype)."""
        x = self._cast_input("inputs", inputs)
        if not training or self.rate == 0:
            self._record = (None, x.shape)
            return x
        if self.rate == 1:
            raise ValueError(f"Layer '{self.name}': rate=1 gives noise of infinite standard "
                             "deviation sqrt(rate / (1 - rate)) (Keras raises "
                             "ZeroDivisionError); use a rate below 1.")
        noise = normal_noise(self, x.shape, x.dtype, 1.0, math.sqrt(self.rate / (1.0 - self.rate)))
        self._record = (noise, x.shape)
        return x * noise

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output * noise`` (the identity after an inference call)."""
        noise, shape = record
        g = self._grad_output(grad_output, shape)
        self.gradients = []
        return g if noise is None else g * noise

    def get_config(self) -> dict:
        return {"rate": self.rate, **self._base_config()}
