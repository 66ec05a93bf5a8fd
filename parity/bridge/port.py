"""Port a Keras model file (``.keras``, or a Keras 2 / tf_keras ``.h5``) to a self-checking
numpy-rnn bundle.  A Keras 2 file is checked against tf_keras (``legacy``), never Keras 3.

The model is read with numpy_rnn's own reader (NumPy + h5py, nothing executed).  When Keras
can run, the same file is also loaded in Keras, both run on generated test inputs, and the
bundle is written only if they agree within ``parity.tolerances``; the Keras outputs become the
bundle's test vectors.  Without Keras the NumPy outputs are stored and marked as not verified.

Which Keras (:func:`choose_backend`): a ``.keras`` file is checked on the backend that wrote it
when the archive records one (``metadata.json``'s ``backend``; Keras 3.15 itself records none)
and it is installed, else on this process's backend (``KERAS_BACKEND``), else on the first one
installed (TensorFlow, JAX, PyTorch, NumPy) -- in a spawned process when it is not this
process's; the report and the bundle's ``verified_by`` say which, and why.  TensorFlow is not
needed for a ``.keras`` file.  A Keras 2 ``.h5`` (tf_keras) and weights built from a config
need TensorFlow.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
from typing import Any

import numpy as np

import numpy_rnn
from numpy_rnn.io import make_test_inputs

from ..report import ParityReport, compare_outputs
from . import legacy
from . import backend
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
    """Whether Keras 3 can run here on some backend (:func:`choose_backend` finds one)."""
    return choose_backend(None)[0] is not None


#: Backends tried, in this order, when neither the file's nor this process's is installed.
FALLBACK_BACKENDS = ("tensorflow", "jax", "torch", "numpy")


def recorded_backend(metadata: Any) -> str | None:
    """The Keras backend a ``.keras`` archive says wrote it (``metadata.json``'s ``backend``),
    or None: Keras 3 (checked: 3.15) records only ``keras_version`` and ``date_saved``."""
    value = metadata.get("backend") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and value in backend.BACKENDS else None


def choose_backend(recorded: str | None) -> tuple[str | None, str]:
    """``(backend, why)``: the backend a ``.keras`` file is checked against -- the one that
    wrote it (``recorded``) when installed, else this process's, else the first installed of
    :data:`FALLBACK_BACKENDS`; None when Keras runs on none of them."""
    here = backend.configured()
    if recorded is not None and backend.installed(recorded):
        return recorded, "the backend that wrote the file"
    if recorded is None:
        lead = "the file does not record the backend that wrote it"
    else:
        lead = f"the file was written on {recorded}, which is not installed here"
    if backend.installed(here):
        return here, f"{lead}; this process's backend"
    for name in FALLBACK_BACKENDS:
        if backend.installed(name):
            return name, f"{lead}; {here} is not installed, {name} is"
    return None, f"{lead}; Keras runs on no installed backend"


def _use_backend(name: str) -> None:  # a worker's initializer: before Keras is imported
    os.environ["KERAS_BACKEND"] = name
    if name == "jax":
        os.environ.setdefault("JAX_ENABLE_X64", "1")


def keras_file_outputs(model_path: str, x: Any) -> tuple[Any, str, dict]:
    """Keras 3's outputs for a ``.keras`` file on ``x`` (``training=False``) in this process,
    with ``"keras <version> on <backend> <version>"`` and the versions."""
    keras = backend.require()
    k_model = keras.saving.load_model(os.fspath(model_path), compile=False, safe_mode=True)
    if isinstance(x, list):  # a functional model's inputs
        xs = [backend.convert(a) for a in x]
        out = k_model(xs if len(xs) > 1 else xs[0], training=False)
    else:
        out = k_model(backend.convert(x), training=False)
    out = backend.to_numpy(out)
    if isinstance(out, dict):
        out = [out[k] for k in sorted(out)]
    name = keras.backend.backend()
    info = backend.versions(name)
    label = f"keras {keras.__version__} on {name}" + (
        f" {info['backend_version']}" if info["backend_version"] and name != "numpy" else "")
    return out, label, {"keras_runtime_version": keras.__version__,
                        "keras_backend": name, "keras_backend_version": info["backend_version"]}


def keras_file_outputs_on(name: str, model_path: str, x: Any) -> tuple[Any, str, dict]:
    """:func:`keras_file_outputs` on backend ``name``: in this process when it runs that
    backend, else in a spawned process that sets ``KERAS_BACKEND`` before importing Keras."""
    if name == backend.configured():
        return keras_file_outputs(model_path, x)
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(1, mp_context=ctx, initializer=_use_backend,
                                initargs=(name,)) as pool:
        return pool.submit(keras_file_outputs, os.fspath(model_path), x).result()


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
    # a Keras 2 file runs in tf_keras, weights built from a config in the Keras that wrote them
    # (both on TensorFlow); a .keras file on a Keras 3 backend (choose_backend)
    on_tf = source.format in legacy.LEGACY_FORMATS or config is not None
    chosen, why_backend = (None, "") if on_tf else choose_backend(
        recorded_backend(source.metadata))
    runnable = backend.installed("tensorflow") if on_tf else chosen is not None
    if use_keras and runnable and on_tf:
        import keras
        import tensorflow as tf

        reference = f"keras {keras.__version__}"
        try:
            if source.format in legacy.LEGACY_FORMATS:  # Keras 2 semantics: tf_keras
                reference = f"tf_keras {legacy.tf_keras_version()}"
            if config is not None:  # weights-only: built from the config by the writing Keras
                keras_out = legacy.tf_keras_predict(
                    legacy.load_weights_only(model_path, source.config, source.format), x)
            else:
                keras_out = legacy.tf_keras_predict(legacy.load_tf_keras_model(model_path), x)
        except ImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - Keras's own failure, reported as such
            raise ValueError(f"{reference} could not load or run "
                             f"{os.fspath(model_path)!r} on test inputs of shape "
                             f"{_shapes(x)}: {type(exc).__name__}: {exc}") from None
        facts = {"tensorflow_version": tf.__version__,
                 "keras_runtime_version": reference.split(" ", 1)[1]}
        if reference.startswith("tf_keras"):
            facts["keras_runtime"] = "tf_keras"
        return _checked(result, model, out_path, vocabulary, x, keras_out, provenance, labels,
                        reference, f"{reference} (tensorflow {tf.__version__})", facts)
    if use_keras and runnable:
        try:
            keras_out, reference, facts = keras_file_outputs_on(chosen, os.fspath(model_path), x)
        except ImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - Keras's own failure, reported as such
            raise ValueError(f"keras on {chosen} could not load or run "
                             f"{os.fspath(model_path)!r} on test inputs of shape "
                             f"{_shapes(x)}: {type(exc).__name__}: {exc}") from None
        result.notes.append(f"checked against {reference} ({why_backend})")
        if chosen == "tensorflow":
            facts["tensorflow_version"] = facts["keras_backend_version"]
        return _checked(result, model, out_path, vocabulary, x, keras_out, provenance, labels,
                        reference, f"{reference} ({why_backend})", facts)
    else:
        why = ("Keras was not asked to run" if not use_keras else
               "TensorFlow is not installed (this file runs in tf_keras / the Keras that wrote "
               "its weights, on TensorFlow)" if on_tf else
               "Keras is not installed on any backend")
        result.notes.append(f"{why}: the test vectors are numpy-rnn's own outputs, NOT verified "
                            "by Keras; they only guard the bundle against later changes")
        result.bundle_path = numpy_rnn.save(
            model, out_path, vocabulary, x, None,
            verified_by=f"numpy-rnn {numpy_rnn.__version__} (not verified by Keras: {why})",
            provenance=provenance, labels=labels)
    return result


def _checked(result: PortResult, model: Any, out_path: Any, vocabulary: Any, x: Any,
             keras_out: Any, provenance: dict, labels: Any, reference: str,
             verified_by: str, facts: dict) -> PortResult:
    """Compare the NumPy model with Keras's outputs; write the bundle only when they agree."""
    np_out = model.predict(x if not isinstance(x, list) or len(x) > 1 else x[0])
    if isinstance(np_out, dict):
        np_out = [np_out[k] for k in sorted(np_out)]
    names, kinds = ["output"], None
    if isinstance(model, numpy_rnn.Model):
        specs = output_specs(model, len(model.outputs))
        names, kinds = [n for n, _ in specs], [k for _, k in specs]
    report = compare_outputs(f"port {provenance['source_file']}: numpy vs {reference}", np_out,
                             keras_out, names, kinds)
    result.report, result.keras_checked = report, True
    if not report.passed:
        return result
    provenance.update(facts)
    result.bundle_path = numpy_rnn.save(model, out_path, vocabulary, x, keras_out,
                                        verified_by=verified_by, provenance=provenance,
                                        labels=labels)
    return result
