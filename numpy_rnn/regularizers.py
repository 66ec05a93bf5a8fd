"""Keras's weight regularizers (``keras.regularizers``: ``L1``, ``L2``, ``L1L2``) in NumPy, with
the gradient of each penalty.

A regularizer maps a weight to a scalar penalty that training adds to the loss (Keras 3.15:
``Layer.add_weight(regularizer=...)`` -> ``model.losses`` -> ``Trainer.compute_loss`` sums
them with the compiled loss; numpy_rnn.training does the same).  At inference it does nothing.

Formulas, term for term as ``keras/src/regularizers/regularizers.py`` on TensorFlow:

* ``L1(l1=0.01)``: ``l1 * sum(|x|)``; gradient ``l1 * sign(x)`` (0 at 0).  Keras keeps ``l1`` in a
  float32 tensor, so ``get_config()`` returns the rounded value
  (``L1(0.01).get_config() == {"l1": 0.009999999776482582}``); so does this class.
* ``L2(l2=0.01)``: ``l2 * sum(x**2)``; gradient ``l2 * (x * 2)`` (TensorFlow's Square gradient).
* ``L1L2(l1=0.0, l2=0.0)``: ``(0 + l1 * sum|x|) + l2 * sum(x**2)``, a term only when its factor is
  not 0.

Every factor reaches the weight's dtype through Keras's ``ops.cast``, which on TensorFlow makes a
float32 tensor of a Python float first: the factor is ``float32(l2)`` even for float64 weights
(measured, Keras 3.15.1: ``L2(0.01)`` of a float64 ``[1.0]`` is 0.009999999776482582, under a
float32 or a float64 floatx alike).  So here: ``dtype(float32(factor))``.

``get(identifier)`` takes what Keras's ``regularizers.get`` takes for these classes: ``None``, an
instance, a name (``"l1"``, ``"l2"``, ``"l1l2"``, ``"L1"``, ``"L2"``, ``"L1L2"``) or a serialized
dict (Keras 3's ``{"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
"registered_name": None}`` or Keras 2's ``{"class_name": "L2", "config": {...}}``).  A serialized
regularizer numpy_rnn cannot compute (``OrthogonalRegularizer``, a custom class) becomes an
:class:`Unsupported` placeholder: the layer still runs and keeps the config, and training it
raises ``NotImplementedError``.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["Regularizer", "L1", "L2", "L1L2", "Unsupported", "get", "serialize"]


def _factor(name: str, value: Any) -> float:
    """Keras's ``validate_float_arg``: a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float."
                         f"Received: {name}={value!r}")
    return float(value)


def _cast(factor: float, dtype: np.dtype) -> Any:
    """Keras's ``ops.cast(factor, dtype)`` on TensorFlow: through a float32 tensor."""
    return np.dtype(dtype).type(np.float32(factor))


def _weight(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        raise TypeError(f"A regularizer takes a float weight array. Received: dtype {arr.dtype}")
    return arr


class Regularizer:
    """Base class: ``reg(weight)`` -> the penalty (a 0-d array in the weight's dtype);
    ``reg.gradient(weight)`` -> d penalty / d weight (the weight's shape and dtype)."""

    def __call__(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    def gradient(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """``l1 * sum(|x|)``; ``l1`` rounded through float32 as Keras keeps it (module docstring)."""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = float(np.float32(_factor("l1", 0.01 if l1 is None else l1)))

    def __call__(self, x: Any) -> np.ndarray:
        x = _weight(x)
        return _cast(self.l1, x.dtype) * np.sum(np.abs(x))

    def gradient(self, x: Any) -> np.ndarray:
        x = _weight(x)
        return _cast(self.l1, x.dtype) * np.sign(x)  # AbsGrad: grad * sign(x)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)``."""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor("l2", 0.01 if l2 is None else l2)

    def __call__(self, x: Any) -> np.ndarray:
        x = _weight(x)
        return _cast(self.l2, x.dtype) * np.sum(np.square(x))

    def gradient(self, x: Any) -> np.ndarray:
        x = _weight(x)
        return _cast(self.l2, x.dtype) * (x * x.dtype.type(2))  # SquareGrad: grad * (x * 2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)`` (each term only when its factor is not 0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor("l1", 0.0 if l1 is None else l1)
        self.l2 = _factor("l2", 0.0 if l2 is None else l2)

    def __call__(self, x: Any) -> np.ndarray:
        x = _weight(x)
        t = x.dtype.type
        out = t(0.0)
        if self.l1 != 0.0:
            out = out + _cast(self.l1, x.dtype) * np.sum(np.abs(x))
        if self.l2 != 0.0:
            out = out + _cast(self.l2, x.dtype) * np.sum(np.square(x))
        return np.asarray(out, x.dtype)

    def gradient(self, x: Any) -> np.ndarray:
        x = _weight(x)
        t = x.dtype.type
        parts = []
        if self.l1 != 0.0:
            parts.append(_cast(self.l1, x.dtype) * np.sign(x))
        if self.l2 != 0.0:
            parts.append(_cast(self.l2, x.dtype) * (x * t(2)))
        if not parts:
            return np.zeros_like(x)
        return parts[0] if len(parts) == 1 else parts[0] + parts[1]

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class Unsupported(Regularizer):
    """A serialized regularizer numpy_rnn cannot compute, kept so that the layer runs at
    inference and its config round-trips; computing the penalty (training) raises."""

    def __init__(self, config: dict, reason: str) -> None:
        self.config, self.reason = dict(config), reason

    def _refuse(self, *_: Any) -> np.ndarray:
        raise NotImplementedError(
            f"numpy_rnn cannot compute the regularizer {self.config.get('class_name')!r} "
            f"({self.reason}); the layer runs at inference but cannot be trained. Replace it "
            "with L1, L2 or L1L2 (or None) to train.")

    __call__ = gradient = _refuse

    def get_config(self) -> dict:
        return dict(self.config)

    def __repr__(self) -> str:
        return f"Unsupported({self.config.get('class_name')!r})"


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
#: Keras's string identifiers for these classes (class names and their snake case).
_NAMES = {**_CLASSES, "l1": L1, "l2": L2, "l1l2": L1L2}


def get(identifier: Any, argument: str = "regularizer") -> Regularizer | None:
    """The regularizer ``identifier`` names (module docstring); ``argument`` names the
    constructor argument in error messages."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret regularizer identifier: `{argument}`={identifier!r}. "
                f"Expected one of {sorted(_NAMES)}, a serialized regularizer dict, a "
                "numpy_rnn.regularizers instance or None.")
        return cls()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        config = identifier.get("config")
        module = identifier.get("module")
        registered = identifier.get("registered_name")
        if not isinstance(name, str) or not isinstance(config, dict):
            raise ValueError(
                f"`{argument}` must be a serialized regularizer {{'class_name': ..., 'config': "
                f"{{...}}}}. Received: {argument}={identifier!r}")
        custom = registered not in (None, name) or (
            module is not None and not (isinstance(module, str)
                                        and module.split(".")[0] == "keras"))
        if custom:
            return Unsupported(identifier, "a custom regularizer")
        cls = _CLASSES.get(name)
        if cls is None:
            return Unsupported(identifier, "numpy_rnn computes L1, L2 and L1L2")
        try:
            return cls(**config)
        except TypeError as exc:
            raise ValueError(f"`{argument}`: the config of {name} is not understood: {exc}. "
                             f"Received: {argument}={identifier!r}") from None
    raise TypeError(
        f"`{argument}` must be a regularizer name, a serialized regularizer dict, a "
        f"numpy_rnn.regularizers instance or None. Received: {argument}={identifier!r} of type "
        f"{type(identifier).__name__}")


def serialize(regularizer: Regularizer | None) -> dict | None:
    """Keras 3's serialized form (what ``keras.regularizers.serialize`` writes), or None."""
    if regularizer is None:
        return None
    if isinstance(regularizer, Unsupported):
        return regularizer.get_config()
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}
