"""SeparableConv1D: a depthwise convolution, then a pointwise (1x1) one, as
``keras.layers.SeparableConv1D`` (TensorFlow's ``separable_conv2d``): ``activation(pointwise(
depthwise(inputs)) + bias)``.  Weights in Keras's order: ``depthwise_kernel``,
``pointwise_kernel``, ``bias``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import Layer
from . import base_conv as bc
from .base_conv_layer import BaseConv
from .depthwise_conv1d import depthwise, depthwise_backward


class SeparableConv1D(BaseConv):
    """Depthwise separable 1-D convolution, as ``keras.layers.SeparableConv1D``.

    Weights: depthwise_kernel ``(kernel_size, in_channels, depth_multiplier)``,
    pointwise_kernel ``(1, in_channels * depth_multiplier, filters)``, bias ``(filters,)``.

    Args:
        filters, kernel_size, strides, padding (``"valid"`` / ``"same"``), data_format,
        dilation_rate, activation, use_bias: as Conv1D (strides > 1 with dilation > 1 allowed,
        as Keras 3.15). depth_multiplier: depthwise filters per input channel.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializer names.
    """

    _WEIGHT_ATTRS = Layer._WEIGHT_ATTRS | {"depthwise_kernel", "pointwise_kernel"}
    _INITIALIZERS = (("depthwise_initializer", "glorot_uniform"),
                     ("pointwise_initializer", "glorot_uniform"), ("bias_initializer", "zeros"))

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1,
                 depth_multiplier: int = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        depth_multiplier = self._positive("depth_multiplier", depth_multiplier)
        filters = self._positive("filters", filters)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, strides_with_dilation=True,
                         initializers_given={"depthwise_initializer": depthwise_initializer,
                                             "pointwise_initializer": pointwise_initializer,
                                             "bias_initializer": bias_initializer}, **kwargs)
        self.filters = filters
        self.depth_multiplier = depth_multiplier
        self._build_given()

    def weight_names(self) -> list[str]:
        names = ["depthwise_kernel", "pointwise_kernel"]
        return names + ["bias"] if self.use_bias else names

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        mid = None if features is None else features * self.depth_multiplier
        return {"depthwise_kernel": (self.kernel_size, features, self.depth_multiplier),
                "pointwise_kernel": (1, mid, self.filters), "bias": (self.filters,)}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        shapes = self._shapes_for(features)
        out = {"depthwise_kernel": self._draw("depthwise_initializer",
                                              shapes["depthwise_kernel"]),
               "pointwise_kernel": self._draw("pointwise_initializer",
                                              shapes["pointwise_kernel"])}
        if self.use_bias:
            out["bias"] = self._draw("bias_initializer", shapes["bias"])
        return out

    def _out_channels(self, channels: int) -> int:
        return self.filters

    def _channels_from_weights(self, weights: list[np.ndarray]) -> int:
        k = weights[0] if weights else None
        if k is None or k.ndim != 3 or k.shape[0] != self.kernel_size or k.shape[1] < 1 or \
                k.shape[2] != self.depth_multiplier:
            raise self._weight_shape_error(
                "depthwise_kernel", f"({self.kernel_size}, in_channels, {self.depth_multiplier})"
                " = (kernel_size, in_channels, depth_multiplier)", k)
        return int(k.shape[1])

    def _conv(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        b, steps, _ = x.shape
        before, after = bc.padding_amounts(steps, self.kernel_size, self.strides, self.padding,
                                           self.dilation_rate)
        xp = bc.pad_steps(x, before, after)
        dk, pk = self.depthwise_kernel, self.pointwise_kernel
        h = depthwise(xp, dk, self.strides, self.dilation_rate, self._out_steps(steps))
        z = h @ pk[0]  # (batch, out_steps, filters)
        return z, (xp, h, dk, pk, before, steps)

    def _conv_backward(self, cache: Any, dz: np.ndarray, need_dx: bool):
        xp, h, dk, pk, before, steps = cache
        mid = h.shape[-1]
        d_pk = (h.reshape(-1, mid).T @ dz.reshape(-1, self.filters))[None]  # (1, mid, filters)
        dh = dz @ pk[0].T  # (batch, out_steps, mid)
        d_dk, dxp = depthwise_backward(xp, dk, self.strides, self.dilation_rate, dh, need_dx)
        return [d_dk, d_pk], (None if dxp is None else dxp[:, before:before + steps])

    def get_config(self) -> dict:
        return {"filters": self.filters, "depth_multiplier": self.depth_multiplier,
                **self._conv_config(), **self._base_config()}
