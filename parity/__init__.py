"""parity: prove numpy_rnn computes what tf.keras computes.

Everything here that talks to TensorFlow imports it inside functions, so ``import parity`` is
cheap and works without TensorFlow; calling a function that needs it then raises an ImportError
naming the extra to install (``pip install 'numpy-rnn[keras]'``).
"""
from __future__ import annotations

from .bridge import UnsupportedKerasFeature, from_keras, supported_layers, to_keras
from .compare import OutputDiff, ParityReport, assert_parity, compare, compare_outputs, diff_arrays
from . import tolerances
from .model_bridge import UnsupportedKerasModel

__all__ = [
    "UnsupportedKerasFeature", "UnsupportedKerasModel", "from_keras", "to_keras", "supported_layers", "compare",
    "assert_parity", "ParityReport", "OutputDiff", "compare_outputs", "diff_arrays", "tolerances",
]
