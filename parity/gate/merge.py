"""``numpy-rnn merge-reports``: join the ``--json`` reports of ``--shard K/N`` runs into the
report one unsharded run would have written.

Refused (:class:`MergeError`, exit 2, the message names the file): a file that is not JSON or not
a valid report (checked against the schema with ``jsonschema``), a report without shard
information, reports of different sweeps (seed, examples, reference, ``--only``, versions, the
sweep's size and name fingerprint, the shard count), the same shard twice, a case in two files, a
shard whose case count is not its share of the sweep, and missing shards (named; with
``allow_partial`` they are merged anyway and the gate fails).  Cases come back in the canonical
order: shard K's j-th case sits at position ``K-1 + j*N`` (``parity.gate.shard``), and the
merged names must reproduce the sweep's fingerprint -- a dropped, renamed or extra case cannot
pass.  The baseline check is ``parity.gate.baseline``'s, run on the merged outcomes.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Sequence

from .baseline import compare_to_baseline
from .consistency import row_contradictions
from .outcome import GateError, Outcome
from .schema import validate
from .shard import fingerprint, outcome_from_row, shard_positions

__all__ = ["MergeError", "Merged", "load_shard_report", "merge_reports", "rebaseline"]

#: Fields every shard of one sweep shares.
SAME = ("seed", "examples", "reference", "only", "versions", "sweep")


class MergeError(GateError):
    """The reports cannot be merged into one sweep (exit 2)."""


@dataclasses.dataclass
class Merged:
    """The merged sweep: outcomes in canonical order and what the report needs around them."""

    outcomes: list[Outcome]
    settings: dict              # seed, examples, reference, only, versions, sweep
    count: int                  # N, the number of shards
    merged_from: list[dict]     # per input: path, shard, n_cases, created, seconds
    missing_shards: list[int]   # K of the shards not given (only with allow_partial)
    baseline: dict | None       # the shards' baseline comparison, combined (None: none)
    failures: list[str]         # the shards' extra failures, de-duplicated

    @property
    def seconds(self) -> float:
        """Case time of all shards together (the machines ran side by side)."""
        return float(sum(m["seconds"] for m in self.merged_from))


def load_shard_report(path: str) -> dict:
    """Read ``path`` and check it is a valid ``--json`` report of a ``--shard`` run."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except UnicodeDecodeError:
        raise MergeError(f"{path}: not a text file; expected a --json report of numpy-rnn "
                         "parity --shard K/N") from None
    except json.JSONDecodeError as exc:
        raise MergeError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg})") from None
    except RecursionError:
        raise MergeError(f"{path}: JSON nested too deeply to be a parity report") from None
    except OSError as exc:
        raise MergeError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    try:
        problems = validate(data)
    except ImportError as exc:
        raise MergeError(str(exc)) from None
    if problems:
        raise MergeError(f"{path}: not a valid numpy-rnn parity report: {problems[0]}"
                         + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    for row in data.get("cases") or []:
        problems = row_contradictions(row)
        if problems:
            raise MergeError(f"{path}: case {row.get('case')!r} says \"status\": \"pass\" but "
                             + "; ".join(problems) + " (a row whose status disagrees with its "
                             "own figures is not merged)")
    if data.get("shard") is None or "sweep" not in data:
        raise MergeError(f"{path}: not a shard report (no \"shard\"); write the parts with "
                         "numpy-rnn parity --shard K/N --json PATH")
    return data


def _combined_baseline(reports: Sequence[tuple[str, dict]], outcomes: list[Outcome]) -> dict | None:
    """The shards' own ``--baseline`` comparisons as one (they must all have used the same)."""
    first_path, first = reports[0]
    key = ("path", "created", "growth_factor", "floor_fraction", "versions")
    for path, data in reports:
        a, b = first["baseline"], data["baseline"]
        if (a is None) != (b is None):
            with_, without = (first_path, path) if b is None else (path, first_path)
            raise MergeError(f"{without}: ran without --baseline, {with_} with one; run every "
                             "shard alike, or none with --baseline and pass --baseline to "
                             "merge-reports")
        if a is not None and any(a[k] != b[k] for k in key):
            diff = next(k for k in key if a[k] != b[k])
            raise MergeError(f"{path}: compared with a different baseline than {first_path} "
                             f"({diff}: {b[diff]!r} != {a[diff]!r})")
    if first["baseline"] is None:
        return None
    # each shard lists the baseline cases missing from the whole sweep (not the other shards')
    missing = [n for n in first["baseline"]["missing_cases"]
               if all(n in d["baseline"]["missing_cases"] for _, d in reports)]
    return {**first["baseline"],
            "new_cases": [o.case for o in outcomes if o.baseline and o.baseline["status"] == "new"],
            "missing_cases": missing,
            "regressions": [o.case for o in outcomes if o.baseline and o.baseline["regressed"]]}


def merge_reports(reports: Sequence[tuple[str, dict]], *, allow_partial: bool = False) -> Merged:
    """Merge ``(path, report)`` pairs (each from :func:`load_shard_report`) into one sweep."""
    if not reports:
        raise MergeError("no input reports")
    first_path, first = reports[0]
    count = first["shard"]["count"]
    by_index: dict[int, str] = {}
    owner: dict[str, str] = {}
    for path, data in reports:
        for field in SAME:
            if data[field] != first[field]:
                raise MergeError(f"{path}: from a different sweep than {first_path}: {field} "
                                 f"{json.dumps(data[field])} != {json.dumps(first[field])}")
        k, n = data["shard"]["index"], data["shard"]["count"]
        if n != count:
            raise MergeError(f"{path}: shard {k}/{n}, but {first_path} is one of {count} shards")
        if k > n:
            raise MergeError(f"{path}: shard {k}/{n} is not a shard (K must be <= N)")
        if k in by_index:
            raise MergeError(f"{path}: shard {k}/{n} given twice (also {by_index[k]})")
        by_index[k] = path
        want = len(shard_positions(first["sweep"]["cases"], k, n))
        if len(data["cases"]) != want:
            raise MergeError(f"{path}: shard {k}/{n} of a {first['sweep']['cases']}-case sweep "
                             f"holds {want} cases, this file {len(data['cases'])}")
        for row in data["cases"]:
            if row["case"] in owner:
                raise MergeError(f"{path}: case {row['case']!r} is also in {owner[row['case']]}")
            owner[row["case"]] = path
    missing = [k for k in range(1, count + 1) if k not in by_index]
    if missing and not allow_partial:
        raise MergeError(f"shard(s) {', '.join(map(str, missing))} of {count} missing (given: "
                         f"{', '.join(f'{k}/{count}' for k in sorted(by_index))}); pass every "
                         "shard's report, or --allow-partial to merge what there is and fail")
    total = first["sweep"]["cases"]
    slots: list[tuple[int, dict] | None] = [None] * total
    for _path, data in reports:
        k = data["shard"]["index"]
        for pos, row in zip(shard_positions(total, k, count), data["cases"]):
            slots[pos] = (pos, row)
    rows = [s[1] for s in slots if s is not None]
    if not missing and fingerprint([r["case"] for r in rows]) != first["sweep"]["fingerprint"]:
        raise MergeError(f"the merged case names do not reproduce the sweep's fingerprint "
                         f"{first['sweep']['fingerprint']} (a case was renamed, dropped or "
                         "reordered in one of " + ", ".join(p for p, _ in reports) + ")")
    outcomes = [outcome_from_row(r) for r in rows]
    failures: list[str] = []
    for _path, data in sorted(reports, key=lambda pd: pd[1]["shard"]["index"]):
        failures += [f for f in data["failures"] if f not in failures]
    merged_from = [{"path": path, "shard": dict(data["shard"]), "n_cases": len(data["cases"]),
                    "created": data["created"], "seconds": data["seconds"]}
                   for path, data in sorted(reports, key=lambda pd: pd[1]["shard"]["index"])]
    return Merged(outcomes=outcomes, settings={f: first[f] for f in SAME}, count=count,
                  merged_from=merged_from, missing_shards=missing,
                  baseline=_combined_baseline(reports, outcomes), failures=failures)


def rebaseline(merged: Merged, baseline: dict, *, path: str, growth_factor: float,
               floor_fraction: float):
    """Judge the merged outcomes against ``baseline`` exactly as an unsharded run is judged
    (``baseline.compare_to_baseline``), after undoing any judgement the shards made.
    Returns the comparison; the shards' own baseline and failures are dropped."""
    for o in merged.outcomes:
        if o.status == "REGRESSED":  # only a passing case becomes REGRESSED
            o.status = "pass"
        o.baseline = None
    merged.baseline = None
    merged.failures = []
    return compare_to_baseline(baseline, merged.outcomes, path=path,
                               versions=merged.settings["versions"],
                               growth_factor=growth_factor, floor_fraction=floor_fraction,
                               only=merged.settings["only"])
