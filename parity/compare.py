"""ParityReport: run a NumPy object and its Keras twin on the same inputs and measure every output."""
from __future__ import annotations

import contextvars
import dataclasses
import json
import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from . import tolerances


@dataclasses.dataclass
class OutputDiff:
    """How one output (a sequence, a state ...) differs.  ``expected`` is the Keras side."""

    name: str
    shape: tuple
    dtype: str
    max_abs_err: float
    max_rel_err: float
    #: The largest distance over every element in representable values of the compared dtype
    #: (both sides rounded to it; see ``ulp_distance``); int outputs: the largest |difference|.
    #: Near zero a float is dense (float32 has ~1e9 values below 1e-6), so an error well inside
    #: ``atol`` there is a large count: for "how many rounding steps", read ``ulp_at_worst``.
    max_ulp: float
    worst_index: tuple
    actual_at_worst: float
    expected_at_worst: float
    rtol: float
    atol: float
    passed: bool
    n_bad: int = 0
    first_bad_timestep: int | None = None
    error_by_timestep: list[float] | None = None
    note: str = ""
    #: Sequences only: mean of the per-timestep max error over the last quarter of the timesteps
    #: divided by the same mean over the first quarter (both floored, see ``growth_figures``);
    #: 1 means flat, 10 means the error grew tenfold along time.
    error_growth: float | None = None
    #: Sequences only: least-squares slope of the per-timestep max error, per timestep.
    error_slope: float | None = None
    #: Mean absolute error over every element.
    mean_abs_err: float | None = None
    #: The distance in representable values of the compared dtype at ``worst_index`` (the
    #: element with the largest absolute error): "max|err| is N float32 steps".
    ulp_at_worst: float | None = None

    @property
    def is_sequence(self) -> bool:
        """True when per-timestep errors were kept (a ``(batch, timesteps, ...)`` output)."""
        return self.error_by_timestep is not None

    @classmethod
    def from_dict(cls, d: dict) -> "OutputDiff":
        """Rebuild from :meth:`dataclasses.asdict` / JSON output (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: _from_json_number(v) for k, v in d.items() if k in names}
        kw["shape"] = tuple(kw.get("shape", ()))
        kw["worst_index"] = tuple(kw.get("worst_index", ()))
        return cls(**kw)

    def line(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        steps = ""
        if self.ulp_at_worst is not None and self.dtype in ("float32", "float64"):
            steps = (f" ({self.ulp_at_worst:.0f} ulp)" if math.isfinite(self.ulp_at_worst)
                     else "")
        text = (f"{status} {self.name:<10} max|err|={self.max_abs_err:.3e}{steps} "
                f"max rel={self.max_rel_err:.3e} "
                f"(atol={self.atol:.0e}, rtol={self.rtol:.0e}) shape={self.shape}")
        if not self.passed:
            text += (f"; worst at {list(self.worst_index)}: numpy={self.actual_at_worst!r} "
                     f"keras={self.expected_at_worst!r}; {self.n_bad} element(s) out of tolerance")
            if self.first_bad_timestep is not None:
                text += f"; first bad timestep {self.first_bad_timestep}"
            if self.error_growth is not None and len(self.error_by_timestep or ()) >= 2:
                text += f"; error growth x{self.error_growth:.3g} (last/first quarter)"
        if self.note:
            text += f"; {self.note}"
        return text


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


def _from_json_number(v: Any) -> Any:
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    if isinstance(v, list):
        return [_from_json_number(x) for x in v]
    return v


#: Errors below this fraction of ``atol`` count as zero in the growth ratio, so that a sequence
#: whose first steps are exact (0.0) and later ones carry one rounding step does not read as
#: infinite growth.
GROWTH_FLOOR_FRACTION = 1e-3


def growth_figures(error_by_timestep: Sequence[float], atol: float) -> tuple[float, float]:
    """How the error grows along time.

    Args:
        error_by_timestep: the max absolute error at each timestep, ``(timesteps,)``.
        atol: the absolute tolerance of the output (sets the noise floor).

    Returns:
        ``(growth, slope)``: ``growth`` = (mean of the last quarter + floor) / (mean of the first
        quarter + floor), a quarter being ``max(1, timesteps // 4)`` steps and the floor
        ``GROWTH_FLOOR_FRACTION * atol``; ``slope`` = least-squares slope of the error per
        timestep (0.0 for a single timestep).
    """
    e = np.asarray(error_by_timestep, dtype=np.float64)
    if e.size == 0:
        return 1.0, 0.0
    e = np.where(np.isfinite(e), e, np.finfo(np.float64).max)
    q = max(1, e.size // 4)
    floor = max(GROWTH_FLOOR_FRACTION * float(atol), np.finfo(np.float64).tiny)
    growth = (float(e[-q:].mean()) + floor) / (float(e[:q].mean()) + floor)
    if e.size < 2:
        return growth, 0.0
    t = np.arange(e.size, dtype=np.float64)
    slope = float(np.polyfit(t, e, 1)[0]) if np.all(np.isfinite(e)) else float("inf")
    return growth, slope


def _ordinal(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``x`` rounded to ``dtype`` (float32 or float64), as int64 ordinals: adjacent representable
    values differ by 1, ``-0.0`` and ``0.0`` are both 0, order is kept."""
    itype = np.int32 if dtype.itemsize == 4 else np.int64
    with np.errstate(over="ignore", invalid="ignore"):
        bits = x.astype(dtype).view(itype).astype(np.int64)
    magnitude = bits & np.int64(np.iinfo(itype).max)
    return np.where(bits < 0, -magnitude, magnitude)


def ulp_distance(actual: Any, expected: Any, dtype: Any) -> np.ndarray:
    """How many representable values of ``dtype`` (float32 or float64) lie between ``actual``
    and ``expected``, both first rounded to ``dtype``: 0 when they round to the same value, 1
    for neighbours (``nextafter``).  Counted on the number line, so across zero it is the steps
    down to zero plus the steps up from it (float32 has about 2.1e9 values in ``(0, 1)``).
    Infinite when one side is NaN or infinite and the other is not the same.  float64 result.
    """
    dtype = np.dtype(dtype)
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    oa, oe = _ordinal(a, dtype), _ordinal(e, dtype)
    same_sign = (oa >= 0) == (oe >= 0)
    with np.errstate(over="ignore"):  # the int64 branch is only used where it cannot overflow
        near = np.abs(oa - oe).astype(np.float64)
    far = np.abs(oa.astype(np.float64)) + np.abs(oe.astype(np.float64))
    steps = np.where(same_sign, near, far)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(a.astype(dtype)) & np.isfinite(e.astype(dtype))
        equal = (a.astype(dtype) == e.astype(dtype)) | (np.isnan(a) & np.isnan(e))
    return np.where(equal, 0.0, np.where(finite, steps, np.inf))


def diff_arrays(name: str, actual: Any, expected: Any, *, kind: str = "output",
                rtol: float | None = None, atol: float | None = None,
                time_axis: int | None = None) -> OutputDiff:
    """Compare one NumPy output with the Keras output it should equal.

    The tolerance comes from ``tolerances.TABLE`` by the less precise dtype of the two, unless
    ``rtol`` / ``atol`` are given.  ``time_axis`` marks a sequence: per-timestep errors are kept.
    """
    a = np.asarray(actual)
    e = np.asarray(expected)
    key = tolerances.comparison_dtype(a.dtype, e.dtype)
    tol = tolerances.lookup(key, kind)
    rtol = tol.rtol if rtol is None else float(rtol)
    atol = tol.atol if atol is None else float(atol)
    if a.shape != e.shape:
        return OutputDiff(name, tuple(e.shape), key, float("inf"), float("inf"), float("inf"), (),
                          float("nan"), float("nan"), rtol, atol, False,
                          note=f"shape mismatch: numpy {a.shape} vs keras {e.shape}")
    if a.size == 0:
        return OutputDiff(name, a.shape, key, 0.0, 0.0, 0.0, (), 0.0, 0.0, rtol, atol, True)
    a64 = a.astype(np.float64)
    e64 = e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: handled just below
        err = np.abs(a64 - e64)
    nan_mismatch = np.isnan(a64) != np.isnan(e64)
    both_nan = np.isnan(a64) & np.isnan(e64)
    err = np.where(both_nan, 0.0, np.where(nan_mismatch, np.inf, err))
    inf_equal = np.isinf(a64) & (a64 == e64)
    err = np.where(inf_equal, 0.0, err)
    with np.errstate(over="ignore", invalid="ignore"):
        rel = err / np.maximum(np.abs(e64), np.finfo(np.float64).tiny)
    bad = err > atol + rtol * np.abs(np.where(np.isfinite(e64), e64, 0.0))
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    # ulp: representable values of the compared dtype between the two sides (ints: |difference|)
    ulp = err if key == "int" else ulp_distance(a64, e64, np.dtype(key))
    by_t = first_bad = growth = slope = None
    if time_axis is not None and a.ndim >= 2:
        other = tuple(i for i in range(a.ndim) if i != time_axis)
        by_t = [float(x) for x in err.max(axis=other)]
        bad_t = np.flatnonzero(bad.any(axis=other))
        first_bad = int(bad_t[0]) if bad_t.size else None
        growth, slope = growth_figures(by_t, atol)
    return OutputDiff(
        name=name, shape=tuple(a.shape), dtype=key,
        max_abs_err=float(err.max()), max_rel_err=float(rel.max()), max_ulp=float(ulp.max()),
        worst_index=tuple(int(i) for i in worst),
        actual_at_worst=float(a64[worst]), expected_at_worst=float(e64[worst]),
        rtol=rtol, atol=atol, passed=not bool(bad.any()), n_bad=int(bad.sum()),
        first_bad_timestep=first_bad, error_by_timestep=by_t,
        error_growth=growth, error_slope=slope, mean_abs_err=float(err.mean()),
        ulp_at_worst=float(ulp[worst]),
    )


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


def _notify(report: ParityReport) -> None:
    for fn in list(_observers):
        try:
            fn(report)
        except Exception as exc:  # noqa: BLE001 - an observer must never break a comparison
            warnings.warn(f"parity observer {fn!r} failed: {type(exc).__name__}: {exc}",
                          RuntimeWarning, stacklevel=3)


def _as_list(out: Any) -> list:
    if isinstance(out, (list, tuple)):
        return list(out)
    return [out]


def output_names(np_obj: Any, n: int) -> list[str]:
    """Names for a layer's outputs: sequence/output, then its states (h, c, h_fw ...)."""
    names = getattr(np_obj, "output_names", None)
    if callable(names):
        got = list(names())
        if len(got) == n:
            return got
    if n == 1:
        return ["output"]
    state = {2: ["h"], 3: ["h", "c"]}.get(n, [f"state{i}" for i in range(n - 1)])
    return ["output"] + state


def compare_outputs(case: str, np_out: Any, keras_out: Any, names: Sequence[str] | None = None,
                    *, rtol: float | None = None, atol: float | None = None) -> ParityReport:
    """Build a report from already-computed outputs (lists are matched element by element)."""
    a_list, e_list = _as_list(np_out), _as_list(keras_out)
    if len(a_list) != len(e_list):
        diff = OutputDiff("outputs", (len(e_list),), "-", float("inf"), float("inf"), float("inf"),
                          (), float("nan"), float("nan"), 0.0, 0.0, False,
                          note=f"numpy returned {len(a_list)} output(s), keras {len(e_list)}")
        return ParityReport(case, [diff])
    names = list(names) if names is not None else [f"output{i}" for i in range(len(a_list))]
    diffs = []
    for name, a, e in zip(names, a_list, e_list):
        a, e = np.asarray(a), np.asarray(e)
        kind = "state" if name.startswith("c") else "output"
        time_axis = 1 if (name in ("sequence", "output") and e.ndim == 3) else None
        label = "sequence" if time_axis is not None and name == "output" else name
        diffs.append(diff_arrays(label, a, e, kind=kind, rtol=rtol, atol=atol, time_axis=time_axis))
    report = ParityReport(case, diffs)
    if _observers and _compare_depth.get() == 0:  # inside compare(), compare() reports it
        _notify(report)
    return report


def compare(np_obj: Any, keras_obj: Any, inputs: Any, *, case: str | None = None,
            rtol: float | None = None, atol: float | None = None,
            **call_kwargs: Any) -> ParityReport:
    """Run ``np_obj`` and ``keras_obj`` on the same inputs and measure every output.

    ``call_kwargs`` (``mask=``, ``initial_state=`` ...) are passed to both calls.  For a text
    object (Vocabulary / Tokenizer, TextVectorization) ``inputs`` is a list of strings and the
    token ids are compared exactly.
    """
    from . import bridge  # keeps `import parity.compare` free of TensorFlow

    case = case or f"{type(np_obj).__name__} vs {type(keras_obj).__name__}"
    token = _compare_depth.set(_compare_depth.get() + 1)
    try:
        report = bridge.run_pair(np_obj, keras_obj, inputs, case=case, rtol=rtol, atol=atol,
                                 **call_kwargs)
    finally:
        _compare_depth.reset(token)
    if _observers:
        _notify(report)
    return report


def assert_parity(np_obj: Any, keras_obj: Any, inputs: Any, *, rtol: float | None = None,
                  atol: float | None = None, **call_kwargs: Any) -> ParityReport:
    """Raise ``AssertionError`` (message: the report) unless every output is within tolerance."""
    __tracebackhide__ = True
    report = compare(np_obj, keras_obj, inputs, rtol=rtol, atol=atol, **call_kwargs)
    if not report.passed:
        raise AssertionError(str(report))
    return report
