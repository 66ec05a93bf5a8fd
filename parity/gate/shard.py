"""``numpy-rnn parity --shard K/N``: one sweep, split over N machines, with what lets the parts be
checked to belong together when ``merge-reports`` joins them.

The sweep is the canonical case list (``parity.gate.catalog.sweep_cases``: the fixed grid, the
gate's own row, the reference's group and the random examples, narrowed by ``--only``).  Every
machine builds that list the same way from the same arguments, so no list is shipped around;
shard K (1-based) is the cases at positions ``K-1, K-1+N, K-1+2N, ...`` (round-robin).

Why round-robin over the canonical order rather than a hash of the case name:

* shard sizes differ by at most one (a name hash leaves them uneven: SHA-256 of the name modulo
  4 split the 126 default cases of early issue 21 25/30/35/36), and neighbouring cases, which are alike in cost
  (the ``grad/training`` rows, the 500-sample LSTM grid), are dealt to different machines;
* a hash would only help if shards of *different* case lists were merged, which merging refuses
  anyway: every report records the sweep's size and a fingerprint of its full name list, and
  shards must agree on it (and on seed, examples, reference, ``--only`` and versions).

Also here: the per-row plain dicts that worker processes return and that merged reports are
read back from (:func:`outcome_row`, :func:`outcome_from_row`).  NumPy only; cases import
TensorFlow when they run.
"""
from __future__ import annotations

import hashlib
import re
from typing import Sequence, TypeVar

from ..report import ParityReport
from .outcome import Outcome

__all__ = ["parse_shard", "shard_positions", "select_shard", "fingerprint",
           "sweep_info", "outcome_row", "outcome_from_row"]

T = TypeVar("T")
_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with ``1 <= K <= N``.

    Raises:
        ValueError: naming what was expected and what was received.
    """
    m = _SHARD.fullmatch(str(text))
    if m is None:
        raise ValueError(f"--shard: expected K/N with integers 1 <= K <= N (e.g. 2/4), received "
                         f"{text!r}")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise ValueError(f"--shard: expected K/N with 1 <= K <= N (e.g. 2/4), received {text!r}"
                         + (" (K counts from 1)" if k == 0 and n >= 1 else ""))
    return k, n


def shard_positions(total: int, k: int, n: int) -> list[int]:
    """Positions in a list of ``total`` cases that shard ``k`` of ``n`` runs (round-robin)."""
    if not (isinstance(total, int) and total >= 0):
        raise ValueError(f"total: expected an integer >= 0, received {total!r}")
    if not (isinstance(n, int) and isinstance(k, int) and n >= 1 and 1 <= k <= n):
        raise ValueError(f"shard: expected integers 1 <= k <= n, received k={k!r}, n={n!r}")
    return list(range(k - 1, total, n))


def select_shard(items: Sequence[T], k: int, n: int) -> list[T]:
    """The items of shard ``k`` of ``n``, in their order."""
    return [items[i] for i in shard_positions(len(items), k, n)]


def fingerprint(names: Sequence[str]) -> str:
    """``sha256:<hex>`` of the case names in order (one per line): equal lists, equal prints."""
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode("utf-8") + b"\n")
    return "sha256:" + h.hexdigest()


def sweep_info(names: Sequence[str]) -> dict:
    """The report's ``sweep``: how many cases the whole (unsharded) sweep has and its
    fingerprint.  Raises ValueError when two cases share a name (shards are merged by name)."""
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})
    if dupes:
        raise ValueError(f"case names must be unique to shard and merge a sweep; repeated: "
                         f"{dupes[:5]}")
    return {"cases": len(names), "fingerprint": fingerprint(names)}


# -- rows: an Outcome as plain data, and back ---------------------------------------------------
def outcome_row(o: Outcome) -> dict:
    """``o`` as plain data (its JSON row plus the traceback): what a worker process returns."""
    return {**o.to_dict(), "traceback": o.traceback}


def outcome_from_row(row: dict) -> Outcome:
    """Rebuild an :class:`Outcome` from :func:`outcome_row` or a JSON report's row (figures
    written as ``"inf"`` / ``"nan"`` come back as floats)."""
    report = row.get("report")
    return Outcome(case=row["case"], group=row["group"], status=row["status"],
                   seconds=float(row["seconds"]),
                   report=ParityReport.from_dict(report) if report is not None else None,
                   error=row.get("error"), skipped=row.get("skipped"),
                   traceback=row.get("traceback"), params=row.get("params"),
                   baseline=row.get("baseline"), reference=row.get("reference"))
