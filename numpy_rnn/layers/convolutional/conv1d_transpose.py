"""Conv1DTranspose: the adjoint of a Conv1D, as ``keras.layers.Conv1DTranspose``.

TensorFlow computes ``tf.nn.conv_transpose`` as the gradient of a forward convolution from the
output length to the input length (same strides, dilation and padding): each input step ``t``
adds ``inputs[t] @ kernel[k].T`` at output step ``t * strides + k * dilation_rate - before``,
``before`` being the forward convolution's ``SAME`` padding before the first step (0 for
``valid``).  Output steps that no window reaches (``output_padding``, strides wider than the
kernel) hold only the bias.  Computed as one matmul and an overlap-add (a loop over the taps).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import base_conv as bc
from .base_conv_layer import BaseConv


class Conv1DTranspose(BaseConv):
    """Transposed 1-D convolution, as ``keras.layers.Conv1DTranspose``.

    Weights in Keras's layout: kernel ``(kernel_size, filters, in_channels)``, bias
    ``(filters,)``.  Output steps (Keras's ``compute_conv_transpose_output_shape``):
    ``valid``: ``(steps - 1) * strides + max(k, strides)``, ``same``: ``steps * strides``, where
    ``k = (kernel_size - 1) * dilation_rate + 1``; with ``output_padding`` p: ``(steps - 1) *
    strides + k + p`` (``valid``) or ``+ k % 2 + p`` (``same``).

    Args:
        filters, kernel_size, strides, padding (``"valid"`` / ``"same"``), data_format,
        dilation_rate, activation, use_bias, kernel_initializer, bias_initializer: as Conv1D.
        output_padding: None or an int below ``strides``: extra steps at the end.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None,
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        filters = self._positive("filters", filters)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias,
                         initializers_given={"kernel_initializer": kernel_initializer,
                                             "bias_initializer": bias_initializer}, **kwargs)
        self.filters = filters
        self.output_padding = None if output_padding is None else bc.standardize_size(
            "output_padding", output_padding, allow_zero=True)
        if self.output_padding is not None and self.output_padding >= self.strides:
            raise ValueError(
                "`output_padding` must be strictly less than `strides` for all dimensions. At "
                f"dimension 0, `output_padding` is {self.output_padding} but `strides` is "
                f"{self.strides}. Received: output_padding={(self.output_padding,)}, "
                f"strides={(self.strides,)}")
        self._build_given()

    def weight_names(self) -> list[str]:
        return ["kernel", "bias"] if self.use_bias else ["kernel"]

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        return {"kernel": (self.kernel_size, self.filters, features), "bias": (self.filters,)}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        shapes = self._shapes_for(features)
        out = {"kernel": self._draw("kernel_initializer", shapes["kernel"])}
        if self.use_bias:
            out["bias"] = self._draw("bias_initializer", shapes["bias"])
        return out

    def _out_channels(self, channels: int) -> int:
        return self.filters

    def _out_steps(self, steps: int | None) -> int | None:
        return bc.transpose_output_length(steps, self.kernel_size, self.strides, self.padding,
                                          self.output_padding, self.dilation_rate)

    def _channels_from_weights(self, weights: list[np.ndarray]) -> int:
        k = weights[0] if weights else None
        if k is None or k.ndim != 3 or k.shape[0] != self.kernel_size or \
                k.shape[1] != self.filters or k.shape[2] < 1:
            raise self._weight_shape_error(
                "kernel", f"({self.kernel_size}, {self.filters}, in_channels) = "
                "(kernel_size, filters, in_channels)", k)
        return int(k.shape[2])

    def _layout(self, steps: int) -> tuple[int, int, int]:
        """``(out_steps, before, buffer steps)``: where the forward convolution's padded input
        starts and how long the overlap-add buffer must be."""
        out_steps = self._out_steps(steps)
        span = (steps - 1) * self.strides + bc.effective_kernel(self.kernel_size,
                                                                self.dilation_rate)
        before = 0
        if self.padding == "same":
            if (out_steps - 1) // self.strides + 1 != steps:
                raise ValueError(
                    f"Layer '{self.name}': with padding='same', kernel_size={self.kernel_size}, "
                    f"dilation_rate={self.dilation_rate}, strides={self.strides} and "
                    f"output_padding={self.output_padding}, the output has {out_steps} steps, "
                    f"which a 'same' convolution maps to {(out_steps - 1) // self.strides + 1} "
                    f"steps, not the {steps} input steps: TensorFlow refuses this "
                    "`output_padding` (choose another one, or None).")
            before = bc.same_padding(out_steps, self.kernel_size, self.strides,
                                     self.dilation_rate, out_length=steps)[0]
        return out_steps, before, max(span, before + out_steps)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        out = super().compute_output_shape(input_shape)
        shape = self._full_shape(input_shape)
        steps = shape[1] if self.data_format == "channels_last" else shape[2]
        if steps is not None:
            self._layout(steps)
        return out

    def _conv(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        b, steps, c = x.shape
        out_steps, before, buffer = self._layout(steps)
        kernel = self.kernel  # (K, filters, in_channels)
        k, f = self.kernel_size, self.filters
        cols = (x.reshape(b * steps, c) @ kernel.reshape(k * f, c).T).reshape(b, steps, k, f)
        full = bc.overlap_add(cols, buffer, self.dilation_rate, self.strides)
        return full[:, before:before + out_steps], (x, kernel, before, buffer)

    def _conv_backward(self, cache: Any, dz: np.ndarray, need_dx: bool):
        x, kernel, before, buffer = cache
        b, steps, c = x.shape
        k, f = self.kernel_size, self.filters
        dfull = np.zeros((b, buffer, f), dz.dtype)
        dfull[:, before:before + dz.shape[1]] = dz
        dcols = bc.windows(dfull, k, self.dilation_rate, self.strides, steps).reshape(
            b * steps, k * f)  # (batch * steps, K * filters)
        d_kernel = (dcols.T @ x.reshape(b * steps, c)).reshape(k, f, c)
        dx = (dcols @ kernel.reshape(k * f, c)).reshape(b, steps, c) if need_dx else None
        return [d_kernel], dx

    def get_config(self) -> dict:
        op = None if self.output_padding is None else (self.output_padding,)
        return {"filters": self.filters, "output_padding": op, **self._conv_config(),
                **self._base_config()}
