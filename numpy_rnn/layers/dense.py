"""Dense: ``activation(inputs @ kernel + bias)`` on the last axis, as ``keras.layers.Dense``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validation as v
from .. import activations, initializers
from .base import Layer, _features_of


class Dense(Layer):
    """Densely connected layer for inputs of rank >= 2: ``(..., features) -> (..., units)``.

    Weights in Keras's layout: kernel ``(features, units)``, bias ``(units,)``.  Built on the
    first call (or now, when ``features`` is given).  A mask passes through unchanged
    (``compute_mask``), as Keras's ``supports_masking``.

    Args:
        units: output size.
        activation: Keras name (or callable); ``None`` (default) means linear.
        use_bias: add ``bias``.
        features: input size; builds the weights now when given.
        kernel_regularizer, bias_regularizer: Keras weight regularizers (``"l2"``, a serialized
            dict, a ``numpy_rnn.regularizers`` instance); added to the loss in training only.
        dtype: ``"float32"`` (default) or ``"float64"``. seed: for the initializers.
    """

    supports_masking = True

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        features: int | None = None,
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = v.positive_int("units", units)
        self.activation = activations.get(activation, "activation")
        self.use_bias = v.boolean("use_bias", use_bias)
        self._init_names = {"kernel_initializer": kernel_initializer,
                            "bias_initializer": bias_initializer}
        self._inits = {k: initializers.get(val, k) for k, val in self._init_names.items()}
        self._set_regularizers({"kernel_regularizer": ("kernel", kernel_regularizer),
                                "bias_regularizer": ("bias", bias_regularizer)})
        self.features: int | None = None
        features = v.positive_int("features", features, allow_none=True)
        if features is not None:
            self.build(features)

    def weight_names(self) -> list[str]:
        return ["kernel", "bias"] if self.use_bias else ["kernel"]

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        return {"kernel": (features, self.units), "bias": (self.units,)}

    def build(self, input_shape: Any) -> None:
        """Build for ``features`` = ``input_shape[-1]`` (an int is the features); the weights
        are drawn on first use, so a layer built to receive ``set_weights`` allocates none."""
        self.features = _features_of(input_shape)
        self.built = True
        self._drop_weights()

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        out = {"kernel": self._inits["kernel_initializer"]((features, self.units), self.dtype,
                                                           self._rng)}
        if self.use_bias:
            out["bias"] = self._inits["bias_initializer"]((self.units,), self.dtype, self._rng)
        return out

    def _features_from_weights(self, weights: list[np.ndarray]) -> int:
        k = weights[0] if weights else None
        if k is None or k.ndim != 2 or k.shape[1] != self.units or k.shape[0] < 1:
            shape = None if k is None else tuple(k.shape)
            raise ValueError(
                f"Weight `kernel` of layer '{self.name}' must have shape (features, "
                f"{self.units}) = (features, units). Received: shape {shape}"
            )
        return int(k.shape[0])

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``(..., features)`` with rank >= 2 -> ``(..., units)`` in the layer dtype.

        ``mask`` is accepted and ignored (Dense passes it on, see ``compute_mask``).
        ``training=True`` keeps what ``backward`` needs (the input, pre-activation, output)."""
        x = self._cast_input("inputs", inputs)
        if x.ndim < 2:
            raise ValueError(
                f"`inputs` of layer '{self.name}' must have at least 2 dimensions "
                f"(batch, ..., features). Received: inputs with shape {x.shape}"
            )
        if not self.built:
            snapshot = self._snapshot()
            try:
                self.build(x.shape[-1])
                return self._apply(x, training)
            except BaseException:  # a call that raises leaves the layer unbuilt
                self._restore(snapshot)
                raise
        if x.shape[-1] != self.features:
            raise ValueError(
                f"Layer '{self.name}' was built for {self.features} features (kernel shape "
                f"{self.weight_shapes()['kernel']}), but `inputs` has {x.shape[-1]} features "
                f"(shape {x.shape})."
            )
        return self._apply(x, training)

    def _apply(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        kernel = self.kernel
        z = x @ kernel  # (..., units)
        if self.use_bias:
            z = z + self.bias
        y = self.activation(z)  # (..., units)
        if training:  # the pre-activation only when the activation's derivative needs it
            keep_z = self.activation is not activations.linear and activations.needs_input(
                self.activation)
            self._record = (x, kernel, z if keep_z else None, y)
        else:  # an inference call forgets the training call: backward is for the last call
            self._record = None
        return y

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output (..., units)`` -> dL/dinputs ``(..., features)``; sets ``gradients``
        = [d kernel ``(features, units)``, d bias ``(units,)`` when ``use_bias``]."""
        x, kernel, z, y = record
        g = self._grad_output(grad_output, y.shape)  # (..., units)
        if self.activation is activations.linear:
            dz = g
        else:
            dz = activations.backward(self.activation, z, y, g)  # (..., units)
        dz2 = dz.reshape(-1, self.units)  # (N, units), N = prod of the leading axes
        d_kernel = x.reshape(-1, self.features).T @ dz2  # (features, units)
        grads = [d_kernel.astype(self.dtype, copy=False)]
        if self.use_bias:
            # Accumulated in float64: a float32 running sum over B*T rows drifts (measured
            # 1.7e-6 of max|grad| off the exact sum at B*T = 3200; float64 then cast: 5e-8).
            grads.append(dz2.sum(axis=0, dtype=np.float64).astype(self.dtype))  # (units,)
        self.gradients = grads
        return (dz @ kernel.T).astype(self.dtype, copy=False)  # (..., features)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """``(..., features)`` -> ``(..., units)``."""
        return tuple(input_shape)[:-1] + (self.units,)

    def get_config(self) -> dict:
        inits = {k: (val if isinstance(val, str) else initializers.serialize(self._inits[k]))
                 for k, val in self._init_names.items()}
        return {"units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "features": self.features, **inits,
                **self._regularizer_config(), **self._base_config()}
