"""``AlphaDropout(rate, noise_shape=None)``, as ``keras.layers.AlphaDropout``: dropout that keeps
the mean and variance of SELU activations.  In training, with ``kept = uniform >= rate``
(``noise_shape``, broadcast against the input), ``alpha_p = -1.6732632423543772 *
1.0507009873554805``, ``a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5`` and
``b = -a * alpha_p * rate``: ``y = a * (x * kept + alpha_p * (1 - kept)) + b``, each constant cast
to the input dtype as TensorFlow does; the identity at inference.  The gradient is
``(g * a) * kept``.

The uniform draws come from the layer's NumPy generator in float32 (Keras draws them in floatx),
so the distribution is Keras's, the random pattern is not.  ``rate=1`` divides by zero (Keras
raises ZeroDivisionError in a training call; this layer a ValueError).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Dropout
from .gaussian_noise import NoiseLayer, check_rate

_ALPHA = 1.6732632423543772848170429916717
_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(NoiseLayer):
    """SELU-preserving dropout in training."""

    def __init__(self, rate: float, noise_shape: Any = None, **kwargs: Any) -> None:
        rate = check_rate("rate", rate)
        noise_shape = Dropout._noise_shape(noise_shape)
        super().__init__(**kwargs)
        self.rate, self.noise_shape = rate, noise_shape

    @property
    def random_in_training(self) -> bool:
        return self.rate > 0

    def _constants(self) -> tuple[float, float, float]:
        alpha_p = -_ALPHA * _SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        return alpha_p, a, -a * alpha_p * self.rate

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """The affine-corrected dropout of ``inputs`` when ``training`` is True."""
        x = self._cast_input("inputs", inputs)
        if not training or self.rate == 0:
            self._record = (None, None, x.shape)
            return x
        if self.rate == 1:
            raise ValueError(f"Layer '{self.name}': rate=1 makes the scale "
                             "((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5 infinite (Keras "
                             "raises ZeroDivisionError); use a rate below 1.")
        if self.noise_shape is not None and len(self.noise_shape) != x.ndim:
            raise ValueError(f"`noise_shape` {self.noise_shape} of layer '{self.name}' must have "
                             f"one entry per input axis. Received: inputs with shape {x.shape}")
        shape = x.shape if self.noise_shape is None else tuple(
            x.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        dt = x.dtype.type
        kept = (self._rng.random(shape, dtype=np.float32) >= self.rate).astype(x.dtype)
        alpha_p, a, b = self._constants()
        y = dt(a) * (x * kept + dt(alpha_p) * (dt(1) - kept)) + dt(b)
        self._record = (kept, dt(a), x.shape)
        return y

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``(grad_output * a) * kept`` (the identity after an inference call)."""
        kept, a, shape = record
        g = self._grad_output(grad_output, shape)
        self.gradients = []
        return g if kept is None else (g * a) * kept

    def get_config(self) -> dict:
        return {"rate": self.rate, "noise_shape": self.noise_shape, **self._base_config()}
