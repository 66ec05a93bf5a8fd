"""``GaussianNoise(stddev)``, as ``keras.layers.GaussianNoise``: adds zero-centred Gaussian noise
with standard deviation ``stddev`` in training, the identity at inference.

The noise is drawn from the layer's NumPy generator (the layer ``seed``), as ``numpy_rnn.Dropout``
draws its mask: standard normal draws cast to the layer dtype, then ``z * stddev + 0`` in that
dtype (TensorFlow's ``stateless_random_normal`` formula); Keras's random pattern cannot be
reproduced.  The gradient is the identity.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..base import Layer


def check_rate(name: str, value: Any) -> float:
    """Keras's check of ``rate`` / ``stddev``: a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"Invalid value received for argument `{name}`. Expected a float value "
                         f"between 0 and 1. Received: {name}={value!r}")
    return float(value)


def normal_noise(layer: Layer, shape: tuple, dtype: np.dtype, mean: float,
                 stddev: float) -> np.ndarray:
    """``z * stddev + mean`` in ``dtype``, ``z`` standard normal from the layer's generator."""
    dt = np.dtype(dtype).type
    z = layer._rng.standard_normal(shape).astype(dtype)
    return z * dt(stddev) + dt(mean)


class NoiseLayer(Layer):
    """What the noise layers share: weightless, masks pass through, output shape = input
    shape, and a record kept by every call (the noise, or None at inference) so that
    ``backward`` after an inference call is the identity, as ``numpy_rnn.Dropout``."""

    supports_masking = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built = True

    @property
    def random_in_training(self) -> bool:
        """True when a training call draws noise (parity then cannot compare it with Keras)."""
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask


class GaussianNoise(NoiseLayer):
    """Additive Gaussian noise in training (``stddev`` in [0, 1], as Keras requires)."""

    def __init__(self, stddev: float, **kwargs: Any) -> None:
        stddev = check_rate("stddev", stddev)
        super().__init__(**kwargs)
        self.stddev = stddev

    @property
    def random_in_training(self) -> bool:
        return self.stddev > 0

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``inputs`` (cast to the layer dtype) plus noise when ``training`` is True."""
        x = self._cast_input("inputs", inputs)
        if not training or self.stddev == 0:
            self._record = (None, x.shape)
            return x
        noise = normal_noise(self, x.shape, x.dtype, 0.0, self.stddev)
        self._record = (noise, x.shape)
        return x + noise

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """The identity: d(x + noise)/dx = 1."""
        _, shape = record
        g = self._grad_output(grad_output, shape)
        self.gradients = []
        return g

    def get_config(self) -> dict:
        return {"stddev": self.stddev, **self._base_config()}
