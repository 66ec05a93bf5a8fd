"""The text rows of `numpy-rnn parity`: all pass, and a planted tokenizer bug makes them fail."""
from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf_keras")

import numpy_rnn  # noqa: E402
from parity.cases import text as cases_text  # noqa: E402


def _run_all():
    return {c.name: c.run() for c in cases_text.text_cases(0)}


def test_text_rows_pass():
    reports = _run_all()
    assert len(reports) == 10
    failed = [name for name, r in reports.items() if not r.passed]
    assert not failed, "\n".join(str(reports[n]) for n in failed)


def test_text_rows_catch_an_off_by_one_id(monkeypatch):
    orig = numpy_rnn.Vocabulary.texts_to_sequences
    monkeypatch.setattr(numpy_rnn.Vocabulary, "texts_to_sequences",
                        lambda self, texts: [[i + (i == 3) for i in s] for s in orig(self, texts)])
    reports = _run_all()
    tokenizer_rows = [r for n, r in reports.items() if n.startswith("text/tokenizer")]
    assert tokenizer_rows and not any(r.passed for r in tokenizer_rows)
