"""BLAS's threads inside numpy_rnn's calls (numpy_rnn/_threads.py, issue 21 item 4).

What BLAS reports *while* numpy_rnn computes (threadpoolctl's ``threadpool_info`` read from
inside a step, a training step or a prediction), against what it had before: limited to one
thread in the time loop and in a small model's batches, left alone for a large one, the user's
``set_num_threads`` / ``NUMPY_RNN_THREADS`` winning, restored afterwards (also after an
exception, also when loops overlap), and nothing at all without threadpoolctl.  No timing.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

import numpy_rnn  # noqa: E402
from numpy_rnn import GRU, LSTM, Dense, Embedding, Sequential, SimpleRNN, _threads  # noqa: E402
from numpy_rnn import training as _train  # noqa: E402

START = 3  # BLAS's threads before each test (any number above 1 tells a limit from none)


def blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


@pytest.fixture
def blas():
    """BLAS on START threads and numpy_rnn's threads on the default (auto); both put back."""
    saved = _threads._num_threads, _threads._explicit
    _threads.set_num_threads(None)
    with threadpoolctl.threadpool_limits(START, user_api="blas"):
        if not blas_threads() or set(blas_threads()) != {START}:
            pytest.skip(f"BLAS cannot be set to {START} threads here: {blas_threads()}")
        yield
        assert set(blas_threads()) == {START}, "numpy_rnn left BLAS's threads changed"
        assert _threads._blas_active == []
    _threads._num_threads, _threads._explicit = saved


def spy_steps(monkeypatch, cls) -> list[list[int]]:
    """BLAS's threads seen by every forward and backward step of ``cls``."""
    seen: list[list[int]] = []
    make_step, make_back = cls.make_step, cls.make_step_backward

    def make_step_spy(self, batch, training=False):
        step = make_step(self, batch, training)

        def spy(*args):
            seen.append(blas_threads())
            return step(*args)
        return spy

    def make_back_spy(self, tape, acc):
        back = make_back(self, tape, acc)

        def spy(*args):
            seen.append(blas_threads())
            return back(*args)
        return spy
    monkeypatch.setattr(cls, "make_step", make_step_spy)
    monkeypatch.setattr(cls, "make_step_backward", make_back_spy)
    return seen


def x_seq(batch=4, timesteps=3, features=5):
    return np.random.default_rng(0).normal(size=(batch, timesteps, features)).astype(np.float32)


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_the_time_loop_runs_blas_on_one_thread(blas, monkeypatch, cls):
    seen = spy_steps(monkeypatch, cls)
    layer = cls(6, 5, return_sequences=True, seed=0)
    out = layer(x_seq(), training=True)
    layer.backward(np.ones_like(out))
    assert len(seen) == 6 and all(s and set(s) == {1} for s in seen), seen
    assert set(blas_threads()) == {START}


def test_a_large_step_keeps_blas_threads(blas, monkeypatch):
    """At or above LOOP_BLAS_MIN_MACS (here lowered to the test's step) BLAS is left alone."""
    seen = spy_steps(monkeypatch, LSTM)
    monkeypatch.setattr(_threads, "LOOP_BLAS_MIN_MACS", 4 * 6 * 24)  # batch * units * 4 units
    LSTM(6, 5, seed=0)(x_seq())
    assert seen and all(set(s) == {START} for s in seen), seen
    seen.clear()
    LSTM(6, 5, seed=0)(x_seq(batch=3))  # one row fewer: under the bound
    assert seen and all(set(s) == {1} for s in seen), seen


def test_the_users_threads_win(blas, monkeypatch):
    seen = spy_steps(monkeypatch, LSTM)
    monkeypatch.setattr(_threads, "LOOP_BLAS_MIN_MACS", 1)  # every step "large"
    _threads.set_num_threads(2)  # one block (4 rows): BLAS on 2
    LSTM(6, 5, seed=0)(x_seq())
    assert seen and all(set(s) == {2} for s in seen), seen
    seen.clear()
    _threads.set_num_threads(1)  # 1 wins over "large"
    LSTM(6, 5, seed=0)(x_seq())
    assert seen and all(set(s) == {1} for s in seen), seen
    seen.clear()
    _threads.set_num_threads(64)  # never more than BLAS had
    LSTM(6, 5, seed=0)(x_seq())
    assert seen and all(set(s) == {START} for s in seen), seen
    seen.clear()
    _threads.set_num_threads(None)  # back to the default: large steps keep BLAS's threads
    assert not _threads._explicit
    LSTM(6, 5, seed=0)(x_seq())
    assert seen and all(set(s) == {START} for s in seen), seen


def test_batch_blocks_on_threads_run_blas_on_one(blas, monkeypatch, small_blocks):
    seen = spy_steps(monkeypatch, LSTM)
    monkeypatch.setattr(_threads, "LOOP_BLAS_MIN_MACS", 1)
    _threads.set_num_threads(2)
    LSTM(6, 5, seed=0)(x_seq(batch=32))
    assert len(seen) >= 6 and all(set(s) == {1} for s in seen), seen


def test_the_environment_variable_is_the_users_choice():
    code = ("from numpy_rnn import _threads as t; "
            "print(t._explicit, t.get_num_threads(), t.loop_blas_threads(10 ** 12, 1))")
    env = {**os.environ, "NUMPY_RNN_THREADS": "2", "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "2", "2"]
    env.pop("NUMPY_RNN_THREADS")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "False" and out[2] == "None"


def small_model():
    model = Sequential([Embedding(30, 4), LSTM(5), Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(1).integers(1, 30, size=(10, 6))
    y = np.random.default_rng(2).integers(0, 3, size=(10,))
    return model, x, y


def spy_model_steps(monkeypatch) -> list[list[int]]:
    seen: list[list[int]] = []
    for name in ("train_step", "eval_step"):
        real = getattr(_train, name)

        def spy(*args, _real=real, **kwargs):
            seen.append(blas_threads())
            return _real(*args, **kwargs)
        monkeypatch.setattr(_train, name, spy)
    return seen


def test_fit_evaluate_and_predict_of_a_small_model_run_blas_on_one_thread(blas, monkeypatch):
    seen = spy_model_steps(monkeypatch)
    model, x, y = small_model()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, validation_data=(x, y))
    model.evaluate(x, y, verbose=0)
    model.train_on_batch(x, y)
    assert len(seen) == 3 + 3 + 1 + 1 and all(set(s) == {1} for s in seen), seen
    run, during = model._run, []
    monkeypatch.setattr(model, "_run", lambda *a: (during.append(blas_threads()), run(*a))[1])
    model.predict(x, batch_size=4)
    assert len(during) == 3 and all(set(s) == {1} for s in during), during


def test_a_functional_models_predict_and_fit_run_blas_on_one_thread(blas, monkeypatch):
    inp = numpy_rnn.Input((6, 5))
    model = numpy_rnn.Model(inp, Dense(2)(LSTM(4)(inp)))
    model.compile("sgd", "mse")
    x = x_seq(batch=8, timesteps=6)
    seen = spy_steps(monkeypatch, LSTM)
    monkeypatch.setattr(_threads, "LOOP_BLAS_MIN_MACS", 1)  # the loop alone would not limit
    model.predict(x, batch_size=4)
    model.fit(x, np.zeros((8, 2), np.float32), batch_size=4, verbose=0)
    assert len(seen) == 2 * 6 + 2 * 6 * 2 and all(set(s) == {1} for s in seen), seen


def test_a_large_model_keeps_blas_threads(blas, monkeypatch):
    seen = spy_model_steps(monkeypatch)
    model, x, y = small_model()
    model.predict(x[:1])
    macs = _threads.call_macs(model.layers, (4, 6), True, 4)
    assert macs == 4 * 6 * (4 * 20 + 5 * 20 + 5 * 3)  # LSTM kernels and Dense; no embeddings
    monkeypatch.setattr(_threads, "CALL_BLAS_MIN_MACS", macs)
    monkeypatch.setattr(_threads, "LOOP_BLAS_MIN_MACS", 1)
    model.fit(x[:8], y[:8], batch_size=4, verbose=0, shuffle=False)
    model.train_on_batch(x[:3], y[:3])  # 3 rows: under the bound
    assert [set(s) for s in seen] == [{START}, {START}, {1}], seen


def test_call_macs_counts_timesteps_of_sequences_only():
    layers = [Dense(7, seed=0)]
    layers[0].build((None, 5))
    assert _threads.call_macs(layers, (2, 5), False, 2) == 2 * 35          # rows of features
    assert _threads.call_macs(layers, (2, 9, 5), False, 2) == 2 * 9 * 35   # timesteps too
    assert _threads.call_macs(layers, (2, 9), True, 2) == 2 * 9 * 35       # token ids
    # unbuilt: only what is known (the recurrent kernel, 3 x 12)
    assert _threads.call_macs([LSTM(3)], (2, 9, 5), False, 2) == 2 * 9 * 3 * 12


def test_the_limit_is_restored_after_an_exception(blas, monkeypatch):
    layer = LSTM(6, 5, seed=0)
    real = LSTM.make_step

    def failing(self, batch, training=False):
        def step(*args):
            assert set(blas_threads()) == {1}
            raise FloatingPointError("planted")
        return step
    monkeypatch.setattr(LSTM, "make_step", failing)
    with pytest.raises(FloatingPointError, match="planted"):
        layer(x_seq())
    assert set(blas_threads()) == {START} and _threads._blas_active == []
    monkeypatch.setattr(LSTM, "make_step", real)
    model, x, y = small_model()
    monkeypatch.setattr(model, "_run", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        model.predict(x)
    assert set(blas_threads()) == {START} and _threads._blas_active == []


def test_overlapping_loops_share_one_limit(blas):
    """Nested: the limit holds until the last loop leaves, then BLAS has what it had before
    the first came in.  A loop on another thread changes nothing (OpenBLAS ignores a count set
    there), neither during the main thread's loop nor on its own."""
    with _threads.loop_blas(1):
        with _threads.loop_blas(1):
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}
    assert set(blas_threads()) == {START}
    seen = []

    def other():
        with _threads.loop_blas(1):
            seen.append((list(_threads._blas_active), set(blas_threads())))
        seen.append((list(_threads._blas_active), set(blas_threads())))
    with _threads.loop_blas(1):
        t = threading.Thread(target=other)
        t.start()
        t.join(10)
    assert seen == [([1], {1}), ([1], {1})]  # the main thread's limit, untouched by the other
    assert set(blas_threads()) == {START}
    seen.clear()
    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    assert seen == [([], {START}), ([], {START})]


def test_without_threadpoolctl_nothing_changes(blas, monkeypatch):
    monkeypatch.setattr(_threads, "_threadpoolctl", None)
    monkeypatch.setattr(_threads, "_blas_libs", None)
    seen = spy_steps(monkeypatch, LSTM)
    model, x, y = small_model()
    model.fit(x, y, batch_size=5, verbose=0)
    out = LSTM(6, 5, seed=0)(x_seq())
    assert out.shape == (4, 6)
    assert seen and all(set(s) == {START} for s in seen), seen


def test_set_num_threads_none_is_the_default(monkeypatch):
    saved = _threads._num_threads, _threads._explicit
    try:
        _threads.set_num_threads(3)
        assert _threads._explicit and _threads.get_num_threads() == 3
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
        _threads.set_num_threads(None)
        assert not _threads._explicit
        assert _threads.get_num_threads() == max(1, min(os.cpu_count() or 1, 4))
    finally:
        _threads._num_threads, _threads._explicit = saved


# -- teeth -------------------------------------------------------------------------------------
def test_teeth_a_limit_never_put_back_is_caught(blas, monkeypatch):
    """Planted: leaving a loop forgets to put BLAS's threads back."""
    monkeypatch.setattr(_threads, "_apply", lambda limit: None if limit is None else
                        [lib.set_num_threads(limit) for lib in _threads._blas_libs])
    LSTM(6, 5, seed=0)(x_seq())
    assert set(blas_threads()) == {1}  # the fixture's check would fail: put it back by hand
    threadpoolctl.threadpool_limits(START, user_api="blas")


def test_teeth_a_loop_without_the_limit_is_caught(blas, monkeypatch):
    """Planted: the time loop runs without ``loop_blas``; the spy sees BLAS's threads."""
    monkeypatch.setattr(_threads, "loop_blas_threads", lambda *a: None)
    seen = spy_steps(monkeypatch, LSTM)
    LSTM(6, 5, seed=0)(x_seq())
    with pytest.raises(AssertionError):
        assert all(set(s) == {1} for s in seen), seen
