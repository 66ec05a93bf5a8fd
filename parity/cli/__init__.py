"""``numpy-rnn``: the command line, on top of everything else in ``parity``.

* ``numpy-rnn parity``: the parity sweep and CI gate (``parity_cmd``; see docs/ci-gate.md);
* ``numpy-rnn merge-reports``: join the JSON reports of ``parity --shard K/N`` runs
  (``merge_cmd``);
* ``numpy-rnn port | check | predict``: Keras model files -> self-checking NumPy bundles, and
  next-word prediction with them (``port_cmd``).

Exit status: 0 ok, 1 a check failed, 2 a usage or environment error (one line on stderr,
``numpy-rnn COMMAND: error: ...``).
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..bridge import quiet_tensorflow_logs
from .common import EXIT_USAGE, Parser, usage_error, version_line
from .merge_cmd import add_merge_command
from .parity_cmd import add_parity_command
from .port_cmd import add_port_commands

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``numpy-rnn`` argument parser with every subcommand."""
    parser = Parser(
        prog="numpy-rnn",
        description="Prove numpy_rnn computes what tf.keras computes, and run Keras text models "
                    "with NumPy alone.",
    )
    parser.add_argument("--version", action="version", version=version_line(),
                        help="print numpy-rnn's and NumPy's versions and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_parity_command(sub)
    add_merge_command(sub)
    add_port_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``numpy-rnn``: exit 0 ok, 1 a check failed, 2 a usage or environment error (one line
    on stderr, ``numpy-rnn COMMAND: error: ...``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    quiet_tensorflow_logs()  # before any subcommand imports TensorFlow, however it does
    try:
        return args.func(args)
    except (OSError, RecursionError, UnicodeError) as exc:  # the environment or a hostile file
        detail = ("input nested too deeply" if isinstance(exc, RecursionError)
                  else f"{type(exc).__name__}: {exc}")
        return usage_error(args.command, detail)
