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

from ..report import json_number, json_safe
from .consistency import output_contradictions
from ..bridge.references import parse_references
from .outcome import REFERENCES, Outcome, matches

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
                                            "dtype": d.dtype, "atol": d.atol, "rtol": d.rtol,
                                            "passed": d.passed, "n_bad": d.n_bad,
                                            "note": d.note}
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


#: Case statuses a baseline may record (``parity.gate.STATUSES``).
_ENTRY_STATUSES = ("pass", "FAIL", "ERROR", "skip", "REGRESSED")
#: The error figures stored per output: each a finite number >= 0 (a case that failed or crashed
#: may also carry the string "inf" or "nan", as ``json_safe`` writes them).
_FIGURES = ("max_abs_err", "max_ulp", "atol", "rtol")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_figure(where: str, field: str, value: Any, status: str) -> str | None:
    """Why ``value`` is not a usable error figure, or None."""
    if _is_number(value) and math.isfinite(value) and value >= 0:
        return None
    if status != "pass" and value in ("inf", "nan"):
        return None  # what a FAIL / ERROR row records for an infinite or undefined error
    return (f"{where}: {field!r} should be a finite number >= 0, received "
            f"{json.dumps(value) if _is_number(value) else repr(value)}"
            + (" (a non-finite error would switch the gate off for this case)"
               if field == "max_abs_err" else ""))


def _check_document(data: dict) -> list[str]:
    """Every problem with a baseline document's fields (empty when it is usable)."""
    problems = []
    seed = data.get("seed")
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        problems.append(f"'seed' should be an integer >= 0, received {seed!r}")
    examples = data.get("examples", 0)
    if not (isinstance(examples, int) and not isinstance(examples, bool) and examples >= 0):
        problems.append(f"'examples' should be an integer >= 0, received {examples!r}")
    try:
        parse_references(data.get("reference") if isinstance(data.get("reference"), str) else "")
    except ValueError:
        problems.append(f"'reference' should be one of {sorted(REFERENCES)} (or a comma list "
                        f"of them), received {data.get('reference')!r}")
    created = data.get("created")
    if created is not None and not isinstance(created, str):
        problems.append(f"'created' should be a string, received {created!r:.80}")
    versions = data.get("versions")
    if not isinstance(versions, dict) or not all(
            isinstance(v, str) or v is None for v in versions.values()):
        problems.append(f"'versions' should be an object of version strings (or null), "
                        f"received {versions!r:.120}")
    cases = data.get("cases")
    if not isinstance(cases, dict):
        problems.append(f"'cases' should be an object, received {type(cases).__name__}")
        return problems
    for name, entry in cases.items():
        where = f"case {name!r}"
        if not isinstance(entry, dict):
            problems.append(f"{where} should be an object, received {entry!r:.80}")
            continue
        status = entry.get("status")
        if status not in _ENTRY_STATUSES:
            problems.append(f"{where}: 'status' should be one of {list(_ENTRY_STATUSES)}, "
                            f"received {status!r:.80}")
            continue
        outputs = entry.get("outputs")
        if not isinstance(outputs, dict):
            problems.append(f"{where} should hold \"outputs\": {{name: {{\"max_abs_err\": "
                            f"...}}}}, received {outputs!r:.80}")
            continue
        for out_name, figures in outputs.items():
            at = f"{where}, output {out_name!r}"
            if not isinstance(figures, dict) or "max_abs_err" not in figures:
                problems.append(f"{at} should be an object with \"max_abs_err\", received "
                                f"{figures!r:.80}")
                continue
            for field in _FIGURES:
                if field in figures or field == "max_abs_err":
                    why = _check_figure(at, field, figures[field], status)
                    if why:
                        problems.append(why)
            if status == "pass":  # a pass its own figures contradict is not a baseline
                problems += [f"{where} says \"status\": \"pass\" but {why}"
                             for why in output_contradictions(out_name, figures)]
        if len(problems) >= 5:
            break
    return problems


def load_baseline(path: str) -> dict:
    """Read and check a baseline file.

    Every field the gate reads is checked: ``seed`` an integer >= 0, ``reference`` a known
    reference, ``versions`` version strings, and per case a known ``status`` and, per output,
    ``max_abs_err`` (and ``max_ulp``, ``atol``, ``rtol`` where present) a finite number >= 0
    -- a row that failed or crashed may record ``"inf"`` / ``"nan"``.

    Raises:
        BaselineError: the file cannot be read, is not UTF-8 JSON (or is nested too deeply to
            parse), or is not a well-formed baseline (the message names the path, the case, the
            field, what was expected and what was found).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not a text file (byte {exc.start} is not UTF-8); expected a "
                          "baseline written by --save-baseline") from None
    except OSError as exc:
        raise _fail(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                          "expected a baseline written by --save-baseline") from None
    except RecursionError:
        raise _fail(path, "JSON nested too deeply to be a baseline; expected a baseline "
                          "written by --save-baseline") from None
    if not isinstance(data, dict):
        raise _fail(path, f"not a numpy-rnn parity baseline: expected a JSON object, received "
                          f"a JSON {type(data).__name__}")
    schema = data.get("schema")
    if schema == "numpy-rnn-parity-report/1":
        raise _fail(path, "this is a --json report, not a baseline; record a baseline with "
                          "numpy-rnn parity --save-baseline PATH")
    if schema != BASELINE_SCHEMA_ID:
        raise _fail(path, f"not a numpy-rnn parity baseline: expected \"schema\": "
                          f"{BASELINE_SCHEMA_ID!r}, received {schema!r:.80}")
    problems = _check_document(data)
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
    x = json_number(x)
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
    if not verdicts:  # renamed outputs: nothing the baseline holds applies, so say so
        o.baseline = {"status": "new", "regressed": False, "growth": None, "ratio": None,
                      "outputs": [], "message": (
                          "no output in common with the baseline, nothing compared (baseline: "
                          f"{', '.join(sorted(entry['outputs'])) or 'none'}; now: "
                          f"{', '.join(d.name for d in o.report.outputs) or 'none'})")}
        return
    regressed = any(v["regressed"] for v in verdicts)
    worst = max(verdicts, key=lambda v: v["ratio"])
    message = (f"{'REGRESSED' if regressed else 'within baseline'}: {worst['name']} max|err| "
               f"{worst['baseline']:.3e} -> {worst['now']:.3e} (x{worst['growth']:.3g}); "
               f"allowed {worst['allowed']:.3e} = {growth_factor:g} x max(baseline "
               f"{worst['baseline']:.3e}, floor {floor_fraction:g} x atol = {worst['floor']:.1e})")
    o.baseline = {"status": "compared", "regressed": regressed,
                  "growth": worst["growth"], "ratio": worst["ratio"], "outputs": verdicts,
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
