"""BLAS threads in the time loop: numpy_rnn's policy against BLAS's own threads, quiet and loaded.

A/B of the policy in ``numpy_rnn/_threads.py`` (BLAS on one thread inside a recurrent layer's
time loop when a step's matrix product is small, and in a model's ``fit`` / ``predict`` batches
when the model is small), on a quiet machine and with
another process busy (a CPU burner this script starts: a one-thread NumPy matrix-multiply loop in
a subprocess, keeping one core busy, as another job would).  Three settings, timed in turn round
after round on the same data and starting weights, so a noisy neighbour slows them alike:

* ``blas-default``: BLAS's own threads everywhere (numpy_rnn before the policy);
* ``policy``: numpy_rnn's default now (BLAS limited in the loop only);
* ``blas-1``: BLAS on one thread everywhere (``threadpoolctl.threadpool_limits(1)`` around the
  call), for reference.

The order of the three rotates from round to round (OpenBLAS's idle threads spin for a while
after a call on several threads, slowing whatever runs next), so use a multiple of 3 rounds.

Workloads: one ``fit`` epoch and one ``predict`` of README's next-word model (Embedding(24),
LSTM(48), Dense(vocab), batch 64), one ``fit`` epoch of an LSTM(64) regressor on (1024, 20, 16)
with batch 32, and a large ``predict`` (LSTM(512), batch 256: above both bounds, so the policy
leaves BLAS alone there).  Printed: min-median-max ms per setting and the per-round
ratios' median against ``blas-default``, as markdown rows for docs/performance.md.  Needs
threadpoolctl (the ``[speed]`` extra).

    python benchmarks/bench_threads.py                  # quiet, then loaded
    python benchmarks/bench_threads.py --rounds 3 --only quiet
    python benchmarks/bench_threads.py --gemm           # where BLAS's threads pay in a step

``--gemm`` times a step's recurrent product alone, ``(batch, units) @ (units, 4*units)`` float32
into a buffer, BLAS on 2 threads against 1, quiet and loaded: the measurement behind
``LOOP_BLAS_MIN_MACS``.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import numpy_rnn
from numpy_rnn import LSTM, Dense, Embedding, Sequential, _threads, optimizers

BURNER = ("import numpy as np\n"
          "from threadpoolctl import threadpool_limits\n"
          "threadpool_limits(1)\n"
          "a = np.random.default_rng(0).random((256, 256))\n"
          "while True:\n"
          "    a @ a\n")


@contextlib.contextmanager
def setting(name: str):
    """Run the block under one of the three settings."""
    saved = _threads.LOOP_BLAS_MIN_MACS, _threads.CALL_BLAS_MIN_MACS
    try:
        if name == "blas-default":
            _threads.LOOP_BLAS_MIN_MACS = _threads.CALL_BLAS_MIN_MACS = 0  # BLAS left alone
            yield
        elif name == "blas-1":
            with threadpool_limits(1, user_api="blas"):
                yield
        else:
            yield
    finally:
        _threads.LOOP_BLAS_MIN_MACS, _threads.CALL_BLAS_MIN_MACS = saved


def next_word():
    vocab = numpy_rnn.Vocabulary()
    windows = vocab.tokenize(numpy_rnn.datasets.load_corpus_lines(), 11)
    x, y = windows[:, :-1], windows[:, -1]
    model = Sequential([Embedding(vocab.size, 24, mask_zero=True), LSTM(48),
                        Dense(vocab.size, activation="softmax")])
    model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    model.predict(x[:2])
    start = model.get_weights()

    def fit():
        model.set_weights(start)
        model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)

    def predict():
        model.predict(x, batch_size=64)
    return {f"next-word fit epoch ({len(x)} samples)": fit,
            f"next-word predict ({len(x)} samples)": predict}


def regressor():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1024, 20, 16)).astype(np.float32)
    y = rng.normal(size=(1024, 1)).astype(np.float32)
    model = Sequential([LSTM(64), Dense(1)])
    model.compile("adam", "mse")
    model.predict(x[:2])
    start = model.get_weights()

    def fit():
        model.set_weights(start)
        model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    return {"LSTM(64) fit epoch (1024, 20, 16), batch 32": fit}


def large():
    x = np.random.default_rng(1).normal(size=(256, 10, 64)).astype(np.float32)
    model = Sequential([LSTM(512, seed=0)])
    return {"LSTM(512) predict (256, 10, 64), batch 256": lambda: model.predict(x, 256)}


SETTINGS = ("blas-default", "policy", "blas-1")


def measure(work: Callable[[], None], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {s: [] for s in SETTINGS}
    for name in SETTINGS:  # warm-up
        with setting(name):
            work()
    for r in range(rounds):  # each round in another order: BLAS's threads spin a while after
        for name in SETTINGS[r % 3:] + SETTINGS[:r % 3]:  # work, slowing whoever runs next
            with setting(name):
                t0 = time.perf_counter()
                work()
                times[name].append((time.perf_counter() - t0) * 1e3)
    return times


GEMM_SHAPES = [(1, 64), (32, 64), (32, 128), (64, 256), (128, 256), (256, 256), (256, 512),
               (512, 512)]


def gemm(state: str) -> None:
    """One row per (batch, units): the best of 3 runs of n products, 2 BLAS threads against 1."""
    for batch, units in GEMM_SHAPES:
        h = np.random.default_rng(0).random((batch, units), np.float32)
        kernel = np.random.default_rng(1).random((units, 4 * units), np.float32)
        out = np.empty((batch, 4 * units), np.float32)
        n = max(20, int(2e8 / (batch * units * 4 * units * 2)))
        best = {}
        for threads in (1, 2):
            with threadpool_limits(threads, user_api="blas"):
                runs = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    for _ in range(n):
                        np.matmul(h, kernel, out=out)
                    runs.append((time.perf_counter() - t0) / n * 1e6)
                best[threads] = min(runs)
        print(f"| {state} | ({batch}, {units}) | {batch * units * 4 * units / 1e6:.1f}M "
              f"| {best[1]:.1f} | {best[2]:.1f} | {best[2] / best[1]:.2f} |", flush=True)


def spread(v: list[float]) -> str:
    return f"{min(v):.0f}–{statistics.median(v):.0f}–{max(v):.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--only", choices=("quiet", "loaded"))
    ap.add_argument("--gemm", action="store_true", help="time a step's product alone")
    args = ap.parse_args(argv)
    if _threads._explicit:
        print("NUMPY_RNN_THREADS is set: the policy is the user's; unset it for this A/B",
              file=sys.stderr)
        return 2
    pools = "; ".join(f"{p['internal_api']} {p.get('version')} threads={p['num_threads']}"
                      for p in threadpool_info() if p["user_api"] == "blas")
    print(f"cpu_count={os.cpu_count()} {pools} LOOP_BLAS_MIN_MACS={_threads.LOOP_BLAS_MIN_MACS} "
          f"CALL_BLAS_MIN_MACS={_threads.CALL_BLAS_MIN_MACS} load={os.getloadavg()[0]:.1f}")
    works = {} if args.gemm else {**next_word(), **regressor(), **large()}
    if args.gemm:
        print("| machine | (batch, units) | multiply-adds | 1 thread µs | 2 threads µs | 2 / 1 |")
        print("|---|---|---|---|---|---|")
    else:
        print("| machine | workload | BLAS default ms | policy ms | BLAS 1 everywhere ms "
              "| policy / default | BLAS 1 / default |")
        print("|---|---|---|---|---|---|---|")
    for state in ("quiet", "loaded"):
        if args.only and state != args.only:
            continue
        burner = (subprocess.Popen([sys.executable, "-c", BURNER]) if state == "loaded"
                  else None)
        try:
            time.sleep(1.0 if burner else 0)
            if args.gemm:
                gemm(state)
            for label, work in works.items():
                t = measure(work, args.rounds)
                ratio = {s: statistics.median(a / b for a, b in zip(t[s], t["blas-default"]))
                         for s in SETTINGS}
                print(f"| {state} | {label} | {spread(t['blas-default'])} | {spread(t['policy'])} "
                      f"| {spread(t['blas-1'])} | {ratio['policy']:.2f} | {ratio['blas-1']:.2f} |",
                      flush=True)
        finally:
            if burner is not None:
                burner.kill()
                burner.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
