"""``ELU(alpha=1.0)``, as ``keras.layers.ELU`` on TensorFlow: ``res = tf.nn.elu(x)`` (``exp(x) - 1``
for ``x < 0``, not ``expm1``: float32 ``elu(-1e-9)`` is 0, as TensorFlow's), then, unless
``alpha == 1``, ``where(x > 0, res, alpha * res)``.  Gradient: ``where(x > 0, g, alpha * g)``
through EluGrad (``res < 0 ? d * (res + 1) : d``), so ``alpha`` at ``x == 0``.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .activation import ElementwiseLayer


class ELU(ElementwiseLayer):
    """Exponential linear unit with slope ``alpha`` on the negative side; masks pass through."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise TypeError(f"`alpha` of an ELU layer must be a real number. Received: "
                            f"alpha={alpha!r}")
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    @staticmethod
    def _elu(x: np.ndarray) -> np.ndarray:
        dt = x.dtype.type
        return np.where(x < 0, np.exp(np.minimum(x, dt(0))) - dt(1), x)  # TF's Elu kernel

    def _apply(self, x: np.ndarray, mask: Any = None) -> np.ndarray:
        res = self._elu(x)
        if self.alpha == 1:
            return res
        return np.where(x > 0, res, x.dtype.type(self.alpha) * res)

    def _grad(self, x: np.ndarray, y: np.ndarray, g: np.ndarray, mask: Any) -> np.ndarray:
        dt = g.dtype.type
        res = self._elu(x)
        d = g if self.alpha == 1 else np.where(x > 0, g, dt(self.alpha) * g)
        return np.where(res < 0, d * (res + dt(1)), d)  # EluGrad on the output

    def get_config(self) -> dict:
        return {"alpha": self.alpha, **self._base_config()}
