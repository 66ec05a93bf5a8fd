"""``PReLU(alpha_initializer="zeros", alpha_regularizer=None, shared_axes=None)``, as
``keras.layers.PReLU``: ``relu(x) + (-alpha) * relu(-x)`` with a learned ``alpha``.

Weight ``alpha`` has Keras's shape: the input shape without the batch axis, 1 along every axis in
``shared_axes`` (axes counted with the batch axis as 0, so 1 is the first axis after it):
``(timesteps, features)`` for a ``(batch, timesteps, features)`` input, ``(1, features)`` with
``shared_axes=[1]``.  It broadcasts against the input from the left-most non-batch axis.

Gradients as TensorFlow's: d inputs is ``g`` for ``x > 0``, ``alpha * g`` for ``x < 0`` and 0 at 0
(both relu branches are 0 there); d alpha is ``-sum(g * relu(-x))`` over the batch axis and the
shared axes (accumulated in float64, then cast).
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ... import initializers
from ..base import Layer
from .activation import ElementwiseLayer


class PReLU(ElementwiseLayer):
    """Parametric ReLU; built on the first call (or ``build(input_shape)``, batch axis first),
    masks pass through.

    Args:
        alpha_initializer: Keras initializer name for ``alpha`` (default ``"zeros"``).
        alpha_regularizer: a weight regularizer for ``alpha`` (training only).
        shared_axes: an axis or a list of axes (>= 1) along which ``alpha`` is shared.
        build_input_shape: builds the layer now for this input shape (batch first); kept in
            ``get_config()`` once built, as Dense keeps ``features``, so that a bundle rebuilds
            the layer before its weights arrive.
    """

    _WEIGHT_ATTRS = Layer._WEIGHT_ATTRS | {"alpha"}
    builds_from_shape = True

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 shared_axes: Any = None, build_input_shape: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built = False
        self._init_name = alpha_initializer
        self._init = initializers.get(alpha_initializer, "alpha_initializer")
        self._set_regularizers({"alpha_regularizer": ("alpha", alpha_regularizer)})
        self.shared_axes = self._axes(shared_axes)
        self.features: int | None = None
        if build_input_shape is not None:
            self.build(build_input_shape)

    @staticmethod
    def _axes(shared_axes: Any) -> list[int] | None:
        if shared_axes is None:
            return None
        axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
        for a in axes:
            if isinstance(a, bool) or not isinstance(a, numbers.Integral) or a < 1:
                raise ValueError("`shared_axes` must be None, an axis >= 1 or a list of them "
                                 "(axis 0 is the batch axis). "
                                 f"Received: shared_axes={shared_axes!r}")
        return [int(a) for a in axes]

    # -- weights ------------------------------------------------------------------------------
    def weight_names(self) -> list[str]:
        return ["alpha"]

    def _param_shape(self, input_shape: tuple) -> tuple:
        """``alpha``'s shape for a full input shape (batch first); ValueError when a shared axis
        is out of range or a non-shared size is unknown."""
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if a >= len(input_shape):
                raise ValueError(f"`shared_axes` of layer '{self.name}' holds axis {a}, but the "
                                 f"input has {len(input_shape)} axes (input_shape="
                                 f"{tuple(input_shape)})")
            shape[a - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"Layer '{self.name}' needs every input size outside `shared_axes` "
                             f"to build `alpha`. Received: input_shape={tuple(input_shape)}")
        return tuple(int(d) for d in shape)

    def _shapes_for(self, shape: Any) -> dict[str, tuple]:
        shape = shape if isinstance(shape, tuple) else self.build_input_shape
        return {"alpha": self._param_shape(shape)}

    def weight_shapes(self) -> dict[str, tuple]:
        return self._shapes_for(self.build_input_shape)

    def _initial_weights(self, features: Any) -> dict[str, np.ndarray]:
        return {"alpha": self._init(self._param_shape(self.build_input_shape), self.dtype,
                                    self._rng)}

    def build(self, input_shape: Any) -> None:
        """Build for ``input_shape`` (batch axis first; None for an unknown size, allowed only
        along the batch axis and ``shared_axes``).  No weights are drawn until first use."""
        try:
            shape = tuple(None if d is None else int(d) for d in input_shape)
        except TypeError:
            raise ValueError(f"`input_shape` of layer '{self.name}' must be a shape tuple with "
                             f"the batch axis first. Received: input_shape={input_shape!r}"
                             ) from None
        if len(shape) < 2:
            raise ValueError(f"Layer '{self.name}' takes inputs of rank >= 2 (batch, ...). "
                             f"Received: input_shape={shape}")
        self._param_shape(shape)  # checked before anything changes
        self.build_input_shape = shape
        self.features = shape[-1]
        self.built = True
        self._drop_weights()

    def _features_from_weights(self, weights: list[np.ndarray]) -> tuple:
        """The input shape ``alpha``'s shape implies (None along the batch and shared axes)."""
        a = weights[0] if weights else None
        shared = set(self.shared_axes or [])
        if a is None or a.ndim < 1 or any(a.shape[i - 1] != 1 for i in shared if i <= a.ndim) \
                or any(i > a.ndim for i in shared):
            raise ValueError(f"Weight `alpha` of layer '{self.name}' must have the input shape "
                             f"without the batch axis, 1 along shared_axes={self.shared_axes}. "
                             f"Received: shape {None if a is None else tuple(a.shape)}")
        return (None,) + tuple(None if i + 1 in shared else int(d)
                               for i, d in enumerate(a.shape))

    def _commit_weights(self, prepared: Any) -> None:
        shape, cast = prepared
        if not self.built:
            self.build(shape)
        self.__dict__.update(cast)

    # -- call ---------------------------------------------------------------------------------
    def _prepare(self, inputs: Any, mask: Any) -> tuple[np.ndarray, Any]:
        x = self._cast_input("inputs", inputs)
        if self.built:
            want = self.build_input_shape
            bad = len(want) != x.ndim or any(
                w is not None and i not in (self.shared_axes or []) and w != d
                for i, (w, d) in enumerate(zip(want, x.shape)) if i > 0)
            if bad:
                raise ValueError(f"Input of layer '{self.name}' is incompatible with the layer: "
                                 f"built for input_shape={want}, received inputs with shape "
                                 f"{x.shape}")
        return x, None

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``inputs (batch, ...)`` -> the same shape; builds on the first call."""
        if not self.built:
            x = self._cast_input("inputs", inputs)
            snapshot = self._snapshot()
            try:
                self.build((None,) + x.shape[1:])
                return super().__call__(x, mask, training)
            except BaseException:  # a call that raises leaves the layer unbuilt
                self._restore(snapshot)
                raise
        return super().__call__(inputs, mask, training)

    def _apply(self, x: np.ndarray, mask: Any = None) -> np.ndarray:
        zero = x.dtype.type(0)
        return np.maximum(x, zero) + (-self.alpha) * np.maximum(-x, zero)

    def _grad(self, x: np.ndarray, y: np.ndarray, g: np.ndarray, mask: Any) -> np.ndarray:
        zero = g.dtype.type(0)
        alpha = self.alpha
        r = np.maximum(-x, zero)  # relu(-x)
        # d alpha: the Mul gradient summed over the broadcast axes, then Neg
        axes = (0,) + tuple(i for i in range(1, x.ndim) if alpha.shape[i - 1] == 1
                            and x.shape[i] != 1)
        d_alpha = -np.sum(g * r, axis=axes, dtype=np.float64, keepdims=True)[0]
        self.gradients = [d_alpha.reshape(alpha.shape).astype(self.dtype)]
        return np.where(x > 0, g, zero) + np.where(r > 0, -((-alpha) * g), zero)

    def get_config(self) -> dict:
        init = (self._init_name if isinstance(self._init_name, str)
                else initializers.serialize(self._init))
        shape = None if self.build_input_shape is None else list(self.build_input_shape)
        return {"alpha_initializer": init, "shared_axes": self.shared_axes,
                "build_input_shape": shape, **self._regularizer_config(),
                **self._base_config()}
