"""parity: prove numpy_rnn computes what tf.keras computes.

Everything here that talks to TensorFlow imports it inside functions, so ``import parity`` is
cheap and works without TensorFlow (and without hypothesis); calling a function that needs it then
raises an ImportError naming the extra to install (``pip install 'numpy-rnn[keras]'``, or
``pip install -e '.[keras]'`` from a checkout).

The submodules (``parity.strategies``, ``parity.text_strategies``, ``parity.cli`` ...) are
attributes of the package too, imported on first use (PEP 562), so ``import parity`` does not pay
for hypothesis or the CLI and ``parity.strategies`` works without a separate import.
"""
from __future__ import annotations

import importlib
from typing import Any

from .bridge import UnsupportedKerasFeature, from_keras, supported_layers, to_keras
from .compare import OutputDiff, ParityReport, assert_parity, compare, compare_outputs, diff_arrays
from . import tolerances
from .model_bridge import UnsupportedKerasModel

__all__ = [
    "UnsupportedKerasFeature", "UnsupportedKerasModel", "from_keras", "to_keras", "supported_layers", "compare",
    "assert_parity", "ParityReport", "OutputDiff", "compare_outputs", "diff_arrays", "tolerances",
    "strategies",
]

#: Submodules reachable as ``parity.<name>`` without importing them first.
_LAZY_SUBMODULES = frozenset({
    "baseline", "bridge", "cases", "cases_core", "cases_family", "cases_text", "cli", "cli_port",
    "compare", "family_strategies", "gate", "junit", "model_bridge", "plot", "port",
    "pytest_plugin", "strategies", "text_bridge", "text_strategies", "tolerances",
})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        # import_module also binds the submodule as an attribute of this package.
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_SUBMODULES)
