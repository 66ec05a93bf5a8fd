"""Port a Keras model file (``.keras``, or a Keras 2 / tf_keras ``.h5``) to a self-checking
numpy-rnn bundle.  A Keras 2 file is checked against tf_keras (``legacy``), never Keras 3.

The model is read with numpy_rnn's own reader (NumPy + h5py, nothing executed).  When
TensorFlow is installed the same file is also loaded in Keras, both run on generated test
inputs, and the bundle is written only if they agree within ``parity.tolerances``; the Keras
outputs become the bundle's test vectors.  Without TensorFlow the NumPy outputs are stored and
marked as not verified by Keras.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

import numpy_rnn
from numpy_rnn.io import make_test_inputs

from ..report import ParityReport, compare_outputs
from . import legacy
from ._tf import require_tf
from .run import output_specs


def _shapes(x: Any) -> Any:
    return [a.shape for a in x] if isinstance(x, list) else x.shape


@dataclasses.dataclass
class PortResult:
    """What ``port`` did: where the bundle went and how it was checked."""

    model: Any
    bundle_path: str | None
    keras_checked: bool
    report: ParityReport | None = None  # when Keras was run
    keras_version: str | None = None
    notes: list = dataclasses.field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.report is None or bool(self.report.passed)


def keras_available() -> bool:
    """Whether TensorFlow with Keras 3 can be imported."""
    try:
        require_tf()
    except ImportError:
        return False
    return True


def read_vocabulary(path: str | os.PathLike) -> numpy_rnn.Vocabulary:
    """A Vocabulary from a ``Tokenizer.to_json()`` file."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return numpy_rnn.Vocabulary.from_json(text)


def port(model_path: str | os.PathLike, out_path: str | os.PathLike, vocabulary: Any = None, *,
         n_samples: int = 16, timesteps: int | None = None, seed: int = 0,
         use_keras: bool = True, config: Any = None, labels: Any = None) -> PortResult:
    """Read ``model_path`` with numpy_rnn, check it against Keras when possible, write a bundle.

    Args:
        vocabulary: a Vocabulary, its JSON text, or a path to a ``Tokenizer.to_json()`` file.
        n_samples, timesteps, seed: the generated test inputs (see
            ``numpy_rnn.io.make_test_inputs``).
        use_keras: load the model in Keras too when TensorFlow is installed.
        config: only for a weights-only file (Keras 2 ``save_weights`` ``.h5`` or Keras 3
            ``.weights.h5``): the model config (dict, JSON text or a JSON file's path); the
            Keras side is then built from it by the Keras that wrote the weights.
        labels: class names stored with the bundle (``numpy-rnn predict`` shows them).

    Returns:
        a PortResult; ``bundle_path`` is None (nothing written) when the parity check failed.

    Raises:
        numpy_rnn.UnsupportedModelError, numpy_rnn.KerasFileError, ImportError (h5py), and
        ValueError for a vocabulary that is not tokenizer JSON or does not fit the Embedding.
    """
    source = numpy_rnn.read_keras_file(model_path, config=config)
    model = source.model
    if isinstance(vocabulary, os.PathLike) or (
            isinstance(vocabulary, str) and not vocabulary.lstrip().startswith("{")):
        vocabulary = read_vocabulary(vocabulary)  # a path, not JSON text
    x = make_test_inputs(model, n_samples, timesteps=timesteps, seed=seed)
    provenance = {"source_file": os.path.basename(os.fspath(model_path)),
                  "source_format": (f"keras {source.kind}" if source.format == "keras" else
                                    f"{source.format} {source.kind}"),
                  "keras_version": source.keras_version}
    result = PortResult(model=model, bundle_path=None, keras_checked=False,
                        keras_version=source.keras_version)
    if use_keras and keras_available():
        import keras
        import tensorflow as tf

        reference = f"keras {keras.__version__}"
        try:
            if source.format in legacy.LEGACY_FORMATS:  # Keras 2 semantics: tf_keras
                reference = f"tf_keras {legacy.tf_keras_version()}"
            if config is not None:  # weights-only: built from the config by the writing Keras
                keras_out = legacy.tf_keras_predict(
                    legacy.load_weights_only(model_path, source.config, source.format), x)
            elif source.format in legacy.LEGACY_FORMATS:
                keras_out = legacy.tf_keras_predict(legacy.load_tf_keras_model(model_path), x)
            else:
                k_model = keras.saving.load_model(os.fspath(model_path), compile=False,
                                                  safe_mode=True)
                keras_out = legacy.tf_keras_predict(k_model, x)  # any Keras model's call
        except ImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - Keras's own failure, reported as such
            raise ValueError(f"{reference} could not load or run "
                             f"{os.fspath(model_path)!r} on test inputs of shape "
                             f"{_shapes(x)}: {type(exc).__name__}: {exc}") from None
        np_out = model.predict(x if not isinstance(x, list) or len(x) > 1 else x[0])
        if isinstance(np_out, dict):
            np_out = [np_out[k] for k in sorted(np_out)]
        names, kinds = ["output"], None
        if isinstance(model, numpy_rnn.Model):
            specs = output_specs(model, len(model.outputs))
            names, kinds = [n for n, _ in specs], [k for _, k in specs]
        report = compare_outputs(f"port {os.path.basename(os.fspath(model_path))}: numpy vs "
                                 f"{reference}", np_out, keras_out, names, kinds)
        result.report, result.keras_checked = report, True
        if not report.passed:
            return result
        provenance.update(tensorflow_version=tf.__version__,
                          keras_runtime_version=reference.split(" ", 1)[1])
        if reference.startswith("tf_keras"):
            provenance["keras_runtime"] = "tf_keras"
        result.bundle_path = numpy_rnn.save(
            model, out_path, vocabulary, x, keras_out,
            verified_by=f"{reference} (tensorflow {tf.__version__})",
            provenance=provenance, labels=labels)
    else:
        why = "TensorFlow is not installed" if use_keras else "Keras was not asked to run"
        result.notes.append(f"{why}: the test vectors are numpy-rnn's own outputs, NOT verified "
                            "by Keras; they only guard the bundle against later changes")
        result.bundle_path = numpy_rnn.save(
            model, out_path, vocabulary, x, None,
            verified_by=f"numpy-rnn {numpy_rnn.__version__} (not verified by Keras: {why})",
            provenance=provenance, labels=labels)
    return result
