"""DepthwiseConv1D: each input channel convolved with its own ``depth_multiplier`` filters, as
``keras.layers.DepthwiseConv1D``.

``out[b, t, c * depth_multiplier + m] = sum_k xp[b, t * strides + k * dilation_rate, c] *
kernel[k, c, m]`` (TensorFlow's ``depthwise_conv2d`` channel order).  Computed as a sum over the
kernel taps of elementwise products of strided views (no im2col copy: each output needs only
``kernel_size`` multiply-adds per channel).  Keras 3.15 accepts ``strides > 1`` together with
``dilation_rate > 1`` here (its TensorFlow backend runs the dilated convolution at stride 1 and
subsamples, with the ``SAME`` padding of the strided one): so does this layer.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import base_conv as bc
from .base_conv_layer import BaseConv


def depthwise(xp: np.ndarray, kernel: np.ndarray, stride: int, dilation_rate: int,
              out_steps: int) -> np.ndarray:
    """``xp (batch, steps, C)`` (padded) x ``kernel (K, C, M)`` -> ``(batch, out_steps, C*M)``."""
    b, _, c = xp.shape
    k_size, _, m = kernel.shape
    out = np.zeros((b, out_steps, c, m), xp.dtype)
    for k in range(k_size):
        out += bc.tap(xp, k, dilation_rate, stride, out_steps)[..., None] * kernel[k]
    return out.reshape(b, out_steps, c * m)


def depthwise_backward(xp: np.ndarray, kernel: np.ndarray, stride: int, dilation_rate: int,
                       dz: np.ndarray, need_dxp: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``(d kernel (K, C, M), d xp or None)`` for ``dz (batch, out_steps, C*M)``."""
    b, steps, c = xp.shape
    k_size, _, m = kernel.shape
    out_steps = dz.shape[1]
    dz4 = dz.reshape(b, out_steps, c, m)
    d_kernel = np.empty_like(kernel)
    dxp = np.zeros_like(xp) if need_dxp else None
    for k in range(k_size):
        window = bc.tap(xp, k, dilation_rate, stride, out_steps)  # (batch, out_steps, C)
        d_kernel[k] = np.einsum("btc,btcm->cm", window, dz4)
        if need_dxp:
            bc.tap(dxp, k, dilation_rate, stride, out_steps)[...] += np.einsum(
                "btcm,cm->btc", dz4, kernel[k])
    return d_kernel, dxp


class DepthwiseConv1D(BaseConv):
    """Depthwise 1-D convolution, as ``keras.layers.DepthwiseConv1D``.

    Weights in Keras's layout: kernel ``(kernel_size, in_channels, depth_multiplier)``, bias
    ``(in_channels * depth_multiplier,)``.

    Args:
        kernel_size, strides, padding (``"valid"`` / ``"same"``), data_format, dilation_rate,
        activation, use_bias: as Conv1D (strides > 1 with dilation > 1 allowed, as Keras 3.15).
        depth_multiplier: filters per input channel.
        depthwise_initializer, bias_initializer: numpy_rnn initializer names.
    """

    _INITIALIZERS = (("depthwise_initializer", "glorot_uniform"), ("bias_initializer", "zeros"))

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        depth_multiplier = self._positive("depth_multiplier", depth_multiplier)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, strides_with_dilation=True,
                         initializers_given={"depthwise_initializer": depthwise_initializer,
                                             "bias_initializer": bias_initializer}, **kwargs)
        self.depth_multiplier = depth_multiplier
        self._build_given()

    def weight_names(self) -> list[str]:
        return ["kernel", "bias"] if self.use_bias else ["kernel"]

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        out = None if features is None else features * self.depth_multiplier
        return {"kernel": (self.kernel_size, features, self.depth_multiplier), "bias": (out,)}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        shapes = self._shapes_for(features)
        out = {"kernel": self._draw("depthwise_initializer", shapes["kernel"])}
        if self.use_bias:
            out["bias"] = self._draw("bias_initializer", shapes["bias"])
        return out

    def _out_channels(self, channels: int) -> int:
        return channels * self.depth_multiplier

    def _channels_from_weights(self, weights: list[np.ndarray]) -> int:
        k = weights[0] if weights else None
        if k is None or k.ndim != 3 or k.shape[0] != self.kernel_size or k.shape[1] < 1 or \
                k.shape[2] != self.depth_multiplier:
            raise self._weight_shape_error(
                "kernel", f"({self.kernel_size}, in_channels, {self.depth_multiplier}) = "
                "(kernel_size, in_channels, depth_multiplier)", k)
        return int(k.shape[1])

    def _conv(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        steps = x.shape[1]
        before, after = bc.padding_amounts(steps, self.kernel_size, self.strides, self.padding,
                                           self.dilation_rate)
        xp = bc.pad_steps(x, before, after)
        kernel = self.kernel
        z = depthwise(xp, kernel, self.strides, self.dilation_rate, self._out_steps(steps))
        return z, (xp, kernel, before, steps)

    def _conv_backward(self, cache: Any, dz: np.ndarray, need_dx: bool):
        xp, kernel, before, steps = cache
        d_kernel, dxp = depthwise_backward(xp, kernel, self.strides, self.dilation_rate, dz,
                                           need_dx)
        return [d_kernel], (None if dxp is None else dxp[:, before:before + steps])

    def get_config(self) -> dict:
        return {"depth_multiplier": self.depth_multiplier, **self._conv_config(),
                **self._base_config()}
