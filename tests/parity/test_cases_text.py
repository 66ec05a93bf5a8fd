"""The text rows of `numpy-rnn parity`: all pass, and planted bugs (a tokenizer id off by one, a
tf_idf idf formula off) make them fail."""
from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf_keras")

import numpy as np  # noqa: E402

import numpy_rnn  # noqa: E402
from numpy_rnn.text import encoding  # noqa: E402
from parity.cases import text as cases_text  # noqa: E402


def _run_all():
    return {c.name: c.run() for c in cases_text.text_cases(0)}


def test_text_rows_pass():
    reports = _run_all()
    assert len(reports) == 14
    failed = [name for name, r in reports.items() if not r.passed]
    assert not failed, "\n".join(str(reports[n]) for n in failed)


def test_text_rows_catch_an_off_by_one_id(monkeypatch):
    orig = numpy_rnn.Vocabulary.texts_to_sequences
    monkeypatch.setattr(numpy_rnn.Vocabulary, "texts_to_sequences",
                        lambda self, texts: [[i + (i == 3) for i in s] for s in orig(self, texts)])
    reports = _run_all()
    tokenizer_rows = [r for n, r in reports.items() if n.startswith("text/tokenizer")]
    assert tokenizer_rows and not any(r.passed for r in tokenizer_rows)


def test_text_rows_catch_an_idf_formula_off(monkeypatch):
    """log(1 + N / df) instead of log(1 + N / (1 + df)): the tf_idf row fails, the others pass."""
    monkeypatch.setattr(encoding, "idf_from_documents", lambda counts, n, dtype: np.log(
        1 + n / np.maximum(np.asarray(counts), 1)).astype(dtype))
    reports = {c.name: c for c in cases_text.text_cases(0)}
    tf_idf = [name for name in reports if "tf_idf" in name]
    assert tf_idf and not any(reports[name].run().passed for name in tf_idf)
    assert reports["text/textvectorization count ngrams=2 (corpus)"].run().passed
