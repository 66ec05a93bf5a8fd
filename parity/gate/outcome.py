"""What one gate case came to (:class:`Outcome`), selecting cases, versions and usage errors.

Nothing here imports TensorFlow: versions come from the installed distributions' metadata.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import importlib.metadata
import platform
import sys
from typing import Any, Sequence

import numpy as np

import numpy_rnn

from ..bridge import REFERENCES, install_hint, reference_module
from ..bridge.backend import BackendMismatch, library_version
from ..bridge.references import REFERENCE_BACKENDS
from ..report import ParityReport

__all__ = ["REFERENCES", "STATUSES", "FAILING", "GateError", "install_hint", "versions",
           "check_reference", "matches", "select", "Outcome", "counts"]

#: Case statuses, as written in the table, the JSON report and the JUnit file.
STATUSES = ("pass", "FAIL", "ERROR", "skip", "REGRESSED")
#: Statuses that make the gate exit 1.
FAILING = ("FAIL", "ERROR", "REGRESSED")


class GateError(Exception):
    """A usage or environment error: the command line prints the message and exits 2."""


# -- versions ---------------------------------------------------------------------------------
_DISTS = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tf-nightly", "tensorflow-macos"),
          "keras": ("keras",), "tf_keras": ("tf-keras", "tf_keras")}


def versions(reference: str | None = None) -> dict[str, str | None]:
    """Python, NumPy, numpy-rnn, TensorFlow, Keras, tf_keras, JAX and PyTorch versions (None:
    not installed), and with ``reference`` the Keras backend it runs on (``backend``).

    A module already imported reports its ``__version__``; otherwise the installed distribution's
    metadata is read, so this never imports TensorFlow (or JAX, or PyTorch).
    """
    out: dict[str, str | None] = {"python": platform.python_version(), "numpy": np.__version__,
                                  "numpy_rnn": getattr(numpy_rnn, "__version__", None)}
    for mod, dists in _DISTS.items():
        version = getattr(sys.modules.get(mod), "__version__", None)
        for dist in dists if version is None else ():
            try:
                version = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        out[mod] = version
    for lib in ("jax", "torch"):
        out[lib] = library_version(lib)
    if reference is not None:
        out["backend"] = ",".join(REFERENCE_BACKENDS[r] for r in reference.split(","))
    return out


# -- the reference library --------------------------------------------------------------------
def check_reference(name: str) -> Any:
    """Import and return the reference library ``name`` (``keras`` on the reference's backend,
    or ``tf_keras``) in this process.

    Raises:
        GateError: ``name`` is not a known reference, it is not installed, or this process
            runs Keras on another backend.
    """
    try:
        return reference_module(name)
    except (ImportError, ValueError, BackendMismatch) as exc:
        raise GateError(str(exc)) from None


# -- selecting -----------------------------------------------------------------------------------
def matches(name: str, only: str | None) -> bool:
    """Whether ``name`` matches one of the comma-separated glob / substring patterns of
    ``--only`` (everything matches when ``only`` is empty)."""
    patterns = [p.strip() for p in (only or "").split(",") if p.strip()]
    return not patterns or any(fnmatch.fnmatch(name, p) or p in name for p in patterns)


def select(cases: Sequence[Any], only: str | None) -> list[Any]:
    """The cases whose name matches ``--only`` (see :func:`matches`)."""
    return [c for c in cases if matches(c.name, only)]


@dataclasses.dataclass
class Outcome:
    """What happened to one case: the status the gate acts on, and the measurements."""

    case: str
    group: str
    status: str
    seconds: float
    report: ParityReport | None = None
    error: str | None = None
    skipped: str | None = None
    traceback: str | None = None
    params: dict | None = None
    #: Filled by ``baseline.compare_to_baseline``: how the errors moved since the baseline.
    baseline: dict | None = None
    #: The reference this row was measured against, in a run with several (else None).
    reference: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def text(self) -> str:
        """The human-readable report (for a failure message, a JUnit body, a log)."""
        parts = []
        if self.report is not None and self.report.outputs:
            parts.append(str(self.report))
        if self.error:
            parts.append(f"error: {self.error}")
        if self.traceback:
            parts.append(self.traceback.rstrip())
        if self.skipped:
            parts.append(f"skipped: {self.skipped}")
        if self.baseline and self.baseline.get("regressed"):
            parts.append(self.baseline.get("message", "error grew past the baseline"))
        if self.params:
            parts.append(f"params: {self.params}")
        return "\n".join(parts) or f"{self.case}: {self.status}"

    def to_dict(self) -> dict:
        row = {"case": self.case, "group": self.group, "status": self.status,
               "seconds": round(self.seconds, 4), "error": self.error, "skipped": self.skipped,
               "params": self.params,
               "report": self.report.to_dict() if self.report is not None else None,
               "baseline": self.baseline}
        if self.reference is not None:
            row["reference"] = self.reference
        return row


def counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """How many outcomes have each status."""
    return {s: sum(o.status == s for o in outcomes) for s in STATUSES}
