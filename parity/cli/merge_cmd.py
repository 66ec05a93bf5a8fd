"""``numpy-rnn merge-reports OUT.json IN.json...``: join the JSON reports of ``numpy-rnn parity
--shard K/N`` runs into one report (the same schema as an unsharded run's, cases in the canonical
order), optionally JUnit and a baseline check, and exit like the gate: 0 all pass, 1 any case
failed, crashed or regressed (or a shard is missing under ``--allow-partial``), 2 a usage error
(one line naming the file).  See docs/ci-gate.md and ``parity.gate.merge``.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Any

from .. import gate
from ..gate.baseline import (DEFAULT_FLOOR_FRACTION, DEFAULT_GROWTH_FACTOR, BaselineError,
                             load_baseline, make_baseline, save_baseline)
from ..gate.junit import write_junit
from ..gate.merge import MergeError, load_shard_report, merge_reports, rebaseline
from .common import EXIT_FAIL, EXIT_OK, number, output_path_problem, usage_error

__all__ = ["add_merge_command", "cmd_merge_reports"]


def _error(message: str) -> int:
    return usage_error("merge-reports", message)


def _check_paths(args: argparse.Namespace) -> None:
    for flag, path in (("OUT", args.out), ("--junit", args.junit),
                       ("--save-baseline", args.save_baseline)):
        if path is None:
            continue
        problem = output_path_problem(flag, path)
        if problem is not None:
            raise MergeError(problem)
        if os.path.exists(path) and any(os.path.exists(p) and os.path.samefile(path, p)
                                        for p in args.inputs):
            raise MergeError(f"{flag} {path}: is also an input; the merged report needs a path "
                             "of its own (numpy-rnn merge-reports OUT.json IN.json...)")
    if not args.growth_factor > 1.0:
        raise MergeError(f"--growth-factor: expected a number > 1, received {args.growth_factor}")
    if not args.growth_floor >= 0.0:
        raise MergeError(f"--growth-floor: expected a number >= 0, received {args.growth_floor}")


def cmd_merge_reports(args: argparse.Namespace) -> int:
    try:
        _check_paths(args)
        base = None
        if args.baseline is not None:
            try:
                base = load_baseline(args.baseline)
            except BaselineError as exc:
                raise MergeError(str(exc)) from None
        merged = merge_reports([(p, load_shard_report(p)) for p in args.inputs],
                               allow_partial=args.allow_partial)
        settings = merged.settings
        if base is not None:
            for field in ("seed", "reference"):
                if base[field] != settings[field]:
                    raise MergeError(f"--baseline {args.baseline}: taken with --{field} "
                                     f"{base[field]}, the shards ran with --{field} "
                                     f"{settings[field]}; the figures are not comparable")
    except MergeError as exc:
        return _error(str(exc))

    comparison = None
    if base is not None:
        comparison = rebaseline(merged, base, path=args.baseline,
                                growth_factor=args.growth_factor,
                                floor_fraction=args.growth_floor)
        if args.fail_on_missing:
            merged.failures = [f"missing from this run (--fail-on-missing): {name}"
                               for name in comparison.missing_cases]
    failures = list(merged.failures) + [
        f"shard {k}/{merged.count} missing (--allow-partial): its cases did not run"
        for k in merged.missing_shards]
    outcomes = merged.outcomes

    n = gate.counts(outcomes)
    failed = sum(n[s] for s in gate.FAILING)
    sweep = settings["sweep"]
    print(f"numpy-rnn merge-reports: {len(args.inputs)} of {merged.count} shard(s), "
          f"{len(outcomes)} of {sweep['cases']} cases, seed {settings['seed']}, reference "
          f"{settings['reference']}" + (f", only {settings['only']!r}" if settings["only"] else ""))
    for o in outcomes:
        if o.status != "pass" or args.verbose:
            print(f"  {o.status:<9} {o.case}")
            if o.error:
                print(f"            {o.error}")
            if o.status == "REGRESSED" and o.baseline:
                print(f"            {o.baseline['message']}")
    detail = ", ".join(f"{n[s]} {label}" for s, label in
                       (("FAIL", "out of tolerance"), ("ERROR", "crashed"),
                        ("REGRESSED", "regressed")) if n[s])
    print(f"{n['pass']} passed, {failed} failed" + (f" ({detail})" if detail else "")
          + (f", {n['skip']} skipped" if n["skip"] else "")
          + f" in {merged.seconds:.1f}s over {len(merged.merged_from)} shard(s)")
    if comparison is not None:
        for line in comparison.summary_lines():
            print(line)
    for line in failures:
        print(line)
    failed_names = [o.case for o in outcomes if o.failed]
    if failed_names:
        print("failed: " + "; ".join(failed_names))

    payload = gate.build_report(
        outcomes, seed=settings["seed"], examples=settings["examples"],
        reference=settings["reference"], only=settings["only"], seconds=merged.seconds,
        versions_=settings["versions"], extra_failures=failures,
        baseline=comparison.to_dict() if comparison is not None else merged.baseline,
        sweep=sweep, shard=None, merged_from=merged.merged_from)
    try:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, allow_nan=False)
            fh.write("\n")
        print(f"merged report: {args.out}")
        if args.junit:
            props = {"seed": settings["seed"], "examples": settings["examples"],
                     "reference": settings["reference"], "shards": merged.count,
                     **{f"version.{k}": v for k, v in settings["versions"].items()}}
            write_junit(args.junit, outcomes, properties=props)
            print(f"junit report: {args.junit}")
        if args.save_baseline:
            save_baseline(args.save_baseline, make_baseline(
                outcomes, seed=settings["seed"], examples=settings["examples"],
                reference=settings["reference"], versions=settings["versions"]))
            print(f"baseline saved: {args.save_baseline}")
    except OSError as exc:
        return _error(f"cannot write an output file: {exc}")
    return EXIT_FAIL if failed or failures else EXIT_OK


def add_merge_command(sub: Any) -> None:
    """Add ``merge-reports`` to the ``numpy-rnn`` sub-command parser."""
    p = sub.add_parser("merge-reports", help="join the JSON reports of parity --shard runs",
                       description="Join the --json reports of `numpy-rnn parity --shard K/N` "
                                   "runs into one report (cases in the canonical order); exit 0 "
                                   "when every case passed, 1 when any failed, crashed or "
                                   "regressed, 2 on a usage error.  See docs/ci-gate.md.")
    p.add_argument("out", metavar="OUT.json", help="the merged report to write")
    p.add_argument("inputs", metavar="IN.json", nargs="+", help="the shards' --json reports")
    p.add_argument("--junit", metavar="PATH", help="also write the merged JUnit XML")
    p.add_argument("--save-baseline", metavar="PATH",
                   help="record the merged cases' error figures as a baseline")
    p.add_argument("--baseline", metavar="PATH",
                   help="judge the merged cases against this baseline, as an unsharded run")
    p.add_argument("--growth-factor", type=number, default=DEFAULT_GROWTH_FACTOR, metavar="F",
                   help=f"with --baseline (default {DEFAULT_GROWTH_FACTOR:g})")
    p.add_argument("--growth-floor", type=number, default=DEFAULT_FLOOR_FRACTION, metavar="P",
                   help=f"with --baseline (default {DEFAULT_FLOOR_FRACTION:g})")
    p.add_argument("--fail-on-missing", action="store_true",
                   help="with --baseline: fail when a baseline case did not run")
    p.add_argument("--allow-partial", action="store_true",
                   help="merge even when shards are missing (they are named, and the gate fails)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every case")
    p.set_defaults(func=cmd_merge_reports)
