"""README.md stays a newcomer's page that is true: the layer table it links to (docs/layers.md)
names every layer numpy_rnn.layers exports, its blocks write into a scratch directory (never onto a tracked file),
no text tells the reader to install a package that is not published, and the benchmark tables
live in docs/performance.md."""
from __future__ import annotations

import pathlib
import re

import pytest

import numpy_rnn.layers as layers
from numpy_rnn.layers.base import Layer
from numpy_rnn.model import LAYER_CLASSES
from tests.unit.test_readme_blocks import readme_blocks

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LAYER_TABLE = ROOT / "docs" / "layers.md"  # README links to it

#: Exported base classes: not layers one builds a model from (no Keras twin of their own).
BASES = {"Layer", "RNNBase", "Merge"}


def exported_layer_classes() -> set[str]:
    return {n for n in layers.__all__ if isinstance(getattr(layers, n), type)
            and issubclass(getattr(layers, n), Layer)} - BASES


def table_names(text: str) -> set[str]:
    """Class names in the first column of the "Supported layers" table."""
    section = text[text.index("## Supported layers"):]
    section = section[:section.index("\n## ", 1)]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split(" | ")[0]
            names |= set(re.findall(r"`(\w+)[(`]", first))
    return names


def test_the_bases_are_not_layers_of_a_model():
    """BASES is honest: none of them is a layer a config or bundle can name."""
    assert BASES <= set(layers.__all__)
    assert not BASES & set(LAYER_CLASSES)


def test_readme_table_names_every_exported_layer():
    assert "(docs/layers.md)" in README.read_text(encoding="utf-8")
    missing = sorted(exported_layer_classes() - table_names(LAYER_TABLE.read_text(encoding="utf-8")))
    assert not missing, f"the layer table (docs/layers.md) lacks a row for {missing}"


def test_the_table_check_has_teeth():
    text = LAYER_TABLE.read_text(encoding="utf-8")
    dropped = re.sub(r"^\| `Conv1D\(.*\n", "", text, flags=re.M)
    assert dropped != text
    assert "Conv1D" in exported_layer_classes() - table_names(dropped)


def test_the_table_is_one_table():
    """No paragraph or blank line cuts the table in two (the second half would not render)."""
    text = LAYER_TABLE.read_text(encoding="utf-8")
    section = text[text.index("## Supported layers"):]
    section = section[:section.index("\n## ", 1)]
    lines = section.splitlines()
    rows = [i for i, line in enumerate(lines) if line.startswith("|")]
    assert rows == list(range(rows[0], rows[-1] + 1)), "the layer table is interrupted"


# -- a scratch directory ----------------------------------------------------------------------
def _tracked_files() -> set[str]:
    import subprocess
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             timeout=30)
    except OSError:
        out = None
    if out is None or out.returncode != 0:
        return {str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()
                and ".git" not in p.parts}
    return set(out.stdout.split())


_PATH = re.compile(r"[\w./-]+\.(?:png|json|xml|npz|keras|h5|txt|csv)\b")


def test_no_block_writes_onto_a_tracked_file():
    tracked = _tracked_files()
    assert "docs/train-side-by-side.png" in tracked or not tracked
    for b in readme_blocks():
        for name in _PATH.findall(b.code):
            assert name.lstrip("./") not in tracked, \
                f"{b.where} names the tracked file {name}: run it in the scratch directory"


def test_the_blocks_start_in_a_scratch_directory():
    """Before the first block that runs code or writes a file, a bash block moves to a fresh
    temporary directory (the set-up blocks, which install from the checkout, come before it)."""
    blocks = readme_blocks()
    first_code = next(b for b in blocks if b.lang == "python")
    scratch = [b for b in blocks[:first_code.index] if b.lang == "bash"
               and re.search(r'(^|&&|;)\s*cd\s+"\$\(mktemp -d\)"', b.code, re.M)]
    assert scratch, "no `cd \"$(mktemp -d)\"` block before the first Python block"
    for b in blocks[scratch[0].index + 1:]:
        if b.lang == "bash":
            # from the scratch directory the checkout is "$REPO", never "."
            assert not re.search(r"pip install [^\n]*'\.\[|pip install [^\n]*\"\.\[", b.code), \
                f"{b.where} installs '.' from the scratch directory"


# -- commands that can work ---------------------------------------------------------------------
DOCS = [README, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").glob("*.py"))]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_install_from_a_package_index(path):
    """numpy-rnn is not published: `pip install numpy-rnn` cannot work."""
    text = path.read_text(encoding="utf-8")
    hits = re.findall(r"pip install\s+['\"]?numpy-rnn\b[^\n]*", text)
    assert not hits, f"{path.name}: {hits}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_linked_file_exists(path):
    """Relative links and cited repository files point at files that exist."""
    text = path.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) if path.suffix == ".md" else []
    for target in links:
        if "://" in target:
            continue
        assert (path.parent / target).exists(), f"{path.name} links {target}, which is missing"
    for name in re.findall(r"(?<![\w/.-])([\w-]+\.md)\b", text):  # a bare document name
        assert (ROOT / name).exists() or (ROOT / "docs" / name).exists(), \
            f"{path.name} cites {name}, which is not in the repository"
    for cited in re.findall(r"\b((?:docs|examples|benchmarks|parity|numpy_rnn|tests)/[\w/.-]+\.(?:md|py|txt))\b", text):
        assert (ROOT / cited).exists(), f"{path.name} cites {cited}, which is missing"


def test_benchmarks_live_in_docs_performance():
    text = README.read_text(encoding="utf-8")
    assert "docs/performance.md" in text
    assert "tf.function ms" not in text and "onnxruntime ms" not in text
    perf = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert "tf.function ms" in perf and "bench_train.py" in perf
