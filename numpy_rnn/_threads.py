"""How the recurrent layers split a batch into blocks and run the blocks on threads (stdlib only).

Rows of a batch never interact in a recurrent layer, so each block of rows runs the whole time
loop on its own; NumPy's ufuncs and matmul release the GIL, so blocks on different threads run
on different cores.  With more than one thread the partition depends on the shape alone (never on
the thread count), so results are bitwise the same for every thread count above 1.  One thread
runs the whole batch as one block: blocks cost more than they save when nothing runs beside them
(measured on the 2-core machine, quiet, BLAS on 2 threads: blocks on one thread made the forward
1.15-1.56x slower at B >= 32, e.g. LSTM (256, 50, 300, 512) 373 -> 507 ms).

Threads: ``set_num_threads(n)``, or the environment variable ``NUMPY_RNN_THREADS`` read at import.
The default is 1, unless NumPy's BLAS is told to use
one thread (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` = 1): then
``min(os.cpu_count(), 4)``.  Blocks on several threads each call BLAS, and a multithreaded BLAS
called from several threads at once oversubscribes the cores (measured on 2 cores: 2-7x slower),
so use threads with a one-thread BLAS (the environment variables, or threadpoolctl's
``threadpool_limits(1)``).  This module never changes BLAS's threads itself.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Bytes of one step's gate pre-activations a block aims at (rows * gates*units * itemsize): small
#: enough for the gates, states and temporaries of a step to stay in a core's L2 cache.
BLOCK_BYTES = 128 * 1024
#: Fewer rows than this per block costs more in per-call overhead than cache misses save.
MIN_ROWS = 16
#: Blocks are at least this many (when the batch has the rows), so two threads have work.
MIN_BLOCKS = 2

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _from_env() -> int:
    raw = os.environ.get("NUMPY_RNN_THREADS", "").strip()
    if raw:
        try:
            n = int(raw)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError("Environment variable NUMPY_RNN_THREADS must be a positive integer. "
                             f"Received: {raw!r}")
        return n
    if any(os.environ.get(k, "").strip() == "1"
           for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        return max(1, min(os.cpu_count() or 1, 4))
    return 1


_num_threads = _from_env()


def set_num_threads(n: int) -> None:
    """Run recurrent layers' batch blocks on ``n`` threads (1: the calling thread only)."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive integer (threads). Received: n={n!r}")
    _num_threads = n


def get_num_threads() -> int:
    """The number of threads recurrent layers use for batch blocks."""
    return _num_threads


def batch_blocks(batch: int, row_bytes: int) -> list[slice]:
    """Rows ``0..batch`` cut into near-equal contiguous blocks, from the shape alone.

    ``row_bytes``: bytes of one row of a step's gate pre-activations (gates*units*itemsize)."""
    if batch <= 0:
        return [slice(0, batch)]
    rows = max(MIN_ROWS, BLOCK_BYTES // max(row_bytes, 1))
    n = max(-(-batch // rows), min(MIN_BLOCKS, batch // MIN_ROWS), 1)
    bounds = [batch * i // n for i in range(n + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def run_blocks(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(item) for item in items]``, the items spread over the threads (the calling thread
    takes the first); results in the items' order; the first exception is raised."""
    threads = min(_num_threads, len(items))
    if threads <= 1:
        return [fn(item) for item in items]
    pool = _get_pool(threads - 1)

    def share(k: int) -> list[R]:  # thread k takes items k, k + threads, ...
        return [fn(item) for item in items[k::threads]]
    futures = [pool.submit(share, k) for k in range(1, threads)]
    shares = [share(0)] + [f.result() for f in futures]
    return [shares[i % threads][i // threads] for i in range(len(items))]


def _get_pool(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="numpy_rnn")
            _pool_size = size
        return _pool
