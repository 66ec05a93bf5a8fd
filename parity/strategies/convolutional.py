"""Hypothesis strategies for the convolution and pooling layers: ``conv_cases()`` (Conv1D,
Conv1DTranspose, DepthwiseConv1D, SeparableConv1D over shapes x padding x strides x dilation x
groups x depth_multiplier x output_padding x data_format x dtype) and ``pool_cases()`` (window
and global pooling, masks for GlobalAveragePooling1D).

Each draw is a :class:`ConvCase`: the Keras class name, its constructor ``args`` / ``config``,
inputs (in the drawn data format) and weights in Keras order (``parity.cases.convolutional.
conv_weights``), built by NumPy from a drawn seed.  Only configurations Keras accepts are drawn
(``strides > 1`` with ``dilation_rate > 1`` only where Keras 3.15 allows it, a ``valid`` window
never longer than the input, an ``output_padding`` TensorFlow accepts with ``same``).
``tf_cpu=True`` (the default) also leaves out what TensorFlow's CPU kernels cannot run in
channels_last: Conv1DTranspose with ``dilation_rate > 1``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hypothesis import assume
from hypothesis import strategies as st

from ..cases.convolutional import conv_weights

__all__ = ["ConvCase", "conv_cases", "pool_cases", "CONV_CLASSES", "POOL_CLASSES"]

CONV_CLASSES = ("Conv1D", "Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D")
POOL_CLASSES = ("MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
                "GlobalAveragePooling1D")
_ACTIVATIONS = (None, "relu", "tanh", "sigmoid")


class ConvCase(NamedTuple):
    """One example: ``getattr(keras.layers, cls)(*args, **config)`` on ``inputs`` (shape in the
    config's data format), with ``weights`` in Keras order; ``mask`` for the global average."""

    cls: str
    args: tuple
    config: dict
    inputs: np.ndarray
    weights: list
    mask: np.ndarray | None = None


def _span(kernel: int, dilation: int) -> int:
    return (kernel - 1) * dilation + 1


def _out_steps(cls: str, steps: int, kernel: int, strides: int, padding: str, dilation: int,
               output_padding: Any) -> int:
    if cls == "Conv1DTranspose":
        span = _span(kernel, dilation)
        if padding == "valid":
            extra = max(span, strides) - span if output_padding is None else output_padding
            return (steps - 1) * strides + span + extra
        if output_padding is None:
            return steps * strides
        return (steps - 1) * strides + span % 2 + output_padding
    if padding == "valid":
        return (steps - _span(kernel, dilation)) // strides + 1
    return -(-steps // strides)


def _weight_shapes(cls: str, args: tuple, config: dict, channels: int) -> list[tuple]:
    k = args[-1]
    bias = config.get("use_bias", True)
    if cls == "Conv1D":
        shapes, out = [(k, channels // config.get("groups", 1), args[0])], args[0]
    elif cls == "Conv1DTranspose":
        shapes, out = [(k, args[0], channels)], args[0]
    else:
        dm = config.get("depth_multiplier", 1)
        if cls == "DepthwiseConv1D":
            shapes, out = [(k, channels, dm)], channels * dm
        else:
            shapes, out = [(k, channels, dm), (1, channels * dm, args[0])], args[0]
    return shapes + ([(out,)] if bias else [])


@st.composite
def conv_cases(draw, *, classes: tuple = CONV_CLASSES, dtypes: tuple = ("float32", "float64"),
               data_formats: tuple = ("channels_last", "channels_first"),
               tf_cpu: bool = True) -> ConvCase:
    cls = draw(st.sampled_from(classes))
    kernel = draw(st.integers(1, 5))
    strides = draw(st.integers(1, 3))
    both = cls in ("DepthwiseConv1D", "SeparableConv1D")  # Keras 3.15 allows strides + dilation
    no_dilation = (strides > 1 and not both) or (tf_cpu and cls == "Conv1DTranspose")
    dilation = 1 if no_dilation else draw(st.integers(1, 3))
    paddings = ("valid", "same", "causal") if cls == "Conv1D" else ("valid", "same")
    padding = draw(st.sampled_from(paddings))
    channels = draw(st.integers(1, 6))
    config: dict[str, Any] = {"strides": strides, "padding": padding, "dilation_rate": dilation,
                              "data_format": draw(st.sampled_from(data_formats)),
                              "use_bias": draw(st.booleans()),
                              "activation": draw(st.sampled_from(_ACTIVATIONS)),
                              "dtype": draw(st.sampled_from(dtypes))}
    args: tuple = (kernel,)
    if cls != "DepthwiseConv1D":
        filters = draw(st.integers(1, 6))
        if cls == "Conv1D":
            groups = draw(st.sampled_from([g for g in (1, 2, 3) if channels % g == 0
                                           and filters % g == 0]))
            config["groups"] = groups
        args = (filters, kernel)
    if both:
        config["depth_multiplier"] = draw(st.integers(1, 3))
    op = None
    if cls == "Conv1DTranspose" and strides > 1 and draw(st.booleans()):
        op = draw(st.integers(0, strides - 1))
        config["output_padding"] = op
    steps = draw(st.integers(1, 14))
    out = _out_steps(cls, steps, kernel, strides, padding, dilation, op)
    assume(out >= 1)
    if cls == "Conv1DTranspose" and padding == "same":
        assume(-(-out // strides) == steps)  # TensorFlow refuses other output_paddings
    batch = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = config["dtype"]
    first = config["data_format"] == "channels_first"
    shape = (batch, channels, steps) if first else (batch, steps, channels)
    weights = conv_weights(_weight_shapes(cls, args, config, channels), rng, dtype)
    return ConvCase(cls, args, config, rng.normal(size=shape).astype(dtype), weights)


@st.composite
def pool_cases(draw, *, classes: tuple = POOL_CLASSES, dtypes: tuple = ("float32", "float64"),
               data_formats: tuple = ("channels_last", "channels_first")) -> ConvCase:
    cls = draw(st.sampled_from(classes))
    config: dict[str, Any] = {"data_format": draw(st.sampled_from(data_formats)),
                              "dtype": draw(st.sampled_from(dtypes))}
    steps, batch, channels = draw(st.integers(1, 14)), draw(st.integers(1, 3)), \
        draw(st.integers(1, 5))
    args: tuple = ()
    mask = None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if cls.startswith("Global"):
        config["keepdims"] = draw(st.booleans())
        if cls == "GlobalAveragePooling1D" and draw(st.booleans()):
            mask = rng.random((batch, steps)) < draw(st.sampled_from([0.3, 0.7, 1.0]))
    else:
        pool = draw(st.integers(1, 5))
        strides = draw(st.one_of(st.none(), st.integers(1, 4)))
        padding = draw(st.sampled_from(["valid", "same"]))
        assume(padding == "same" or steps >= pool)
        args = (pool,)
        config.update(strides=strides, padding=padding)
    dtype = config["dtype"]
    first = config["data_format"] == "channels_first"
    shape = (batch, channels, steps) if first else (batch, steps, channels)
    return ConvCase(cls, args, config, rng.normal(size=shape).astype(dtype), [], mask)
