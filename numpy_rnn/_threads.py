"""How the recurrent layers split a batch into blocks and run the blocks on threads, and how many
threads BLAS gets inside numpy_rnn's calls (stdlib, and threadpoolctl when installed).

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
called from several threads at once oversubscribes the cores (measured on 2 cores: 2-7x slower).

BLAS's threads in the time loop (:func:`loop_blas`, entered once per forward or backward call of
a recurrent layer, never per step): a step's matrix products are small, and a multithreaded BLAS
pays for them in hand-offs between its threads, ruinously so when another process keeps a core
busy (issue 21: a small LSTM's fit epoch 0.5-9 s with OpenBLAS on 2 threads, 0.06-0.09 s on one).
With ``threadpoolctl`` installed (optional: the ``[speed]`` extra; without it BLAS is left as it
is), the loop runs with BLAS limited to

* 1 thread when the batch runs as blocks on several threads (one BLAS thread per block);
* ``n`` threads when the user set ``set_num_threads(n)`` / ``NUMPY_RNN_THREADS=n`` (the override
  always wins; never more than BLAS had);
* otherwise 1 thread when a step's recurrent product is under :data:`LOOP_BLAS_MIN_MACS`
  multiply-adds, and BLAS's own threads above it.

Model calls (:func:`call_blas`, entered once per batch of ``fit``, ``evaluate`` and
``train_on_batch``, once per ``predict``) are limited the same way, 1 thread unless the model is
large: the loop's limit alone left a small LSTM's fit epoch 5-7x slower than BLAS on one thread
on the busy 2-core machine, its Dense, input projection and weight-gradient products being
small too.  The size is a rough estimate, the 2-D weights' elements (embeddings aside) times the
rows of a batch (times the timesteps of a sequence input), against :data:`CALL_BLAS_MIN_MACS`.
Measurements: docs/performance.md, "BLAS threads"; ``benchmarks/bench_threads.py``.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence, TypeVar

try:  # optional: without it numpy_rnn never changes BLAS's threads
    import threadpoolctl as _threadpoolctl
except ImportError:  # pragma: no cover - depends on the environment
    _threadpoolctl = None

T = TypeVar("T")
R = TypeVar("R")

#: Bytes of one step's gate pre-activations a block aims at (rows * gates*units * itemsize): small
#: enough for the gates, states and temporaries of a step to stay in a core's L2 cache.
BLOCK_BYTES = 128 * 1024
#: Fewer rows than this per block costs more in per-call overhead than cache misses save.
MIN_ROWS = 16
#: Blocks are at least this many (when the batch has the rows), so two threads have work.
MIN_BLOCKS = 2
#: A step's recurrent product of at least this many multiply-adds (batch * units * gates*units)
#: may use BLAS's threads in the loop; smaller ones run on one.  Measured on the 2-core machine
#: (``(batch, units) @ (units, 4*units)`` float32, 2 BLAS threads against 1): 0.75-2.1x the time
#: up to (256, 256) (67M), 0.52-0.74x at (256, 512) (268M) and (512, 512) with the other core
#: idle, 1.0-1.5x with it busy.
LOOP_BLAS_MIN_MACS = 2 ** 27
#: The same bound for a whole model call (see :func:`call_macs`: a rough upper estimate).
CALL_BLAS_MIN_MACS = 2 ** 27

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _default() -> int:
    """1, or ``min(os.cpu_count(), 4)`` when NumPy's BLAS is told to use one thread."""
    if any(os.environ.get(k, "").strip() == "1"
           for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        return max(1, min(os.cpu_count() or 1, 4))
    return 1


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
    return _default()


_num_threads = _from_env()
#: Whether the user chose the threads (``set_num_threads`` or ``NUMPY_RNN_THREADS``).
_explicit = bool(os.environ.get("NUMPY_RNN_THREADS", "").strip())


def set_num_threads(n: int | None) -> None:
    """Run recurrent layers' time loops on ``n`` threads: batch blocks on up to ``n`` threads
    (BLAS on one each), or BLAS on up to ``n`` threads when the batch is one block (1: the
    calling thread only).  ``None`` goes back to the default (numpy_rnn picks, see the module)."""
    global _num_threads, _explicit
    if n is None:
        _num_threads, _explicit = _default(), False
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive integer (threads) or None. Received: n={n!r}")
    _num_threads = n
    _explicit = True


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


# -- BLAS's threads in the time loop ---------------------------------------------------------
_blas_lock = threading.Lock()
_blas_libs: list | None = None     # threadpoolctl's controllers of the BLAS libraries, made once
_blas_saved: list[int] = []        # their thread counts before the first active limit
_blas_active: list[int] = []       # the limits of the loops running now (any thread)


def loop_blas_threads(macs: int, blocks: int, bound: int | None = None) -> int | None:
    """BLAS threads for one call's time loop (None: leave BLAS as it is); ``macs``: one step's
    recurrent product in multiply-adds; ``blocks``: the batch blocks the call runs; ``bound``:
    the size from which BLAS keeps its threads (:data:`LOOP_BLAS_MIN_MACS`)."""
    if blocks > 1:
        return 1
    if _explicit:
        return _num_threads
    return 1 if macs < (LOOP_BLAS_MIN_MACS if bound is None else bound) else None


#: environment variables that hold NumPy's BLAS to one thread when set to 1
ONE_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_on_one_thread() -> bool:
    """True when BLAS runs on one thread here: the environment holds it there
    (:data:`ONE_THREAD_VARIABLES`), or a numpy_rnn limit of 1 (:func:`loop_blas`) is active and
    this is the main thread (the only one the limit applies to)."""
    if any(os.environ.get(k, "").strip() == "1" for k in ONE_THREAD_VARIABLES):
        return True
    with _blas_lock:
        held = bool(_blas_active) and min(_blas_active) == 1
    return held and threading.current_thread() is threading.main_thread()


def call_macs(layers: Sequence[Any], shape: Sequence[int], integer: bool, batch: int) -> int:
    """A rough upper estimate of the multiply-adds of one model call on ``batch`` rows of an
    input of ``shape`` (``integer``: token ids): the elements of every 2-D or larger weight
    (embeddings aside: a lookup) times the rows, times the timesteps (``shape[1]``) of a
    sequence input (rank 3 and more, or integer ids of rank 2)."""
    per_row = 0
    for layer in layers:
        try:
            shapes = layer.weight_shapes()
        except Exception:  # unbuilt, or a layer without the method: counts nothing
            continue
        for name, wshape in shapes.items():
            if name != "embeddings" and len(wshape) >= 2 and all(
                    isinstance(d, int) for d in wshape):
                per_row += math.prod(wshape)
    steps = shape[1] if len(shape) >= 3 or (integer and len(shape) == 2) else 1
    return batch * max(int(steps), 1) * per_row


def call_blas(layers: Sequence[Any], shape: Sequence[int], integer: bool,
              batch: int) -> "contextlib.AbstractContextManager[None]":
    """:func:`loop_blas` for one batch of a model call (:func:`call_macs`,
    :data:`CALL_BLAS_MIN_MACS`)."""
    return loop_blas(call_macs(layers, shape, integer, batch), 1, CALL_BLAS_MIN_MACS)


def _libraries() -> list:
    global _blas_libs
    if _blas_libs is None:
        _blas_libs = ([] if _threadpoolctl is None else
                      list(_threadpoolctl.ThreadpoolController()
                           .select(user_api="blas").lib_controllers))
    return _blas_libs


def _apply(limit: int | None) -> None:
    """BLAS at ``limit`` threads (never more than it had), or back to what it had (None)."""
    for lib, saved in zip(_blas_libs or [], _blas_saved):
        want = saved if limit is None else min(limit, saved)
        if lib.get_num_threads() != want:
            lib.set_num_threads(want)


@contextlib.contextmanager
def loop_blas(macs: int, blocks: int = 1, bound: int | None = None) -> Iterator[None]:
    """BLAS limited to :func:`loop_blas_threads` threads for the ``with`` block; restored after
    it, also when it raises.  Nested loops share the one process-wide setting: the smallest
    active limit holds, and the last to leave puts back what BLAS had before the first came in.
    Only the main thread changes it: OpenBLAS ignores a thread count set from another thread
    (measured, OpenBLAS 0.3.31), so a call made there leaves BLAS as it is (and its blocks and
    BLAS calls run under the main thread's setting).  Without threadpoolctl, nothing changes."""
    limit = loop_blas_threads(macs, blocks, bound)
    if limit is None or _threadpoolctl is None \
            or threading.current_thread() is not threading.main_thread() or not _enter(limit):
        yield
        return
    try:
        yield
    finally:
        _leave(limit)


def _enter(limit: int) -> bool:
    with _blas_lock:
        libs = _libraries()
        if not libs:
            return False
        if not _blas_active:
            _blas_saved[:] = [lib.get_num_threads() for lib in libs]
        _blas_active.append(limit)
        try:
            _apply(min(_blas_active))
        except BaseException:
            _blas_active.remove(limit)
            raise
        return True


def _leave(limit: int) -> None:
    with _blas_lock:
        _blas_active.remove(limit)
        _apply(min(_blas_active) if _blas_active else None)
