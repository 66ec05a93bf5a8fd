"""The extras in pyproject.toml install what the code they serve imports.

Found by running README's main-job command in a fresh virtual environment: ``pip install
'.[keras,legacy]' && numpy-rnn parity`` crashed the sweep's own shard-and-merge row, because
``merge-reports`` validates reports with jsonschema and only the ``test`` extra had it."""
from __future__ import annotations

import ast
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: import name -> distribution name, where they differ
DIST = {"tf_keras": "tf-keras", "sklearn": "scikit-learn", "yaml": "pyyaml"}
#: what the default sweep (``numpy-rnn parity`` with no option) imports beyond NumPy
SWEEP = {"tensorflow", "hypothesis", "jsonschema", "tf-keras"}


def _extras() -> dict[str, set[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = data["project"]["optional-dependencies"]
    return {name: {re.split(r"[<>=\[; ]", dep, maxsplit=1)[0].lower() for dep in deps}
            for name, deps in extras.items()}


def _third_party_imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("numpy", "numpy_rnn",
                                                                       "parity"):
                    found.add(DIST.get(top, top).lower())
    return found


def test_readme_main_job_extras_cover_the_default_sweep():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines()
                   if line.startswith("python3 -m venv") and line.endswith("numpy-rnn parity"))
    names = re.search(r"pip install '\.\[([\w,-]+)\]'", command).group(1).split(",")
    extras = _extras()
    installed = set().union(*(extras[n] for n in names))
    assert SWEEP <= installed, (command, sorted(SWEEP - installed))


def test_every_extra_that_runs_the_sweep_can_merge_reports():
    extras = _extras()
    for name in ("keras", "jax", "torch", "keras-numpy", "test"):
        assert "jsonschema" in extras[name], name


def test_every_third_party_import_of_parity_is_in_some_extra():
    provided = set().union(*_extras().values()) | {"keras", "h5py", "jax", "torch"}
    missing = _third_party_imports("parity") - provided
    assert not missing, sorted(missing)


def test_the_sweep_list_is_what_parity_imports():
    """SWEEP names real imports of parity (a renamed dependency shows up here)."""
    imported = _third_party_imports("parity")
    assert SWEEP - {"tf-keras"} <= imported | {"tensorflow"}, sorted(SWEEP - imported)
