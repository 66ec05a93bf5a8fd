"""The ``--json`` report of ``numpy-rnn parity``: how it is built, its JSON Schema, and checking a
report against it.

The schema is plain JSON Schema (draft 2020-12); non-finite figures are written as the strings
``"inf"``, ``"-inf"`` and ``"nan"`` (strict JSON has no NaN), which the schema allows wherever a
number is expected.  :func:`validate` uses ``jsonschema`` (in the ``keras`` extra and every other
extra that runs the sweep, and in ``test``): ``merge-reports`` validates every shard with it, and so
does the sweep's own shard-and-merge row (``parity.gate.selfcheck``).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

from ..bridge import REFERENCES, install_hint
from ..report import json_safe
from .outcome import FAILING, STATUSES, Outcome, counts, versions

__all__ = ["REPORT_SCHEMA_ID", "REPORT_SCHEMA", "OUTPUT_SCHEMA", "DRIFT_SCHEMA",
           "REFERENCE_PATTERN", "build_report", "validate"]

REPORT_SCHEMA_ID = "numpy-rnn-parity-report/1"


def build_report(outcomes: Sequence[Outcome], *, seed: int, examples: int, reference: str,
                 only: str | None, seconds: float, versions_: dict | None = None,
                 baseline: dict | None = None, extra_failures: Sequence[str] = (),
                 sweep: dict | None = None, shard: tuple[int, int] | None = None,
                 merged_from: Sequence[dict] | None = None, drift: dict | None = None) -> dict:
    """The ``--json`` payload (schema ``REPORT_SCHEMA``), strict-JSON safe.

    ``extra_failures``: reasons the gate fails beyond case statuses (e.g. missing cases).
    ``sweep``: ``{"cases": M, "fingerprint": "sha256:..."}`` of the whole (unsharded) case list
    (``parity.gate.shard.sweep_info``); ``shard``: ``(K, N)`` for ``--shard K/N``;
    ``merged_from``: the shard reports ``merge-reports`` joined; ``drift``: with several
    references, the backend drift section (``parity.gate.drift``).  Written only when given (the
    schema has them optional, so reports written before them still validate).
    """
    c = counts(outcomes)
    n_failed = sum(c[s] for s in FAILING)
    payload = {
        "schema": REPORT_SCHEMA_ID,
        "tool": "numpy-rnn parity",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": int(seed), "examples": int(examples), "reference": reference, "only": only,
        "versions": versions_ if versions_ is not None else versions(),
        "passed": n_failed == 0 and not extra_failures,
        "n_cases": len(outcomes), "n_passed": c["pass"], "n_failed": n_failed,
        "n_errors": c["ERROR"], "n_regressed": c["REGRESSED"], "n_skipped": c["skip"],
        "failures": list(extra_failures),
        "seconds": round(seconds, 3),
        "cases": [o.to_dict() for o in outcomes],
        "baseline": baseline,
    }
    if sweep is not None:
        payload["sweep"] = dict(sweep)
        payload["shard"] = None if shard is None else {"index": int(shard[0]),
                                                      "count": int(shard[1])}
    if merged_from is not None:
        payload["merged_from"] = [dict(m) for m in merged_from]
    if drift is not None:
        payload["drift"] = drift
    return json_safe(payload)


#: A figure: a number, or one of the strings strict JSON writes non-finite figures as.
_NUM = {"anyOf": [{"type": "number"}, {"enum": ["inf", "-inf", "nan"]}]}
_NUM_OR_NULL = {"anyOf": [{"type": "number"}, {"enum": ["inf", "-inf", "nan"]}, {"type": "null"}]}
_VERSION = {"type": ["string", "null"]}

OUTPUT_SCHEMA: dict = {
    "type": "object",
    "required": ["name", "shape", "dtype", "max_abs_err", "max_rel_err", "max_ulp",
                 "worst_index", "actual_at_worst", "expected_at_worst", "rtol", "atol", "passed",
                 "n_bad", "first_bad_timestep", "error_by_timestep", "error_growth",
                 "error_slope", "mean_abs_err", "note"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "dtype": {"type": "string"},
        "max_abs_err": _NUM, "max_rel_err": _NUM, "max_ulp": _NUM,
        "worst_index": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "actual_at_worst": _NUM, "expected_at_worst": _NUM,
        "rtol": {"type": "number", "minimum": 0}, "atol": {"type": "number", "minimum": 0},
        "passed": {"type": "boolean"},
        "n_bad": {"type": "integer", "minimum": 0},
        "first_bad_timestep": {"type": ["integer", "null"], "minimum": 0},
        "error_by_timestep": {"type": ["array", "null"], "items": _NUM},
        "error_growth": _NUM_OR_NULL, "error_slope": _NUM_OR_NULL, "mean_abs_err": _NUM_OR_NULL,
        "ulp_at_worst": _NUM_OR_NULL,
        "note": {"type": "string"},
        # optional: reports written before it existed lack it (the note says so there)
        "refereed": {"type": "boolean"},
    },
}

#: ``reference``: one reference or a comma list of them.
REFERENCE_PATTERN = "^(" + "|".join(sorted(REFERENCES)) + ")(,(" + "|".join(sorted(REFERENCES)) \
    + "))*$"

#: The ``drift`` section of a report with several references (``parity.gate.drift``).
DRIFT_SCHEMA: dict = {
    "type": "object", "required": ["references", "n_cases", "n_disagreeing", "cases"],
    "properties": {
        "references": {"type": "array", "items": {"type": "string", "enum": sorted(REFERENCES)}},
        "n_cases": {"type": "integer", "minimum": 0},
        "n_disagreeing": {"type": "integer", "minimum": 0},
        "cases": {"type": "array", "items": {
            "type": "object", "required": ["case", "errors", "status", "pairs"],
            "properties": {
                "case": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": _NUM_OR_NULL},
                "status": {"type": "object"},
                "pairs": {"type": "array", "items": {
                    "type": "object",
                    "required": ["a", "b", "rows", "max_abs_diff", "worst_row", "passed"],
                    "properties": {"a": {"type": "string"}, "b": {"type": "string"},
                                   "rows": {"type": "integer", "minimum": 0},
                                   "max_abs_diff": _NUM_OR_NULL,
                                   "worst_row": {"type": ["string", "null"]},
                                   "passed": {"type": ["boolean", "null"]},
                                   "disagreeing_rows": {"type": "array"},
                                   "referee": {"type": "array"}}}}}}},
    },
}

#: The ``--json`` report, as a JSON Schema (draft 2020-12).
REPORT_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": REPORT_SCHEMA_ID,
    "type": "object",
    "required": ["schema", "tool", "created", "seed", "examples", "reference", "only", "versions",
                 "passed", "n_cases", "n_passed", "n_failed", "n_errors", "n_regressed",
                 "n_skipped", "failures", "seconds", "cases", "baseline"],
    "properties": {
        "schema": {"type": "string", "const": REPORT_SCHEMA_ID},
        "tool": {"type": "string", "const": "numpy-rnn parity"},
        "created": {"type": "string"},
        "seed": {"type": "integer"},
        "examples": {"type": "integer", "minimum": 0},
        "reference": {"type": "string", "pattern": REFERENCE_PATTERN},
        "only": {"type": ["string", "null"]},
        "versions": {"type": "object",
                     "required": ["python", "numpy", "numpy_rnn", "tensorflow", "keras",
                                  "tf_keras"],
                     "properties": {k: _VERSION for k in ("python", "numpy", "numpy_rnn",
                                                          "tensorflow", "keras", "tf_keras",
                                                          "jax", "torch", "backend")}},
        "passed": {"type": "boolean"},
        **{k: {"type": "integer", "minimum": 0}
           for k in ("n_cases", "n_passed", "n_failed", "n_errors", "n_regressed", "n_skipped")},
        "failures": {"type": "array", "items": {"type": "string"}},
        "seconds": {"type": "number", "minimum": 0},
        "cases": {"type": "array", "items": {
            "type": "object",
            "required": ["case", "group", "status", "seconds", "error", "skipped", "params",
                         "report", "baseline"],
            "properties": {
                "case": {"type": "string"},
                "group": {"type": "string"},
                "status": {"type": "string", "enum": list(STATUSES)},
                "seconds": {"type": "number", "minimum": 0},
                "error": {"type": ["string", "null"]},
                "skipped": {"type": ["string", "null"]},
                "params": {"type": ["object", "null"]},
                "reference": {"type": "string", "enum": sorted(REFERENCES)},
                "report": {"type": ["object", "null"],
                           "required": ["case", "passed", "skipped", "max_abs_err",
                                        "max_rel_err", "max_ulp", "outputs"],
                           "properties": {"case": {"type": "string"},
                                          "passed": {"type": "boolean"},
                                          "skipped": {"type": ["string", "null"]},
                                          "max_abs_err": _NUM, "max_rel_err": _NUM,
                                          "max_ulp": _NUM,
                                          "outputs": {"type": "array", "items": OUTPUT_SCHEMA}}},
                "baseline": {"type": ["object", "null"],
                             "required": ["status", "regressed", "growth", "ratio",
                                          "outputs"],
                             "properties": {
                                 "status": {"type": "string",
                                            "enum": ["compared", "new", "not compared"]},
                                 "regressed": {"type": "boolean"},
                                 "growth": _NUM_OR_NULL,
                                 "ratio": _NUM_OR_NULL,
                                 "message": {"type": "string"},
                                 "outputs": {"type": "array", "items": {
                                     "type": "object",
                                     "required": ["name", "baseline", "now", "floor",
                                                  "allowed", "growth", "ratio", "regressed"],
                                     "properties": {"name": {"type": "string"},
                                                    "baseline": _NUM, "now": _NUM,
                                                    "floor": _NUM, "allowed": _NUM,
                                                    "growth": _NUM, "ratio": _NUM,
                                                    "regressed": {"type": "boolean"}}}}}},
            }}},
        "baseline": {"type": ["object", "null"],
                     "required": ["path", "created", "growth_factor", "floor_fraction",
                                  "versions", "versions_changed", "new_cases", "missing_cases",
                                  "regressions"],
                     "properties": {
                         "path": {"type": "string"},
                         "created": {"type": ["string", "null"]},
                         "growth_factor": {"type": "number"},
                         "floor_fraction": {"type": "number"},
                         "versions": {"type": "object"},
                         "versions_changed": {"type": "object"},
                         "new_cases": {"type": "array", "items": {"type": "string"}},
                         "missing_cases": {"type": "array", "items": {"type": "string"}},
                         "regressions": {"type": "array", "items": {"type": "string"}}}},
        # Optional (added with --shard / merge-reports; older reports lack them):
        "sweep": {"type": "object", "required": ["cases", "fingerprint"],
                  "properties": {"cases": {"type": "integer", "minimum": 0},
                                 "fingerprint": {"type": "string",
                                                 "pattern": "^sha256:[0-9a-f]{64}$"}}},
        "shard": {"type": ["object", "null"], "required": ["index", "count"],
                  "properties": {"index": {"type": "integer", "minimum": 1},
                                 "count": {"type": "integer", "minimum": 1}}},
        "drift": DRIFT_SCHEMA,
        "merged_from": {"type": "array", "items": {
            "type": "object", "required": ["path", "shard", "n_cases", "created", "seconds"],
            "properties": {"path": {"type": "string"},
                           "shard": {"type": "object", "required": ["index", "count"]},
                           "n_cases": {"type": "integer", "minimum": 0},
                           "created": {"type": "string"},
                           "seconds": {"type": "number", "minimum": 0}}}},
    },
}


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate(instance: Any, schema: dict | None = None) -> list[str]:
    """Check ``instance`` against ``schema`` (default :data:`REPORT_SCHEMA`) with ``jsonschema``.

    Returns one message per violation, ``"$.path.to[0].field: what is wrong"``; ``[]`` means
    valid.  Raises ImportError naming the extra when ``jsonschema`` is not installed.
    """
    try:
        import jsonschema
    except ImportError as exc:
        raise ImportError(f"validating a parity report needs jsonschema ({exc}); install it with "
                          f"{install_hint('test')}") from None
    validator = jsonschema.Draft202012Validator(REPORT_SCHEMA if schema is None else schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_path(e.absolute_path)}: {e.message}" for e in errors]
