"""ParityReport and OutputDiff: what a comparison measured.  A leaf: imports nothing of parity.

:func:`compare_outputs` builds a report from outputs already computed, given their names and
tolerance kinds (``"output"`` or ``"state"``, see ``numpy_rnn.testing.TABLE``); the side that ran
them (``parity.bridge``, which knows the layer) says which output is which.  Observers
(:func:`add_observer`) see every report made (the pytest plugin's ``--parity-report``).
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import math
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from numpy_rnn.testing import ArrayDiff as OutputDiff
from numpy_rnn.testing import GROWTH_FLOOR_FRACTION, growth_figures, ulp_distance
from numpy_rnn.testing import diff as _diff

__all__ = ["ParityReport", "OutputDiff", "diff_arrays", "compare_outputs", "json_safe",
           "json_number", "add_observer", "remove_observer", "notify", "reporting_once",
           "growth_figures", "ulp_distance", "GROWTH_FLOOR_FRACTION", "OUTPUT_KINDS",
           "Capture", "capturing", "wants_exact", "attach_exact"]

# -- capture: what the reference computed, row by row (the backend drift report) -------------
@dataclasses.dataclass
class Capture:
    """The expected (reference) array of every row :func:`diff_arrays` measured inside
    :func:`capturing`, in order, as ``(name, array, how)`` (``how``: the ``kind`` / ``rtol`` /
    ``atol`` / ``scale`` it was measured with, and ``numpy_digest``, a digest of the NumPy side's
    array); ``exact``: the float64 answers a comparison attached to its
    rows (:func:`attach_exact`), by row position, when the capture asked for them."""

    want_exact: bool = False
    rows: list = dataclasses.field(default_factory=list)
    exact: dict = dataclasses.field(default_factory=dict)


_capture: contextvars.ContextVar[Capture | None] = contextvars.ContextVar("parity_capture",
                                                                          default=None)


@contextlib.contextmanager
def capturing(want_exact: bool = False) -> Iterator[Capture]:
    """Inside, every row measured keeps a copy of its expected array (``Capture.rows``); with ``want_exact`` the bridge's comparisons also compute the float64
    answer of each row they can (``wants_exact``) and attach it."""
    cap = Capture(want_exact)
    token = _capture.set(cap)
    try:
        yield cap
    finally:
        _capture.reset(token)


def wants_exact() -> bool:
    """Whether a capture asks for float64 answers (the drift report's referee pass)."""
    cap = _capture.get()
    return cap is not None and cap.want_exact


def attach_exact(rows: Sequence[tuple[str, Any]]) -> None:
    """Attach float64 answers ``(row name, array)`` to the latest captured rows of those names
    (the rows the calling comparison has just measured, matched from the end)."""
    cap = _capture.get()
    if cap is None:
        return
    for name, exact in rows:
        for i in range(len(cap.rows) - 1, -1, -1):
            if cap.rows[i][0] == name and i not in cap.exact:
                cap.exact[i] = np.asarray(exact, np.float64)
                break


def _digest(actual: Any) -> str:
    """sha256 of the NumPy side's array (dtype, shape, bytes): equal inputs and weights give
    NumPy bit-equal outputs, so two references' runs of a case with different digests did not
    compute the same thing (Keras's initialisers draw from each backend's own RNG)."""
    a = np.ascontiguousarray(np.asarray(actual))
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    if a.dtype.kind in "biufc":
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def diff_arrays(name: str, actual: Any, expected: Any, **kwargs: Any) -> OutputDiff:
    """``numpy_rnn.testing.diff`` (the one array diff); inside :func:`capturing` the expected
    array is kept too."""
    d = _diff(name, actual, expected, **kwargs)
    cap = _capture.get()
    if cap is not None:
        how = {k: v for k, v in kwargs.items() if k in ("kind", "rtol", "atol", "scale")}
        how["numpy_digest"] = _digest(actual)
        cap.rows.append((d.name, np.array(expected, copy=True), how))
    return d


#: Tolerance kinds of ``numpy_rnn.testing.TABLE``: "state" is an LSTM cell state c.
OUTPUT_KINDS = ("output", "state")


@dataclasses.dataclass
class ParityReport:
    """Every output of one comparison; ``passed`` only if all outputs are within tolerance."""

    case: str
    outputs: list[OutputDiff]
    #: Why the comparison did not run (e.g. an optional reference is not installed), else None.
    skipped: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.outputs) and all(o.passed for o in self.outputs)

    @property
    def max_abs_err(self) -> float:
        return max((o.max_abs_err for o in self.outputs), default=float("nan"))

    @property
    def max_ulp(self) -> float:
        """The largest ULP distance over every output (in each output's compared dtype)."""
        return max((o.max_ulp for o in self.outputs), default=float("nan"))

    @property
    def max_rel_err(self) -> float:
        return max((o.max_rel_err for o in self.outputs), default=float("nan"))

    def output(self, name: str) -> OutputDiff:
        """The output called ``name`` (``KeyError`` naming the outputs there are)."""
        for o in self.outputs:
            if o.name == name:
                return o
        raise KeyError(f"output {name!r} not in report {self.case!r}; outputs: "
                       f"{[o.name for o in self.outputs]}")

    @property
    def sequence_outputs(self) -> list[OutputDiff]:
        """The outputs with per-timestep errors (for plots and growth figures)."""
        return [o for o in self.outputs if o.is_sequence]

    @property
    def refereed(self) -> list[OutputDiff]:
        """The float32 outputs the float64 referee judged (``parity.bridge.referee``): numpy and
        Keras disagreed beyond the tolerance table there, and the verdict is numpy's distance from
        the float64 answer against Keras's own."""
        return [o for o in self.outputs if getattr(o, "refereed", False)]

    @classmethod
    def from_dict(cls, d: dict) -> "ParityReport":
        """Rebuild a report from :meth:`to_dict` / its JSON."""
        return cls(d["case"], [OutputDiff.from_dict(o) for o in d.get("outputs", [])],
                   skipped=d.get("skipped"))

    @property
    def worst(self) -> OutputDiff | None:
        """The output furthest outside (or closest to) its tolerance."""
        def ratio(o: OutputDiff) -> float:
            return o.max_abs_err / max(o.atol + o.rtol * abs(o.expected_at_worst), 1e-300)
        return max(self.outputs, key=ratio, default=None)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = f"parity {'PASSED' if self.passed else 'FAILED'}: {self.case}"
        return "\n".join([head] + ["  " + o.line() for o in self.outputs])

    def to_dict(self) -> dict:
        """Plain data: ``case``, ``passed``, ``skipped``, the report-wide maxima and every output.

        Non-finite figures stay floats here; ``to_json`` writes them as the strings ``"inf"``,
        ``"-inf"`` and ``"nan"`` so that the text is strict JSON.
        """
        return {"case": self.case, "passed": self.passed, "skipped": self.skipped,
                "max_abs_err": self.max_abs_err, "max_rel_err": self.max_rel_err,
                "max_ulp": self.max_ulp,
                "outputs": [dataclasses.asdict(o) for o in self.outputs]}

    def to_json(self) -> str:
        return json.dumps(json_safe(self.to_dict()), indent=2, default=_json_default,
                          allow_nan=False)


def _json_default(x: Any):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(type(x).__name__)


def json_safe(obj: Any) -> Any:
    """``obj`` with tuples as lists, NumPy scalars as Python ones and non-finite floats as the
    strings ``"inf"`` / ``"-inf"`` / ``"nan"`` (strict JSON has no NaN or Infinity)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    return obj


def json_number(value: Any) -> Any:
    """The inverse of :func:`json_safe` for figures: ``"inf"`` / ``"-inf"`` / ``"nan"`` (also
    inside lists) back to floats; anything else unchanged."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    if isinstance(value, list):
        return [json_number(v) for v in value]
    return value


# -- observers: who wants to see every comparison (the pytest plugin's --parity-report) ---------
Observer = Callable[[ParityReport], None]
_observers: list[Observer] = []
_compare_depth: contextvars.ContextVar[int] = contextvars.ContextVar("parity_compare_depth",
                                                                     default=0)


def add_observer(fn: Observer) -> None:
    """Call ``fn(report)`` after every :func:`compare` / :func:`compare_outputs` from now on."""
    if fn not in _observers:
        _observers.append(fn)


def remove_observer(fn: Observer) -> None:
    """Stop calling ``fn`` (no error if it was not registered)."""
    if fn in _observers:
        _observers.remove(fn)


def notify(report: ParityReport) -> None:
    """Give ``report`` to every observer (an observer that raises is reported as a warning)."""
    for fn in list(_observers):
        try:
            fn(report)
        except Exception as exc:  # noqa: BLE001 - an observer must never break a comparison
            warnings.warn(f"parity observer {fn!r} failed: {type(exc).__name__}: {exc}",
                          RuntimeWarning, stacklevel=3)


@contextlib.contextmanager
def reporting_once() -> Iterator[None]:
    """Inside, :func:`compare_outputs` does not notify: the caller (``parity.compare``) notifies
    once with its own report."""
    token = _compare_depth.set(_compare_depth.get() + 1)
    try:
        yield
    finally:
        _compare_depth.reset(token)


def _as_list(out: Any) -> list:
    if isinstance(out, (list, tuple)):
        return list(out)
    return [out]


def compare_outputs(case: str, np_out: Any, keras_out: Any, names: Sequence[str] | None = None,
                    kinds: Sequence[str] | None = None, *, rtol: float | None = None,
                    atol: float | None = None) -> ParityReport:
    """Build a report from already-computed outputs (lists are matched element by element).

    ``names`` default to ``output0``, ``output1`` ...; ``kinds`` (one per output, each one of
    :data:`OUTPUT_KINDS`) to ``"output"`` for every output.  A 3-D output named ``output`` or
    ``sequence`` gets per-timestep figures (and is labelled ``sequence``).
    """
    a_list, e_list = _as_list(np_out), _as_list(keras_out)
    if len(a_list) != len(e_list):
        diff = OutputDiff("outputs", (len(e_list),), "-", float("inf"), float("inf"), float("inf"),
                          (), float("nan"), float("nan"), 0.0, 0.0, False,
                          note=f"numpy returned {len(a_list)} output(s), keras {len(e_list)}")
        return ParityReport(case, [diff])
    names = list(names) if names is not None else [f"output{i}" for i in range(len(a_list))]
    kinds = list(kinds) if kinds is not None else ["output"] * len(a_list)
    for what, got in (("names", names), ("kinds", kinds)):
        if len(got) != len(a_list):
            raise ValueError(f"compare_outputs: expected {len(a_list)} {what} (one per output), "
                             f"received {len(got)}: {got}")
    bad = [k for k in kinds if k not in OUTPUT_KINDS]
    if bad:
        raise ValueError(f"compare_outputs: `kinds` must be among {OUTPUT_KINDS}, received {bad}")
    diffs = []
    for name, kind, a, e in zip(names, kinds, a_list, e_list):
        a, e = np.asarray(a), np.asarray(e)
        time_axis = 1 if (name in ("sequence", "output") and e.ndim == 3) else None
        label = "sequence" if time_axis is not None and name == "output" else name
        diffs.append(diff_arrays(label, a, e, kind=kind, rtol=rtol, atol=atol, time_axis=time_axis))
    report = ParityReport(case, diffs)
    if _observers and _compare_depth.get() == 0:  # inside compare(), compare() reports it
        notify(report)
    return report
