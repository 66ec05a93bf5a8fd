"""Running the sweep's cases, in this process (``--jobs 1``) or in N worker processes
(``--jobs N``), with each case starting from the same Keras state whatever ran before it.

* Case isolation (:func:`parity.gate.sweep.fresh_keras_state`, in every ``run_case``): before
  every case Keras's global state is reset (``keras.backend.clear_session``, and tf_keras's
  when it is loaded).  Keras names layers from a
  process-wide counter (``lstm``, ``lstm_1``, ...) and the gradient rows are named after the
  layers (``d lstm/kernel``), so without it a row's name depended on which cases ran earlier in
  the process -- a shard, a worker or ``--only`` then named the same output differently, and a
  baseline matched by output name silently compared nothing.  Every case seeds its own weights
  and inputs (``np.random.default_rng(seed)``, ``keras.utils.set_random_seed``).
* Workers (:func:`run_parallel`): a ``concurrent.futures.ProcessPoolExecutor`` with the
  ``spawn`` start method (TensorFlow's threads do not survive ``fork``).  Each worker imports
  TensorFlow once, rebuilds the case list from the same arguments (``build(*build_args)``; nothing
  unpicklable travels) and runs cases by position, returning plain row dicts
  (:func:`parity.gate.shard.outcome_row`).  Rows are handed back in the canonical order.  A
  worker that dies (a segfault, ``os._exit``) breaks the pool: the cases that were in flight are
  rerun one at a time in a fresh one-worker pool, so the one that kills its worker again becomes
  an ``ERROR`` row and the others get their results; the rest of the sweep continues.
* Backends (``keras_backend=``): Keras picks its backend once per process, at its import, from
  ``KERAS_BACKEND``; a worker sets it in its initializer, before anything imports Keras (importing
  ``parity`` does not), and refuses to run if Keras is already loaded on another one.  A worker
  whose backend is not TensorFlow does not import TensorFlow.
* Capture (``capture=(directory, want_exact)``): each case's reference arrays (and, with
  ``want_exact``, their float64 answers) are written to ``directory`` for the backend drift
  report (``parity.gate.drift``).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Sequence

from ..bridge import backend, import_tensorflow_quietly, quiet_tensorflow_logs
from ..cases import Case
from ..report import capturing
from .drift import save_capture
from .outcome import Outcome
from .shard import outcome_from_row, outcome_row
from .sweep import run_case

__all__ = ["run_parallel"]

OnStart = Callable[[int, Case], None]
OnDone = Callable[[int, Outcome], None]


# -- worker processes -----------------------------------------------------------------------------
_WORKER_CASES: list[Case] = []
_WORKER_CAPTURE: tuple[str, bool] | None = None


def _worker_init(build: Callable[..., list[Case]], build_args: tuple, tensorflow: bool,
                 keras_backend: str | None = None,
                 capture: tuple[str, bool] | None = None) -> None:
    """Runs once in each worker: Keras's backend chosen (before Keras is imported), TensorFlow
    imported (quietly) when asked, the case list rebuilt."""
    global _WORKER_CASES, _WORKER_CAPTURE
    if keras_backend is not None:
        if "keras" in sys.modules and backend.configured() != keras_backend:
            raise RuntimeError(f"worker: Keras was imported on {backend.configured()!r} before "
                               f"the worker could choose {keras_backend!r}")
        os.environ["KERAS_BACKEND"] = keras_backend
        if keras_backend == "jax":  # float64 layers need JAX's x64 mode from the first one on
            os.environ.setdefault("JAX_ENABLE_X64", "1")
    quiet_tensorflow_logs()  # Keras on any backend may import TensorFlow (saving, text layers)
    if tensorflow:
        import_tensorflow_quietly()
    _WORKER_CASES = list(build(*build_args))
    _WORKER_CAPTURE = capture


def _worker_run(position: int, name: str) -> dict:
    """Run the case at ``position`` of the rebuilt list (checked to be called ``name``)."""
    case = _WORKER_CASES[position] if 0 <= position < len(_WORKER_CASES) else None
    if case is None or case.name != name:
        found = None if case is None else case.name
        return outcome_row(Outcome(name, "parity", "ERROR", 0.0,
                                   error=f"RuntimeError: the worker's case list differs: position "
                                         f"{position} is {found!r}, expected {name!r}"))
    if _WORKER_CAPTURE is None:
        return outcome_row(run_case(case))
    directory, want_exact = _WORKER_CAPTURE
    with capturing(want_exact) as cap:
        outcome = run_case(case)
    save_capture(directory, position, cap)
    return outcome_row(outcome)


def _died(case: Case, detail: str) -> Outcome:
    return Outcome(case.name, case.group or "parity", "ERROR", 0.0,
                   error=f"WorkerDied: the worker process running this case died ({detail})",
                   params=getattr(case, "params", None))


#: What every worker of one run is started with: (tensorflow, keras_backend, capture).
Setup = tuple


def _pool(jobs: int, build, build_args: tuple, setup: Setup) -> cf.ProcessPoolExecutor:
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_worker_init,
                                  initargs=(build, build_args, *setup))


def _ready() -> bool:
    return True


def _workers_start(build, build_args: tuple, setup: Setup) -> bool:
    """Whether a fresh worker gets through its start-up (TensorFlow, the case list)."""
    with _pool(1, build, build_args, setup) as pool:
        try:
            return pool.submit(_ready).result()
        except BrokenProcessPool:
            return False


def _run_alone(position: int, case: Case, build, build_args: tuple, setup: Setup) -> Outcome:
    """One case in a fresh one-worker pool: its row, or ERROR if it kills the worker."""
    with _pool(1, build, build_args, setup) as pool:
        try:
            return outcome_from_row(pool.submit(_worker_run, position, case.name).result())
        except BrokenProcessPool as exc:
            return _died(case, f"{type(exc).__name__}: {exc}")


def run_parallel(cases: Sequence[Case], positions: Sequence[int], jobs: int,
                 build: Callable[..., list[Case]], build_args: tuple, *,
                 tensorflow: bool = True, on_start: OnStart | None = None,
                 on_done: OnDone | None = None, keras_backend: str | None = None,
                 capture: tuple[str, bool] | None = None) -> list[Outcome]:
    """Run ``cases`` in ``jobs`` spawned worker processes; outcomes in the order of ``cases``.

    ``positions[i]`` is where ``cases[i]`` sits in ``build(*build_args)`` (the list each worker
    rebuilds; ``build`` must be a module-level function).  ``on_start`` / ``on_done`` are called
    in order as the rows come in.  ``tensorflow``: import TensorFlow in each worker up front.
    ``keras_backend``: the Keras backend every worker runs (``KERAS_BACKEND``; None: inherited).
    ``capture``: ``(directory, want_exact)``, write each case's reference arrays there
    (``parity.gate.drift``).
    """
    setup = (tensorflow, keras_backend, capture)
    if len(positions) != len(cases):
        raise ValueError(f"positions: expected one per case ({len(cases)}), received "
                         f"{len(positions)}")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ValueError(f"jobs: expected an integer >= 1, received {jobs!r}")
    results: dict[int, Outcome] = {}
    todo = list(range(len(cases)))
    emitted = 0

    def emit_ready() -> None:
        nonlocal emitted
        while emitted in results:
            if on_done:
                on_done(emitted, results[emitted])
            emitted += 1
            if on_start and emitted < len(cases):
                on_start(emitted, cases[emitted])

    if on_start and cases:
        on_start(0, cases[0])
    while todo:
        suspects: list[int] = []
        pool = _pool(jobs, build, build_args, setup)
        try:
            in_flight: dict[cf.Future, int] = {}
            while todo or in_flight:
                while todo and len(in_flight) < jobs:
                    i = todo.pop(0)
                    in_flight[pool.submit(_worker_run, positions[i], cases[i].name)] = i
                done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
                broken = False
                for fut in done:
                    i = in_flight.pop(fut)
                    try:
                        results[i] = outcome_from_row(fut.result())
                    except BrokenProcessPool:
                        suspects.append(i)
                        broken = True
                    except Exception as exc:  # noqa: BLE001 - e.g. a row that cannot travel
                        results[i] = Outcome(cases[i].name, cases[i].group or "parity", "ERROR",
                                             0.0, error=f"{type(exc).__name__}: {exc}")
                if broken:  # every case still in flight went down with the pool
                    suspects += list(in_flight.values())
                    break
                emit_ready()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for i in sorted(suspects):
            results[i] = _run_alone(positions[i], cases[i], build, build_args, setup)
        all_died = suspects and all((results[i].error or "").startswith("WorkerDied")
                                    for i in suspects)
        if all_died and not _workers_start(build, build_args, setup):
            for i in todo:  # a worker cannot even build the case list: nothing can run
                results[i] = _died(cases[i], "no worker process could run any case")
            todo = []
        emit_ready()
    return [results[i] for i in range(len(cases))]
