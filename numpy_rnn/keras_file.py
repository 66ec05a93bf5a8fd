"""Old home of the ``.keras`` reader, kept so ``numpy_rnn.keras_file`` imports keep working.

The reader lives in :mod:`numpy_rnn.formats`, split by job: ``keras_archive`` (the zip),
``keras_layers`` (the one table of Keras layers and options), ``keras_convert`` (one layer
config -> one NumPy layer), ``keras_plan`` (whole-model configs), ``keras_weights`` (the HDF5 weights) and
``keras_file`` (``read_keras_file`` / ``load_keras_model``).
"""
from __future__ import annotations

from .formats.errors import KerasFileError, UnsupportedModelError
from .formats.keras_archive import read_keras_config
from .formats.keras_file import KerasFile, load_keras_model, read_keras_file
from .formats.keras_convert import activation_name, dtype_from_policy
from .formats.keras_layers import (INFERENCE_NEUTRAL_OPTIONS, KERAS_LAYER_RULES,
                                   MODEL_ONLY_VALUE_OPTIONS, ONLY_VALUE_OPTIONS, KerasLayerRule,
                                   is_inference_neutral, only_value, supported_keras_layers)
from .formats.keras_plan import plan_model

__all__ = ["UnsupportedModelError", "KerasFileError", "KerasFile", "KerasLayerRule",
           "KERAS_LAYER_RULES", "ONLY_VALUE_OPTIONS", "MODEL_ONLY_VALUE_OPTIONS", "only_value", "INFERENCE_NEUTRAL_OPTIONS",
           "load_keras_model", "read_keras_file", "read_keras_config", "plan_model",
           "supported_keras_layers", "is_inference_neutral", "dtype_from_policy",
           "activation_name"]
