"""``BasePooling``: MaxPooling1D and AveragePooling1D's options, shapes and windows, as Keras's
``keras/src/layers/pooling/base_pooling.py`` (TensorFlow's ``max_pool`` / ``avg_pool``).

Windows of ``pool_size`` steps every ``strides`` steps (default: ``pool_size``), ``valid`` or
``same`` padding (TensorFlow's: the smaller half before).  Padded steps never win a max and are
not counted in an average.  A loop over the ``pool_size`` taps, never over time.

Masks: Keras's pooling layers do not support masking (an incoming mask is dropped, with a
warning) and pool masked steps as any others; so do these (``mask`` is ignored,
``compute_mask`` returns None).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import Layer
from ..convolutional import base_conv as bc


class BasePooling(Layer):
    """Shared base of the 1-D window pooling layers (not used directly)."""

    supports_masking = False

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = bc.standardize_size("pool_size", pool_size)
        # Keras accepts strides=0 here (allow_zero) and then fails in TensorFlow at the first
        # call; numpy_rnn refuses it now, in the same words as a size.
        self.strides = self.pool_size if strides is None else \
            bc.standardize_size("strides", strides)
        padding_l = padding.lower() if isinstance(padding, str) else padding
        if padding_l not in ("valid", "same"):
            raise ValueError("Argument `padding` must be either 'valid' or 'same'. Received: "
                             f"padding={padding!r}")
        self.padding = padding_l
        self.data_format = bc.standardize_data_format(data_format)
        self.built = True  # weightless: built at construction, as Keras's _build_at_init

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim=3, found ndim={len(shape)}. Full shape received: "
                             f"{shape}")
        steps = shape[1] if self.data_format == "channels_last" else shape[2]
        out = bc.conv_output_length(steps, self.pool_size, self.strides, self.padding)
        if out is not None and out <= 0:
            raise ValueError(
                f"Computed output size would be zero or negative. Received: `inputs.shape="
                f"{shape}`, `pool_size={(self.pool_size,)}`, `strides={(self.strides,)}`, "
                f"`padding={self.padding}`. The input has {steps} steps; a `valid` window "
                f"needs {self.pool_size}.")
        if self.data_format == "channels_last":
            return (shape[0], out, shape[2])
        return (shape[0], shape[1], out)

    def build(self, input_shape: Any) -> None:
        """Nothing to build (weightless); the shape is checked as Keras's build would."""
        self.compute_output_shape(input_shape)

    def _inputs(self, inputs: Any) -> np.ndarray:
        x = self._cast_input("inputs", inputs)
        bc.check_rank3(self, x)
        self.compute_output_shape(x.shape)
        return x

    def _layout(self, steps: int) -> tuple[int, int, int]:
        """``(out_steps, before, after)`` for ``steps`` input steps."""
        before, after = bc.padding_amounts(steps, self.pool_size, self.strides, self.padding)
        return bc.conv_output_length(steps, self.pool_size, self.strides, self.padding), \
            before, after

    def _taps(self, xp: np.ndarray, out_steps: int):
        """The ``pool_size`` strided views of the padded ``xp (batch, steps, channels)``."""
        return [bc.tap(xp, p, 1, self.strides, out_steps) for p in range(self.pool_size)]

    def _spread(self, parts: list[np.ndarray], padded: int, before: int,
                steps: int) -> np.ndarray:
        """Overlap-add ``parts[p]`` (the gradient reaching tap ``p``) back to the input steps."""
        b, _, c = parts[0].shape
        dxp = np.zeros((b, padded, c), parts[0].dtype)
        for p, part in enumerate(parts):
            bc.tap(dxp, p, 1, self.strides, part.shape[1])[...] += part
        return dxp[:, before:before + steps]

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``(batch, steps, channels)`` (channels_first: ``(batch, channels, steps)``) -> the
        pooled sequence.  ``mask`` is ignored (module docstring)."""
        x = self._inputs(inputs)
        y_last, cache = self._pool(bc.to_channels_last(x, self.data_format), training)
        y = bc.from_channels_last(y_last, self.data_format)
        self._record = (cache, y.shape) if training else None
        return y

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        cache, shape = record
        g = bc.to_channels_last(self._grad_output(grad_output, shape), self.data_format)
        self.gradients = []  # no weights
        return bc.from_channels_last(self._unpool(cache, g), self.data_format)

    def _pool(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _unpool(self, cache: Any, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict:
        return {"pool_size": (self.pool_size,), "padding": self.padding,
                "strides": (self.strides,), "data_format": self.data_format,
                **self._base_config()}
