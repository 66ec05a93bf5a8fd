"""What the weightless reshaping layers share: built at construction, float inputs cast to the
layer dtype (integer inputs kept, as Keras's ``DTypePolicy.convert_input``), Keras's ``InputSpec``
rank check, no mask support (Keras 3.15 gives none of them ``supports_masking``: a mask that
reaches them is dropped, with a warning in Keras), and the training record (the input shape).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer


class ReshapingLayer(Layer):
    """Base of Flatten, Reshape, Permute, RepeatVector, Cropping1D, ZeroPadding1D, UpSampling1D.

    Subclasses set ``ndim`` (the input rank Keras's ``InputSpec`` demands; None: any rank of at
    least ``min_ndim``) and implement ``_forward(x)``, ``_input_gradient(g, shape)`` and
    ``compute_output_shape(input_shape)``."""

    supports_masking = False
    #: The input rank the layer takes (batch axis included); None for any rank >= ``min_ndim``.
    ndim: int | None = None
    min_ndim = 1

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built = True

    def _inputs(self, inputs: Any) -> np.ndarray:
        """``inputs`` as an array: floats cast to the layer dtype, integers and booleans kept;
        ValueError in Keras's ``InputSpec`` voice for the wrong rank."""
        x = v.numeric_array("inputs", inputs)
        if x.dtype.kind == "f":
            x = x.astype(self.dtype, copy=False)
        wrong = (x.ndim != self.ndim) if self.ndim is not None else (x.ndim < self.min_ndim)
        if wrong:
            expected = f"ndim={self.ndim}" if self.ndim is not None else f"min_ndim={self.min_ndim}"
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"{expected}, found ndim={x.ndim}. Full shape received: {x.shape}"
            )
        return x

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """Reshape ``inputs``; ``mask`` is ignored (the layer does not support masking).
        ``training=True`` keeps the input shape for ``backward``."""
        x = self._inputs(inputs)
        y = self._forward(x)
        self._record = x.shape if training else None
        return y

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _input_gradient(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the output's shape) -> dL/dinputs (the input's shape); no weights."""
        g = self._grad_output(grad_output, tuple(self.compute_output_shape(record)))
        self.gradients = []
        return self._input_gradient(g, record)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        """None: the layer drops any mask, as Keras's (``supports_masking`` is False)."""
        return None

    def get_config(self) -> dict:
        return self._base_config()


def int_tuple(name: str, value: Any, n: int, allow_zero: bool = True) -> tuple[int, ...]:
    """Keras's ``argument_validation.standardize_tuple``: an int (repeated ``n`` times) or ``n``
    ints, each >= 0 (``allow_zero``) or >= 1."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received {name}={value!r}") from None
        if len(values) != n or any(isinstance(x, bool) or not isinstance(x, (int, np.integer))
                                   for x in values):
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received {name}={value!r}")
        values = tuple(int(x) for x in values)
    low = 0 if allow_zero else 1
    if any(x < low for x in values):
        req = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received "
                         f"{name}={value!r} including {[x for x in values if x < low]} that does "
                         f"not satisfy the requirement `{req}`.")
    return values


def standardize_data_format(value: Any) -> str:
    """Keras's ``standardize_data_format``: None means ``"channels_last"`` (Keras's default
    ``image_data_format``)."""
    if value is None:
        return "channels_last"
    if not isinstance(value, str) or value.lower() not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={value!r}")
    return value.lower()
