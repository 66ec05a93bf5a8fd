"""The canonical case list of ``numpy-rnn parity``: the cases' groups (``parity.cases``), the
gate's own row (``parity.gate.selfcheck``), the reference's group and the random examples,
narrowed by ``--only``.  Every shard, worker process and merge builds it the same way from the
same arguments, so no list is shipped around.  Here, above both the cases and the gate's
self-check, so that neither imports the other.
"""
from __future__ import annotations

from ..cases import Case, all_cases, random_cases, reference_cases
from .outcome import select
from .selfcheck import gate_cases

__all__ = ["sweep_cases"]


def sweep_cases(seed: int, examples: int, reference: str, only: str | None) -> list[Case]:
    """The canonical case list with these options (example *i* depends only on ``(seed, i)``).
    The same arguments give the same list (names and order) on every machine."""
    cases = (all_cases(seed) + gate_cases(seed) + reference_cases(seed, reference)
             + random_cases(seed, examples, reference))
    return select(cases, only) if only else cases
