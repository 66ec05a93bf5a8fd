"""The ``merging`` rows of ``numpy-rnn parity`` (parity/cases/merging.py): registered, passing,
and failing on a planted bug."""
from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

import numpy_rnn as nr  # noqa: E402
from parity import cases  # noqa: E402
from parity.cases import merging  # noqa: E402

pytestmark = pytest.mark.keras


def test_rows_are_registered_and_pass():
    rows = merging.merging_cases(0)
    assert len(rows) == 2 * len(merging.MERGES)
    groups = {c.name: c.group for c in cases.all_cases(0)}
    assert all(groups.get(c.name) == "merging" for c in rows)
    reports = [c.run() for c in rows]
    failed = [str(r) for r in reports if not r.passed or r.skipped]
    assert not failed, "\n".join(failed)


def test_a_planted_mask_bug_fails_the_rows(monkeypatch):
    """Maximum ignoring its masks: the masked forward and gradient rows go red."""
    original = nr.Maximum._merge
    monkeypatch.setattr(nr.Maximum, "_merge",
                        lambda self, xs, masks: original(self, xs, [None] * len(xs)))
    assert not merging._forward_case("maximum", 0).passed
    assert not merging._grad_case("maximum", 0).passed


def test_a_planted_gradient_bug_fails_the_grad_row(monkeypatch):
    monkeypatch.setattr(nr.Subtract, "_merge_backward", lambda self, kept, g: [g, g])
    assert merging._forward_case("subtract", 0).passed
    assert not merging._grad_case("subtract", 0).passed
