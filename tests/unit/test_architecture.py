"""The shape of the house, checked from the source (AST only, nothing imported).

* No import circle among the modules of ``parity`` and ``numpy_rnn`` (imports at module level and
  inside functions alike: an import inside a function still ties the two modules together).
* No import of a project module inside a function (that is how a circle hides); inside functions
  only the heavy optional libraries are imported (:data:`LAZY_OK`).
* No module over :data:`MAX_LINES` lines unless its docstring says why (a sentence starting
  "Long because").
"""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("parity", "numpy_rnn")
#: Top-level libraries a function may import: heavy or optional, so ``import parity`` stays cheap
#: (jax and torch: Keras's other backends, imported only by ``parity.bridge.backend``).
LAZY_OK = frozenset({"tensorflow", "keras", "tf_keras", "h5py", "matplotlib", "hypothesis",
                     "jsonschema", "jax", "torch"})
MAX_LINES = 500
REASON = "Long because"

PACKAGE_PARAMS = ["parity", "numpy_rnn"]


@dataclasses.dataclass(frozen=True)
class Import:
    source: str      # the importing module
    target: str      # the imported name, resolved to an absolute dotted name
    line: int
    in_function: bool


def find_modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``packages`` (a package is its
    ``__init__``)."""
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


class _Visitor(ast.NodeVisitor):
    def __init__(self, name: str, is_package: bool) -> None:
        self.name = name
        self.package = name if is_package else name.rpartition(".")[0]
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append(Import(self.name, alias.name, node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([base] if base else []))
        for alias in node.names:
            # ``from pkg import name``: name may be a submodule (resolved against the known modules)
            self.found.append(Import(self.name, f"{base}.{alias.name}", node.lineno,
                                     self.depth > 0))


def find_imports(modules: dict[str, Path]) -> list[Import]:
    out = []
    for name, path in modules.items():
        v = _Visitor(name, path.name == "__init__.py")
        v.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        out += v.found
    return out


def resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The project module ``target`` names (the longest known prefix), or None."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def import_graph(modules: dict[str, Path], imports: list[Import]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (its own parent packages left out: a submodule
    always runs its package's ``__init__`` first, which is not a dependency it chose)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports:
        target = resolve(imp.target, modules)
        if target and target != imp.source and not imp.source.startswith(target + "."):
            graph[imp.source].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def lazy_import_problems(modules: dict[str, Path], imports: list[Import]) -> list[str]:
    """Function-level imports of a project module, or of anything not in :data:`LAZY_OK`."""
    out = []
    for imp in imports:
        if not imp.in_function:
            continue
        where = f"{imp.source}:{imp.line}"
        if resolve(imp.target, modules):
            out.append(f"{where}: imports project module {imp.target} inside a function")
        elif imp.target.split(".")[0] not in LAZY_OK:
            out.append(f"{where}: imports {imp.target} inside a function (only {sorted(LAZY_OK)} "
                       "may be imported lazily)")
    return out


def long_module_problems(modules: dict[str, Path], max_lines: int = MAX_LINES) -> list[str]:
    out = []
    for name, path in modules.items():
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        doc = ast.get_docstring(ast.parse(text)) or ""
        if n > max_lines and REASON not in doc:
            out.append(f"{name}: {n} lines (> {max_lines}) and no '{REASON} ...' in its docstring")
    return out


@pytest.fixture(scope="module")
def house():
    modules = find_modules(ROOT)
    imports = find_imports(modules)
    return modules, imports, import_graph(modules, imports)


def _in(pkg: str, name: str) -> bool:
    return name == pkg or name.startswith(pkg + ".")


# -- the checks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("pkg", PACKAGE_PARAMS)
def test_no_import_circle(house, pkg):
    _, _, graph = house
    found = [c for c in circles(graph) if any(_in(pkg, m) for m in c)]
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("pkg", PACKAGE_PARAMS)
def test_functions_import_only_heavy_optional_libraries(house, pkg):
    modules, imports, _ = house
    found = lazy_import_problems(modules, [i for i in imports if _in(pkg, i.source)])
    assert not found, "\n".join(found)


@pytest.mark.parametrize("pkg", PACKAGE_PARAMS)
def test_long_modules_say_why(house, pkg):
    modules, _, _ = house
    found = long_module_problems({n: p for n, p in modules.items() if _in(pkg, n)})
    assert not found, "\n".join(found)


def test_numpy_rnn_never_imports_parity(house):
    _, imports, _ = house
    bad = [f"{i.source}:{i.line} imports {i.target}" for i in imports
           if _in("numpy_rnn", i.source) and i.target.split(".")[0] == "parity"]
    assert not bad, "\n".join(bad)


# -- the checker has teeth -------------------------------------------------------------------------
def test_the_checks_catch_a_planted_house(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Top."""\nfrom . import a\n')
    (pkg / "a.py").write_text('"""A."""\nfrom .b import thing\n')
    (pkg / "b.py").write_text('"""B."""\n\n\ndef thing():\n    from . import a  # dodges the circle\n'
                              '    import json\n    import keras\n    return a\n')
    (pkg / "sub" / "__init__.py").write_text('"""Sub."""\nfrom .. import c\n')
    (pkg / "c.py").write_text('"""C."""\n' + "x = 1\n" * 20)
    (pkg / "d.py").write_text('"""D.\n\nLong because it must be."""\n' + "y = 2\n" * 20)
    modules = find_modules(tmp_path, ("pkg",))
    assert set(modules) == {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d", "pkg.sub"}
    imports = find_imports(modules)
    graph = import_graph(modules, imports)
    assert circles(graph) == [["pkg.a", "pkg.b"]]  # the function-level import closes it
    assert graph["pkg.sub"] == {"pkg.c"}  # `from .. import c` is the submodule pkg.c
    problems = lazy_import_problems(modules, imports)
    assert len(problems) == 2, problems
    assert "project module pkg.a" in problems[0] and "json" in problems[1]  # keras is allowed
    assert long_module_problems(modules, max_lines=10) == [
        "pkg.c: 21 lines (> 10) and no 'Long because ...' in its docstring"]
