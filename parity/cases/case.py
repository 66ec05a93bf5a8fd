"""A parity case (one row of ``numpy-rnn parity``), the registry of case groups, and
:func:`verdict` (a yes/no fact as a report row)."""
from __future__ import annotations

import dataclasses
from typing import Callable

from ..report import OutputDiff, ParityReport

__all__ = ["Case", "GROUPS", "register", "verdict"]


@dataclasses.dataclass
class Case:
    """One row of the parity table: ``run()`` builds both sides, compares and reports."""

    name: str
    run: Callable[[], ParityReport]
    group: str = ""
    #: How to rebuild a generated case (the random sweep's draw), else None.
    params: dict | None = None


#: Group name -> ``(seed) -> list[Case]``, in registration order.
GROUPS: dict[str, Callable[[int], list[Case]]] = {}


def register(name: str):
    """Decorator: register ``fn(seed) -> list[Case]`` as the case group ``name``."""
    def deco(fn):
        GROUPS[name] = fn
        return fn
    return deco


def verdict(name: str, ok: bool, note: str) -> OutputDiff:
    """A yes/no fact as a report row, built without the comparison code under test (so a
    defanged ``diff_arrays`` cannot turn a missed bug into a pass): max|err| 0 when ``ok``,
    else 1, at an exact tolerance."""
    err = 0.0 if ok else 1.0
    return OutputDiff(name=name, shape=(), dtype="int", max_abs_err=err, max_rel_err=err,
                      max_ulp=err, worst_index=(), actual_at_worst=err, expected_at_worst=0.0,
                      rtol=0.0, atol=0.0, passed=bool(ok), n_bad=0 if ok else 1, note=note)
