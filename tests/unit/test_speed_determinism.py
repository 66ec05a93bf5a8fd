"""The recurrent layers' fast paths: batch blocks on threads give bitwise the same numbers for
every thread count above 1 (one partition, from the shape alone), the same numbers as one
thread (no blocks) to rounding, and the per-call fused steps give exactly the numbers of
``step``."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import _threads

LAYERS = ["LSTM", "GRU", "SimpleRNN"]
B, T, F, H = 53, 6, 4, 5


def _case(layer: str, dtype: str = "float32", **options):
    rng = np.random.default_rng(7)
    n = getattr(numpy_rnn, layer)(H, F, dtype=dtype, seed=3, return_state=True, **options)
    x = rng.normal(size=(B, T, F)).astype(dtype)
    mask = rng.random((B, T)) > 0.3
    state = [rng.normal(size=(B, s)).astype(dtype) for s in n.state_size]
    return n, x, mask, state


def _run(n, x, mask, state):
    return [np.array(a, copy=True) for a in n(x, mask=mask, initial_state=state)]


def check_same_across_threads(n, x, mask, state, counts=(2, 3)) -> None:
    """Raise AssertionError unless every thread count gives bitwise the same outputs, and one
    thread (the whole batch as one block: row-for-row the same arithmetic, but BLAS may pick
    another kernel for another number of rows) the same to 2 ulp."""
    results = []
    for k in counts:
        _threads.set_num_threads(k)
        results.append(_run(n, x, mask, state))
    for k, res in zip(counts[1:], results[1:]):
        for a, b in zip(results[0], res):
            assert a.tobytes() == b.tobytes(), f"{k} threads differ from {counts[0]}"
    _threads.set_num_threads(1)
    for a, b in zip(_run(n, x, mask, state), results[0]):
        np.testing.assert_allclose(a, b, rtol=2 * np.finfo(a.dtype).eps, atol=1e-30,
                                   err_msg="1 thread differs from 2")


def test_the_test_batch_is_cut_into_blocks(small_blocks):
    assert len(_threads.batch_blocks(B, 4 * H * 4)) >= 4
    assert _threads.batch_blocks(B, 4 * H * 4) == _threads.batch_blocks(B, 4 * H * 4)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("options", [{}, {"go_backwards": True, "return_sequences": True},
                                     {"zero_output_for_mask": True, "return_sequences": True}])
def test_bitwise_same_for_every_thread_count(layer, options, small_blocks):
    n, x, mask, state = _case(layer, **options)
    check_same_across_threads(n, x, mask, state)
    check_same_across_threads(n, x, None, None)


def test_blocks_cover_the_batch_in_order():
    for batch in (0, 1, 15, 16, 33, 500, 1000):
        for row_bytes in (16, 1600, 8192):
            blocks = _threads.batch_blocks(batch, row_bytes)
            rows = [r for s in blocks for r in range(s.start, s.stop)]
            assert rows == list(range(batch))


def check_fused_equals_plain(n, x, mask, state, monkeypatch) -> None:
    """Raise AssertionError unless the layer's call equals, bitwise, the same call run with the
    layer's plain ``step`` (no per-call fused step)."""
    fused = _run(n, x, mask, state)
    with monkeypatch.context() as m:
        m.setattr(type(n), "make_step", lambda self, batch, training=False: self.step)
        plain = _run(n, x, mask, state)
    for a, b in zip(fused, plain):
        assert a.tobytes() == b.tobytes(), "the fused step differs from step"


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_step_gives_the_numbers_of_step(layer, dtype, masked, monkeypatch):
    """One block: the per-call fused step against the layer's plain ``step``, bitwise."""
    n, x, mask, state = _case(layer, dtype, return_sequences=True)
    check_fused_equals_plain(n, x, mask if masked else None, state, monkeypatch)


def test_stateful_blocks(small_blocks):
    """A stateful layer carries its states across calls through the blocks."""
    n = numpy_rnn.LSTM(H, F, stateful=True, seed=1)
    ref = numpy_rnn.LSTM(H, F, seed=1)
    x = np.random.default_rng(0).normal(size=(B, 2 * T, F)).astype(np.float32)
    _threads.set_num_threads(2)
    n(x[:, :T])
    second = n(x[:, T:])
    np.testing.assert_allclose(second, ref(x), atol=1e-6)


def test_set_num_threads_checks_its_argument():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="`n` must be a positive integer"):
            _threads.set_num_threads(bad)


def test_env_var_checked(monkeypatch):
    monkeypatch.setenv("NUMPY_RNN_THREADS", "zero")
    with pytest.raises(ValueError, match="NUMPY_RNN_THREADS.*'zero'"):
        _threads._from_env()
    monkeypatch.setenv("NUMPY_RNN_THREADS", "3")
    assert _threads._from_env() == 3


# -- teeth -------------------------------------------------------------------------------------
def test_teeth_results_out_of_order_are_caught(small_blocks, monkeypatch):
    """Planted: with more than one thread, the blocks' results come back rotated."""
    real = _threads.run_blocks

    def rotated(fn, items):
        out = real(fn, items)
        return out[1:] + out[:1] if _threads.get_num_threads() > 1 else out
    monkeypatch.setattr(_threads, "run_blocks", rotated)
    n, x, mask, state = _case("GRU")
    with pytest.raises(AssertionError, match="1 thread differs"):
        check_same_across_threads(n, x, mask, state)


def test_teeth_shared_buffers_across_blocks_are_caught(small_blocks, monkeypatch):
    """Planted: every block's fused step shares one set of buffers (a race between threads
    and wrong rows even on one thread), which the fused-vs-plain comparison must catch."""
    cls = numpy_rnn.SimpleRNN
    real = cls.make_step
    shared = {}

    def one_set(self, batch, training=False):
        return shared.setdefault(batch, real(self, batch, training))
    monkeypatch.setattr(cls, "make_step", one_set)
    n, x, _, state = _case("SimpleRNN", return_sequences=True)
    _threads.set_num_threads(2)  # blocks (one thread runs no blocks)
    with pytest.raises(AssertionError, match="fused step differs"):
        check_fused_equals_plain(n, x, None, state, monkeypatch)
