"""The default sweep's one refereed row, as README.md describes it: ``lstm/softsign/linear`` leaves
the float32 table and passes through the float64 referee, and the text output, the JSON report
and the plot all say so."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorflow")

from parity import cli  # noqa: E402
from parity.cases import all_cases  # noqa: E402
from parity.gate.plot import curve_label, sequence_curves  # noqa: E402
from parity.gate.sweep import run_cases  # noqa: E402

ROW = "lstm/softsign/linear [keras->numpy]"


def test_the_refereed_row_says_so_everywhere(tmp_path, capsys):
    report = tmp_path / "r.json"
    assert cli.main(["parity", "--only", "lstm/softsign*", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.startswith(ROW)]
    assert line.rstrip().endswith("pass  (refereed by float64 Keras)"), out
    assert "max|numpy-exact|" in out and "1 case(s) refereed by float64 Keras" in out, out
    (row,) = [c for c in json.loads(report.read_text())["cases"] if c["case"] == ROW]
    outs = row["report"]["outputs"]
    assert [o["refereed"] for o in outs] == [True] and outs[0]["passed"]
    assert outs[0]["n_bad"] > 0  # the float32 table alone would fail it
    assert outs[0]["max_abs_err"] < 1e-5  # README: 2.5e-6 on Keras 3.15.1 / TF 2.21


def test_the_plot_labels_it():
    case = next(c for c in all_cases() if c.name == ROW)
    (curve,) = sequence_curves(run_cases([case]))
    assert curve["refereed"] and "refereed by float64 Keras" in curve_label(curve)
