"""Keras <-> numpy_rnn: convert layers, models and the text pipeline, and run both sides.

* ``_tf``: importing TensorFlow quietly, install hints;
* ``backend``: the one interface to Keras's backend (TensorFlow, JAX, PyTorch, NumPy): which one
  runs, tensors in and out, autodiff, versions; ``references``: ``--reference`` names -> backends;
* ``float64``: the same Keras object rebuilt in float64 (what the referees judge by);
* ``layers``: one Keras layer <-> one numpy_rnn layer (the table is
  ``numpy_rnn.formats.keras_layers``, shared with the ``.keras`` reader);
* ``models``: Keras Sequential / single-chain Functional models <-> ``numpy_rnn.Sequential``;
* ``text``: tf_keras ``Tokenizer`` <-> ``Vocabulary``, ``TextVectorization`` both ways;
* ``convert``: ``from_keras`` / ``to_keras`` over all of the above;
* ``run``: ``compare`` / ``assert_parity``: run both sides, name each output, report;
* ``grad``: ``compare_gradients``, a backward pass against the backend's autodiff;
* ``grad_referee``: the float64 referee for float32 gradient disagreements;
* ``train``: ``compare_training``, ``train_on_batch`` steps against Keras's;
* ``referee``: a float64 Keras referee for ill-conditioned float32 disagreements;
* ``port``: a ``.keras`` file -> a Keras-verified numpy-rnn bundle;
* ``layer_trace``: ``trace``, which layer makes a model part ways with its Keras twin.
"""
from __future__ import annotations

from . import backend, deviations
from ._tf import (REFERENCES, import_tensorflow_quietly, install_hint, quiet_tensorflow_logs,
                  require_tf)
from .backend import BackendMismatch, BackendUnsupported, NoAutodiff, to_numpy
from .convert import from_keras, to_keras
from .grad import compare_gradients
from .grad_referee import assert_refereed_gradients, refereed_gradients
from .layer_trace import keras_chain, trace
from .layers import (UnsupportedKerasFeature, copy_weights, layer_from_keras, layer_to_keras,
                     supported_layers)
from .models import UnsupportedKerasModel, model_from_keras, model_to_keras
from .referee import assert_refereed_parity, refereed_parity
from .references import (INFERENCE_ONLY, REFERENCE_BACKENDS, parse_references,
                         reference_backend, reference_module)
from .run import assert_parity, compare, output_kinds, output_names, output_specs, run_pair
from .text import compare_text
from .train import compare_training

__all__ = [
    "REFERENCES", "import_tensorflow_quietly", "install_hint", "quiet_tensorflow_logs",
    "reference_module", "require_tf", "from_keras", "to_keras", "UnsupportedKerasFeature",
    "copy_weights", "layer_from_keras", "layer_to_keras", "supported_layers",
    "UnsupportedKerasModel", "model_from_keras", "model_to_keras", "assert_refereed_parity",
    "refereed_parity", "assert_parity", "compare", "output_kinds", "output_names",
    "output_specs", "run_pair", "compare_text", "compare_gradients", "compare_training",
    "refereed_gradients", "assert_refereed_gradients", "trace", "keras_chain", "backend",
    "deviations",
    "BackendMismatch", "BackendUnsupported", "NoAutodiff", "to_numpy", "INFERENCE_ONLY",
    "REFERENCE_BACKENDS", "parse_references", "reference_backend",
]
