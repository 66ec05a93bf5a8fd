"""The wheel is ready to publish: it builds from the source tree, holds the package data (the
shipped corpus) and the licence, declares its metadata (summary, licence, classifiers, Python
versions, every extra, the README as a markdown description) and the ``numpy-rnn`` command, and
carries neither tests nor benchmarks.

Built with ``pip wheel --no-build-isolation`` from a copy of the sources (setuptools writes
``build/`` and ``*.egg-info`` next to the sources it builds; the checkout stays as it is).
"""
from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.unit.test_readme_layout import ROOT

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "numpy_rnn", "parity")


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 64:
        pytest.skip(f"setuptools {setuptools.__version__} < 64 (pyproject's build requirement)")
    src = tmp_path_factory.mktemp("src")
    out = tmp_path_factory.mktemp("dist")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "--no-build-isolation", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = out.glob("numpy_rnn-*.whl")
    version = _pyproject()["project"]["version"]
    assert path.name == f"numpy_rnn-{version}-py3-none-any.whl", path.name
    with zipfile.ZipFile(path) as zf:
        yield zf


def _dist_info(zf: zipfile.ZipFile, name: str) -> str:
    (member,) = [n for n in zf.namelist() if re.fullmatch(rf"numpy_rnn-[^/]+\.dist-info/{name}", n)]
    return zf.read(member).decode("utf-8")


def test_wheel_holds_the_packages_and_the_corpus(wheel):
    names = set(wheel.namelist())
    assert "numpy_rnn/data/corpus.txt" in names
    assert wheel.read("numpy_rnn/data/corpus.txt") == (ROOT / "numpy_rnn/data/corpus.txt").read_bytes()
    assert "numpy_rnn/__init__.py" in names and "parity/cli/__init__.py" in names
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"tests", "benchmarks", "examples", "docs"}, sorted(tops)
    assert any(re.fullmatch(r"numpy_rnn-[^/]+\.dist-info/(licenses/)?LICENSE", n) for n in names)


def test_wheel_metadata_is_complete(wheel):
    meta = email.message_from_string(_dist_info(wheel, "METADATA"))
    project = _pyproject()["project"]
    assert meta["Name"] == "numpy-rnn" and meta["Version"] == project["version"]
    assert meta["Summary"] == project["description"]
    assert meta["Requires-Python"] == project["requires-python"]
    assert "MIT" in (meta["License"] or meta["License-Expression"] or "")
    classifiers = meta.get_all("Classifier") or []
    assert "License :: OSI Approved :: MIT License" in classifiers
    assert any(c.startswith("Programming Language :: Python :: 3") for c in classifiers)
    assert set(meta.get_all("Provides-Extra")) == set(project["optional-dependencies"])
    assert meta.get_all("Requires-Dist")[0].startswith("numpy")
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "## Set up a fresh machine" in meta.get_payload()  # the README, as the description


def test_wheel_declares_the_command_and_the_pytest_plugin(wheel):
    entry = _dist_info(wheel, "entry_points.txt")
    assert re.search(r"^numpy-rnn = parity\.cli:main$", entry, re.M), entry
    assert re.search(r"^numpy_rnn_parity = parity\.pytest_plugin$", entry, re.M), entry
