"""README.md, run as a reader runs it: every Python block and the port / check / predict commands,
in order, in one fresh directory; the CI gate recipe on a few of its cases.

The rules (one fresh namespace per Python block, NumPy-only blocks in a child where TensorFlow
cannot be imported, files carried from block to block) are in ``tests/unit/test_readme_blocks.py``,
which also checks every block's syntax and every ``numpy-rnn`` flag without TensorFlow.  Not run
here: the set-up commands (venv + pip, checked by ``tests/unit/test_readme_commands.py``) and the
benchmark block (minutes of timing runs).  The training block runs as written (12 epochs: about
10 s on 2 cores, TensorFlow's import included).
"""
from __future__ import annotations

import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")

from tests.unit.test_readme_blocks import (  # noqa: E402
    ROOT, Block, expected_prints, needs_keras, readme_blocks, run_python_block, shell_commands,
)

#: numpy-rnn subcommands of the port walkthrough, run for real in the in-order sequence.
WALKTHROUGH = {"port", "check", "predict"}


def _bash_prelude(parity_extra: str = "") -> str:
    """``numpy-rnn`` runs this tree's CLI with this interpreter; ``pip`` is not run (the unit tier
    checks the README's install lines)."""
    return (
        f'numpy-rnn() {{ if [ "$1" = parity ]; then {shlex.quote(sys.executable)} -m parity.cli "$@" '
        f'{parity_extra}; else {shlex.quote(sys.executable)} -m parity.cli "$@"; fi; }}\n'
        'pip() { echo "(pip $* is not run by this test)"; }\n'
    )


def run_bash_block(block: Block, cwd: pathlib.Path, parity_extra: str = "",
                   timeout: float = 300) -> subprocess.CompletedProcess:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    script = cwd / f"readme_block_{block.index}.sh"
    script.write_text(_bash_prelude(parity_extra) + block.code, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([bash, "-e", str(script)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _is_walkthrough(block: Block) -> bool:
    cmds = shell_commands(block.code)
    return bool(cmds) and all(c[0] == "numpy-rnn" and c[1] in WALKTHROUGH for c in cmds)


def _exec_keras_block(block: Block, monkeypatch, cwd: pathlib.Path) -> None:
    """A TensorFlow block in this process (TensorFlow is already imported: saves its start-up),
    in a fresh namespace, with ``cwd`` as the working directory."""
    if "tf_keras" in block.code:
        pytest.importorskip("tf_keras")
    monkeypatch.chdir(cwd)
    namespace = {"__name__": "__main__"}
    exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102 - README's own code


def test_readme_runs_in_order(tmp_path, monkeypatch):
    blocks = readme_blocks()
    ran = []
    for b in blocks:
        if b.lang == "python" and needs_keras(b):
            _exec_keras_block(b, monkeypatch, tmp_path)
        elif b.lang == "python":
            proc = run_python_block(b, tmp_path)
            assert proc.returncode == 0, f"{b.where} failed without TensorFlow:\n{proc.stdout}\n{proc.stderr}"
            for expected in expected_prints(b.code):
                assert expected in proc.stdout, (b.where, expected, proc.stdout)
        elif b.lang == "bash" and _is_walkthrough(b):
            proc = run_bash_block(b, tmp_path)
            assert proc.returncode == 0, f"{b.where} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        else:
            continue
        ran.append(b)
    assert sum(b.lang == "python" for b in ran) == sum(b.lang == "python" for b in blocks)
    assert any(b.lang == "bash" for b in ran), "the port / check / predict block did not run"
    for name in ("next_word.keras", "tokenizer.json", "next_word.npz"):
        assert (tmp_path / name).is_file(), name


def test_ci_gate_recipe(tmp_path):
    """The CI block as written (pip aside), on three of its random cases: the baseline it records
    covers every case the gate then runs, so none is "new" and none is missing."""
    pytest.importorskip("matplotlib")  # --plot; the block installs the [plot] extra
    block = next(b for b in readme_blocks() if b.lang == "bash" and "--save-baseline" in b.code)
    proc = run_bash_block(block, tmp_path, parity_extra="--only 'random/lstm-00[0-2]*'")
    assert proc.returncode == 0, f"{block.where} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    report = json.loads((tmp_path / "parity.json").read_text(encoding="utf-8"))
    assert report["n_cases"] == 3, report["n_cases"]
    assert report["baseline"]["new_cases"] == [], report["baseline"]
    assert report["baseline"]["missing_cases"] == [], report["baseline"]
    for name in ("parity.xml", "parity.png"):
        assert (tmp_path / name).is_file(), name
