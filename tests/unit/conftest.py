"""Fixtures shared by the unit tests."""
from __future__ import annotations

import pytest

from numpy_rnn import _threads


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that a test batch is cut into several (uneven) blocks; one
    thread again afterwards."""
    monkeypatch.setattr(_threads, "BLOCK_BYTES", 1)
    monkeypatch.setattr(_threads, "MIN_ROWS", 8)
    yield
    _threads.set_num_threads(1)
