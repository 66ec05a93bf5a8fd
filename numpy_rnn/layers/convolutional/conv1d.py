"""Conv1D: ``activation(conv1d(inputs, kernel) + bias)``, as ``keras.layers.Conv1D``.

The convolution is TensorFlow's (a cross-correlation: the kernel is not flipped): for
channels-last inputs, ``out[b, t, f] = sum_{k, c} xp[b, t * strides + k * dilation_rate, c] *
kernel[k, c, f]`` over the (padded) input ``xp``, within the group of filter ``f``.  Computed as
an im2col copy and one matmul (a batched matmul over the groups), a few batch rows at a time so
that the copied windows are still in cache when the matmul reads them (``base_conv.batch_chunks``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import base_conv as bc
from .base_conv_layer import BaseConv


def grouped_conv(cols: np.ndarray, kernel: np.ndarray, groups: int, out: np.ndarray) -> None:
    """``cols (batch, out_steps, K, C)`` x ``kernel (K, C // groups, F)`` -> ``out (batch,
    out_steps, F)`` (contiguous); group ``j`` reads channels ``j*C/g ..`` and writes filters
    ``j*F/g ..``."""
    b, t, k, c = cols.shape
    f = kernel.shape[-1]
    n = b * t
    if groups == 1:
        np.matmul(cols.reshape(n, k * c), kernel.reshape(k * c, f), out=out.reshape(n, f))
        return
    cg, fg = c // groups, f // groups
    a = cols.reshape(n, k, groups, cg).transpose(2, 0, 1, 3).reshape(groups, n, k * cg)
    w = kernel.reshape(k, cg, groups, fg).transpose(2, 0, 1, 3).reshape(groups, k * cg, fg)
    out[...] = (a @ w).transpose(1, 0, 2).reshape(b, t, f)  # (g, n, fg) -> (b, t, f)


def grouped_conv_backward(cols: np.ndarray, kernel: np.ndarray, groups: int, dz: np.ndarray,
                          need_dcols: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``(d kernel (K, C // groups, F), d cols (batch, out_steps, K, C) or None)`` for
    ``dz (batch, out_steps, F)``."""
    b, t, k, c = cols.shape
    f = kernel.shape[-1]
    n = b * t
    if groups == 1:
        cols2, dz2 = cols.reshape(n, k * c), dz.reshape(n, f)
        d_kernel = (cols2.T @ dz2).reshape(k, c, f)
        dcols = (dz2 @ kernel.reshape(k * c, f).T).reshape(b, t, k, c) if need_dcols else None
        return d_kernel, dcols
    cg, fg = c // groups, f // groups
    a = cols.reshape(n, k, groups, cg).transpose(2, 0, 1, 3).reshape(groups, n, k * cg)
    w = kernel.reshape(k, cg, groups, fg).transpose(2, 0, 1, 3).reshape(groups, k * cg, fg)
    dzg = dz.reshape(n, groups, fg).transpose(1, 0, 2)  # (g, n, fg)
    dw = a.transpose(0, 2, 1) @ dzg  # (g, k*cg, fg)
    d_kernel = dw.reshape(groups, k, cg, fg).transpose(1, 2, 0, 3).reshape(k, cg, f)
    dcols = None
    if need_dcols:
        da = dzg @ w.transpose(0, 2, 1)  # (g, n, k*cg)
        dcols = da.reshape(groups, b, t, k, cg).transpose(1, 2, 3, 0, 4).reshape(b, t, k, c)
    return d_kernel, dcols


class Conv1D(BaseConv):
    """1-D convolution, as ``keras.layers.Conv1D``.

    Weights in Keras's layout: kernel ``(kernel_size, in_channels // groups, filters)``, bias
    ``(filters,)``.  Built on the first call (or by ``build(input_shape)``).

    Args:
        filters: output channels. kernel_size: window length (an int or a 1-tuple).
        strides: step between windows. padding: ``"valid"``, ``"same"`` (TensorFlow's: the
            smaller half of the padding first) or ``"causal"`` (all of it first, so that
            ``output[t]`` reads no input after ``t``).
        data_format: ``"channels_last"`` (default; ``(batch, steps, channels)``) or
            ``"channels_first"`` (``(batch, channels, steps)``).
        dilation_rate: gap between the taps; ``strides > 1`` with ``dilation_rate > 1`` is
            refused, as Keras does. groups: input channels and filters split into this many
            independent convolutions.
        activation: Keras name (None: linear). use_bias: add ``bias``.
        kernel_initializer, bias_initializer: numpy_rnn initializer names.
        dtype: ``"float32"`` (default) or ``"float64"``. seed: for the initializers.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1,
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        filters = self._positive("filters", filters)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError("The number of groups must be a positive integer. "
                             f"Received: groups={groups!r}.")
        if filters % groups != 0:
            raise ValueError("The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={groups}, filters={filters}.")
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, allow_causal=True,
                         initializers_given={"kernel_initializer": kernel_initializer,
                                             "bias_initializer": bias_initializer}, **kwargs)
        self.filters = filters
        self.groups = int(groups)
        self._build_given()

    def weight_names(self) -> list[str]:
        return ["kernel", "bias"] if self.use_bias else ["kernel"]

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        cg = None if features is None else features // self.groups
        return {"kernel": (self.kernel_size, cg, self.filters), "bias": (self.filters,)}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        shapes = self._shapes_for(features)
        out = {"kernel": self._draw("kernel_initializer", shapes["kernel"])}
        if self.use_bias:
            out["bias"] = self._draw("bias_initializer", shapes["bias"])
        return out

    def _out_channels(self, channels: int) -> int:
        return self.filters

    def _check_channels(self, channels: int, input_shape: Any) -> None:
        if channels % self.groups != 0:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of groups. "
                f"Received groups={self.groups}, but the input has {channels} channels (full "
                f"input shape is {tuple(input_shape)}).")

    def _channels_from_weights(self, weights: list[np.ndarray]) -> int:
        k = weights[0] if weights else None
        if k is None or k.ndim != 3 or k.shape[0] != self.kernel_size or k.shape[1] < 1 or \
                k.shape[2] != self.filters:
            raise self._weight_shape_error(
                "kernel", f"({self.kernel_size}, in_channels // groups, {self.filters}) = "
                "(kernel_size, in_channels // groups, filters)", k)
        return int(k.shape[1]) * self.groups

    def _conv(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        b, steps, _ = x.shape
        before, after = bc.padding_amounts(steps, self.kernel_size, self.strides, self.padding,
                                           self.dilation_rate)
        out_steps = self._out_steps(steps)
        xp = bc.pad_steps(x, before, after)  # (batch, steps + pads, channels)
        kernel = self.kernel
        z = np.empty((b, out_steps, self.filters), x.dtype)
        for rows in bc.batch_chunks(b, out_steps * self.kernel_size * x.shape[2] * x.itemsize):
            cols = bc.windows(xp[rows], self.kernel_size, self.dilation_rate, self.strides,
                              out_steps)  # (rows, out_steps, kernel_size, channels)
            grouped_conv(cols, kernel, self.groups, out=z[rows])  # (rows, out_steps, filters)
        return z, (xp, kernel, before, steps)

    def _conv_backward(self, cache: Any, dz: np.ndarray, need_dx: bool):
        xp, kernel, before, steps = cache
        b, padded, _ = xp.shape
        out_steps = dz.shape[1]
        d_kernel = np.zeros_like(kernel)
        dxp = np.zeros_like(xp) if need_dx else None
        for rows in bc.batch_chunks(b, out_steps * self.kernel_size * xp.shape[2] * xp.itemsize):
            cols = bc.windows(xp[rows], self.kernel_size, self.dilation_rate, self.strides,
                              out_steps)  # copied again, chunk by chunk: cheaper than keeping
            dk, dcols = grouped_conv_backward(cols, kernel, self.groups, dz[rows], need_dx)
            d_kernel += dk
            if need_dx:
                bc.overlap_add(dcols, padded, self.dilation_rate, self.strides, out=dxp[rows])
        return [d_kernel], (None if dxp is None else dxp[:, before:before + steps])

    def get_config(self) -> dict:
        return {"filters": self.filters, "groups": self.groups, **self._conv_config(),
                **self._base_config()}
