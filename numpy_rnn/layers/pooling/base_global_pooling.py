"""``BaseGlobalPooling``: GlobalMaxPooling1D and GlobalAveragePooling1D's options and shapes, as
``keras/src/layers/pooling/base_global_pooling.py``: the steps axis (1 for channels_last, 2 for
channels_first) is reduced, or kept with length 1 with ``keepdims=True``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer
from ..convolutional import base_conv as bc


class BaseGlobalPooling(Layer):
    """Shared base of the global 1-D pooling layers (not used directly)."""

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = bc.standardize_data_format(data_format)
        self.keepdims = v.boolean("keepdims", keepdims)
        self.built = True  # weightless: built at construction, as Keras's _build_at_init

    @property
    def _axis(self) -> int:
        return 1 if self.data_format == "channels_last" else 2

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim=3, found ndim={len(shape)}. Full shape received: "
                             f"{shape}")
        if self.data_format == "channels_last":
            return (shape[0], 1, shape[2]) if self.keepdims else (shape[0], shape[2])
        return (shape[0], shape[1], 1) if self.keepdims else (shape[0], shape[1])

    def build(self, input_shape: Any) -> None:
        """Nothing to build (weightless); the shape is checked as Keras's build would."""
        self.compute_output_shape(input_shape)

    def _inputs(self, inputs: Any) -> np.ndarray:
        x = self._cast_input("inputs", inputs)
        bc.check_rank3(self, x)
        if x.shape[self._axis] == 0:
            raise ValueError(f"`inputs` of layer '{self.name}' must have at least one step to "
                             f"pool over. Received: inputs with shape {tuple(x.shape)}")
        return x

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        g = self._grad_output(grad_output, record[-1])
        if not self.keepdims:
            g = np.expand_dims(g, self._axis)
        self.gradients = []  # no weights
        return self._unpool(record, g)

    def _unpool(self, record: tuple, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        """None: the steps axis is gone (Keras: no mask after a global pooling)."""
        return None

    def get_config(self) -> dict:
        return {"data_format": self.data_format, "keepdims": self.keepdims,
                **self._base_config()}
