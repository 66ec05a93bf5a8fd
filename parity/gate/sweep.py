"""Running gate cases: each one an :class:`Outcome`, a crash an ``ERROR``, never an exception."""
from __future__ import annotations

import sys
import time
import traceback
from typing import Callable, Iterable

from ..bridge.backend import BackendUnsupported
from ..cases import Case
from .outcome import Outcome

__all__ = ["fresh_keras_state", "run_case", "run_cases"]


def fresh_keras_state() -> None:
    """Reset the Keras global state a case could inherit from the previous one (layer-name
    counters above all: gradient rows are named after the layers, ``d lstm/kernel``, so without
    it a row's name would depend on which cases ran before it in the process, and a baseline
    matched by output name would compare nothing).  Imports nothing: a library not yet loaded
    has no state."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        keras.backend.clear_session(free_memory=False)
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is not None and hasattr(tf_keras, "backend"):
        tf_keras.backend.clear_session()


def run_case(case: Case) -> Outcome:
    """Run one case, from a fresh Keras state (:func:`fresh_keras_state`); a crash is an
    ``ERROR`` outcome, never an exception; a comparison the backend cannot run
    (``parity.bridge.backend.BackendUnsupported``: gradients on Keras's NumPy backend) is a
    ``skip`` whose reason says so."""
    fresh_keras_state()
    t0 = time.perf_counter()
    report, error, tb, unsupported = None, None, None, None
    try:
        report = case.run()
    except BackendUnsupported as exc:  # e.g. a gradient row on Keras's NumPy backend
        unsupported = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a crashing case is a failing case
        error, tb = f"{type(exc).__name__}: {exc}", traceback.format_exc()
    seconds = time.perf_counter() - t0
    skipped = getattr(report, "skipped", None) if report is not None else unsupported
    if error:
        status = "ERROR"
    elif skipped:
        status = "skip"
    else:
        status = "pass" if report.passed else "FAIL"
    return Outcome(case.name, case.group or "parity", status, seconds, report, error,
                   skipped, tb, getattr(case, "params", None))


def run_cases(cases: Iterable[Case], on_start: Callable[[int, Case], None] | None = None,
              on_done: Callable[[int, Outcome], None] | None = None) -> list[Outcome]:
    """Run every case in order, calling ``on_start(i, case)`` / ``on_done(i, outcome)``."""
    out = []
    for i, case in enumerate(cases):
        if on_start:
            on_start(i, case)
        outcome = run_case(case)
        out.append(outcome)
        if on_done:
            on_done(i, outcome)
    return out
