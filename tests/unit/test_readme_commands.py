"""README.md must hold the two set-up commands, and .ci/run must run exactly its test command."""
from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [line.strip() for line in re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S)
            for line in line.splitlines() if line.strip().startswith("python3 -m venv")]


def test_readme_has_main_job_and_test_commands():
    cmds = _readme_commands()
    assert any(c.endswith("numpy-rnn parity") for c in cmds), cmds
    assert any("pytest" in c for c in cmds), cmds


def test_ci_runs_the_readme_test_command_verbatim():
    test_cmd = next(c for c in _readme_commands() if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd in ci.splitlines(), (test_cmd, ci)
    assert "-eq 5" in ci  # "no tests collected" must fail CI


def test_ci_runs_the_unit_tests_again_under_another_blas_kernel():
    """Issue 21: bits that depend on the BLAS/LAPACK kernel fail CI at home, not on a user's CPU."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    second = [line for line in ci.splitlines()
              if re.search(r"OPENBLAS_CORETYPE=\$\w+ .*python -m pytest .*tests/unit$", line)]
    assert second, ci
    assert ci.count("-eq 5") >= 2  # "no tests collected" fails the second run too
    assert "OPENBLAS_CORETYPE" in (ROOT / "README.md").read_text(encoding="utf-8")
