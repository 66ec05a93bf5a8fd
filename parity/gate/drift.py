"""The backend drift report: with several references (``numpy-rnn parity --reference
keras,keras-jax``), what the backends computed for each case, compared with each other.

* Capture: every reference runs in its own worker processes; for every case the worker keeps
  the reference array of every row it measured (``parity.report.capturing``: the expected side
  of each ``diff_arrays``) and writes them to one ``.npz`` per case (:func:`save_capture`).
* Disagreement: for a case and a pair of references ``(a, b)``, row ``i`` of ``a`` is compared
  with row ``i`` of ``b`` by the tolerance that row was measured with (the ``kind``, ``rtol``,
  ``atol`` and ``scale`` NumPy is held to, ``b`` as the expected side).  The pair's figure is
  its worst row; rows beyond tolerance are *disagreements*.  Only runs that computed the same
  thing are compared: NumPy's side of every row must be bit-equal in both (a digest is
  captured), which a case built on Keras's own initialisation is not -- each backend draws its
  initial weights from its own random generator -- and such a case is "not comparable".
* Referee: the cases with a disagreement run again in both references' workers with the float64
  answer captured (the same Keras object rebuilt in float64 on that backend,
  ``parity.bridge.float64``; rows the bridge's ``compare`` / ``compare_gradients`` measured have
  one).  For each disagreeing row the verdict names the backend closer to it (``max|a - exact|``
  against ``max|b - exact|``) and gives how far the two backends' own float64 answers are apart:
  rounding leaves them within float64 noise, a different computation does not.

NumPy only (the arrays come back through files); ``drift_markdown`` renders a report's drift
section as the table ``docs/backends.md`` holds (``python -m parity.gate.drift REPORT.json``).
"""
from __future__ import annotations

import collections
import itertools
import json
import os
import re
import sys
from typing import Any, Sequence

import numpy as np

from ..report import Capture, diff_arrays, json_safe

__all__ = ["capture_path", "save_capture", "load_capture", "compare_rows", "referee_rows",
           "case_drift", "drift_report", "drift_lines", "drift_markdown", "family_markdown"]


def capture_path(directory: str, position: int) -> str:
    """Where the capture of the case at ``position`` is written."""
    return os.path.join(directory, f"case-{int(position):05d}.npz")


def save_capture(directory: str, position: int, cap: Capture) -> None:
    """Write ``cap``'s rows (names, how each was measured, reference arrays, float64 answers)."""
    meta = [{"name": name, "how": how} for name, _, how in cap.rows]
    arrays = {f"r{i}": arr for i, (_, arr, _) in enumerate(cap.rows)}
    arrays.update({f"x{i}": arr for i, arr in cap.exact.items()})
    path = capture_path(directory, position)
    tmp = path + ".tmp.npz"
    np.savez(tmp, meta=np.array(json.dumps(json_safe(meta))), **arrays)
    os.replace(tmp, path)


def load_capture(directory: str, position: int) -> list[dict] | None:
    """The rows :func:`save_capture` wrote (``name``, ``how``, ``array``, ``exact`` or None);
    None when the case wrote none (it crashed, or its worker died)."""
    path = capture_path(directory, position)
    if not os.path.exists(path):
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        return [{"name": m["name"], "how": m["how"], "array": data[f"r{i}"],
                 "exact": data[f"x{i}"] if f"x{i}" in data.files else None}
                for i, m in enumerate(meta)]


def _finite_float(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def compare_rows(rows_a: list[dict], rows_b: list[dict]) -> dict:
    """Row ``i`` of one reference against row ``i`` of the other (``b`` expected), each by the
    tolerance it was measured with.  Returns ``rows`` (how many), ``max_abs_diff``,
    ``worst_row``, ``passed`` and ``disagreeing`` (row indices beyond tolerance)."""
    names_a, names_b = [r["name"] for r in rows_a], [r["name"] for r in rows_b]
    if names_a != names_b:
        return {"rows": 0, "max_abs_diff": None, "worst_row": None, "passed": None,
                "disagreeing": [], "note": f"the references measured different rows "
                                           f"({len(names_a)} vs {len(names_b)})"}
    digests = [(ra["how"].get("numpy_digest"), rb["how"].get("numpy_digest"))
               for ra, rb in zip(rows_a, rows_b)]
    if any(da != db for da, db in digests):
        return {"rows": len(rows_a), "max_abs_diff": None, "worst_row": None, "passed": None,
                "disagreeing": [], "note": "not comparable: NumPy's own outputs differ between "
                                           "the two runs, so the references were given different "
                                           "weights or inputs (Keras's initialisers draw from "
                                           "each backend's own random generator)"}
    worst, worst_row, bad = 0.0, None, []
    for i, (ra, rb) in enumerate(zip(rows_a, rows_b)):
        a, b = np.asarray(ra["array"]), np.asarray(rb["array"])
        if a.dtype.kind not in "fiub" or b.dtype.kind not in "fiub":
            continue
        how = {k: v for k, v in rb["how"].items() if k != "numpy_digest"}
        d = diff_arrays(ra["name"], a, b, **how)
        if not d.passed:
            bad.append(i)
        if worst_row is None or d.max_abs_err > worst:
            worst, worst_row = d.max_abs_err, ra["name"]
    return {"rows": len(rows_a), "max_abs_diff": worst if worst_row is not None else None,
            "worst_row": worst_row, "passed": not bad, "disagreeing": bad, "note": None}


def referee_rows(a: str, b: str, rows_a: list[dict], rows_b: list[dict],
                 indices: Sequence[int], trusted: tuple[str, list[dict]] | None = None
                 ) -> list[dict]:
    """For each disagreeing row: which backend is closer to the float64 answer, and how far
    apart the two backends' own float64 answers are.

    The float64 answer is ``trusted``'s (``(reference, rows)``: a reference whose Keras computes
    float64 in float64, TensorFlow, when the run has one), else ``a``'s (or ``b``'s).  A float64
    row is judged only by a trusted answer: a backend's float64 answer to its own float64 row is
    the row itself, and on JAX / PyTorch it is not float64-accurate (``float64-promotion``)."""
    out = []
    for i in indices:
        ra, rb = rows_a[i], rows_b[i]
        ea, eb = ra.get("exact"), rb.get("exact")
        float64 = np.asarray(ra["array"]).dtype == np.float64
        et = None if trusted is None or len(trusted[1]) <= i else trusted[1][i].get("exact")
        if et is None and float64 and trusted is not None and len(trusted[1]) > i:
            et = trusted[1][i]["array"]  # TensorFlow's own float64 row is a float64 answer
        exact, source = ((et, trusted[0]) if et is not None else
                         (ea, a) if ea is not None else (eb, b))
        row: dict[str, Any] = {"row": ra["name"], "closer": None}
        if exact is None or np.shape(exact) != np.shape(ra["array"]):
            row["note"] = "no float64 answer for this row (the case measures it by its own means)"
            out.append(row)
            continue
        if float64 and et is None:
            row["note"] = ("a float64 row and no TensorFlow reference in the run: no independent "
                           "float64 answer to judge it by")
            if ea is not None and eb is not None and np.shape(ea) == np.shape(eb):
                row["float64_gap"] = float(np.max(np.abs(np.asarray(ea, np.float64)
                                                         - np.asarray(eb, np.float64)),
                                                  initial=0.0))
            out.append(row)
            continue
        row["exact_from"] = source
        exact = np.asarray(exact, np.float64)
        err_a = float(np.max(np.abs(np.asarray(ra["array"], np.float64) - exact), initial=0.0))
        err_b = float(np.max(np.abs(np.asarray(rb["array"], np.float64) - exact), initial=0.0))
        row.update({f"err_{a}": err_a, f"err_{b}": err_b,
                    "closer": a if err_a < err_b else b if err_b < err_a else "tie"})
        if ea is not None and eb is not None and np.shape(ea) == np.shape(eb):
            row["float64_gap"] = float(np.max(np.abs(np.asarray(ea, np.float64)
                                                     - np.asarray(eb, np.float64)), initial=0.0))
        out.append(row)
    return out


#: References whose Keras computes float64 in float64 (their float64 answers judge float64 rows).
TRUSTED_FLOAT64 = ("keras", "tf_keras")


def case_drift(case: str, references: Sequence[str], outcomes: dict[str, Any],
               captures: dict[str, list[dict] | None],
               exact: dict[str, list[dict] | None] | None = None) -> dict:
    """One case's drift entry: NumPy's error and status against each reference, and every pair
    of references compared (:func:`compare_rows`), refereed where they disagree."""
    entry: dict[str, Any] = {"case": case, "errors": {}, "status": {}, "pairs": []}
    for ref in references:
        o = outcomes.get(ref)
        report = getattr(o, "report", None)
        entry["status"][ref] = getattr(o, "status", None)
        entry["errors"][ref] = (_finite_float(report.max_abs_err)
                                if report is not None and report.outputs else None)
    for a, b in itertools.combinations(references, 2):
        rows_a, rows_b = captures.get(a), captures.get(b)
        pair: dict[str, Any] = {"a": a, "b": b}
        if not rows_a or not rows_b:
            pair.update({"rows": 0, "max_abs_diff": None, "worst_row": None, "passed": None,
                         "note": "not compared (a side measured nothing: skipped or crashed)"})
            entry["pairs"].append(pair)
            continue
        result = compare_rows(rows_a, rows_b)
        bad = result.pop("disagreeing")
        pair.update(result)
        if bad:
            pair["disagreeing_rows"] = [rows_a[i]["name"] for i in bad]
            ex_a = (exact or {}).get(a) or rows_a
            ex_b = (exact or {}).get(b) or rows_b
            if len(ex_a) == len(rows_a) and len(ex_b) == len(rows_b):
                for src, dst in ((ex_a, rows_a), (ex_b, rows_b)):
                    for r_src, r_dst in zip(src, dst):
                        if r_src.get("exact") is not None:
                            r_dst["exact"] = r_src["exact"]
            trusted = next(((r, (exact or {}).get(r) or captures.get(r) or [])
                            for r in TRUSTED_FLOAT64 if r in references), None)
            pair["referee"] = referee_rows(a, b, rows_a, rows_b, bad, trusted)
        entry["pairs"].append(pair)
    return entry


def drift_report(references: Sequence[str], names: Sequence[str],
                 outcomes: dict[str, Sequence[Any]], capture_dirs: dict[str, str],
                 positions: Sequence[int], exact_dirs: dict[str, str] | None = None) -> dict:
    """The report's ``drift`` section over the cases ``names`` (run at ``positions`` of the
    sweep by every reference; ``outcomes[ref][k]`` is case ``k``'s outcome)."""
    cases, n_disagree = [], 0
    for k, (name, position) in enumerate(zip(names, positions)):
        caps = {ref: load_capture(capture_dirs[ref], position) for ref in references}
        exact = None
        if exact_dirs:
            exact = {ref: load_capture(d, position) for ref, d in exact_dirs.items()}
        entry = case_drift(name, references, {ref: outcomes[ref][k] for ref in references},
                           caps, exact)
        n_disagree += any(p.get("passed") is False for p in entry["pairs"])
        cases.append(entry)
    return json_safe({"references": list(references), "n_cases": len(cases),
                      "n_disagreeing": n_disagree, "cases": cases})


def disagreeing_positions(drift: dict, positions: Sequence[int]) -> list[int]:
    """The sweep positions of the cases whose references disagree somewhere."""
    return [p for entry, p in zip(drift["cases"], positions)
            if any(pair.get("passed") is False for pair in entry["pairs"])]


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{float(x):.2e}"


def _pair_text(pair: dict) -> str:
    if pair.get("passed") is None:
        return "n/c" if str(pair.get("note") or "").startswith("not comparable") else "-"
    return f"{_fmt(pair['max_abs_diff'])}{'' if pair['passed'] else ' DIFFER'}"


def drift_lines(drift: dict) -> list[str]:
    """The drift table as text lines (one per case), then every disagreement and its verdict."""
    refs = drift["references"]
    pairs = [f"{a} vs {b}" for a, b in itertools.combinations(refs, 2)]
    width = max([len(c["case"]) for c in drift["cases"]] + [4]) + 2
    cols = [max(len(r), 9) + 2 for r in refs]
    pcols = [max(len(p), 16) + 2 for p in pairs]
    head = f"{'case':<{width}}" + "".join(f"{r:>{w}}" for r, w in zip(refs, cols)) + "".join(
        f"{p:>{w}}" for p, w in zip(pairs, pcols))
    lines = ["backend drift: NumPy's max|err| against each reference, and the references' "
             "largest disagreement with each other (row by row, at that row's tolerance)",
             head, "-" * len(head)]
    for c in drift["cases"]:
        lines.append(f"{c['case']:<{width}}" + "".join(
            f"{_fmt(c['errors'][r]) if c['status'][r] != 'skip' else 'skip':>{w}}"
            for r, w in zip(refs, cols)) + "".join(
            f"{_pair_text(p):>{w}}" for p, w in zip(c["pairs"], pcols)))
    lines.append("-" * len(head))
    lines.append(f"{drift['n_disagreeing']} of {drift['n_cases']} case(s) where the references "
                 "disagree beyond tolerance (n/c: not comparable, the references drew different "
                 "initial weights)")
    for c in drift["cases"]:
        for p in c["pairs"]:
            for r in p.get("referee", []):
                lines.append(f"  {c['case']}: {p['a']} vs {p['b']} on {r['row']!r}: "
                             + _verdict(p["a"], p["b"], r))
    return lines


def _verdict(a: str, b: str, r: dict) -> str:
    if r.get("closer") is None:
        text = r.get("note", "no float64 answer")
        if "float64_gap" in r:
            text += f" (the backends' float64 answers differ by {_fmt(r['float64_gap'])})"
        return text
    text = (f"float64 referee ({r.get('exact_from', a)}'s float64): "
            f"max|{a}-exact|={_fmt(r[f'err_{a}'])}, "
            f"max|{b}-exact|={_fmt(r[f'err_{b}'])} -> "
            + ("neither is closer" if r["closer"] == "tie" else f"{r['closer']} is right"))
    if "float64_gap" in r:
        text += f" (the backends' float64 answers differ by {_fmt(r['float64_gap'])})"
    return text


def drift_markdown(drift: dict) -> str:
    """The drift section as a Markdown table (what ``docs/backends.md`` holds)."""
    refs = drift["references"]
    pairs = [(a, b) for a, b in itertools.combinations(refs, 2)]
    head = (["case"] + [f"NumPy vs {r}" for r in refs] + [f"{a} vs {b}" for a, b in pairs])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in drift["cases"]:
        cells = [f"`{c['case']}`"]
        cells += [("skip" if c["status"][r] == "skip" else _fmt(c["errors"][r])) for r in refs]
        cells += [_pair_text(p) for p in c["pairs"]]
        out.append("| " + " | ".join(cells) + " |")
    for c in drift["cases"]:
        for p in c["pairs"]:
            for r in p.get("referee", []):
                out.append(f"\n- `{c['case']}`, {p['a']} vs {p['b']}, row `{r['row']}`: "
                           + _verdict(p["a"], p["b"], r))
    return "\n".join(out) + "\n"


def family_of(case: str) -> str:
    """A case's family: the first word of its name, ``grad/`` and the `` @REF`` suffix dropped
    (``grad/conv/Conv1D/... @keras-jax`` -> ``conv``, ``masking(0.5) -> gru`` -> ``masking``)."""
    name = case.split(" @")[0]
    name = name[len("grad/"):] if name.startswith("grad/") else name
    return re.split(r"[/ (]", name, maxsplit=1)[0]


def skip_label(reason: str | None) -> str:
    """A skip reason in a word: the deviation it names (``'float64-promotion'``), else its
    first clause."""
    text = str(reason or "")
    found = re.search(r"\('([a-z0-9-]+)'", text)
    if found:
        return found.group(1)
    text = text.split("BackendUnsupported: ", 1)[-1]
    return "TensorFlow-only: " + text[:48] if "TensorFlow only" in text or "TensorFlow-only" in \
        text else re.split(r"[:;(]", text, maxsplit=1)[0].strip()[:60] or "skipped"


def family_markdown(report: dict) -> str:
    """A multi-reference report (``--json``) summed up per family: per reference
    passed / skipped (by reason) / failed, the references' largest disagreement, how many cases
    differ beyond tolerance, and the float64 referee's verdicts (which reference it named right,
    counted over the disagreeing rows)."""
    drift = report.get("drift") or {"references": sorted({c["reference"] for c in
                                                          report["cases"]}), "cases": []}
    refs = drift["references"]
    fams: dict[str, dict] = collections.OrderedDict()
    for c in report["cases"]:
        f = fams.setdefault(family_of(c["case"]), {
            "n": collections.Counter(), "status": collections.Counter(),
            "skips": collections.Counter(), "pairs": collections.Counter(),
            "worst": {}, "right": collections.Counter()})
        ref = c.get("reference", refs[0])
        f["n"][ref] += 1
        status = {"pass": "pass", "skip": "skip"}.get(c["status"], "fail")
        f["status"][(ref, status)] += 1
        if status == "skip":
            f["skips"][(ref, skip_label(c.get("skipped")))] += 1
    pairs = [f"{a} vs {b}" for a, b in itertools.combinations(refs, 2)]
    for c in drift["cases"]:
        f = fams[family_of(c["case"])]
        for p in c["pairs"]:
            key = f"{p['a']} vs {p['b']}"
            kind = {True: "agree", False: "DIFFER"}.get(p.get("passed"), "n/c")
            f["pairs"][(key, kind)] += 1
            if p.get("max_abs_diff") is not None:
                f["worst"][key] = max(f["worst"].get(key, 0.0), float(p["max_abs_diff"]))
            for r in p.get("referee", []):
                f["right"][r.get("closer") or "no answer"] += 1
    head = (["family", "cases"] + [f"`{r}` pass / skip / fail" for r in refs]
            + [f"{k}: agree / DIFFER / n/c (max diff)" for k in pairs]
            + ["referee (rows): right", "skipped, why"])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for fam, f in fams.items():
        cells = [f"`{fam}`", str(max(f["n"].values()))]
        cells += [" / ".join(str(f["status"][(r, s)]) for s in ("pass", "skip", "fail"))
                  for r in refs]
        cells += [" / ".join(str(f["pairs"][(k, s)]) for s in ("agree", "DIFFER", "n/c"))
                  + (f" ({_fmt(f['worst'][k])})" if k in f["worst"] else "") for k in pairs]
        cells.append(", ".join(f"{who} {n}" for who, n in f["right"].most_common()) or "-")
        cells.append("; ".join(f"{r}: {n} `{label}`" for (r, label), n in
                               sorted(f["skips"].items())) or "-")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m parity.gate.drift [--families] REPORT.json``: the report's drift table as
    Markdown (``--families``: summed up per family, :func:`family_markdown`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    families = "--families" in args
    args = [a for a in args if a != "--families"]
    if len(args) != 1:
        print("usage: python -m parity.gate.drift [--families] REPORT.json", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as fh:
        data = json.load(fh)
    if families:
        sys.stdout.write(family_markdown(data))
        return 0
    drift = data.get("drift")
    if not drift:
        print(f"{args[0]}: no drift section (run numpy-rnn parity with several references)",
              file=sys.stderr)
        return 2
    sys.stdout.write(drift_markdown(drift))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
