"""``numpy-rnn parity``: the parity sweep and CI gate.

It runs the parity sweep against the installed tf.keras on the embedded default
(the shipped corpus through Vocabulary -> Embedding -> LSTM, plus a grid of layer options), prints one row per case and exits 0 when every case is within tolerance, 1 when
any is not, 2 on a usage or environment error.

As a CI gate it also draws random LSTM cases on top of the grid (``--examples N --seed S``),
compares with Keras 3 on TensorFlow, JAX, PyTorch or NumPy, or with tf_keras (``--reference``;
a comma list runs the sweep against each, each in its own worker processes, and adds the
backend drift report, ``parity.gate.drift``), writes a JSON report (``--json``, schema:
``--schema``), a JUnit file (``--junit``), a plot of the error along time (``--plot``), records a
baseline (``--save-baseline``) and fails a case whose error grew past it (``--baseline``).
``--shard K/N`` runs the K-th of N parts of the sweep (joined by ``numpy-rnn merge-reports``),
``--jobs N`` runs cases in N worker processes.  See docs/ci-gate.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

from .. import gate
from ..gate import GateError
from ..bridge import backend, import_tensorflow_quietly, quiet_tensorflow_logs
from ..bridge.references import (parse_references, reference_backend, reference_label,
                                 missing as reference_missing)
from ..gate import drift as gate_drift
from ..gate.baseline import (DEFAULT_FLOOR_FRACTION, DEFAULT_GROWTH_FACTOR, BaselineError,
                             compare_to_baseline, judge, load_baseline, make_baseline,
                             save_baseline)
from ..gate.jobs import run_parallel
from ..gate.sweep import run_cases
from ..gate.junit import write_junit
from ..gate.catalog import sweep_cases
from ..gate.consistency import REFEREED as REFEREED_MARK
from ..gate.shard import parse_shard, shard_positions, sweep_info
from ..gate.plot import plot_error_by_timestep, require_matplotlib
from .common import EXIT_FAIL, EXIT_OK, int_at_least, number, output_path_problem, usage_error

__all__ = ["add_parity_command", "cmd_parity", "Progress"]


def _fmt_tol(report) -> str:
    worst = report.worst
    if worst is None:
        return "-"
    if worst.atol == 0 and worst.rtol == 0:
        return "exact"
    return f"atol={worst.atol:.0e} rtol={worst.rtol:.0e}"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _usage_error(message: str) -> int:
    return usage_error("parity", message)


def _check_options(args: argparse.Namespace) -> dict | None:
    """Everything that can be checked before TensorFlow is imported.  Returns the loaded
    baseline (or None); raises ``GateError`` on a usage error."""
    try:
        args.references = parse_references(args.reference)
    except ValueError as exc:
        raise GateError(str(exc)) from None
    args.reference = ",".join(args.references)
    if args.seed < 0:
        raise GateError(f"--seed: expected a non-negative integer, received {args.seed}")
    if args.only is not None and not [p for p in args.only.split(",") if p.strip()]:
        # An unset CI variable (--only "$CASES") must not silently select every case.
        raise GateError(f"--only: expected a case name or pattern (see --list), received "
                        f"{args.only!r}; leave --only out to run every case")
    if not args.growth_factor > 1.0:
        raise GateError(f"--growth-factor: expected a number > 1, received {args.growth_factor}")
    if not args.growth_floor >= 0.0:
        raise GateError(f"--growth-floor: expected a number >= 0, received {args.growth_floor}")
    try:
        args.shard_kn = None if args.shard is None else parse_shard(args.shard)
    except ValueError as exc:
        raise GateError(str(exc)) from None
    if args.shard_kn is not None and len(args.references) > 1:
        raise GateError(f"--shard: one reference per sharded sweep (the drift report needs "
                        f"every reference's rows of a case together); received --reference "
                        f"{args.reference}: run one sharded sweep per reference")
    for flag in ("json", "junit", "save_baseline", "plot"):
        path = getattr(args, flag)
        if path is None:
            continue
        problem = output_path_problem(f"--{flag.replace('_', '-')}", path)
        if problem is not None:
            raise GateError(problem)
    if args.plot:
        require_matplotlib()
    if args.baseline is None:
        return None
    try:
        base = load_baseline(args.baseline)
    except BaselineError as exc:
        raise GateError(str(exc)) from None
    if base["seed"] != args.seed:
        raise GateError(f"--baseline {args.baseline}: taken with --seed {base['seed']}, this run "
                        f"has --seed {args.seed}; errors from different seeds are not "
                        f"comparable (run with --seed {base['seed']} or record a new baseline "
                        "with --save-baseline)")
    if base["reference"] != args.reference:
        raise GateError(f"--baseline {args.baseline}: taken with --reference "
                        f"{base['reference']}, this run has --reference {args.reference}; "
                        "record one baseline per reference")
    return base


def in_process(args: argparse.Namespace) -> bool:
    """Whether the sweep runs in this process: one reference, ``--jobs 1`` and the reference's
    backend is the one Keras runs (or will run) here.  Otherwise every reference runs in its
    own worker processes, with its backend set before Keras is imported there."""
    refs = args.references
    return (len(refs) == 1 and args.jobs == 1
            and reference_backend(refs[0]) == backend.configured())


def _check_environment(args: argparse.Namespace) -> None:
    """Every reference installed (looked up without importing it); for a sweep in this process,
    its library imported and running on the reference's backend."""
    for ref in args.references:
        problem = reference_missing(ref)
        if problem is not None:
            raise GateError(problem)
    if not in_process(args):
        return
    if reference_backend(args.references[0]) == "tensorflow":
        try:
            import_tensorflow_quietly()
        except ImportError as exc:
            raise GateError(f"TensorFlow/Keras is not installed ({exc}); install the reference "
                            f"with {gate.install_hint('keras')}") from None
    gate.check_reference(args.references[0])


class Progress:
    """``[3/18] case ...`` overwritten in place on a terminal; nothing extra in a CI log."""

    def __init__(self, total: int, stream=None) -> None:
        self.total = total
        self.stream = stream or sys.stdout
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty())

    def start(self, i: int, name: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[K[{i + 1}/{self.total}] {name} ...")
            self.stream.flush()

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")


def cmd_parity(args: argparse.Namespace) -> int:
    quiet_tensorflow_logs()  # before anything imports TensorFlow
    if args.schema:
        print(json.dumps(gate.REPORT_SCHEMA, indent=2))
        return EXIT_OK
    try:
        base = _check_options(args)
    except gate.GateError as exc:
        return _usage_error(str(exc))
    cores = usable_cores()
    if args.jobs > cores:  # more workers than cores only compete (each loads TensorFlow)
        print(f"numpy-rnn parity: warning: --jobs {args.jobs} exceeds the {cores} core(s) this "
              f"process may use; running {cores} worker process(es)", file=sys.stderr)
        args.jobs = cores
    refs = args.references
    full = sweep_cases(args.seed, args.examples, refs[0], args.only)
    if args.only and not full:
        return _usage_error(f"--only {args.only!r} matches no case; see --list")
    fulls = {ref: (full if i == 0 else sweep_cases(args.seed, args.examples, ref, args.only))
             for i, ref in enumerate(refs)}
    try:
        sweep = sweep_info([qualified(c.name, ref, refs) for ref in refs for c in fulls[ref]])
    except ValueError as exc:
        return _usage_error(str(exc))
    positions = {ref: (list(range(len(fulls[ref]))) if args.shard_kn is None
                       else shard_positions(len(fulls[ref]), *args.shard_kn)) for ref in refs}
    if args.list:  # names only: needs neither TensorFlow nor Keras
        for ref in refs:
            for i in positions[ref]:
                print(qualified(fulls[ref][i].name, ref, refs))
        return EXIT_OK
    try:
        _check_environment(args)
    except gate.GateError as exc:
        return _usage_error(str(exc))

    vers = gate.versions(args.reference)
    start = time.perf_counter()
    outcomes: list[gate.Outcome] = []
    by_ref: dict[str, list[gate.Outcome]] = {}
    capture_root = tempfile.TemporaryDirectory(prefix="numpy-rnn-drift-") if len(refs) > 1 \
        else None
    try:
        for ref in refs:
            cases = [fulls[ref][i] for i in positions[ref]]
            capture = None
            if capture_root is not None:
                capture = (os.path.join(capture_root.name, ref), False)
                os.makedirs(capture[0])
            done = _run_reference(args, ref, cases, positions[ref], len(fulls[ref]), base,
                                  vers, capture)
            for o in done:
                if len(refs) > 1:
                    o.case, o.reference = qualified(o.case, ref, refs), ref
            by_ref[ref] = done
            outcomes += done
        drift = None
        if capture_root is not None:
            drift = _drift(args, refs, fulls, positions, by_ref, capture_root.name)
    finally:
        if capture_root is not None:
            capture_root.cleanup()
    total = time.perf_counter() - start
    if len(refs) > 1:
        print("=" * 60)
        for ref in refs:
            print(f"{ref}: {_summary(by_ref[ref])}")
    n = gate.counts(outcomes)
    failed = sum(n[s] for s in gate.FAILING)
    print(("all references: " if len(refs) > 1 else "") + _summary(outcomes, total))

    comparison, extra_failures = None, []
    if base is not None:
        comparison = compare_to_baseline(base, outcomes, path=args.baseline, versions=vers,
                                         growth_factor=args.growth_factor,
                                         floor_fraction=args.growth_floor, only=args.only)
        # a shard: the sweep's other cases run on other machines, they are not missing
        in_sweep = {qualified(c.name, ref, refs) for ref in refs for c in fulls[ref]}
        comparison.missing_cases = [n for n in comparison.missing_cases if n not in in_sweep]
        for line in comparison.summary_lines():
            print(line)
        if args.fail_on_missing and comparison.missing_cases:
            extra_failures = [f"missing from this run (--fail-on-missing): {name}"
                              for name in comparison.missing_cases]
            print(f"{len(extra_failures)} baseline case(s) missing: failing (--fail-on-missing)")
    failed_names = [o.case for o in outcomes if o.failed]
    if failed_names:
        print("failed: " + "; ".join(failed_names))
    try:
        _write_outputs(args, outcomes, vers, total, comparison, extra_failures, sweep, drift)
    except OSError as exc:
        return _usage_error(f"cannot write an output file: {exc}")
    return EXIT_FAIL if failed or extra_failures else EXIT_OK


def qualified(name: str, reference: str, references: list[str]) -> str:
    """A case's name in the report: as it is with one reference; ``name @reference`` with
    several, so every row of a multi-reference run (shards, baselines, JUnit) is unique."""
    return name if len(references) == 1 else f"{name} @{reference}"


def _summary(outcomes: list, seconds: float | None = None) -> str:
    n = gate.counts(outcomes)
    failed = sum(n[s] for s in gate.FAILING)
    detail = ", ".join(f"{n[s]} {label}" for s, label in
                       (("FAIL", "out of tolerance"), ("ERROR", "crashed"),
                        ("REGRESSED", "regressed")) if n[s])
    n_refereed = sum(1 for o in outcomes if o.report is not None and o.report.refereed)
    return (f"{n['pass']} passed, {failed} failed" + (f" ({detail})" if detail else "")
            + (f", {n['skip']} skipped" if n["skip"] else "")
            + ("" if seconds is None else f" in {seconds:.1f}s")
            + (f"; {n_refereed} case(s) {REFEREED_MARK}: numpy judged by its distance from "
               f"the float64 answer against Keras's own" if n_refereed else ""))


def _against(ref: str, vers: dict) -> str:
    """``keras 3.15.1 on jax 0.10.2``, ``tf_keras 2.21.0 (fixed grid: keras 3.15.1)``."""
    if ref == "tf_keras":
        return (f"tf_keras {vers.get('tf_keras')} (fixed grid: keras {vers['keras']}, "
                f"tensorflow {vers['tensorflow']})")
    name = reference_backend(ref)
    lib = backend.library_version(name) if name != "numpy" else None
    return (f"keras {vers['keras']} on {name}" + (f" {lib}" if lib else "")
            + ("" if ref == "keras" else f" (--reference {ref})"))


def _run_reference(args: argparse.Namespace, ref: str, cases: list, positions: list, total: int,
                   base: dict | None, vers: dict, capture: tuple | None) -> list:
    """Run ``cases`` against ``ref`` (here or in worker processes), printing the table."""
    refs = args.references
    width = max((len(c.name) for c in cases), default=4) + 2
    local = in_process(args)
    workers = 1 if local else min(args.jobs, len(cases)) or 1
    print(f"numpy-rnn parity: {len(cases)} cases against {_against(ref, vers)}, seed {args.seed}"
          + (f", {args.examples} random example(s)" if args.examples else "")
          + (f", shard {args.shard_kn[0]}/{args.shard_kn[1]} of {total} cases"
             if args.shard_kn else "")
          + ("" if local else f", {workers} worker process{'es' if workers > 1 else ''}"))
    print(f"{'case':<{width}}{'max abs err':>13}  {'tolerance':<22}{'result'}")
    print("-" * (width + 45))
    progress = Progress(len(cases))
    base_cases = base["cases"] if base is not None else None

    def on_done(i: int, o: gate.Outcome) -> None:
        if base_cases is not None:
            name = o.case
            o.case = qualified(name, ref, refs)  # the baseline holds the report's names
            judge(o, base_cases, growth_factor=args.growth_factor,
                  floor_fraction=args.growth_floor)
            o.case = name
        progress.clear()
        if o.status in ("ERROR", "skip") or o.report is None:
            err_txt, tol = "-", "-"
        else:
            err_txt, tol = f"{o.report.max_abs_err:.3e}", _fmt_tol(o.report)
        extra = ""
        if o.baseline and o.baseline.get("growth") is not None:
            extra = (f"  x{o.baseline['growth']:.3g} of baseline "
                     f"({o.baseline['ratio']:.0%} of allowed)")
        elif o.baseline and o.baseline["status"] in ("new", "not compared"):
            extra = f"  ({o.baseline['status']})"
        refereed = o.report.refereed if o.report is not None else []
        if refereed:
            extra += f"  ({REFEREED_MARK})"
        print(f"{o.case:<{width}}{err_txt:>13}  {tol:<22}{o.status}{extra}", flush=True)
        if refereed and o.status != "FAIL":  # the figures the verdict rests on (FAIL prints all)
            for d in refereed:
                print("    " + d.line())
        if o.report is not None and (o.status == "FAIL" or (o.status != "pass" and args.verbose)):
            print("    " + str(o.report).replace("\n", "\n    "))
        if o.status == "REGRESSED":
            print(f"    {o.baseline['message']}")
        if o.error:
            print(f"    {o.error}")
            if args.verbose and o.traceback:
                print(o.traceback, file=sys.stderr)
        if o.skipped:
            print(f"    skipped: {o.skipped}")
        if args.verbose and o.params:
            print(f"    params: {o.params}")

    on_start = lambda i, c: progress.start(i, c.name)  # noqa: E731
    t0 = time.perf_counter()
    if local and capture is None:
        outcomes = run_cases(cases, on_start=on_start, on_done=on_done)
    else:
        name = reference_backend(ref)
        outcomes = run_parallel(cases, positions, workers, sweep_cases,
                                (args.seed, args.examples, ref, args.only),
                                tensorflow=name == "tensorflow", keras_backend=name,
                                capture=capture, on_start=on_start, on_done=on_done)
    print("-" * (width + 45))
    if len(refs) > 1:
        print(f"{ref}: {_summary(outcomes, time.perf_counter() - t0)}")
    return outcomes


def _drift(args: argparse.Namespace, refs: list[str], fulls: dict, positions: dict,
           by_ref: dict, root: str) -> dict:
    """The drift section: the references' captures compared; where they disagree, the cases
    rerun in the disagreeing references' workers with their float64 answers (the referee)."""
    pos = positions[refs[0]]
    names = [fulls[refs[0]][i].name for i in pos]
    dirs = {ref: os.path.join(root, ref) for ref in refs}
    # every reference runs the same fixed cases, at the same positions; a reference's own rows
    # (tf_keras's grid, the random examples named after their reference) are not compared
    common = [(k, i) for k, i in enumerate(pos)
              if all(i < len(fulls[r]) and fulls[r][i].name == fulls[refs[0]][i].name
                     for r in refs)]
    keep = [k for k, _ in common]
    at = [i for _, i in common]
    outs = {ref: [by_ref[ref][k] for k in keep] for ref in refs}
    drift = gate_drift.drift_report(refs, [names[k] for k in keep], outs, dirs, at)
    redo = gate_drift.disagreeing_positions(drift, at)
    if redo:
        print(f"float64 referee: {len(redo)} case(s) where the references disagree, rerun with "
              "their float64 answers")
        exact_dirs = {}
        for ref in refs:
            exact_dirs[ref] = os.path.join(root, f"{ref}.exact")
            os.makedirs(exact_dirs[ref])
            name = reference_backend(ref)
            run_parallel([fulls[ref][i] for i in redo], redo, min(args.jobs, len(redo)),
                         sweep_cases, (args.seed, args.examples, ref, args.only),
                         tensorflow=name == "tensorflow", keras_backend=name,
                         capture=(exact_dirs[ref], True))
        drift = gate_drift.drift_report(refs, [names[k] for k in keep], outs, dirs, at,
                                        exact_dirs)
    print()
    for line in gate_drift.drift_lines(drift):
        print(line)
    return drift


def _write_outputs(args: argparse.Namespace, outcomes, vers: dict, seconds: float, comparison,
                   extra_failures: list[str], sweep: dict, drift: dict | None = None) -> None:
    if args.json:
        payload = gate.build_report(outcomes, seed=args.seed, examples=args.examples,
                                    reference=args.reference, only=args.only, seconds=seconds,
                                    versions_=vers, extra_failures=extra_failures,
                                    baseline=comparison.to_dict() if comparison else None,
                                    sweep=sweep, shard=args.shard_kn, drift=drift)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, allow_nan=False)
            fh.write("\n")
        print(f"json report: {args.json}")
    if args.junit:
        props = {"seed": args.seed, "examples": args.examples, "reference": args.reference,
                 **({"shard": "{}/{}".format(*args.shard_kn)} if args.shard_kn else {}),
                 **{f"version.{k}": v for k, v in vers.items()}}
        write_junit(args.junit, outcomes, properties=props)
        print(f"junit report: {args.junit}")
    if args.save_baseline:
        save_baseline(args.save_baseline, make_baseline(
            outcomes, seed=args.seed, examples=args.examples, reference=args.reference,
            versions=vers))
        print(f"baseline saved: {args.save_baseline}")
    if args.plot:
        n = plot_error_by_timestep(
            outcomes, args.plot,
            title=f"numpy-rnn parity: error along time (seed {args.seed}, "
                  + (_against(args.references[0], vers) if len(args.references) == 1 else
                     f"keras {vers['keras']}: " + ", ".join(args.references)) + ")")
        print(f"plot: {args.plot} ({n} sequence output(s))")


def add_parity_command(sub: Any) -> None:
    """Add ``parity`` to the ``numpy-rnn`` sub-command parser."""
    p = sub.add_parser("parity", help="run the parity sweep against the installed tf.keras",
                       description="Run the parity sweep on the embedded default; exit 0 when "
                                   "every case is within tolerance (and, with --baseline, none "
                                   "grew past the baseline), 1 when any is not, 2 on a usage "
                                   "or environment error.  See docs/ci-gate.md.")
    p.add_argument("--json", metavar="PATH",
                   help="write a machine-readable report (schema: --schema)")
    p.add_argument("--junit", metavar="PATH",
                   help="write JUnit XML: one <testcase> per case, classname = group")
    p.add_argument("--only", metavar="PATTERN",
                   help="run only cases whose name matches (glob or substring; comma-separated)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for weights and inputs, and for the random sweep (default 0)")
    p.add_argument("--examples", type=int_at_least(0), default=0, metavar="N",
                   help="add N random LSTM cases drawn from --seed (default 0)")
    p.add_argument("--reference", default="keras", metavar="REF[,REF...]",
                   help="compare with Keras 3 on TensorFlow (keras, default), JAX (keras-jax), "
                        "PyTorch (keras-torch) or NumPy (keras-numpy: inference rows only), or "
                        "with Keras 2 (tf_keras: also rebuilds the LSTM option grid and the "
                        "Embedding on tf_keras); a comma list runs the sweep against each, in "
                        "its own worker processes, and reports how the references drift apart")
    p.add_argument("--save-baseline", metavar="PATH",
                   help="record every case's error figures and the versions in play")
    p.add_argument("--baseline", metavar="PATH",
                   help="fail a case whose error grew past this baseline (see --growth-factor)")
    p.add_argument("--growth-factor", type=number, default=DEFAULT_GROWTH_FACTOR, metavar="F",
                   help="with --baseline: a case regresses when max|err| > F x max(baseline, "
                        f"floor) (default {DEFAULT_GROWTH_FACTOR:g})")
    p.add_argument("--growth-floor", type=number, default=DEFAULT_FLOOR_FRACTION, metavar="P",
                   help="with --baseline: floor = P x the output's atol, so 0 -> tiny is not "
                        f"infinite growth (default {DEFAULT_FLOOR_FRACTION:g})")
    p.add_argument("--fail-on-missing", action="store_true",
                   help="with --baseline: fail when a baseline case did not run")
    p.add_argument("--plot", metavar="PATH",
                   help="write a PNG of error against timestep (needs numpy-rnn[plot])")
    p.add_argument("--schema", action="store_true",
                   help="print the JSON Schema of the --json report and exit")
    p.add_argument("--shard", metavar="K/N",
                   help="run only the K-th of N parts of the cases (round-robin over the "
                        "canonical order, 1 <= K <= N); join the JSON reports with numpy-rnn "
                        "merge-reports")
    p.add_argument("--jobs", type=int_at_least(1), default=1, metavar="N",
                   help="run cases in N worker processes, Keras loaded once per worker "
                        "(default 1: in this process, unless the reference runs on another "
                        "backend than this process's: then in one worker)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="print every report in full")
    p.set_defaults(func=cmd_parity)
