"""``BaseConv``: what Conv1D, Conv1DTranspose, DepthwiseConv1D and SeparableConv1D share (as
Keras's ``BaseConv`` / ``BaseConvTranspose`` / ``BaseDepthwiseConv`` / ``BaseSeparableConv``):
options, building from the input shape, the channels_first transposes, bias, activation, the
training record and the bias / activation half of the backward pass.

A subclass supplies the convolution itself on channels-last arrays: ``_conv(x)`` ->
``(z, cache)`` and ``_conv_backward(cache, dz, need_dx)`` -> ``(kernel gradients, dx)``, plus
its weights (``weight_names``, ``_shapes_for``, ``_initial_weights``, ``_channels_from_weights``)
and ``_out_channels`` / ``_out_steps``.

Masks: Keras's convolution layers do not support masking (``compute_mask`` is Layer's default,
so ``supports_masking`` is False): Keras warns and drops an incoming mask, and the masked steps
are convolved as any others.  These layers do the same: ``mask`` is accepted and ignored and
``compute_mask`` returns None.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from ... import activations, initializers
from ..base import Layer
from . import base_conv as bc


class BaseConv(Layer):
    """Shared base of the 1-D convolution layers (not used directly)."""

    builds_from_shape = True
    supports_masking = False
    #: False while a training step differentiates its bottom layer (nobody reads d inputs).
    _input_gradient_needed = True
    #: ``(config key, default)`` of the initializers, in weight order (subclasses set).
    _INITIALIZERS: tuple = (("kernel_initializer", "glorot_uniform"),
                            ("bias_initializer", "zeros"))

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, *, allow_causal: bool = False,
                 strides_with_dilation: bool = False, initializers_given: dict | None = None,
                 features: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_size = bc.standardize_size("kernel_size", kernel_size)
        self.strides = bc.standardize_size("strides", strides)
        self.dilation_rate = bc.standardize_size("dilation_rate", dilation_rate)
        self.padding = bc.standardize_padding(padding, allow_causal=allow_causal)
        self.data_format = bc.standardize_data_format(data_format)
        self.activation = activations.get(activation, "activation")
        self.use_bias = v.boolean("use_bias", use_bias)
        if not strides_with_dilation and self.strides > 1 and self.dilation_rate > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                f"Received: strides={(self.strides,)} and dilation_rate={(self.dilation_rate,)}")
        given = dict(initializers_given or {})
        self._init_names = {key: given.get(key, default) for key, default in self._INITIALIZERS}
        self._inits = {k: initializers.get(val, k) for k, val in self._init_names.items()}
        self.features: int | None = None  # input channels, once built
        self._features_given = v.positive_int("features", features, allow_none=True)

    def _build_given(self) -> None:
        """Subclasses call this last in ``__init__``: ``features`` (the input channels, as
        Dense's) builds the layer now, as ``build(features)``."""
        if self._features_given is not None:
            self.build(self._features_given)

    # -- options checked by subclasses ---------------------------------------------------------
    @staticmethod
    def _positive(name: str, value: Any) -> int:
        """Keras's check of ``filters`` / ``depth_multiplier``, in its words."""
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"Invalid value for argument `{name}`. Expected a strictly "
                             f"positive value. Received {name}={value!r}.")
        return int(value)

    # -- subclass hooks ------------------------------------------------------------------------
    def _out_channels(self, channels: int) -> int:
        raise NotImplementedError

    def _out_steps(self, steps: int | None) -> int | None:
        return bc.conv_output_length(steps, self.kernel_size, self.strides, self.padding,
                                     self.dilation_rate)

    def _check_channels(self, channels: int, input_shape: Any) -> None:
        """Raise ValueError when ``channels`` cannot be convolved (Conv1D: groups)."""

    def _channels_from_weights(self, weights: list[np.ndarray]) -> int:
        raise NotImplementedError

    def _conv(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _conv_backward(self, cache: Any, dz: np.ndarray,
                       need_dx: bool) -> tuple[list[np.ndarray], np.ndarray | None]:
        raise NotImplementedError

    # -- shapes and building -------------------------------------------------------------------
    def _full_shape(self, input_shape: Any) -> tuple:
        """A full input shape from a shape or from the number of input channels alone."""
        if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
            c = int(input_shape)
            return (None, None, c) if self.data_format == "channels_last" else (None, c, None)
        try:
            shape = tuple(None if d is None else int(d) for d in input_shape)
        except (TypeError, ValueError):
            raise ValueError(f"`input_shape` of layer '{self.name}' must be a shape tuple "
                             f"(batch, steps, channels) or the number of input channels. "
                             f"Received: input_shape={input_shape!r}") from None
        if len(shape) != 3:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim=3, found ndim={len(shape)}. Full shape received: "
                             f"{shape}")
        return shape

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """Keras's output shape (batch first, None kept); ValueError when a ``valid`` window does
        not fit (Keras's "Computed output size would be zero or negative")."""
        shape = self._full_shape(input_shape)
        channels = bc.channels_of(shape, self.data_format)
        steps = shape[1] if self.data_format == "channels_last" else shape[2]
        out_steps = self._out_steps(steps)
        if out_steps is not None and out_steps <= 0:
            raise ValueError(
                "Computed output size would be zero or negative. Received `inputs shape="
                f"{shape}`, `kernel_size={(self.kernel_size,)}`, `dilation_rate="
                f"{(self.dilation_rate,)}`, `strides={(self.strides,)}`, `padding="
                f"{self.padding}`. The input has {steps} steps; a `valid` window needs "
                f"{bc.effective_kernel(self.kernel_size, self.dilation_rate)}.")
        if channels is not None:
            self._check_channels(channels, shape)
        out_channels = None if channels is None else self._out_channels(channels)
        if self.data_format == "channels_last":
            return (shape[0], out_steps, out_channels)
        return (shape[0], out_channels, out_steps)

    def build(self, input_shape: Any) -> None:
        """Build for a full input shape (batch first; Keras's ``build``) or the number of input
        channels; weights are drawn on first use."""
        shape = self._full_shape(input_shape)
        channels = bc.channels_of(shape, self.data_format)
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs of layer '{self.name}' should "
                             f"be defined. Received: input_shape={shape}")
        v.positive_int("input channels", channels)
        self.compute_output_shape(shape)  # checks the channels (groups) and the steps
        self.features = channels
        self.build_input_shape = shape
        self.built = True
        self._drop_weights()

    def _features_from_weights(self, weights: list[np.ndarray]) -> int:
        return self._channels_from_weights(weights)

    def _commit_weights(self, prepared: Any) -> None:
        features, cast = prepared
        if not self.built:
            self.build(features)  # checked by _channels_from_weights: cannot raise
        self.__dict__.update(cast)

    def _weight_shape_error(self, name: str, want: str, got: Any) -> ValueError:
        shape = None if got is None else tuple(np.shape(got))
        return ValueError(f"Weight `{name}` of layer '{self.name}' must have shape {want}. "
                          f"Received: shape {shape}")

    def _draw(self, key: str, shape: tuple) -> np.ndarray:
        return self._inits[key](shape, self.dtype, self._rng)

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``(batch, steps, channels)`` (channels_first: ``(batch, channels, steps)``) -> the
        convolved sequence in the layer dtype.  ``mask`` is ignored (module docstring).
        ``training=True`` keeps what ``backward`` needs."""
        x = self._cast_input("inputs", inputs)
        bc.check_rank3(self, x)
        if not self.built:
            snapshot = self._snapshot()
            try:
                self.build(x.shape)
                return self._apply(x, training)
            except BaseException:  # a call that raises leaves the layer unbuilt
                self._restore(snapshot)
                raise
        axis = -1 if self.data_format == "channels_last" else 1
        if x.shape[axis] != self.features:
            raise ValueError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected axis "
                f"{axis} of input shape to have value {self.features}, but received input with "
                f"shape {tuple(x.shape)}")
        self.compute_output_shape(x.shape)
        return self._apply(x, training)

    def _bias_shaped(self) -> np.ndarray:
        return self.bias if self.data_format == "channels_last" else self.bias[:, None]

    def _apply(self, x: np.ndarray, training: bool) -> np.ndarray:
        z_last, cache = self._conv(bc.to_channels_last(x, self.data_format))
        z = bc.from_channels_last(z_last, self.data_format)  # a fresh array (or a view of one)
        if self.use_bias:
            z += self._bias_shaped()  # in place: the convolution's own output
        keep_z = training and self.activation is not activations.linear and \
            activations.needs_input(self.activation)
        # the activation in place too, unless backward needs the pre-activation
        y = self.activation(z) if keep_z else activations.in_place(self.activation, z)
        if training:
            self._record = (cache, z if keep_z else None, y, x.shape)
        else:  # an inference call forgets the training call: backward is for the last call
            self._record = None
        return y

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray | None:
        """``grad_output`` (the output's shape) -> dL/dinputs (the input's shape); sets
        ``gradients`` aligned with ``get_weights()``."""
        cache, z, y, in_shape = record
        g = self._grad_output(grad_output, y.shape)
        dz = g if self.activation is activations.linear else \
            activations.backward(self.activation, z, y, g)
        dz_last = bc.to_channels_last(dz, self.data_format)  # (batch, out_steps, out_channels)
        grads, dx_last = self._conv_backward(cache, dz_last, self._input_gradient_needed)
        grads = [gr.astype(self.dtype, copy=False) for gr in grads]
        if self.use_bias:
            # summed in float64 then cast (as Dense: a float32 running sum drifts)
            grads.append(dz_last.sum(axis=(0, 1), dtype=np.float64).astype(self.dtype))
        self.gradients = grads
        if dx_last is None:
            return None
        return bc.from_channels_last(dx_last, self.data_format).astype(self.dtype, copy=False)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        """None: Keras's convolutions do not support masking and drop the mask."""
        return None

    # -- config --------------------------------------------------------------------------------
    def _conv_config(self) -> dict:
        inits = {k: (val if isinstance(val, str) else initializers.serialize(self._inits[k]))
                 for k, val in self._init_names.items()}
        return {"kernel_size": (self.kernel_size,), "strides": (self.strides,),
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": (self.dilation_rate,),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "features": self.features, **inits}
