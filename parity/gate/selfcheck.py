"""The gate's own row of ``numpy-rnn parity``: a sweep split into shards and merged again is the
sweep run whole (``reach/gate ...``; NumPy only, no TensorFlow).

Three synthetic cases -- a sequence inside tolerance, one outside it, one that crashes -- run
once unsharded and once as shards 1/2 and 2/2 (:func:`parity.gate.shard.select_shard`, each
shard run on its own, as on its own machine).  Every run's ``--json`` payload is built by
:func:`parity.gate.build_report`; the shards' go through files, ``load_shard_report`` (schema,
row consistency) and ``merge_reports`` (given in reverse order), and the merged payload must equal
the unsharded one: the case names in order, each row's status, error and figures, the counts,
the verdict and the sweep's fingerprint.  A merge given only one of the two shards must be
refused.  The row lives in the gate because it runs the gate, which sits above the cases.
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from ..cases import Case
from ..cases.case import verdict
from ..report import OutputDiff, ParityReport, compare_outputs
from .merge import MergeError, load_shard_report, merge_reports
from .outcome import Outcome, versions
from .schema import build_report
from .shard import select_shard, sweep_info
from .sweep import run_cases

__all__ = ["SHARDS_NAME", "gate_cases", "synthetic_cases", "shards_case"]

SHARDS_NAME = "reach/gate 3 cases sharded 2 ways merge to the unsharded report"
#: Fields of a report that a merge must reproduce (``created`` and ``seconds`` differ by run).
SAME_FIELDS = ("passed", "n_cases", "n_passed", "n_failed", "n_errors", "n_regressed",
               "n_skipped", "failures", "sweep", "seed", "examples", "reference", "only",
               "versions")


def synthetic_cases() -> list[Case]:
    """A passing sequence (error 1e-8), one out of tolerance (5e-3), one that crashes."""
    def sequence(name: str, err: float):
        def run() -> ParityReport:
            expected = np.zeros((2, 4, 3), np.float32)
            actual = expected.copy()
            actual[0, :, 0] += np.float32(err)
            return compare_outputs(name, actual, expected, ["output"])
        return run

    def crash() -> ParityReport:
        raise RuntimeError("a synthetic case that crashes")

    return [Case("synthetic/pass", sequence("synthetic/pass", 1e-8), "synthetic"),
            Case("synthetic/fail", sequence("synthetic/fail", 5e-3), "synthetic"),
            Case("synthetic/crash", crash, "synthetic")]


def _payload(outcomes: list[Outcome], names: list[str], vers: dict,
             shard: tuple[int, int] | None) -> dict:
    payload = build_report(outcomes, seed=0, examples=0, reference="keras", only=None,
                           seconds=0.0, versions_=vers, sweep=sweep_info(names), shard=shard)
    return json.loads(json.dumps(payload))  # what a file holds


def _rows(report: dict) -> list[tuple]:
    return [(c["case"], c["status"], c["error"], json.dumps(c["report"], sort_keys=True))
            for c in report["cases"]]


def shards_case() -> ParityReport:
    cases = synthetic_cases()
    names = [c.name for c in cases]
    vers = versions()
    whole = _payload(run_cases(cases), names, vers, None)
    rows: list[OutputDiff] = []
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        paths = []
        for k in (1, 2):
            part = select_shard(cases, k, 2)
            path = os.path.join(tmp, f"parity-{k}.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(_payload(run_cases(part), names, vers, (k, 2)), fh)
            paths.append(path)
        loaded = [(p, load_shard_report(p)) for p in reversed(paths)]
        merged = merge_reports(loaded)
        try:
            merge_reports(loaded[:1])
            refused, note = False, "a merge of shard 2/2 alone was accepted"
        except MergeError as exc:
            refused, note = True, f"refused: {exc}"
    out = build_report(merged.outcomes, seed=merged.settings["seed"],
                       examples=merged.settings["examples"],
                       reference=merged.settings["reference"], only=merged.settings["only"],
                       seconds=merged.seconds, versions_=merged.settings["versions"],
                       sweep=merged.settings["sweep"], shard=None,
                       merged_from=merged.merged_from)
    out = json.loads(json.dumps(out))
    got, want = [c["case"] for c in out["cases"]], [c["case"] for c in whole["cases"]]
    rows.append(verdict("case order", got == want, f"merged {got}, unsharded {want}"))
    statuses = [c["status"] for c in whole["cases"]]
    rows.append(verdict("unsharded statuses", statuses == ["pass", "FAIL", "ERROR"],
                        f"the synthetic sweep gave {statuses}"))
    same_rows = _rows(out) == _rows(whole)
    rows.append(verdict("rows (status, error, figures)", same_rows,
                        "equal" if same_rows else f"merged {_rows(out)} != {_rows(whole)}"))
    for field in SAME_FIELDS:
        rows.append(verdict(field, out.get(field) == whole.get(field),
                            f"merged {out.get(field)!r}, unsharded {whole.get(field)!r}"))
    rows.append(verdict("one shard missing is refused", refused, note))
    return ParityReport(SHARDS_NAME, rows)


def gate_cases(seed: int) -> list[Case]:
    """The gate's rows of the sweep (``seed`` does not change them)."""
    del seed
    return [Case(SHARDS_NAME, shards_case, "reach")]
