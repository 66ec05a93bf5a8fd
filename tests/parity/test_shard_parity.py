"""``--shard`` / ``merge-reports`` / ``--jobs`` on a real sweep against tf.keras (a small
``--only`` selection with random examples): four shards merged give the unsharded run's report
(names, statuses, every figure, exit code), a baseline judges the merged report as it judges the
unsharded run, and ``--jobs 2`` gives the serial figures bit for bit.

The selection holds two stacked models whose gradient rows are named after their Keras layers
(``d lstm/kernel``): in a shard or a worker they run after other cases than in the whole sweep,
so this also checks that no case inherits state (Keras's layer-name counters, a global RNG) from
the cases run before it."""
from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

import json  # noqa: E402

from parity import cli, gate  # noqa: E402
from parity.gate import sweep  # noqa: E402

from tests.parity.test_readme_blocks import readme_blocks, run_bash_block  # noqa: E402

ONLY = ("lstm/default,lstm/return_sequences [keras->numpy],grad/dense/2-D activation=None,"
        "grad/models/stacked*,random")
COMMON = ["--only", ONLY, "--examples", "3", "--seed", "0"]


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def _load(path) -> dict:
    return json.loads(open(path, encoding="utf-8").read())


def _figures(report: dict) -> list[tuple]:
    """Every case's name, status and full per-output report (all figures), in order."""
    return [(c["case"], c["status"], json.dumps(c["report"], sort_keys=True))
            for c in report["cases"]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("shards")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", open(d / "log.txt", "w", encoding="utf-8"))
        out["full_code"] = cli.main(["parity", *COMMON, "--json", str(d / "full.json"),
                                     "--save-baseline", str(d / "base.json")])
        out["shard_codes"] = [cli.main(["parity", *COMMON, "--shard", f"{k}/4", "--json",
                                        str(d / f"parity-{k}.json")]) for k in (1, 2, 3, 4)]
    return d, out


def test_four_shards_merged_equal_one_unsharded_run(runs, capsys):
    d, out = runs
    assert out["full_code"] == 0 and out["shard_codes"] == [0, 0, 0, 0]
    full = _load(d / "full.json")
    assert full["n_cases"] == 9, [c["case"] for c in full["cases"]]
    code, text = _run(capsys, "merge-reports", str(d / "merged.json"),
                      *(str(d / f"parity-{k}.json") for k in (3, 1, 4, 2)),
                      "--junit", str(d / "merged.xml"))
    assert code == out["full_code"] == 0, text
    merged = _load(d / "merged.json")
    assert gate.validate(merged) == []
    assert _figures(merged) == _figures(full)
    for key in ("passed", "n_cases", "n_passed", "n_failed", "sweep", "versions"):
        assert merged[key] == full[key], key
    names = [c["case"] for c in full["cases"]]
    assert any(n.startswith("grad/models/") for n in names[1:])
    rows = {c["case"]: [o["name"] for o in c["report"]["outputs"]] for c in full["cases"]}
    for name in names:  # layer names are a fresh process's, whatever ran before
        if name.startswith("grad/models/"):
            assert "d lstm/kernel" in rows[name], rows[name]


def test_baseline_on_merged_shards_judges_like_the_unsharded_run(runs, capsys):
    d, _ = runs
    shards = [str(d / f"parity-{k}.json") for k in (1, 2, 3, 4)]
    code, text = _run(capsys, "merge-reports", str(d / "mb.json"), *shards,
                      "--baseline", str(d / "base.json"), "--fail-on-missing")
    assert code == 0, text
    merged = _load(d / "mb.json")
    assert merged["baseline"]["new_cases"] == [] and merged["baseline"]["missing_cases"] == []
    compared = [c["baseline"]["status"] for c in merged["cases"]]
    assert set(compared) == {"compared"}, compared
    # every output was matched by name: none "in common" is missing
    assert all(c["baseline"]["outputs"] for c in merged["cases"])


def test_shards_run_with_the_baseline_merge_to_the_same_verdict(runs, capsys, tmp_path):
    d, _ = runs
    code, text = _run(capsys, "parity", *COMMON, "--shard", "2/4", "--baseline",
                      str(d / "base.json"), "--fail-on-missing", "--json", str(tmp_path / "s.json"))
    assert code == 0, text  # the other shards' cases are not "missing"
    report = _load(tmp_path / "s.json")
    assert report["baseline"]["missing_cases"] == [] and report["failures"] == []
    assert report["shard"] == {"index": 2, "count": 4}


def test_jobs_2_equals_serial_bit_for_bit(runs, capsys, tmp_path):
    d, _ = runs
    code, text = _run(capsys, "parity", *COMMON, "--jobs", "2", "--json",
                      str(tmp_path / "j2.json"))
    assert code == 0, text
    assert "2 worker processes" in text
    assert _figures(_load(tmp_path / "j2.json")) == _figures(_load(d / "full.json"))


def test_teeth_without_a_fresh_keras_state_row_names_depend_on_what_ran_before(
        runs, capsys, tmp_path, monkeypatch):
    """Switch the per-case reset off: the stacked models' gradient rows take the layer names
    Keras's process-wide counters hand out (``d lstm_3/kernel``), so the test above would fail."""
    monkeypatch.setattr(sweep, "fresh_keras_state", lambda: None)
    code, text = _run(capsys, "parity", "--only", "grad/models/*", "--json",
                      str(tmp_path / "leak.json"))
    assert code == 0, text
    rows = [[o["name"] for o in c["report"]["outputs"]] for c in _load(tmp_path / "leak.json")["cases"]]
    assert not all("d lstm/kernel" in r for r in rows), rows


def test_readme_shard_block_runs_as_written(tmp_path):
    """README's sharding block, run by bash as written, on three of its random cases (shard 4/4
    is then empty, which must still run and merge)."""
    block = next(b for b in readme_blocks() if b.lang == "bash" and "merge-reports" in b.code)
    proc = run_bash_block(block, tmp_path, parity_extra="--only 'random/lstm-00[0-2]*'")
    assert proc.returncode == 0, f"{block.where} failed:\n{proc.stdout}\n{proc.stderr}"
    merged = _load(tmp_path / "parity-merged.json")
    assert merged["n_cases"] == 3 and merged["passed"], merged["n_cases"]
    assert [m["n_cases"] for m in merged["merged_from"]] == [1, 1, 1, 0]
    assert (tmp_path / "parity-merged.xml").is_file()
    assert "2 worker processes" in proc.stdout
