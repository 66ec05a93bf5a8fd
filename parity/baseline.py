"""Baselines: record every case's error figures once, then fail a later run whose error grew.

The rule (``--growth-factor F``, ``--growth-floor P``): for every output of a case present in
both runs,

    floor   = P * atol            (atol: the output's tolerance; float32 outputs 1e-6, so 5e-8)
    allowed = F * max(baseline max|err|, floor)
    the case REGRESSED when  now max|err| > allowed

so an error may grow F-fold before the gate complains, and an error that was 0 (or tiny) may
grow up to ``F * P * atol`` (2e-7 for float32 outputs with the defaults) -- 0 -> 1e-9 is not
infinite growth.  The case still has to be inside its tolerance; a case that is not is a FAIL
whatever the baseline says.  Cases only in this run are "new", cases only in the baseline are
"missing"; both are reported, and ``--fail-on-missing`` makes missing cases fail the gate.
The baseline stores the versions it was taken with; the ones that changed are reported.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from typing import Any, Sequence

from .compare import _from_json_number, json_safe
from .gate import Outcome, matches

BASELINE_SCHEMA_ID = "numpy-rnn-parity-baseline/1"
DEFAULT_GROWTH_FACTOR = 4.0
DEFAULT_FLOOR_FRACTION = 0.05


class BaselineError(ValueError):
    """The baseline file is missing, not JSON, or not a numpy-rnn parity baseline."""


def make_baseline(outcomes: Sequence[Outcome], *, seed: int, examples: int, reference: str,
                  versions: dict) -> dict:
    """The baseline document for a run: per case its status and per output max|err| / max ulp."""
    cases = {}
    for o in outcomes:
        entry: dict[str, Any] = {"group": o.group, "status": o.status, "outputs": {}}
        if o.report is not None:
            for d in o.report.outputs:
                entry["outputs"][d.name] = {"max_abs_err": d.max_abs_err, "max_ulp": d.max_ulp,
                                            "dtype": d.dtype, "atol": d.atol, "rtol": d.rtol}
        cases[o.case] = entry
    return json_safe({
        "schema": BASELINE_SCHEMA_ID,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": int(seed), "examples": int(examples), "reference": reference,
        "versions": versions, "cases": cases,
    })


def save_baseline(path: str, baseline: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(baseline, fh, indent=2, allow_nan=False)
        fh.write("\n")


def _fail(path: str, what: str) -> BaselineError:
    return BaselineError(f"--baseline {path}: {what}")


def load_baseline(path: str) -> dict:
    """Read and check a baseline file.

    Raises:
        BaselineError: the file cannot be read, is not JSON, or is not a baseline (the message
            names the path, what was expected and what was found).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise _fail(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                          "expected a baseline written by --save-baseline") from None
    if not isinstance(data, dict):
        raise _fail(path, f"not a numpy-rnn parity baseline: expected a JSON object, received "
                          f"a JSON {type(data).__name__}")
    schema = data.get("schema")
    if schema == "numpy-rnn-parity-report/1":
        raise _fail(path, "this is a --json report, not a baseline; record a baseline with "
                          "numpy-rnn parity --save-baseline PATH")
    if schema != BASELINE_SCHEMA_ID:
        raise _fail(path, f"not a numpy-rnn parity baseline: expected \"schema\": "
                          f"{BASELINE_SCHEMA_ID!r}, received {schema!r}")
    problems = []
    for key, kind in (("cases", dict), ("versions", dict), ("seed", int), ("reference", str)):
        if not isinstance(data.get(key), kind):
            problems.append(f"{key!r} should be a {kind.__name__}, received "
                            f"{type(data.get(key)).__name__}")
    for name, entry in (data.get("cases") or {}).items() if isinstance(data.get("cases"),
                                                                          dict) else ():
        outputs = entry.get("outputs") if isinstance(entry, dict) else None
        if not isinstance(outputs, dict) or not all(
                isinstance(v, dict) and "max_abs_err" in v for v in outputs.values()):
            problems.append(f"case {name!r} should hold \"outputs\": {{name: {{\"max_abs_err\": "
                            f"...}}}}, received {entry!r:.120}")
            break
    if problems:
        raise _fail(path, "malformed baseline: " + "; ".join(problems))
    return data


@dataclasses.dataclass
class BaselineComparison:
    """How a run compares with a baseline."""

    path: str
    created: str | None
    growth_factor: float
    floor_fraction: float
    versions: dict
    versions_changed: dict[str, list]
    new_cases: list[str]
    missing_cases: list[str]
    regressions: list[str]

    def to_dict(self) -> dict:
        return json_safe(dataclasses.asdict(self))

    def summary_lines(self) -> list[str]:
        """What the table prints below the totals."""
        lines = [f"baseline {self.path} (taken {self.created or '?'}): "
                 f"{len(self.regressions)} regression(s) past x{self.growth_factor:g}, "
                 f"{len(self.new_cases)} new case(s), {len(self.missing_cases)} missing"]
        if self.versions_changed:
            changed = ", ".join(f"{k} {old} -> {new}"
                                for k, (old, new) in sorted(self.versions_changed.items()))
            lines.append(f"  versions changed since the baseline: {changed}")
        else:
            lines.append("  versions unchanged since the baseline")
        for name in self.regressions:
            lines.append(f"  REGRESSED {name}")
        for name in self.new_cases:
            lines.append(f"  new       {name}")
        for name in self.missing_cases:
            lines.append(f"  missing   {name}")
        return lines


def _num(x: Any) -> float:
    x = _from_json_number(x)
    return float(x) if isinstance(x, (int, float)) else float("nan")


def output_verdict(name: str, base: float, now: float, atol: float, growth_factor: float,
                   floor_fraction: float) -> dict:
    """Apply the rule to one output (see the module docstring).

    Returns a dict: ``baseline`` and ``now`` (max|err|), ``floor``, ``allowed``, ``growth``
    (now / baseline as measured: 1.0 for 0 -> 0, inf for 0 -> anything), ``ratio``
    (now / allowed: the rule fails the output when it is above 1) and ``regressed``.
    """
    floor = floor_fraction * atol
    allowed = growth_factor * max(base, floor) if math.isfinite(base) else float("inf")
    if base > 0:
        growth = now / base
    else:
        growth = 1.0 if now == 0 else float("inf")
    if allowed > 0:
        ratio = now / allowed if math.isfinite(allowed) else 0.0
    else:
        ratio = 0.0 if now == 0 else float("inf")
    regressed = bool(math.isfinite(base) and now > allowed)
    return {"name": name, "baseline": base, "now": now, "floor": floor, "allowed": allowed,
            "growth": growth, "ratio": ratio, "regressed": regressed}


def judge(o: Outcome, base_cases: dict, *, growth_factor: float = DEFAULT_GROWTH_FACTOR,
          floor_fraction: float = DEFAULT_FLOOR_FRACTION) -> None:
    """Set ``o.baseline`` from the baseline's entry for its case; a passing case whose error grew
    past the rule becomes ``REGRESSED`` (idempotent)."""
    entry = base_cases.get(o.case)
    if entry is None:
        o.baseline = {"status": "new", "regressed": False, "growth": None, "ratio": None,
                      "outputs": [], "message": "not in the baseline"}
        return
    if o.report is None or o.status == "skip" or entry.get("status") in ("skip", "ERROR"):
        o.baseline = {"status": "not compared", "regressed": False, "growth": None,
                      "ratio": None, "outputs": [], "message": f"baseline status {entry.get('status')}, "
                                                f"now {o.status}"}
        return
    verdicts = []
    for d in o.report.outputs:
        b = entry["outputs"].get(d.name)
        if b is not None:
            verdicts.append(output_verdict(d.name, _num(b["max_abs_err"]), d.max_abs_err,
                                           d.atol, growth_factor, floor_fraction))
    regressed = any(v["regressed"] for v in verdicts)
    worst = max(verdicts, key=lambda v: v["ratio"], default=None)
    message = ("no output in common with the baseline" if worst is None else
               f"{'REGRESSED' if regressed else 'within baseline'}: {worst['name']} max|err| "
               f"{worst['baseline']:.3e} -> {worst['now']:.3e} (x{worst['growth']:.3g}); "
               f"allowed {worst['allowed']:.3e} = {growth_factor:g} x max(baseline "
               f"{worst['baseline']:.3e}, floor {floor_fraction:g} x atol = {worst['floor']:.1e})")
    o.baseline = {"status": "compared", "regressed": regressed,
                  "growth": None if worst is None else worst["growth"],
                  "ratio": None if worst is None else worst["ratio"], "outputs": verdicts,
                  "message": message}
    if regressed and o.status == "pass":
        o.status = "REGRESSED"


def compare_to_baseline(baseline: dict, outcomes: Sequence[Outcome], *, path: str,
                        versions: dict, growth_factor: float = DEFAULT_GROWTH_FACTOR,
                        floor_fraction: float = DEFAULT_FLOOR_FRACTION,
                        only: str | None = None) -> BaselineComparison:
    """Mark each outcome with how its errors moved (``outcome.baseline``); a passing case whose
    error grew past the rule becomes ``REGRESSED``.  Returns the run-wide comparison.

    ``only``: the run's ``--only`` patterns; baseline cases they exclude are not "missing".
    """
    base_cases: dict = baseline.get("cases", {})
    for o in outcomes:
        judge(o, base_cases, growth_factor=growth_factor, floor_fraction=floor_fraction)
    seen = {o.case for o in outcomes}
    new = [o.case for o in outcomes if o.baseline and o.baseline["status"] == "new"]
    regressions = [o.case for o in outcomes if o.baseline and o.baseline["regressed"]]
    missing = [name for name in base_cases if name not in seen and matches(name, only)]
    old_versions = baseline.get("versions", {})
    changed = {k: [old_versions.get(k), versions.get(k)]
               for k in sorted(set(old_versions) | set(versions))
               if old_versions.get(k) != versions.get(k)}
    return BaselineComparison(path=path, created=baseline.get("created"),
                              growth_factor=growth_factor, floor_fraction=floor_fraction,
                              versions=old_versions, versions_changed=changed, new_cases=new,
                              missing_cases=missing, regressions=regressions)
