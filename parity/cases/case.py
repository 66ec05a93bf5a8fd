"""A parity case (one row of ``numpy-rnn parity``) and the registry of case groups."""
from __future__ import annotations

import dataclasses
from typing import Callable

from ..report import ParityReport

__all__ = ["Case", "GROUPS", "register"]


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
