"""The base class every NumPy layer shares: dtype, seed, weights in Keras order, configs."""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .. import _validation as v

_counter = itertools.count()


class Layer:
    """Base layer.

    Subclasses set ``weight_names()`` (Keras order) and ``weight_shapes()`` (after build) and
    implement ``build(input_shape)`` and ``call``.  ``get_config()`` returns the constructor
    arguments; ``from_config`` is ``cls(**config)``.
    """

    #: Set to True by layers that accept and propagate a mask (Keras's ``supports_masking``).
    supports_masking = False

    def __init__(self, *, name: str | None = None, dtype: Any = "float32", seed: int | None = None,
                 trainable: bool = True) -> None:
        self.dtype = v.float_dtype("dtype", dtype)
        self.seed = v.seed("seed", seed)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string or None. Received: name={name!r}")
        self.name = name or f"{type(self).__name__.lower()}_{next(_counter)}"
        self.trainable = v.boolean("trainable", trainable)
        self.built = False
        self._rng = np.random.default_rng(self.seed)

    # -- weights -------------------------------------------------------------------------
    def weight_names(self) -> list[str]:
        """Names of this layer's weights in Keras's order (empty for weightless layers)."""
        return []

    def weight_shapes(self) -> dict[str, tuple]:
        """Expected shape of each weight; only meaningful once built."""
        return {}

    @property
    def weights(self) -> list[np.ndarray]:
        return [getattr(self, n) for n in self.weight_names()] if self.built else []

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in Keras's order (``keras_layer.get_weights()`` order)."""
        return [w.copy() for w in self.weights]

    def _build_from_weights(self, weights: list[np.ndarray]) -> None:
        """Build an unbuilt layer from the shapes of ``weights`` (layers override if possible)."""
        raise ValueError(
            f"Layer '{self.name}' is not built yet, so it cannot take weights. Call it on an "
            f"input (or call build) first. Received: {len(weights)} weight(s)"
        )

    def set_weights(self, weights: list) -> None:
        """Set the weights from a list of arrays in Keras's order, checking count and shapes."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(
                f"`weights` must be a list of arrays. Received: {type(weights).__name__}"
            )
        arrays = [v.numeric_array(f"weights[{i}]", w) for i, w in enumerate(weights)]
        if not self.built:
            self._build_from_weights(arrays)
        names = self.weight_names()
        if len(arrays) != len(names):
            raise ValueError(
                f"Layer '{self.name}' expected {len(names)} weights {names}, "
                f"but received {len(arrays)} weight(s)."
            )
        shapes = self.weight_shapes()
        for name, arr in zip(names, arrays):
            if tuple(arr.shape) != tuple(shapes[name]):
                raise ValueError(
                    f"Weight `{name}` of layer '{self.name}' must have shape {tuple(shapes[name])}. "
                    f"Received: shape {tuple(arr.shape)}"
                )
        for name, arr in zip(names, arrays):
            setattr(self, name, np.array(arr, dtype=self.dtype))

    @property
    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    # -- config ----------------------------------------------------------------------------
    def _base_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                "trainable": self.trainable}

    def get_config(self) -> dict:
        return self._base_config()

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict. Received: {type(config).__name__}")
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"

    def _cast_input(self, name: str, x: Any) -> np.ndarray:
        return v.numeric_array(name, x, self.dtype)
