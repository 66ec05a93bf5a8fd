"""The one tolerance table and the one array diff, NumPy only (think ``numpy.testing``).

The bundle check (``numpy_rnn.formats.bundle``) and the ``parity`` package both compare with
:func:`diff` and the table below, so a figure means the same everywhere.

Tolerances.  Semantics follow numpy.testing / torch.testing: the Keras output is the *expected* side and an
element passes when ``|actual - expected| <= atol + rtol * |expected|``.

The key is the dtype the comparison is carried out in: the *less* precise of the two layers'
dtypes (a float64 NumPy layer checked against a float32 Keras layer is held to float32 limits).

Measurements (spec/keras-semantics.md section 1.6, tensorflow-cpu 2.21 / Keras 3.15.1, 2 cores):
* float32 Keras LSTM vs float64 reference, default init, T up to 200: max |seq err| 2.0e-7,
  max |c_T err| 3.5e-7; float32 NumPy vs the float32 layer: 2.4e-7.  Weights scaled x3 (a stress
  test): seq 5.6e-7, c 6.7e-7.  Hence atol 1e-6 for outputs and h, 2e-6 for the cell state c
  (which is not squashed, so it carries larger values and rounding).
* The relative term covers outputs that are not bounded by tanh (relu / linear activations, large
  cell states): float32 keeps 24 bits, so 1e-5 is about 80 ulp of accumulated rounding over
  the timesteps, the same order as the absolute terms above relative to values of order 1.
* float64 layer vs float64 reference: 1.7e-16 (spec 1.5).  Our float64 loop sums the same terms
  in a different order inside BLAS, measured at most 2e-15 on the property grid (see
  tests/property); 1e-12 / 1e-10 leaves room for long sequences without hiding a real bug (a
  wrong gate gives errors of order 1e-1).
* Text and integer outputs (token ids, vocabularies) must match exactly.

Gradients (kind ``"gradient"``; ``parity.compare_gradients``).  A gradient sums over batch x
timesteps terms, so its rounding scales with its largest element, not with each element: ``atol``
is a *fraction of max|expected|* of that gradient (``RELATIVE_KINDS``).  Measured as
max|numpy - keras| / max|keras| against ``tf.GradientTape`` (tensorflow-cpu 2.21, 2 cores):
* float64: LSTM option grid at (500, 12, 20, 100) 1.3e-16 .. 8.3e-15 (the largest: the input
  gradient under a linear recurrent gate; bias gradients, sums of 6000 terms, up to 5.7e-15); the
  seed pipeline (907 corpus windows, Embedding -> LSTM, + Dense softmax with a loss) 2.1e-16 ..
  9.8e-15; hypothesis over the forward property tests' shapes x options x masks (40 examples per
  family, ci profile): LSTM 9.1e-16, GRU 6.0e-16, SimpleRNN 1.1e-15, Bidirectional 4.6e-15,
  Dense 3.8e-16.  Hence atol 1e-12 of max (100x the worst) and rtol 1e-12.
* float32: the grid 1.1e-7 .. 8.0e-7 (weights 1e-7 .. 4e-7, input gradients 4e-7 .. 8e-7), and
  1.5e-6 for the input gradient under a linear recurrent gate, where both sides are 1.1e-5 from
  the float64 answer; the seed pipeline 2.2e-7 .. 5.6e-7; hypothesis GRU 8.7e-7, SimpleRNN
  3.8e-7, LSTM / Bidirectional / Dense up to 3.9e-6 / 1.6e-6 / 1.6e-5 on 4 of about 200
  examples (cancelling sums: a kernel gradient over one input feature is 20x smaller than its
  terms; unbounded gates), every one of which the float64 referee
  (``parity.bridge.grad_referee``) finds no farther from exact than Keras; a MultiHeadAttention
  example (9 cancelling terms of ~1 summing to 0.013: 9.1e-6 of max, numpy_rnn 1.4e-7 from exact,
  Keras's one draw 1.6e-8) passes its second rule, Keras's float32 noise measured at 8 points 1
  ulp away (1.9e-7), no tolerance changed.  Against float64 Keras
  numpy_rnn float32 is as close as Keras float32 (grid: 3.3e-8 .. 7.9e-7 vs 7.8e-8 .. 8.7e-7;
  the bias gradient is accumulated in float64).  Hence atol 1e-6 of max (spec 4: "~1e-6 of max|grad|")
  and rtol 1e-6; planted backward bugs move a gradient by 1e-1 .. 5 (parity's self-test).

Normalization layers (BatchNormalization, LayerNormalization, UnitNormalization,
GroupNormalization, RMSNormalization) need no entry of their own.  Measured over shapes (6, 7, 8),
(32, 12, 16), (64, 20, 32), 3 seeds and their option grid, inputs N(0.3, 1.5): forward float32
at most 3.8e-6 absolute (0.09 of the output allowance; TensorFlow's vectorised rsqrt is 1 to 3
ulp from 1/sqrt), float64 8.9e-15; gradients (``"gradient"``) float32 at most 6.6e-7 of max
except BatchNormalization(axis=1) at (64, 20, 32), 2.1e-6, where Keras is the one off: 2.2e-6
from the float64 answer against numpy_rnn's 3.1e-7 (``d inputs``; the float64 referee passes
it); float64 at most 4.0e-15.

Convolution and pooling layers (Conv1D, Conv1DTranspose, DepthwiseConv1D, SeparableConv1D, Max /
Average / GlobalMax / GlobalAverage pooling) need no entry of their own.  Measured against Keras
3.15 over 600 + 600 hypothesis draws (``parity.strategies.conv_cases`` / ``pool_cases``: every
padding, strides, dilation, groups, depth_multiplier, output_padding, both data formats):
float64 outputs within 8.9e-16 and gradients within 2.8e-15 of max|grad|; float32 outputs within
4.8e-7 (absolute) and gradients 1.1e-6 of max|grad| at worst (SeparableConv1D; one earlier draw,
a depthwise kernel gradient summing 36 cancelling terms, 1.7e-6), where the float64 referee
found numpy_rnn no farther from exact than Keras.  Pooling is exact or within 1 ulp.

Training steps (kind ``"training"``; ``parity.compare_training``): a weight after a step is
compared with ``scale`` = the largest change of that weight (since the start in float64, over
the step in float32), and ``rtol`` is a few units in the last place of the weight itself (the
change is 1e-3 of a weight of 0.1, so one rounding of the new weight is already 1e-4 of it).
Measured on the seed next-word model (corpus windows, batches of 32 / 64 / 128, five steps):
* float64 trajectories, SGD: 1.6e-16 (loss) and 2e-15 .. 5.4e-12 of the change; RMSprop's first
  step on every weight but the Embedding's 2.7e-16 .. 2.4e-14.  Hence atol 1e-9 (spec: float64
  trajectories ~1e-9) and rtol 1e-15 (4.5 float64 ulp).
* float32 single steps: the loss 0 .. 1.6e-7 relative; SGD weights within 1 ulp + 3e-7 of the
  change.  Hence atol 1e-6 of the change and rtol 5e-7 (4 float32 ulp).  Adaptive optimizers
  (RMSprop, Adam) divide by a running root, so where a gradient element is comparable to
  sqrt(epsilon) its float32 rounding becomes a visible step: Adam on the seed model leaves 11 of
  20000 kernel elements out of this tolerance, numpy 2.6e-8 and Keras 1.9e-8 from the float64
  step; compare those in float64.
* Keras (TensorFlow) applies an Embedding's gradient as ``IndexedSlices``, one slice per token
  read: RMSprop and Adam square each slice before the duplicates are summed, and SGD subtracts
  them one at a time (each a float32 rounding).  numpy_rnn does the same (``numpy_rnn.sparse``);
  with a summed table gradient instead, Embedding weights differed by 0.57 of the change after
  one RMSprop step (float64).

"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple, Sequence

import numpy as np

__all__ = ["Tolerance", "TABLE", "RELATIVE_KINDS", "comparison_dtype", "lookup", "ArrayDiff",
           "diff",
           "assert_close", "growth_figures", "ulp_distance", "GROWTH_FLOOR_FRACTION"]


class Tolerance(NamedTuple):
    rtol: float
    atol: float


#: (comparison dtype, output kind) -> tolerance.  Kinds: "output" (sequences, h, dense outputs)
#: and "state" (an LSTM cell state c).
TABLE: dict[tuple[str, str], Tolerance] = {
    ("float32", "output"): Tolerance(rtol=1e-5, atol=1e-6),
    ("float32", "state"): Tolerance(rtol=1e-5, atol=2e-6),
    ("float64", "output"): Tolerance(rtol=1e-10, atol=1e-12),
    ("float64", "state"): Tolerance(rtol=1e-10, atol=1e-12),
    ("int", "output"): Tolerance(rtol=0.0, atol=0.0),
    # atol of the kinds below is a fraction of a scale (RELATIVE_KINDS; see diff): max|expected|
    # of a gradient, the largest change of a weight after a training step
    ("float32", "gradient"): Tolerance(rtol=1e-6, atol=1e-6),
    ("float64", "gradient"): Tolerance(rtol=1e-12, atol=1e-12),
    ("float32", "training"): Tolerance(rtol=5e-7, atol=1e-6),
    ("float64", "training"): Tolerance(rtol=1e-15, atol=1e-9),
}

#: Kinds whose ``atol`` is relative: the allowance is ``atol * scale + rtol * |expected|``, the
#: scale being max|expected| of the array (a gradient) unless ``diff`` is given another (a weight
#: after a training step: the largest change of that weight).
RELATIVE_KINDS = ("gradient", "training")


def comparison_dtype(*dtypes) -> str:
    """The least precise of the given dtypes, as a TABLE key ("float32", "float64" or "int")."""
    names = {np.dtype(d).name for d in dtypes if d is not None}
    floats = [n for n in names if n.startswith("float")]
    if not floats:
        return "int"
    if any(n in ("float16", "bfloat16") for n in floats):
        raise ValueError(f"no tolerance is defined for half precision dtypes: {sorted(floats)}")
    return "float32" if "float32" in floats else "float64"


def lookup(dtype_key: str, kind: str = "output") -> Tolerance:
    try:
        return TABLE[(dtype_key, kind)]
    except KeyError:
        return TABLE[(dtype_key, "output")]


@dataclasses.dataclass
class ArrayDiff:
    """How one array (an output, a state, a gradient ...) differs from the one it should equal.

    ``expected`` is the reference side (Keras in ``parity``, the stored outputs in a bundle).
    """

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
    #: Relative kinds (``RELATIVE_KINDS``: gradients, weights after a training step): the scale
    #: the table's atol was multiplied by (max|expected|, or the weight's largest change), so
    #: ``atol`` above is already absolute; None for the absolute kinds.
    atol_scale: float | None = None
    #: True when the float64 referee (``parity.bridge.referee``) judged this float32 output:
    #: numpy and Keras disagreed beyond the table, and numpy passed (or failed) by its distance
    #: from the float64 answer; ``note`` holds the figures.  Reports written before this field
    #: existed lack it (read as False; their ``note`` still says ``refereed by float64 Keras``).
    refereed: bool = False

    @property
    def is_sequence(self) -> bool:
        """True when per-timestep errors were kept (a ``(batch, timesteps, ...)`` output)."""
        return self.error_by_timestep is not None

    @classmethod
    def from_dict(cls, d: dict) -> "ArrayDiff":
        """Rebuild from :meth:`dataclasses.asdict` / JSON output (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: _from_json_number(v) for k, v in d.items() if k in names}
        kw["shape"] = tuple(kw.get("shape", ()))
        kw["worst_index"] = tuple(kw.get("worst_index", ()))
        if "refereed" not in d:  # a report written before the field: its note says so
            kw["refereed"] = "refereed by float64 Keras" in str(d.get("note") or "")
        return cls(**kw)

    def line(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        steps = ""
        if self.ulp_at_worst is not None and self.dtype in ("float32", "float64"):
            steps = (f" ({self.ulp_at_worst:.0f} ulp)" if math.isfinite(self.ulp_at_worst)
                     else "")
        if self.atol_scale is not None:
            of = self.max_abs_err / self.atol_scale if self.atol_scale else float("inf")
            scale = (f" = {of:.1e} of scale {self.atol_scale:.3g}" if self.max_abs_err
                     else f" (scale {self.atol_scale:.3g})")
            text = (f"{status} {self.name:<10} max|err|={self.max_abs_err:.3e}{scale}{steps} "
                    f"(atol={self.atol / self.atol_scale if self.atol_scale else 0:.0e} x "
                    f"scale, rtol={self.rtol:.0e}) shape={self.shape}")
        else:
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
        if self.refereed and "refereed" not in self.note:
            text += "; refereed by float64 Keras"
        if self.note:
            text += f"; {self.note}"
        return text


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


def diff(name: str, actual: Any, expected: Any, *, kind: str = "output",
                rtol: float | None = None, atol: float | None = None,
                time_axis: int | None = None, scale: float | None = None) -> ArrayDiff:
    """Compare ``actual`` with the ``expected`` array it should equal (``expected`` is the reference).

    The tolerance comes from ``TABLE`` by the less precise dtype of the two, unless
    ``rtol`` / ``atol`` are given.  ``time_axis`` marks a sequence: per-timestep errors are kept.
    For a kind of ``RELATIVE_KINDS`` (``"gradient"``, ``"training"``) ``atol`` is a fraction of
    ``scale`` (default: max|expected| over its finite elements): an element passes when
    ``|actual - expected| <= atol * scale + rtol * |expected|``.  An all-zero expected array then
    has to be matched exactly.
    """
    a = np.asarray(actual)
    e = np.asarray(expected)
    key = comparison_dtype(a.dtype, e.dtype)
    tol = lookup(key, kind)
    rtol = tol.rtol if rtol is None else float(rtol)
    atol = tol.atol if atol is None else float(atol)
    atol_scale = None
    if kind in RELATIVE_KINDS:
        if scale is None:
            finite = np.abs(e[np.isfinite(e)]) if e.size else np.zeros(0)
            scale = float(finite.max()) if finite.size else 0.0
        atol_scale = float(scale)
        atol = atol * atol_scale
    if a.shape != e.shape:
        return ArrayDiff(name, tuple(e.shape), key, float("inf"), float("inf"), float("inf"), (),
                          float("nan"), float("nan"), rtol, atol, False,
                          note=f"shape mismatch: numpy {a.shape} vs keras {e.shape}",
                          atol_scale=atol_scale)
    if a.size == 0:
        return ArrayDiff(name, a.shape, key, 0.0, 0.0, 0.0, (), 0.0, 0.0, rtol, atol, True,
                         atol_scale=atol_scale)
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
    return ArrayDiff(
        name=name, shape=tuple(a.shape), dtype=key,
        max_abs_err=float(err.max()), max_rel_err=float(rel.max()), max_ulp=float(ulp.max()),
        worst_index=tuple(int(i) for i in worst),
        actual_at_worst=float(a64[worst]), expected_at_worst=float(e64[worst]),
        rtol=rtol, atol=atol, passed=not bool(bad.any()), n_bad=int(bad.sum()),
        first_bad_timestep=first_bad, error_by_timestep=by_t,
        error_growth=growth, error_slope=slope, mean_abs_err=float(err.mean()),
        ulp_at_worst=float(ulp[worst]), atol_scale=atol_scale,
    )


def assert_close(actual: Any, expected: Any, *, name: str = "array", kind: str = "output",
                 rtol: float | None = None, atol: float | None = None,
                 scale: float | None = None) -> ArrayDiff:
    """Raise ``AssertionError`` (one line: the figures) unless ``actual`` is within tolerance of
    ``expected``; returns the :class:`ArrayDiff` otherwise."""
    __tracebackhide__ = True
    d = diff(name, actual, expected, kind=kind, rtol=rtol, atol=atol, scale=scale)
    if not d.passed:
        raise AssertionError(d.line())
    return d
