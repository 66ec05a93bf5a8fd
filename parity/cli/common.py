"""What every ``numpy-rnn`` subcommand shares: exit codes, one-line usage errors, argument types."""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys

import numpy as np

import numpy_rnn

__all__ = ["EXIT_OK", "EXIT_FAIL", "EXIT_USAGE", "one_line", "usage_error", "int_at_least",
           "number", "Parser", "version_line", "add_import_argument", "import_modules"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def one_line(message: str) -> str:
    """``message`` on one line (a usage error is one line on stderr)."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def usage_error(command: str, message: str) -> int:
    """Print ``numpy-rnn COMMAND: error: MESSAGE`` as one line on stderr; return 2."""
    print(f"numpy-rnn {command}: error: {one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


def output_path_problem(flag: str, path: str) -> str | None:
    """Why ``path`` (given as ``flag``) cannot be a file to write, or None: checked before
    anything runs, so a long run never ends on an unwritable output."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return (f"{flag}: expected a file in an existing directory, received {path!r} (no "
                f"directory {parent!r})")
    if os.path.isdir(path):
        return f"{flag}: expected a file path, received the directory {path!r}"
    return None


def int_at_least(minimum: int):
    """An argparse ``type`` for integers >= ``minimum`` (shared by every numpy-rnn subcommand)."""
    expected = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, received {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, received {value}")
        return value
    return parse


def number(text: str) -> float:
    """An argparse ``type`` for any number (one-line error otherwise)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, received {text!r}") from None


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``numpy-rnn parity: error: ... (see --help)``."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see {self.prog} "
                              "--help)\n")


def version_line() -> str:
    """``numpy-rnn X (numpy Y, python Z)``: NumPy only, TensorFlow is never imported."""
    return (f"numpy-rnn {numpy_rnn.__version__} (numpy {np.__version__}, "
            f"python {platform.python_version()})")


def add_import_argument(parser: argparse.ArgumentParser) -> None:
    """``--import MODULE`` (repeatable): the user's module that registers twins of their own
    layers (``numpy_rnn.register_layer``) and, for Keras, their classes
    (``keras.saving.register_keras_serializable``)."""
    parser.add_argument("--import", dest="imports", action="append", default=[],
                        metavar="MODULE",
                        help="import MODULE first (repeatable): where your own layers are "
                             "registered, numpy_rnn.register_layer(...) for their NumPy twins "
                             "and keras.saving.register_keras_serializable for Keras")


def import_modules(names: list[str] | None) -> str | None:
    """Import each of ``names`` (the current directory first on the path); the problem, or
    None."""
    if not names:
        return None
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the user's module: any failure is a usage error
            return f"--import {name!r} failed: {type(exc).__name__}: {exc}"
    return None
