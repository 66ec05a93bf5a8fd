"""README.md's code blocks run as written, in order, on a machine with NumPy only where they say so.

How the blocks are run (the same rule here and in ``tests/parity/test_readme_blocks.py``):

* In README order, all in one fresh temporary directory, so a file an earlier block writes
  (``next_word.keras``, ``tokenizer.json``, ``next_word.npz``) is there for a later one.
* Every Python block gets its **own fresh namespace**: a reader jumps to a section and copies one
  block, so a block may not lean on variables of an earlier one (the "Proving it against Keras"
  block used to need the tour's ``inputs`` and ``lstm``).
* A Python block that imports neither ``tensorflow``, ``keras`` nor ``tf_keras`` is a NumPy-only
  block: it runs in a child process in which those imports (and h5py) raise ImportError, which
  proves it needs NumPy alone.  Here (the unit tier) the NumPy-only blocks run unless they read a
  file a TensorFlow block writes; ``tests/parity`` runs the whole sequence, bash blocks included.
* Bash blocks: every one must parse (``bash -n``), and every ``numpy-rnn`` command in the README
  (bash and the CI yaml sketch) must be accepted by the real argument parser, with every flag
  spelled exactly as the parser defines it (no abbreviation).  The set-up commands (the two venv
  lines) are checked by ``test_readme_commands.py``.
"""
from __future__ import annotations

import ast
import dataclasses
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: Modules whose import makes a Python block TensorFlow-dependent.
KERAS_MODULES = ("tensorflow", "keras", "tf_keras")

#: Prepended to a child process: these imports fail, as on a machine without them.
BLOCKER = textwrap.dedent(
    """
    import sys, importlib.abc
    class _Block(importlib.abc.MetaPathFinder):
        BLOCKED = {blocked!r}
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in self.BLOCKED:
                raise ImportError('blocked for this test: ' + name)
            return None
    sys.meta_path.insert(0, _Block())
    """
)

#: A file name as README blocks write them ("next_word.npz", "tokenizer.json" ...).
_FILE_NAME = re.compile(r"[\w.-]+\.(?:npz|keras|json|h5|txt|png|xml)")


@dataclasses.dataclass(frozen=True)
class Block:
    index: int      # position among all fenced blocks
    lang: str       # "python", "bash", "yaml", "" ...
    line: int       # README line of the opening fence
    code: str

    @property
    def where(self) -> str:
        return f"README.md block {self.index} ({self.lang}, line {self.line})"


def readme_blocks(path: pathlib.Path = README) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    blocks = []
    for i, m in enumerate(re.finditer(r"^```([\w-]*)\n(.*?)^```", text, re.S | re.M)):
        blocks.append(Block(i, m.group(1), text[:m.start()].count("\n") + 1, m.group(2)))
    return blocks


def imported_modules(code: str) -> set[str]:
    mods = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            mods.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module.split(".")[0])
    return mods


def needs_keras(block: Block) -> bool:
    return bool(imported_modules(block.code) & set(KERAS_MODULES))


def file_names(code: str) -> set[str]:
    """String constants in a Python block that name a file."""
    return {node.value for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and _FILE_NAME.fullmatch(node.value)}


def written_by_keras_blocks(blocks: list[Block], before: int) -> set[str]:
    """Files that TensorFlow-dependent blocks (Python, or bash running ``numpy-rnn port``) before
    position ``before`` name: a NumPy-only block reading one of them can only run after those."""
    names: set[str] = set()
    for b in blocks[:before]:
        if b.lang == "python" and needs_keras(b):
            names |= file_names(b.code)
        elif b.lang == "bash" and "numpy-rnn port" in b.code:
            names |= set(_FILE_NAME.findall(b.code))
    return names


def python_blocks() -> list[Block]:
    return [b for b in readme_blocks() if b.lang == "python"]


def run_python_block(block: Block, cwd: pathlib.Path, *, blocked: tuple = KERAS_MODULES + ("h5py",),
                     timeout: float = 300) -> subprocess.CompletedProcess:
    """Run one block as ``python block.py`` in ``cwd`` (fresh namespace), the listed imports blocked."""
    script = cwd / f"readme_block_{block.index}.py"
    script.write_text(block.code, encoding="utf-8")
    prelude = BLOCKER.format(blocked=set(blocked)) if blocked else ""
    code = prelude + f"import runpy\nrunpy.run_path({str(script)!r}, run_name='__main__')\n"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def expected_prints(code: str) -> list[str]:
    """``print(x)   # (907, 25, 50): ...`` -> ["(907, 25, 50)"]: what the README says it prints."""
    return re.findall(r"^\s*print\(.*\)\s*#\s*(\([\d, ]+\))", code, re.M)


# -- shell commands -----------------------------------------------------------------------------
def shell_commands(code: str) -> list[list[str]]:
    """Split a bash block into simple commands (argv lists), continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", code)
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        cmd: list[str] = []
        for word in words + ["&&"]:
            if word in ("&&", "||", ";", "|"):
                if cmd:
                    commands.append(cmd)
                cmd = []
            else:
                cmd.append(word)
    return commands


def _matrix_sample(code: str, expr: str) -> str:
    """A sample value for ``${{ expr }}``: the first value the matrix gives ``matrix.KEY``
    (``KEY: value`` or ``KEY: [value, ...]``), else ``2.21``."""
    key = expr.strip().removeprefix("matrix.")
    m = re.search(rf"\b{re.escape(key)}:\s*\[?\s*\"?([^,\]}}\"\s]+)", code)
    return m.group(1) if m else "2.21"


def yaml_run_commands(code: str) -> list[list[str]]:
    """The ``- run: ...`` lines of the CI sketch, ``${{ matrix.x }}`` replaced by a sample value."""
    commands = []
    for m in re.finditer(r"^\s*-\s*run:\s*(.+)$", code, re.M):
        line = re.sub(r"\$\{\{([^}]*)\}\}", lambda v: _matrix_sample(code, v.group(1)),
                      m.group(1))
        commands.extend(shell_commands(line))
    return commands


def numpy_rnn_commands(path: pathlib.Path = README) -> list[tuple[Block, list[str]]]:
    found = []
    for b in readme_blocks(path):
        if b.lang == "bash":
            cmds = shell_commands(b.code)
        elif b.lang == "yaml":
            cmds = yaml_run_commands(b.code)
        else:
            continue
        found.extend((b, cmd[1:]) for cmd in cmds if cmd and cmd[0] == "numpy-rnn")
    return found


def _subparser(parser, name):
    import argparse
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise AssertionError("numpy-rnn has no subcommands")


def parse_numpy_rnn(argv: list[str]):
    """Parse like the installed ``numpy-rnn``; fail on an unknown or abbreviated flag."""
    from parity.cli import build_parser
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"numpy-rnn {shlex.join(argv)}: argparse refused it (exit {exc.code})")
    sub = _subparser(parser, argv[0])
    for word in argv[1:]:
        flag = word.split("=", 1)[0]
        if flag.startswith("-") and flag != "-":
            assert flag in sub._option_string_actions, \
                f"numpy-rnn {argv[0]} has no flag {flag!r} (README: {shlex.join(argv)})"
    return args


# -- tests --------------------------------------------------------------------------------------
def test_readme_has_python_bash_and_numpy_only_blocks():
    blocks = readme_blocks()
    assert len(python_blocks()) >= 4, [b.where for b in blocks]
    assert any(not needs_keras(b) for b in python_blocks())
    assert any(needs_keras(b) for b in python_blocks())
    for b in python_blocks():
        ast.parse(b.code, filename=b.where)  # a syntax error names the block


def test_numpy_only_blocks_run_without_tensorflow(tmp_path):
    """Each NumPy-only block, in order, in a child where tensorflow / keras / tf_keras / h5py
    cannot be imported; those reading a file a TensorFlow block writes run in tests/parity."""
    blocks = readme_blocks()
    ran = []
    for b in blocks:
        if b.lang != "python" or needs_keras(b):
            continue
        if file_names(b.code) & written_by_keras_blocks(blocks, b.index):
            continue
        proc = run_python_block(b, tmp_path)
        assert proc.returncode == 0, f"{b.where} failed:\n{proc.stdout}\n{proc.stderr}"
        for expected in expected_prints(b.code):
            assert expected in proc.stdout, (b.where, expected, proc.stdout)
        ran.append(b.index)
    assert ran, "no NumPy-only README block ran"


def test_the_tour_prints_what_it_says():
    """The README's own comment is checked against the run (a guard on expected_prints itself)."""
    tour = next(b for b in python_blocks() if not needs_keras(b))
    assert expected_prints(tour.code), tour.code


def test_keras_blocks_are_self_contained():
    """A TensorFlow block (run in tests/parity) uses no name that it does not define or import:
    checked statically here, so the unit tier catches a block that leans on an earlier one."""
    import builtins
    for b in python_blocks():
        if not needs_keras(b):
            continue
        tree = ast.parse(b.code)
        defined = set(dir(builtins))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                defined.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert used <= defined, f"{b.where} uses names it never defines: {sorted(used - defined)}"


def test_bash_blocks_parse():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    for b in readme_blocks():
        if b.lang in ("bash", "sh"):
            proc = subprocess.run([bash, "-n"], input=b.code, capture_output=True, text=True)
            assert proc.returncode == 0, (b.where, proc.stderr)


def test_every_numpy_rnn_command_and_flag_exists():
    commands = numpy_rnn_commands()
    used = {argv[0] for _b, argv in commands}
    assert {"parity", "port", "check", "predict"} <= used, used
    for b, argv in commands:
        try:
            parse_numpy_rnn(argv)
        except AssertionError as exc:
            raise AssertionError(f"{b.where}: {exc}") from None


@pytest.mark.parametrize("doc", sorted(p.name for p in (ROOT / "docs").glob("*.md")))
def test_every_numpy_rnn_command_in_the_docs_exists(doc):
    for b, argv in numpy_rnn_commands(ROOT / "docs" / doc):
        try:
            parse_numpy_rnn(argv)
        except AssertionError as exc:
            raise AssertionError(f"docs/{doc} line {b.line}: {exc}") from None


def test_parse_numpy_rnn_catches_unknown_and_abbreviated_flags():
    """The checker has teeth: a misspelt flag and an abbreviation are both refused."""
    with pytest.raises(AssertionError, match="argparse refused"):
        parse_numpy_rnn(["parity", "--exampels", "5"])
    with pytest.raises(AssertionError, match="has no flag '--exam'"):
        parse_numpy_rnn(["parity", "--exam", "5"])


def _gate_settings(args) -> dict:
    return {k: getattr(args, k) for k in ("examples", "seed", "reference", "only")}


def test_ci_baseline_is_recorded_with_the_settings_it_gates_with():
    """A baseline taken without the gate's --examples / --seed reports every random case as new."""
    parsed = [(b, parse_numpy_rnn(argv)) for b, argv in numpy_rnn_commands() if argv[0] == "parity"]
    saves = [(b, a) for b, a in parsed if a.save_baseline]
    gates = [(b, a) for b, a in parsed if a.baseline]
    assert saves and gates, "README shows no --save-baseline / --baseline pair"
    recorded = {a.save_baseline: _gate_settings(a) for _b, a in saves}
    for b, a in gates:
        assert a.baseline in recorded, f"{b.where}: gates on {a.baseline}, which README never records"
        assert _gate_settings(a) == recorded[a.baseline], \
            (b.where, "gate settings differ from the recorded baseline's", _gate_settings(a), recorded[a.baseline])


def test_ci_block_creates_the_baseline_directory():
    for b in readme_blocks():
        if b.lang == "bash" and "--save-baseline" in b.code:
            for cmd in shell_commands(b.code):
                if "--save-baseline" in cmd:
                    target = pathlib.PurePosixPath(cmd[cmd.index("--save-baseline") + 1])
                    break
            if str(target.parent) != ".":
                assert re.search(rf"mkdir -p {re.escape(str(target.parent))}\b",
                                 b.code.split("--save-baseline")[0]), \
                    f"{b.where}: --save-baseline {target} needs `mkdir -p {target.parent}` first"


def test_plot_flag_comes_with_its_extra():
    """--plot needs matplotlib, which README's install command does not bring: the block that
    uses it installs the [plot] extra first."""
    for b in readme_blocks():
        if b.lang == "bash" and "--plot" in b.code:
            before = b.code.split("--plot")[0]
            assert re.search(r"pip install [^\n]*\[[^\]]*plot", before), \
                f"{b.where} uses --plot without installing the [plot] extra"


# -- parity: the documented names, cheap to import ---------------------------------------------
#: Names of `parity` the docs use (README.md and the project's public API document).
DOCUMENTED = ("from_keras", "to_keras", "compare", "assert_parity", "strategies", "tolerances",
              "UnsupportedKerasFeature", "UnsupportedKerasModel", "ParityReport", "supported_layers")


def _names_in_docs() -> set[str]:
    names = set()
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        names.update(re.findall(r"\bparity\.([A-Za-z_]\w*)", path.read_text(encoding="utf-8")))
    # file names (parity.json, parity.xml, parity.png, parity.yml) are not attributes
    return names - {"json", "xml", "png", "yml", "py"}


def test_every_documented_parity_name_exists():
    pytest.importorskip("hypothesis")
    import parity
    names = set(DOCUMENTED) | _names_in_docs()
    assert "strategies" in names
    missing = [n for n in sorted(names) if not hasattr(parity, n)]
    assert not missing, f"parity lacks documented names: {missing}"
    for name in ("lstm_cases", "shapes", "make_mask", "tokenizer_cases"):  # README's examples
        assert callable(getattr(parity.strategies, name)), name


def test_import_parity_needs_neither_tensorflow_nor_hypothesis(tmp_path):
    code = BLOCKER.format(blocked={"tensorflow", "keras", "tf_keras", "hypothesis"}) + textwrap.dedent(
        """
        import parity
        heavy = sorted(m for m in sys.modules if m.split('.')[0] in
                       ('tensorflow', 'keras', 'tf_keras', 'hypothesis'))
        assert not heavy, heavy
        assert parity.tolerances.__name__ == 'parity.tolerances'
        assert 'strategies' in dir(parity)
        try:
            parity.strategies
        except ImportError as exc:
            assert "numpy-rnn[keras]" in str(exc), exc
        else:
            raise AssertionError('parity.strategies imported without hypothesis')
        try:
            parity.no_such_name
        except AttributeError as exc:
            assert 'no_such_name' in str(exc)
        from numpy_rnn.layers.rnn.lstm import LSTM
        try:
            parity.to_keras(LSTM(units=2, features=3))
        except ImportError as exc:
            msg = str(exc)
            assert "numpy-rnn[keras]" in msg, msg              # names the extra
            assert "pip install 'numpy-rnn" not in msg, msg    # not published: no index install
            assert "pip install -e '.[keras]'" in msg, msg   # works from a checkout
        else:
            raise AssertionError('to_keras ran without TensorFlow')
        print('OK')
        """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr


# -- wording for users who never saw the project's tracker --------------------------------------
#: Phrases that only make sense inside the project's own history.
INTERNAL = re.compile(r"\bthe\s+seed's|\bthe\s+seed\b(?!\s+of)|earlier\s+issue|later\s+issues?\b|\bissue\s+\d+|"
                      r"\bour\s+team\b|\bhelper\b|main\s+job", re.I)
USER_FACING = ("README.md", "docs/family.md", "docs/porting.md", "docs/text-differences.md",
               "parity/bridge/_tf.py", "parity/bridge/layers.py")


@pytest.mark.parametrize("rel", USER_FACING)
def test_no_internal_wording(rel):
    text = (ROOT / rel).read_text(encoding="utf-8")
    hits = [(text[:m.start()].count("\n") + 1, m.group(0)) for m in INTERNAL.finditer(text)]
    assert not hits, f"{rel}: internal wording at (line, phrase) {hits}"


@pytest.mark.parametrize("rel", USER_FACING)
def test_install_hints_work_from_a_checkout(rel):
    """Where a text says how to install from the package index, it also says the checkout form."""
    text = (ROOT / rel).read_text(encoding="utf-8")
    for m in re.finditer(r"pip install '?numpy-rnn", text):
        near = text[max(0, m.start() - 300):m.end() + 300]
        assert re.search(r"pip install (-e )?'?\.", near), \
            f"{rel} line {text[:m.start()].count(chr(10)) + 1}: an install hint without the checkout form"
