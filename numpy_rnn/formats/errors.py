"""The errors the model-file readers raise (all ``ValueError`` subclasses)."""
from __future__ import annotations

from .keras_layers import supported_keras_layers
from typing import Any

__all__ = ["UnsupportedModelError", "KerasFileError", "BundleError", "BundleIntegrityError",
           "BundleVersionError", "BundleVerificationError"]


class UnsupportedModelError(ValueError):
    """A model that uses layers, options or wiring numpy_rnn cannot reproduce.

    ``problems`` lists every one found (never only the first)."""

    def __init__(self, problems: list[str], where: str = "model") -> None:
        self.problems = list(problems)
        self.where = where
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{where} cannot be run by numpy_rnn: {len(self.problems)} unsupported "
            f"feature(s):\n{lines}\nnumpy_rnn runs Sequential and Functional models (graphs "
            f"of layers, nested models included) made of these layers: "
            f"{', '.join(supported_keras_layers())}, and of the layers registered with "
            f"numpy_rnn.register_layer."
        )


class KerasFileError(ValueError):
    """A model file that cannot be read: not a Keras archive, corrupt, or weights that disagree
    with the config."""


class BundleError(ValueError):
    """A bundle that cannot be loaded: unreadable, truncated, inconsistent."""


class BundleIntegrityError(BundleError):
    """The SHA-256 digest stored in the bundle does not match its contents."""


class BundleVersionError(BundleError):
    """A bundle written in a format version this numpy-rnn cannot read."""


class BundleVerificationError(BundleError):
    """The model in the bundle no longer reproduces its stored test outputs."""

    def __init__(self, message: str, report: Any) -> None:
        super().__init__(message)
        self.report = report
