"""``Input`` and ``InputLayer``: where a graph starts (Keras's ``keras.Input``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import _validation as v
from ..layers.base import Layer
from ..naming import auto_name
from .symbolic import Node, SymbolicTensor

__all__ = ["Input", "InputLayer"]



def _check_shape(shape: Any) -> tuple:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise ValueError("`shape` must be a tuple of positive ints or None, without the batch "
                         f"axis. Received: shape={shape!r}")
    dims = tuple(shape)
    for i, d in enumerate(dims):
        if d is not None:
            v.positive_int(f"shape[{i}]", d)
    return tuple(None if d is None else int(d) for d in dims)


class InputLayer(Layer):
    """The layer behind a model input: no weights; ``shape`` excludes the batch axis and
    ``batch_shape`` includes it (``None``).  Its one node has no inputs and one output, the
    symbolic tensor ``output``."""

    def __init__(self, shape: Sequence[int | None] = (), dtype: Any = "float32",
                 name: str | None = None) -> None:
        if name is None:
            name = auto_name("input_layer")
        # (graphio addition) ``dtype="string"``: a string input, read by a TextVectorization;
        # its symbolic tensor has dtype ``object`` (an object array of str at run time).
        string = dtype in ("string", "str", "object", str, object)
        try:
            self.input_dtype = "object" if string else np.dtype(dtype).name
        except TypeError:
            raise TypeError(f"`dtype` must be a NumPy dtype name such as 'float32' or 'int32'. "
                            f"Received: dtype={dtype!r}") from None
        if not string and np.dtype(self.input_dtype).kind not in "biuf":
            raise TypeError(f"`dtype` must be a numeric dtype or 'string'. Received: "
                            f"dtype={dtype!r}")
        float_dtype = self.input_dtype if np.dtype(self.input_dtype).kind == "f" and \
            self.input_dtype in ("float32", "float64") else "float32"
        super().__init__(name=name, dtype=float_dtype)
        self.shape = _check_shape(shape)
        self.batch_shape = (None,) + self.shape
        self.built = True
        node = Node(self, (), {}, single_output=True)
        self.output = SymbolicTensor(self.batch_shape, self.input_dtype, node, 0, name=self.name)
        node.outputs = [self.output]

    def __call__(self, inputs: Any, training: bool = False) -> np.ndarray:
        """The identity (the model casts its inputs to the input dtype itself)."""
        return inputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        dtype = "string" if self.input_dtype == "object" else self.input_dtype
        return {"shape": list(self.shape), "dtype": dtype, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "InputLayer":
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict. Received: {type(config).__name__}")
        return cls(**config)


def Input(shape: Sequence[int | None] = (), dtype: Any = "float32",
          name: str | None = None) -> SymbolicTensor:
    """A model input, as ``keras.Input``: a symbolic tensor of shape ``(None,) + shape``.

    Args:
        shape: the input's shape without the batch axis (``None`` for unknown sizes):
            ``(timesteps,)`` for token ids, ``(timesteps, features)`` for vectors.
        dtype: the dtype arrays given for this input are cast to (``"int32"`` for ids;
            ``"string"`` for text, read by a ``TextVectorization``).
        name: the input's name (the key of a dict of inputs); default ``input_layer[_N]``.
    """
    return InputLayer(shape, dtype=dtype, name=name).output
