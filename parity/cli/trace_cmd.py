"""``numpy-rnn check --trace BUNDLE_OR_MODEL``: which layer makes the NumPy model part ways.

* a bundle (``.npz``): its NumPy model against a Keras model rebuilt from the same weights
  (``parity.to_keras``), on the bundle's stored test inputs (generated as ``port`` does when it
  holds none);
* a legacy ``.h5`` (Keras 2 / tf_keras): ``numpy_rnn.load_keras_model`` against
  ``tf_keras.models.load_model`` (Keras 2 semantics), inputs generated as below;
* a Keras model file (``.keras``): ``numpy_rnn.load_keras_model`` against
  ``keras.saving.load_model``, on inputs generated as ``port`` generates them (``--samples``,
  ``--timesteps``, ``--seed``).

The file kind is chosen by :func:`source_loader` from the suffix (one table, :data:`LOADERS`, so
another kind of model file slots in as one entry).  Prints ``parity.trace``'s table; ``--json
PATH`` writes the report.  Exit 0 every layer within tolerance, 1 some layer diverges (named on
stdout), 2 a usage or environment error (one line ``numpy-rnn check: error: ...``).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any, Callable

import numpy as np

import numpy_rnn
from numpy_rnn.io import make_test_inputs

from ..bridge import import_tensorflow_quietly, install_hint, legacy, model_to_keras, trace
from .common import EXIT_FAIL, EXIT_OK, int_at_least, output_path_problem, usage_error

__all__ = ["add_trace_arguments", "cmd_trace", "wants_trace", "source_loader", "LOADERS",
           "TraceSource", "SourceError"]

COMMAND = "check"
#: Generated inputs, as ``numpy-rnn port`` makes them by default.
DEFAULT_SAMPLES = 16


@dataclasses.dataclass
class TraceSource:
    """What a trace runs: both models, the input and where they came from."""

    np_model: Any
    keras_model: Any
    x: np.ndarray
    description: str


class SourceError(Exception):
    """A usage or environment problem with the traced file (exit 2, one line)."""


class _Exit(Exception):
    """The bundle opener already reported the problem: exit with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


OpenBundle = Callable[[str, str, bool], tuple]


def _shape_text(x: Any) -> str:
    """``(16, 5) int32`` for an array, a comma list of them for several inputs."""
    xs = x if isinstance(x, list) else [x]
    return ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in xs)


def _from_bundle(path: str, args: argparse.Namespace, open_bundle: OpenBundle) -> TraceSource:
    bundle, code = open_bundle(COMMAND, path, False)
    if bundle is None:
        raise _Exit(code)
    x, how = bundle.test_inputs, "its stored test inputs"
    if x is None:
        x = make_test_inputs(bundle.model, args.samples, timesteps=args.timesteps,
                             seed=args.seed)
        how = f"generated inputs (the bundle holds none; --samples {args.samples}, " \
              f"--seed {args.seed})"
    keras_model = model_to_keras(bundle.model)
    return TraceSource(bundle.model, keras_model, x,
                       f"bundle {path}: numpy model vs Keras rebuilt from the same weights, on "
                       f"{how} {_shape_text(x)}")


def _from_keras_file(path: str, args: argparse.Namespace, open_bundle: OpenBundle
                     ) -> TraceSource:
    import keras

    try:
        np_model = numpy_rnn.load_keras_model(path)
    except (numpy_rnn.UnsupportedModelError, numpy_rnn.KerasFileError, ValueError,
            ImportError) as exc:
        raise SourceError(str(exc)) from None
    try:
        keras_model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras's own failure, reported as such
        raise SourceError(f"Keras {keras.__version__} could not load {path!r}: "
                          f"{type(exc).__name__}: {exc}") from None
    x = make_test_inputs(np_model, args.samples, timesteps=args.timesteps, seed=args.seed)
    return TraceSource(np_model, keras_model, x,
                       f"model {path}: numpy_rnn.load_keras_model vs keras.saving.load_model, "
                       f"on generated inputs {_shape_text(x)} (--samples "
                       f"{args.samples}, --seed {args.seed})")


def _from_h5_file(path: str, args: argparse.Namespace, open_bundle: OpenBundle) -> TraceSource:
    """A legacy ``.h5``: a Keras 2 / tf_keras file is traced against tf_keras (its semantics,
    e.g. Keras 2's hard_sigmoid), a Keras 3 ``.h5`` against Keras 3."""
    try:
        source = numpy_rnn.read_keras_file(path)
    except (numpy_rnn.UnsupportedModelError, numpy_rnn.KerasFileError, ValueError,
            ImportError) as exc:
        raise SourceError(str(exc)) from None
    if source.format not in legacy.LEGACY_FORMATS:
        return _from_keras_file(path, args, open_bundle)
    try:
        keras_model = legacy.load_tf_keras_model(path)
    except Exception as exc:  # noqa: BLE001 - tf_keras's own failure, reported as such
        raise SourceError(f"tf_keras could not load {path!r}: {type(exc).__name__}: {exc}") from None
    x = make_test_inputs(source.model, args.samples, timesteps=args.timesteps, seed=args.seed)
    return TraceSource(source.model, keras_model, x,
                       f"model {path}: numpy_rnn.load_keras_model vs tf_keras.models.load_model "
                       f"(Keras 2 semantics), on generated inputs {_shape_text(x)} "
                       f"(--samples {args.samples}, --seed {args.seed})")


#: File suffix -> how to get both models and the input from it.
LOADERS: dict[str, Callable[..., TraceSource]] = {
    ".npz": _from_bundle,
    ".keras": _from_keras_file,
    ".h5": _from_h5_file,
}


def source_loader(path: str) -> Callable[..., TraceSource]:
    """The loader for ``path`` by its suffix (``SourceError`` naming the kinds known)."""
    suffix = os.path.splitext(path)[1].lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise SourceError(f"--trace {path!r}: expected a numpy-rnn bundle or a Keras model file "
                          f"({', '.join(sorted(LOADERS))}), received a {suffix or 'suffix-less'} "
                          "file")
    return loader


def _trace_only(args: argparse.Namespace) -> list[str]:
    """The --trace options given without --trace."""
    return [flag for flag, dest in (("--json", "json"), ("--samples", "samples"),
                                    ("--timesteps", "timesteps"), ("--seed", "seed"))
            if getattr(args, dest, None) is not None]


def wants_trace(args: argparse.Namespace) -> bool:
    """Whether ``check`` must go to :func:`cmd_trace` (``--trace``, or one of its options)."""
    return bool(getattr(args, "trace", False) or _trace_only(args))


def cmd_trace(args: argparse.Namespace, open_bundle: OpenBundle) -> int:
    """``numpy-rnn check --trace``; ``open_bundle(command, path, verify)`` is ``check``'s own
    bundle opener (``(bundle or None, exit code)``)."""
    if not args.trace:
        return usage_error(COMMAND, f"{', '.join(_trace_only(args))}: only with --trace")
    path = args.bundle
    args.samples = DEFAULT_SAMPLES if args.samples is None else args.samples
    args.seed = 0 if args.seed is None else args.seed
    if args.json:
        problem = output_path_problem("--json", args.json)
        if problem is not None:
            return usage_error(COMMAND, problem)
    if not os.path.exists(path):
        return usage_error(COMMAND, f"no such file: {path!r}")
    if not os.path.isfile(path):
        return usage_error(COMMAND, f"--trace {path!r}: expected a file, received a directory "
                                    "or special file")
    try:
        loader = source_loader(path)
        import_tensorflow_quietly()
    except SourceError as exc:
        return usage_error(COMMAND, str(exc))
    except ImportError as exc:
        return usage_error(COMMAND, f"--trace runs the model in Keras, which is not installed "
                                    f"({exc}); install it with {install_hint('keras')}")
    try:
        source = loader(path, args, open_bundle)
        report = trace(source.np_model, source.keras_model, source.x,
                       case=os.path.basename(path))
    except _Exit as exc:
        return exc.code
    except (SourceError, ValueError, TypeError) as exc:
        return usage_error(COMMAND, str(exc))
    print(f"trace of {source.description}")
    print(report)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(report.to_json() + "\n")
        print(f"wrote {args.json}")
    return EXIT_OK if report.passed else EXIT_FAIL


def add_trace_arguments(parser: argparse.ArgumentParser) -> None:
    """``check``'s ``--trace`` and its options."""
    parser.add_argument("--trace", action="store_true",
                        help="run the model and Keras layer by layer and name the first layer "
                             "that diverges (MODEL may then also be a .keras or .h5 file)")
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="with --trace: write the trace report as JSON")
    parser.add_argument("--samples", type=int_at_least(1), default=None,
                        help="with --trace on a .keras/.h5 file: number of generated inputs "
                             "(default 16)")
    parser.add_argument("--timesteps", type=int_at_least(1), default=None,
                        help="with --trace: timesteps of generated inputs when the model does "
                             "not fix them (default 12)")
    parser.add_argument("--seed", type=int, default=None,
                        help="with --trace: seed of generated inputs (default 0)")
