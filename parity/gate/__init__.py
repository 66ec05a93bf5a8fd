"""The CI regression gate behind ``numpy-rnn parity``: running cases into outcomes, and what the
run writes.

* ``outcome``: :class:`Outcome` (one case's status and measurements), ``--only`` matching, the
  versions in play, :class:`GateError` (a usage or environment error: exit 2);
* ``sweep``: running cases (a crash is an ``ERROR`` outcome);
* ``schema``: the ``--json`` report, its JSON Schema and ``validate`` (``jsonschema``);
* ``baseline``: ``--save-baseline`` / ``--baseline`` (error growth since a recorded run);
* ``junit``: ``--junit``; ``plot``: ``--plot`` (matplotlib, imported when plotting).

The cases themselves come from ``parity.cases``.  Nothing here imports TensorFlow at import time.
"""
from __future__ import annotations

from . import baseline, junit, plot
from .outcome import (FAILING, REFERENCES, STATUSES, GateError, Outcome, check_reference, counts,
                      install_hint, matches, select, versions)
from .schema import OUTPUT_SCHEMA, REPORT_SCHEMA, REPORT_SCHEMA_ID, build_report, validate
from .sweep import run_case, run_cases

__all__ = ["baseline", "junit", "plot", "FAILING", "REFERENCES", "STATUSES", "GateError",
           "Outcome", "check_reference", "counts", "install_hint", "matches", "select",
           "versions", "OUTPUT_SCHEMA", "REPORT_SCHEMA", "REPORT_SCHEMA_ID", "build_report",
           "validate", "run_case", "run_cases"]
