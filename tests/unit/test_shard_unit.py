"""Sharding, merging and worker processes without TensorFlow: the partition's properties, the
``--shard`` / ``--jobs`` flags, ``merge-reports`` on synthetic shard reports (order, verdict,
refusals naming the file, missing shards, the baseline on the merged report, JUnit) and
``--jobs`` on toy cases in spawned workers (rows equal to a serial run, a dying worker is an ERROR
row).  Teeth: a partition that duplicates a case and a merge that drops one are planted and must
be caught."""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from parity import cli, gate
from parity.cases import Case
from parity.gate import baseline as bl
from parity.gate import catalog, jobs, merge, shard
from parity.report import ParityReport, compare_outputs

from tests.helpers import check_junit_structure

VERSIONS = {"python": "3.11.7", "numpy": "2.4.6", "numpy_rnn": "0.1.0", "tensorflow": "2.21.0",
            "keras": "3.15.1", "tf_keras": "2.21.0"}


# -- the partition --------------------------------------------------------------------------------
def check_partition(names: list[str], n: int) -> list[list[str]]:
    """Every property a sharding of ``names`` into ``n`` must have; returns the shards."""
    parts = [shard.select_shard(names, k, n) for k in range(1, n + 1)]
    flat = [x for p in parts for x in p]
    assert len(flat) == len(set(flat)), "a case is in two shards"
    assert sorted(flat) == sorted(names), "the shards together are not the sweep"
    assert max(map(len, parts)) - min(map(len, parts)) <= 1, [len(p) for p in parts]
    assert parts == [shard.select_shard(names, k, n) for k in range(1, n + 1)], "not deterministic"
    for p in parts:  # each shard keeps the canonical order
        assert p == sorted(p, key=names.index)
    return parts


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 200])
def test_partition_of_the_real_sweep(n):
    names = [c.name for c in catalog.sweep_cases(0, 10, "keras", None)]
    parts = check_partition(names, n)
    # round-robin, stated by hand: shard k holds positions k-1, k-1+n, ...
    assert parts[0][:2] == names[0:2 * n:n][:2]


@pytest.mark.parametrize("total", [0, 1, 5, 8, 13])
def test_partition_of_small_lists(total):
    names = [f"c{i}" for i in range(total)]
    for n in range(1, 10):
        check_partition(names, n)
    assert shard.shard_positions(5, 2, 4) == [1]
    assert shard.shard_positions(9, 1, 4) == [0, 4, 8]


def test_teeth_a_duplicating_partition_fails(monkeypatch):
    real = shard.shard_positions
    monkeypatch.setattr(shard, "shard_positions",
                        lambda total, k, n: real(total, k, n) + ([0] if k == n and total else []))
    with pytest.raises(AssertionError, match="two shards"):
        check_partition([f"c{i}" for i in range(10)], 4)


def test_teeth_a_dropping_partition_fails(monkeypatch):
    real = shard.shard_positions
    monkeypatch.setattr(shard, "shard_positions", lambda total, k, n: real(total, k, n)[:-1])
    with pytest.raises(AssertionError, match="not the sweep"):
        check_partition([f"c{i}" for i in range(10)], 4)


@pytest.mark.parametrize("bad", ["0/4", "5/4", "a/b", "3", "1/0", "", "2/-4", "1.5/4", "1/4/2"])
def test_bad_shard_is_a_value_error(bad):
    with pytest.raises(ValueError, match=r"--shard: expected K/N"):
        shard.parse_shard(bad)


def test_good_shards_parse():
    assert shard.parse_shard("1/1") == (1, 1)
    assert shard.parse_shard("3/4") == (3, 4)
    assert shard.parse_shard(" 2 / 10 ") == (2, 10)


@pytest.mark.parametrize("bad", ["0/4", "5/4", "a/b", "3"])
def test_cli_bad_shard_exits_2_with_one_line(bad, capsys):
    assert cli.main(["parity", "--list", "--shard", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("numpy-rnn parity: error: --shard"), err


def test_cli_bad_jobs_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["parity", "--list", "--jobs", "0"])
    assert exc.value.code == 2
    assert "--jobs" in capsys.readouterr().err


def test_cli_list_shard_lists_that_shard(capsys):
    assert cli.main(["parity", "--list", "--examples", "5"]) == 0
    full = capsys.readouterr().out.splitlines()
    got = []
    for k in (1, 2, 3, 4):
        assert cli.main(["parity", "--list", "--examples", "5", "--shard", f"{k}/4"]) == 0
        part = capsys.readouterr().out.splitlines()
        assert part == full[k - 1::4]
        got += part
    assert sorted(got) == sorted(full)


def test_case_names_are_unique_and_stable():
    for reference in ("keras", "tf_keras"):
        a = [c.name for c in catalog.sweep_cases(0, 60, reference, None)]
        assert len(a) == len(set(a)), "duplicate case names"
        assert a == [c.name for c in catalog.sweep_cases(0, 60, reference, None)]
        # the random cases' parameters depend on (seed, index) only
        p1 = [c.params for c in catalog.sweep_cases(3, 60, reference, "random")]
        p2 = [c.params for c in catalog.sweep_cases(3, 20, reference, "random")]
        assert p1[:20] == p2
        assert shard.sweep_info(a)["fingerprint"] == shard.fingerprint(a)
    with pytest.raises(ValueError, match="repeated"):
        shard.sweep_info(["a", "b", "a"])


def test_fingerprint_sees_order_and_names():
    assert shard.fingerprint(["a", "b"]) != shard.fingerprint(["b", "a"])
    assert shard.fingerprint(["a", "b"]) != shard.fingerprint(["a", "b", "c"])
    assert shard.fingerprint(["ab"]) != shard.fingerprint(["a", "b"])


# -- merging synthetic shard reports ---------------------------------------------------------------
def seq_report(name: str, err: float) -> ParityReport:
    expected = np.zeros((2, 4, 3))
    actual = expected.copy()
    actual[0, :, 0] += err
    return compare_outputs(name, actual.astype(np.float32), expected.astype(np.float32),
                           ["output"])


def fake_case(name: str, err: float | None = None, exc: Exception | None = None,
              group: str = "core") -> Case:
    def run():
        if exc is not None:
            raise exc
        return seq_report(name, err)
    return Case(name, run, group)


def sweep(errors: dict[str, float | None]) -> list[gate.Outcome]:
    """Outcomes of a synthetic sweep: a figure per case (None: the case crashes)."""
    return gate.run_cases([fake_case(n, e, RuntimeError("boom") if e is None else None,
                                     group=n.split("/")[0]) for n, e in errors.items()])


ERRORS = {f"g{i % 3}/case-{i:02d}": 1e-8 * (i + 1) for i in range(11)}


def payload(outcomes, shard_kn=None, **kw) -> dict:
    names = kw.pop("names", [o.case for o in outcomes])
    args = dict(seed=0, examples=3, reference="keras", only=None, seconds=1.5,
                versions_=VERSIONS, sweep=shard.sweep_info(names), shard=shard_kn)
    args.update(kw)
    return json.loads(json.dumps(gate.build_report(outcomes, **args)))


def write_shards(tmp_path, outcomes, n, **kw) -> list[str]:
    paths = []
    names = [o.case for o in outcomes]
    for k in range(1, n + 1):
        p = tmp_path / f"parity-{k}.json"
        p.write_text(json.dumps(payload(shard.select_shard(outcomes, k, n), (k, n),
                                        names=names, **kw)), encoding="utf-8")
        paths.append(str(p))
    return paths


def rows(report: dict) -> list[tuple]:
    return [(c["case"], c["status"], json.dumps(c["report"], sort_keys=True)) for c in
            report["cases"]]


def merge_cli(capsys, out, *paths, extra=()) -> tuple[int, str, str]:
    code = cli.main(["merge-reports", str(out), *paths, *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def check_merged_equals_unsharded(merged: dict, unsharded: dict) -> None:
    """What "four shards merged == one unsharded run" means for a report."""
    assert [c["case"] for c in merged["cases"]] == [c["case"] for c in unsharded["cases"]]
    assert rows(merged) == rows(unsharded)
    for key in ("passed", "n_cases", "n_passed", "n_failed", "n_errors", "n_regressed",
                "n_skipped", "sweep", "seed", "examples", "reference", "only", "versions"):
        assert merged[key] == unsharded[key], key


@pytest.mark.parametrize("n", [1, 3, 4])
def test_merge_gives_the_unsharded_report(tmp_path, capsys, n):
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, n)
    code, out, err = merge_cli(capsys, tmp_path / "merged.json", *reversed(paths))
    assert code == 0, err
    merged = json.loads((tmp_path / "merged.json").read_text(encoding="utf-8"))
    assert gate.validate(merged) == []
    check_merged_equals_unsharded(merged, payload(outcomes))
    assert merged["shard"] is None
    assert [m["shard"]["index"] for m in merged["merged_from"]] == list(range(1, n + 1))
    assert f"{len(ERRORS)} passed, 0 failed" in out


def test_teeth_a_merge_that_drops_a_case_fails(tmp_path, monkeypatch):
    """Plant a merge that files shard 2's rows where shard 1's go (shards 1 and 2 are the same
    size, so every count still matches): shard 1's cases are lost.  The merge's fingerprint
    check refuses it; with that check switched off as well, the equality the tests use fails."""
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, 4)
    reports = [(p, merge.load_shard_report(p)) for p in paths]
    real = merge.shard_positions
    monkeypatch.setattr(merge, "shard_positions",
                        lambda total, k, n: real(total, 1 if k == 2 else k, n))
    with pytest.raises(merge.MergeError, match="fingerprint"):
        merge.merge_reports(reports)
    monkeypatch.setattr(merge, "fingerprint", lambda names: reports[0][1]["sweep"]["fingerprint"])
    merged = merge.merge_reports(reports)
    assert len(merged.outcomes) < len(ERRORS)
    bad = payload(merged.outcomes, names=[o.case for o in outcomes])
    with pytest.raises(AssertionError):
        check_merged_equals_unsharded(bad, payload(outcomes))


def test_merge_verdict_fail_and_error_exit_1(tmp_path, capsys):
    errors = dict(ERRORS)
    errors["g1/case-04"] = 5e-3      # out of tolerance
    errors["g2/case-08"] = None      # crashes
    outcomes = sweep(errors)
    paths = write_shards(tmp_path, outcomes, 4)
    code, out, _ = merge_cli(capsys, tmp_path / "m.json", *paths,
                             extra=["--junit", str(tmp_path / "m.xml")])
    assert code == 1
    merged = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    check_merged_equals_unsharded(merged, payload(outcomes))
    assert merged["passed"] is False and merged["n_failed"] == 2 and merged["n_errors"] == 1
    assert "FAIL      g1/case-04" in out and "ERROR     g2/case-08" in out
    cases = check_junit_structure(ET.parse(tmp_path / "m.xml").getroot())
    assert set(cases) == set(errors)
    assert cases["g1/case-04"].find("failure") is not None
    assert cases["g2/case-08"].find("error") is not None


@pytest.mark.parametrize("field,value", [("seed", 1), ("examples", 4), ("reference", "tf_keras"),
                                         ("only", "g1"), ("versions", {**VERSIONS,
                                                                       "tensorflow": "2.20.0"})])
def test_merge_refuses_another_sweep_naming_the_file(tmp_path, capsys, field, value):
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, 4)
    data = json.loads(open(paths[2], encoding="utf-8").read())
    data[field] = value
    open(paths[2], "w", encoding="utf-8").write(json.dumps(data))
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *paths)
    assert code == 2
    assert err.count("\n") == 1 and paths[2] in err and field in err, err
    assert not (tmp_path / "m.json").exists()


def test_merge_refuses_another_case_list(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours = write_shards(tmp_path / "a", sweep(ERRORS), 4)
    theirs = write_shards(tmp_path / "b", sweep({**ERRORS, "g0/extra": 1e-8}), 4)
    code, _, err = merge_cli(capsys, tmp_path / "m.json", ours[0], *theirs[1:])
    assert code == 2 and "sweep" in err and theirs[1] in err, err


def test_merge_refuses_duplicates_overlaps_and_missing(tmp_path, capsys):
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, 4)
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *paths, paths[1])
    assert code == 2 and "shard 2/4 given twice" in err, err
    code, _, err = merge_cli(capsys, tmp_path / "m.json", paths[0], paths[2])
    assert code == 2 and "shard(s) 2, 4 of 4 missing" in err, err
    # a case in two files: shard 3 claims one of shard 1's cases
    data = json.loads(open(paths[2], encoding="utf-8").read())
    data["cases"][0] = json.loads(open(paths[0], encoding="utf-8").read())["cases"][0]
    open(paths[2], "w", encoding="utf-8").write(json.dumps(data))
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *paths)
    assert code == 2 and paths[2] in err and "is also in" in err and paths[0] in err, err


def test_merge_refuses_a_truncated_shard_and_a_renamed_case(tmp_path, capsys):
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, 4)
    data = json.loads(open(paths[1], encoding="utf-8").read())
    data["cases"] = data["cases"][:-1]
    open(paths[1], "w", encoding="utf-8").write(json.dumps(data))
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *paths)
    assert code == 2 and paths[1] in err and "holds" in err, err
    paths = write_shards(tmp_path, outcomes, 4)
    data = json.loads(open(paths[1], encoding="utf-8").read())
    data["cases"][0]["case"] = "g9/renamed"
    open(paths[1], "w", encoding="utf-8").write(json.dumps(data))
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *paths)
    assert code == 2 and "fingerprint" in err, err


def test_merge_refuses_bad_files_naming_them(tmp_path, capsys):
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, 2)
    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    code, _, err = merge_cli(capsys, tmp_path / "m.json", paths[0], str(junk))
    assert code == 2 and str(junk) in err and "not valid JSON" in err, err
    unsharded = tmp_path / "full.json"
    unsharded.write_text(json.dumps(payload(outcomes)), encoding="utf-8")
    code, _, err = merge_cli(capsys, tmp_path / "m.json", str(unsharded))
    assert code == 2 and "not a shard report" in err, err
    invalid = tmp_path / "invalid.json"
    data = json.loads(open(paths[1], encoding="utf-8").read())
    data["cases"][0]["status"] = "maybe"
    invalid.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = merge_cli(capsys, tmp_path / "m.json", paths[0], str(invalid))
    assert code == 2 and str(invalid) in err and "not a valid" in err, err
    code, _, err = merge_cli(capsys, paths[0], paths[0], paths[1])  # forgot OUT
    assert code == 2 and "is also an input" in err, err
    assert err.count("\n") == 1


def test_allow_partial_merges_and_fails(tmp_path, capsys):
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, 4)
    code, out, _ = merge_cli(capsys, tmp_path / "m.json", paths[0], paths[3],
                             extra=["--allow-partial"])
    assert code == 1
    assert "shard 2/4 missing" in out and "shard 3/4 missing" in out
    merged = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert [c["case"] for c in merged["cases"]] == [
        n for i, n in enumerate(ERRORS) if i % 4 in (0, 3)]
    assert merged["passed"] is False and len(merged["failures"]) == 2


def test_baseline_on_the_merged_report_is_the_unsharded_one(tmp_path, capsys):
    """The same baseline judged on four merged shards and on the whole run in one piece
    (``compare_to_baseline``): the same statuses, regressions, new and missing cases."""
    before = sweep(ERRORS)
    base = bl.make_baseline(before, seed=0, examples=3, reference="keras", versions=VERSIONS)
    base["cases"]["g0/gone"] = {"group": "g0", "status": "pass", "outputs": {}}
    base_path = tmp_path / "base.json"
    bl.save_baseline(str(base_path), base)
    grown = dict(ERRORS)
    grown["g1/case-07"] = ERRORS["g1/case-07"] * 10       # inside tolerance, 10x the baseline
    del grown["g2/case-02"]
    grown["g2/new"] = 1e-8
    now = sweep(grown)
    paths = write_shards(tmp_path, now, 4)
    code, out, _ = merge_cli(capsys, tmp_path / "m.json", *paths,
                             extra=["--baseline", str(base_path)])
    assert code == 1, out
    merged = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    direct = sweep(grown)
    comparison = bl.compare_to_baseline(bl.load_baseline(str(base_path)), direct,
                                        path=str(base_path), versions=VERSIONS)
    assert [(c["case"], c["status"]) for c in merged["cases"]] == [
        (o.case, o.status) for o in direct]
    assert merged["baseline"]["regressions"] == comparison.regressions == ["g1/case-07"]
    assert merged["baseline"]["new_cases"] == comparison.new_cases == ["g2/new"]
    assert merged["baseline"]["missing_cases"] == comparison.missing_cases
    assert set(comparison.missing_cases) == {"g2/case-02", "g0/gone"}
    assert "REGRESSED g1/case-07" in out
    # --fail-on-missing fails on the merged run's missing cases only
    code, out, _ = merge_cli(capsys, tmp_path / "m2.json", *write_shards(tmp_path, sweep(
        {k: v for k, v in ERRORS.items()}), 4), extra=["--baseline", str(base_path),
                                                       "--fail-on-missing"])
    assert code == 1 and "missing from this run (--fail-on-missing): g0/gone" in out
    code, out, _ = merge_cli(capsys, tmp_path / "m3.json", *write_shards(tmp_path, sweep(ERRORS),
                                                                         4),
                             extra=["--baseline", str(base_path)])
    assert code == 0, out


def test_shards_judged_by_their_own_baseline_merge_into_one_comparison(tmp_path, capsys):
    outcomes = sweep(ERRORS)
    base = bl.make_baseline(outcomes, seed=0, examples=3, reference="keras", versions=VERSIONS)
    base["cases"]["g0/gone"] = {"group": "g0", "status": "pass", "outputs": {}}
    names = [o.case for o in outcomes]
    paths = []
    for k in range(1, 5):
        part = sweep({n: ERRORS[n] for n in shard.select_shard(names, k, 4)})
        comp = bl.compare_to_baseline(base, part, path="base.json", versions=VERSIONS)
        comp.missing_cases = [m for m in comp.missing_cases if m not in names]  # as parity does
        p = tmp_path / f"s{k}.json"
        p.write_text(json.dumps(payload(part, (k, 4), names=names, baseline=comp.to_dict())),
                     encoding="utf-8")
        paths.append(str(p))
    code, out, _ = merge_cli(capsys, tmp_path / "m.json", *paths)
    assert code == 0, out
    merged = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert merged["baseline"]["missing_cases"] == ["g0/gone"]
    assert merged["baseline"]["new_cases"] == [] and merged["baseline"]["regressions"] == []
    # one shard without its baseline: refused
    data = json.loads(open(paths[1], encoding="utf-8").read())
    data["baseline"] = None
    open(paths[1], "w", encoding="utf-8").write(json.dumps(data))
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *paths)
    assert code == 2 and "without --baseline" in err, err


# -- worker processes ------------------------------------------------------------------------------
def toy_cases(seed: int, crash: str | None) -> list[Case]:
    """Cases built in every worker from (seed, crash): figures from their own seeded generator;
    ``crash`` names one that kills its process."""
    def make(i: int) -> Case:
        name = f"toy/{i:02d}"

        def run() -> ParityReport:
            if name == crash:
                os._exit(3)
            rng = np.random.default_rng([seed, i])
            x = rng.normal(size=(3, 5)).astype(np.float32)
            return compare_outputs(name, x + np.float32(1e-7) * rng.normal(size=x.shape).astype(
                np.float32), x, ["output"])
        return Case(name, run, "toy")
    return [make(i) for i in range(7)]


def test_jobs_rows_equal_the_serial_rows_and_come_in_order():
    cases = toy_cases(5, None)
    serial = [shard.outcome_row(o) for o in gate.run_cases(cases)]
    seen = []
    parallel = jobs.run_parallel(cases[1:], list(range(1, 7)), 2, toy_cases, (5, None),
                                 tensorflow=False, on_done=lambda i, o: seen.append(i))
    assert seen == list(range(6))
    got = [shard.outcome_row(o) for o in parallel]
    for a, b in zip(got, serial[1:]):
        a.pop("seconds"), b.pop("seconds")
        assert a == b


def test_a_dying_worker_is_an_error_row_not_a_hang():
    cases = toy_cases(5, "toy/03")
    out = jobs.run_parallel(cases, list(range(7)), 2, toy_cases, (5, "toy/03"), tensorflow=False)
    assert [o.case for o in out] == [c.name for c in cases]
    assert [o.status for o in out] == ["pass"] * 3 + ["ERROR"] + ["pass"] * 3
    assert out[3].error.startswith("WorkerDied")


def test_a_worker_with_another_case_list_is_an_error_row():
    cases = toy_cases(5, None)
    out = jobs.run_parallel(cases[:2], [1, 0], 1, toy_cases, (5, None), tensorflow=False)
    assert all(o.status == "ERROR" and "case list differs" in o.error for o in out)



def test_merge_can_record_the_baseline_of_the_whole_sweep(tmp_path, capsys):
    outcomes = sweep(ERRORS)
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *write_shards(tmp_path, outcomes, 3),
                             extra=["--save-baseline", str(tmp_path / "b.json")])
    assert code == 0, err
    saved = bl.load_baseline(str(tmp_path / "b.json"))
    direct = bl.make_baseline(outcomes, seed=0, examples=3, reference="keras", versions=VERSIONS)
    assert saved["cases"] == json.loads(json.dumps(direct["cases"]))


@pytest.mark.parametrize("tamper", ["worst_far_outside", "n_bad", "output_failed",
                                    "report_failed", "nan_error"])
def test_merge_refuses_a_pass_its_own_figures_contradict(tmp_path, capsys, tamper):
    """A shard row saying "pass" is taken only when its figures agree (issue 21: a row 0.5
    from Keras with atol=1e-6 used to merge into a passing gate); exit 2 naming file and case."""
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, 2)
    data = json.loads(open(paths[1], encoding="utf-8").read())
    row = data["cases"][0]
    out = row["report"]["outputs"][0]
    if tamper == "worst_far_outside":
        out["actual_at_worst"] = out["expected_at_worst"] + 0.5
        out["max_abs_err"] = 0.5
    elif tamper == "n_bad":
        out["n_bad"] = 3
    elif tamper == "output_failed":
        out["passed"] = False
    elif tamper == "report_failed":
        row["report"]["passed"] = False
    else:
        out["max_abs_err"] = "nan"
    open(paths[1], "w", encoding="utf-8").write(json.dumps(data))
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *paths)
    assert code == 2, err
    assert paths[1] in err and row["case"] in err and "pass" in err, err
    assert not (tmp_path / "m.json").exists()


def test_a_refereed_pass_is_consistent_and_merges(tmp_path, capsys):
    """The float64 referee may pass a float32 row whose plain figures lie outside the table;
    its note says so, and such a row is not a contradiction."""
    outcomes = sweep(ERRORS)
    paths = write_shards(tmp_path, outcomes, 2)
    data = json.loads(open(paths[0], encoding="utf-8").read())
    out = data["cases"][0]["report"]["outputs"][0]
    out["actual_at_worst"] = out["expected_at_worst"] + 1e-3
    out["n_bad"] = 1
    out["note"] = "refereed by float64 Keras: max|numpy-exact|=1e-7 ..."
    open(paths[0], "w", encoding="utf-8").write(json.dumps(data))
    code, _, err = merge_cli(capsys, tmp_path / "m.json", *paths)
    assert code == 0, err


def test_a_baseline_pass_its_own_figures_contradict_is_refused(tmp_path, capsys):
    base = bl.make_baseline(sweep(ERRORS), seed=0, examples=3, reference="keras",
                            versions=VERSIONS)
    name = sorted(base["cases"])[0]
    path = tmp_path / "base.json"
    bl.save_baseline(str(path), base)
    assert bl.load_baseline(str(path))  # as written: consistent
    next(iter(base["cases"][name]["outputs"].values()))["n_bad"] = 2
    bl.save_baseline(str(path), base)
    with pytest.raises(bl.BaselineError, match=name):
        bl.load_baseline(str(path))


def test_jobs_beyond_the_cores_warns_and_caps(capsys, monkeypatch):
    """Issue 21: --jobs 2 on a busy 2-core machine took 2.3x the serial time; more workers than
    cores only compete, so they are capped at the cores, with a warning."""
    from parity.cli import parity_cmd

    monkeypatch.setattr(parity_cmd, "usable_cores", lambda: 1)
    code = cli.main(["parity", "--list", "--jobs", "3", "--only", "dense/*"])
    err = capsys.readouterr().err
    assert code == 0
    assert "--jobs 3 exceeds the 1 core(s)" in err and "running 1 worker" in err, err
    monkeypatch.setattr(parity_cmd, "usable_cores", lambda: 4)
    assert cli.main(["parity", "--list", "--jobs", "3", "--only", "dense/*"]) == 0
    assert "exceeds" not in capsys.readouterr().err
