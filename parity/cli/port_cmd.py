"""``numpy-rnn port | check | predict``: Keras model files -> self-checking NumPy bundles.

* ``numpy-rnn port MODEL.keras|MODEL.h5 -o MODEL.npz [--vocabulary tokenizer.json]`` (a Keras 2 /
  tf_keras ``.h5`` is checked against tf_keras)
* ``numpy-rnn check MODEL.npz``; ``numpy-rnn check --trace MODEL.npz|MODEL.keras|MODEL.h5`` (``trace_cmd``)
* ``numpy-rnn predict MODEL.npz --text "..." | --input FILE|-`` (``predict_cmd``)

Exit status: 0 ok, 1 a check failed (parity with Keras, a bundle's integrity or test vectors),
2 a usage or environment error (missing file, a file that is not a bundle / model / tokenizer
JSON, an existing directory as output, unsupported model, h5py missing, no vocabulary), printed
as one line ``numpy-rnn COMMAND: error: ...`` on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
import zipfile
from typing import Any

import numpy as np

import numpy_rnn
from numpy_rnn.formats.bundle_format import check_labels
from numpy_rnn.io import verify_model

from ..bridge import install_hint, quiet_tensorflow_logs
from ..bridge import port as port_module
from . import trace_cmd
from .predict_cmd import add_predict_command
from .common import (EXIT_FAIL, EXIT_OK, EXIT_USAGE, add_import_argument, import_modules,
                     int_at_least, one_line, output_path_problem, usage_error)

__all__ = ["add_port_commands", "cmd_port", "cmd_check"]


def _err(command: str, message: str) -> None:
    print(f"numpy-rnn {command}: {message}", file=sys.stderr)


_NESTED = "JSON nested too deeply to be read"


def read_labels(path: str) -> list[str]:
    """Class names from a JSON list or a text file with one label a line."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read(1 << 24)
    if text.lstrip().startswith("["):
        labels = json.loads(text)
    else:
        labels = [line.strip() for line in text.splitlines() if line.strip()]
    return check_labels(labels)


# -- port -------------------------------------------------------------------------------------
def _check_output(path: str) -> str | None:
    """Why ``path`` cannot be the bundle to write, or None (checked before anything runs)."""
    return output_path_problem("-o", path)


def cmd_port(args: argparse.Namespace) -> int:
    quiet_tensorflow_logs()
    why = import_modules(args.imports)
    if why is not None:
        return usage_error("port", why)
    why = _check_output(args.output)
    if why is not None:
        return usage_error("port", why)
    if not os.path.isfile(args.model):
        return usage_error("port", f"no such model file: {args.model!r}" if not os.path.exists(
            args.model) else f"{args.model!r}: expected a .keras or .h5 model file, received a "
                             "directory or special file")
    vocabulary = None
    if args.vocabulary:
        try:
            vocabulary = port_module.read_vocabulary(args.vocabulary)
        except UnicodeDecodeError:
            return usage_error("port", f"--vocabulary {args.vocabulary!r}: expected tokenizer "
                                       "JSON text, received a binary file")
        except OSError as exc:
            return usage_error("port", f"cannot read --vocabulary {args.vocabulary!r}: "
                                       f"{exc.strerror or exc}")
        except RecursionError:
            return usage_error("port", f"--vocabulary {args.vocabulary!r}: {_NESTED}")
        except ValueError as exc:
            return usage_error("port", f"--vocabulary {args.vocabulary!r}: {exc}")
    labels = None
    if args.labels:
        try:
            labels = read_labels(args.labels)
        except (OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
            return usage_error("port", f"--labels {args.labels!r}: {exc}")
    use_keras = not args.no_keras
    if use_keras and not port_module.keras_available():
        print("numpy-rnn port: Keras is not installed on any backend, so the model cannot be "
              "checked against Keras; the bundle's test vectors will be numpy-rnn's own outputs, "
              "marked as NOT verified by Keras (to verify, install it: "
              f"{install_hint('keras')}, or [jax] / [torch]).")
    try:
        result = port_module.port(args.model, args.output, vocabulary, n_samples=args.samples,
                      timesteps=args.timesteps, seed=args.seed, use_keras=use_keras,
                      config=args.config, labels=labels)
    except (OSError, ImportError, numpy_rnn.UnsupportedModelError, numpy_rnn.KerasFileError,
            ValueError) as exc:
        return usage_error("port", str(exc))
    except RecursionError:
        return usage_error("port", f"{args.model!r}: its config is {_NESTED}")
    result.model.summary()
    for note in result.notes:
        print(f"note: {note}")
    if result.report is not None:
        print(result.report)
    if not result.passed:
        _err("port", f"the NumPy model does not match Keras; no bundle written to "
                     f"{args.output!r}")
        return EXIT_FAIL
    print(f"wrote {result.bundle_path} ({os.path.getsize(result.bundle_path):,} bytes"
          f"{', with vocabulary' if vocabulary is not None else ''})")
    return EXIT_OK


# -- check ------------------------------------------------------------------------------------
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a bundle is an .npz, i.e. a zip archive


def _not_a_bundle(path: str) -> str | None:
    """Why ``path`` is not a bundle file at all (a usage error, exit 2), or None when it is a
    zip archive holding a config and a digest: a damaged one is a failed check (exit 1)."""
    if not os.path.exists(path):
        return f"no such bundle: {path!r}"
    if not os.path.isfile(path):
        return (f"{path!r} is a directory, not a bundle file" if os.path.isdir(path)
                else f"{path!r} is not a regular file, so not a bundle file")
    with open(path, "rb") as fh:
        head = fh.read(512)
    port_it = (f"; port it first: numpy-rnn port {path} -o model.npz (or compare it with Keras "
               f"layer by layer: numpy-rnn check --trace {path})")
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return f"{path!r} is a Keras HDF5 (.h5) model file, not a numpy-rnn bundle" + port_it
    if head[:4] not in _ZIP_MAGIC:
        stripped = head.lstrip()
        found = ("JSON text" if stripped[:1] in (b"{", b"[") else
                 "an empty file" if not head else
                 "a single .npy array" if head.startswith(b"\x93NUMPY") else
                 "a text file" if _is_text(head) else "a binary file that is not a zip archive")
        return (f"{path!r} is not a numpy-rnn bundle: expected an .npz file written by "
                f"`numpy-rnn port` or numpy_rnn.save, received {found}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None  # a zip that cannot be opened: truncated or corrupted -> a failed check
    if "config.json" in names and "config.npy" not in names:
        return f"{path!r} is a Keras model archive (.keras), not a numpy-rnn bundle" + port_it
    if not {"config.npy", "sha256.npy"} <= names:
        return (f"{path!r} is not a numpy-rnn bundle: an .npz without its 'config' and "
                f"'sha256' arrays (it holds {sorted(names)[:8]})")
    return None


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def _open_bundle(command: str, path: str, verify: bool):
    """``(bundle, exit code)``: the bundle, or None and the code to exit with: 2 when ``path``
    is not a bundle (missing, a directory, another kind of file, a newer format), 1 when it is
    a bundle that fails its checks (truncated, corrupted, edited, wrong outputs)."""
    try:
        why = _not_a_bundle(path)
    except OSError as exc:
        return None, usage_error(command, f"cannot read {path!r}: {exc.strerror or exc}")
    if why is not None:
        return None, usage_error(command, why)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return numpy_rnn.read_bundle(path, verify=verify), EXIT_OK
    except numpy_rnn.BundleVersionError as exc:
        return None, usage_error(command, str(exc))
    except numpy_rnn.BundleError as exc:  # a bundle that fails its checks: exit 1
        verification = type(exc).__name__ == "BundleVerificationError"  # keeps its report
        _err(command, str(exc) if verification else one_line(str(exc)))
        return None, EXIT_FAIL
    except OSError as exc:
        return None, usage_error(command, f"cannot read {path!r}: {exc.strerror or exc}")
    except RecursionError:  # a damaged bundle: its check fails
        _err(command, f"{path!r}: the bundle config is {_NESTED}")
        return None, EXIT_FAIL


def cmd_check(args: argparse.Namespace) -> int:
    why = import_modules(getattr(args, "imports", None))
    if why is not None:
        return usage_error("check", why)
    if trace_cmd.wants_trace(args):
        return trace_cmd.cmd_trace(args, _open_bundle)
    bundle, code = _open_bundle("check", args.bundle, verify=False)
    if bundle is None:
        return code
    cfg = bundle.config
    print(f"bundle: {args.bundle} (format {cfg['format']} v{cfg['format_version']}, integrity "
          "SHA-256 ok)")
    prov = bundle.provenance
    facts = ", ".join(f"{k}={prov[k]}" for k in sorted(prov) if prov[k] is not None)
    print(f"made by: {facts}")
    bundle.model.summary()
    if bundle.vocabulary is not None:
        print(f"vocabulary: {len(bundle.vocabulary.word_index)} words "
              f"(ids up to {bundle.vocabulary.size - 1})")
    if bundle.test_inputs is None:
        _err("check", "the bundle holds no test vectors; nothing to check")
        return EXIT_FAIL
    try:
        report = verify_model(bundle.model, bundle.test_inputs, bundle.test_outputs,
                              cfg.get("test") if isinstance(cfg.get("test"), dict) else None)
    except numpy_rnn.BundleError as exc:
        _err("check", f"{args.bundle!r}: {exc}")
        return EXIT_FAIL
    xs = bundle.test_inputs if isinstance(bundle.test_inputs, list) else [bundle.test_inputs]
    print("test inputs: " + ", ".join(f"{x.shape} {x.dtype}" for x in xs))
    print(report)
    if "not verified by Keras" in str(bundle.verified_by):
        print("note: these test vectors were computed by numpy-rnn, not by Keras: they show the "
              "bundle is unchanged, not that the port equals Keras")
    return EXIT_OK if report.passed else EXIT_FAIL


# -- registration -----------------------------------------------------------------------------
def add_port_commands(subparsers: Any) -> None:
    """Add ``port``, ``check`` and ``predict`` to the ``numpy-rnn`` sub-command parser."""
    p = subparsers.add_parser(
        "port", help="port a Keras .keras or .h5 model to a self-checking NumPy bundle (.npz)",
        description="Read MODEL with numpy_rnn (no TensorFlow needed); when TensorFlow is "
                    "installed, also run it in Keras on generated inputs and write the bundle "
                    "only if both agree, storing Keras's outputs as test vectors (a Keras 2 / "
                    "tf_keras .h5 file is run in tf_keras, with Keras 2's semantics). Exit 0 "
                    "ok, 1 parity check failed, 2 usage/environment error.")
    p.add_argument("model", metavar="MODEL.keras|MODEL.h5",
                   help="a Keras 3 .keras file, or a Keras 2 / tf_keras .h5 model file")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.npz",
                   help="the bundle to write")
    p.add_argument("--vocabulary", metavar="TOKENIZER.json",
                   help="Tokenizer.to_json() / Vocabulary.to_json() output to store with the "
                        "model (needed by `numpy-rnn predict`)")
    p.add_argument("--labels", metavar="LABELS",
                   help="class names for a classifier's outputs, stored with the bundle (shown "
                        "by `numpy-rnn predict`): a JSON list, or a text file with one per line")
    p.add_argument("--config", metavar="CONFIG.json",
                   help="for a weights-only file (Keras 2 save_weights .h5 or Keras 3 "
                        ".weights.h5): the model config, e.g. model.to_json() output")
    p.add_argument("--samples", type=int_at_least(1), default=16,
                   help="number of test inputs (default 16)")
    p.add_argument("--timesteps", type=int_at_least(1), default=None,
                   help="timesteps of the test inputs when the model does not fix them "
                        "(default 12)")
    p.add_argument("--seed", type=int, default=0, help="seed of the test inputs (default 0)")
    p.add_argument("--no-keras", action="store_true",
                   help="do not run Keras even if installed (test vectors not verified)")
    add_import_argument(p)
    p.set_defaults(func=cmd_port)

    c = subparsers.add_parser(
        "check", help="recompute a bundle's test vectors and print the report",
        description="Check a bundle's integrity (SHA-256), rebuild its model and recompute its "
                    "stored test vectors; with --trace, compare it with Keras layer by layer. "
                    "Exit 0 ok, 1 check failed (or a layer diverges), 2 usage error.")
    c.add_argument("bundle", metavar="MODEL.npz", help="a bundle (with --trace also MODEL.keras)")
    trace_cmd.add_trace_arguments(c)
    add_import_argument(c)
    c.set_defaults(func=cmd_check)

    add_predict_command(subparsers, _open_bundle)
