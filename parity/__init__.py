"""parity: prove numpy_rnn computes what tf.keras computes.

Everything here that talks to TensorFlow imports it inside functions, so ``import parity`` is
cheap and works without TensorFlow (and without hypothesis); calling a function that needs it then
raises an ImportError naming the extra to install (``numpy-rnn[keras]``: ``pip install -e
'.[keras]'`` from a checkout).

The house, imports flowing one way (``cli -> gate -> cases -> bridge -> report -> numpy_rnn``):

* ``report``: ParityReport, OutputDiff, ``compare_outputs`` (a leaf: nothing of parity);
* ``bridge``: Keras <-> NumPy for layers, models and text; runs both sides (``compare``,
  ``compare_gradients``, ``compare_training``, ``trace``);
* ``trace_report``: TraceReport, TraceRow: a per-layer divergence trace;
* ``cases``: the one generator of cases (the sweep, the gate's random sweep, the strategies);
* ``strategies``: hypothesis strategies, public;
* ``gate``: outcomes, the JSON report and its schema, baselines, JUnit, plots;
* ``cli``: ``numpy-rnn`` and its subcommands.

The subpackages are attributes of the package too, imported on first use (PEP 562), so
``import parity`` does not pay for hypothesis or the CLI and ``parity.strategies`` works without a
separate import.
"""
from __future__ import annotations

import importlib
from typing import Any

from . import tolerances
from .bridge import (UnsupportedKerasFeature, UnsupportedKerasModel, assert_parity, compare,
                     compare_gradients, compare_training, from_keras, supported_layers, to_keras,
                     trace)
from .report import OutputDiff, ParityReport, compare_outputs, diff_arrays
from .trace_report import TraceReport, TraceRow

__all__ = [
    "UnsupportedKerasFeature", "UnsupportedKerasModel", "from_keras", "to_keras", "supported_layers", "compare",
    "assert_parity", "compare_gradients", "compare_training", "ParityReport", "OutputDiff", "compare_outputs", "diff_arrays", "tolerances",
    "strategies", "trace", "TraceReport", "TraceRow",
]

#: Submodules reachable as ``parity.<name>`` without importing them first.
_LAZY_SUBMODULES = frozenset({
    "bridge", "cases", "cli", "gate", "pytest_plugin", "report", "strategies", "tolerances",
    "trace_report",
})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        # import_module also binds the submodule as an attribute of this package.
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_SUBMODULES)
