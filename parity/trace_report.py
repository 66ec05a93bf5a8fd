"""TraceReport and TraceRow: what a per-layer divergence trace measured (NumPy only).

``parity.trace`` (in ``parity.bridge.layer_trace``) runs a NumPy model and its Keras twin layer
by layer and builds one :class:`TraceRow` per layer from two comparisons, each an ``ArrayDiff``
of ``numpy_rnn.testing``:

* ``chained``: each side fed its *own* previous output (what the whole model computes up to
  this layer);
* ``isolated``: the NumPy layer fed *Keras's* previous output (and Keras's mask) against the
  Keras layer's output: what this layer alone adds.

``first_divergent`` is the first layer whose isolated comparison fails.  Chained errors grow
through correct layers (a recurrent layer carries an input error along its timesteps, a Dense
layer multiplies it by its kernel), so the first chained failure can be a correct layer that
inherited its input's error; a layer is to blame only when it diverges given identical input.
When no layer fails alone but a chained output does (rounding accumulated through correct
layers), ``first_divergent`` is the first chained failure and ``blame`` says ``"accumulated"``.

Output masks are compared too (``mask_mismatch``): a layer whose values are right but whose mask
is not (an Embedding that loses ``mask_zero``) would otherwise go unblamed, since the next layer,
fed Keras's mask in isolation, is right.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np

from numpy_rnn.testing import GROWTH_FLOOR_FRACTION, ArrayDiff

from .report import json_safe

__all__ = ["TraceRow", "TraceReport", "error_growth", "mask_mismatch"]


def mask_mismatch(actual: Any, expected: Any) -> int | None:
    """How many mask entries differ (no mask = every step kept); None when neither has one."""
    if actual is None and expected is None:
        return None
    a = np.ones_like(expected, dtype=bool) if actual is None else np.asarray(actual, bool)
    e = np.ones_like(a, dtype=bool) if expected is None else np.asarray(expected, bool)
    if a.shape != e.shape:
        return int(max(a.size, e.size))
    return int(np.count_nonzero(a != e))


def error_growth(previous_err: float | None, err: float, atol: float) -> float | None:
    """How much larger this layer's chained error is than the previous layer's.

    ``(err + floor) / (previous_err + floor)``, ``floor = GROWTH_FLOOR_FRACTION * atol`` (so an
    exact previous layer followed by one rounding step reads as a large but finite ratio, and
    two exact layers as 1); None for the first layer.
    """
    if previous_err is None:
        return None
    floor = max(GROWTH_FLOOR_FRACTION * float(atol), 1e-300)
    if not (math.isfinite(err) and math.isfinite(previous_err)):
        return float("inf") if math.isfinite(previous_err) else float("nan")
    return (float(err) + floor) / (float(previous_err) + floor)


@dataclasses.dataclass
class TraceRow:
    """One layer of a trace: its chained and isolated comparisons with Keras."""

    #: The layer's name (Keras's name; numpy_rnn's twin has the same one after a port).
    layer: str
    #: The Keras class name (``LSTM``, ``Bidirectional`` ...).
    class_name: str
    #: Each side fed its own previous output.
    chained: ArrayDiff
    #: The NumPy layer fed Keras's previous output and mask, against the Keras layer.
    isolated: ArrayDiff
    #: Chained max|err| over the previous layer's (see :func:`error_growth`); None first.
    growth: float | None = None
    #: The tolerance kind of ``numpy_rnn.testing.TABLE`` both comparisons used.
    kind: str = "output"
    #: Mask entries (``(batch, timesteps)``) where NumPy's output mask differs from Keras's:
    #: chained, and with the layer fed Keras's input and mask; None when neither side has one.
    mask_mismatch: int | None = None
    isolated_mask_mismatch: int | None = None

    @property
    def output_shape(self) -> tuple:
        return tuple(self.chained.shape)

    @property
    def max_abs_err(self) -> float:
        """Chained max|numpy - keras| (what the model computes up to here)."""
        return self.chained.max_abs_err

    @property
    def isolated_max_abs_err(self) -> float:
        return self.isolated.max_abs_err

    @property
    def first_bad_timestep(self) -> int | None:
        """First timestep where the chained output leaves tolerance (3-D outputs), else None."""
        return self.chained.first_bad_timestep

    @property
    def isolated_first_bad_timestep(self) -> int | None:
        return self.isolated.first_bad_timestep

    @property
    def rtol(self) -> float:
        return self.chained.rtol

    @property
    def atol(self) -> float:
        return self.chained.atol

    @property
    def chained_passed(self) -> bool:
        return bool(self.chained.passed) and not self.mask_mismatch

    @property
    def isolated_passed(self) -> bool:
        return bool(self.isolated.passed) and not self.isolated_mask_mismatch

    @property
    def passed(self) -> bool:
        """Within tolerance both in the model (chained) and on its own (isolated)."""
        return self.chained_passed and self.isolated_passed

    @property
    def status(self) -> str:
        """``ok``, ``DIVERGES`` (fails given Keras's own input) or ``inherits`` (fails only in
        the chain: its input was already off)."""
        if not self.isolated_passed:
            return "DIVERGES"
        return "ok" if self.chained_passed else "inherits"

    def to_dict(self) -> dict:
        return {"layer": self.layer, "class_name": self.class_name, "kind": self.kind,
                "output_shape": list(self.output_shape), "passed": self.passed,
                "status": self.status, "max_abs_err": self.max_abs_err,
                "growth": self.growth, "first_bad_timestep": self.first_bad_timestep,
                "isolated_max_abs_err": self.isolated_max_abs_err,
                "isolated_first_bad_timestep": self.isolated_first_bad_timestep,
                "rtol": self.rtol, "atol": self.atol, "mask_mismatch": self.mask_mismatch,
                "isolated_mask_mismatch": self.isolated_mask_mismatch,
                "chained": dataclasses.asdict(self.chained),
                "isolated": dataclasses.asdict(self.isolated)}

    @classmethod
    def from_dict(cls, d: dict) -> "TraceRow":
        return cls(d["layer"], d["class_name"], ArrayDiff.from_dict(d["chained"]),
                   ArrayDiff.from_dict(d["isolated"]),
                   growth=_number(d.get("growth")), kind=d.get("kind", "output"),
                   mask_mismatch=d.get("mask_mismatch"),
                   isolated_mask_mismatch=d.get("isolated_mask_mismatch"))


def _number(value: Any) -> Any:
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def _fmt_err(x: float) -> str:
    return f"{x:.2e}" if math.isfinite(x) else str(x)


def _fmt_mask(n: int | None) -> str:
    return "-" if n is None else ("ok" if n == 0 else f"{n} off")


def _fmt_growth(g: float | None) -> str:
    if g is None:
        return "-"
    if not math.isfinite(g):
        return str(g)
    return f"x{g:.3g}"


@dataclasses.dataclass
class TraceReport:
    """Every layer of a trace, in order; see the module docstring for how blame is assigned."""

    case: str
    rows: list[TraceRow]

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def first_divergent(self) -> str | None:
        """The first layer that fails given Keras's own input; else the first whose chained
        output fails (error accumulated through correct layers); None when all pass."""
        row = self.first_divergent_row
        return None if row is None else row.layer

    @property
    def first_divergent_row(self) -> TraceRow | None:
        for r in self.rows:
            if not r.isolated_passed:
                return r
        for r in self.rows:
            if not r.chained_passed:
                return r
        return None

    @property
    def blame(self) -> str | None:
        """``"layer"`` (a layer diverges on identical input), ``"accumulated"`` (only chained
        outputs fail) or None (all pass)."""
        row = self.first_divergent_row
        if row is None:
            return None
        return "layer" if not row.isolated_passed else "accumulated"

    def row(self, layer: str) -> TraceRow:
        """The row of ``layer`` (``KeyError`` naming the layers there are)."""
        for r in self.rows:
            if r.layer == layer:
                return r
        raise KeyError(f"layer {layer!r} not in trace {self.case!r}; layers: "
                       f"{[r.layer for r in self.rows]}")

    def summary(self) -> str:
        """One line: the verdict and the first divergent layer."""
        row = self.first_divergent_row
        if row is None:
            return f"all {len(self.rows)} layers within tolerance"
        i = self.rows.index(row)
        if self.blame == "layer" and row.isolated_mask_mismatch and row.isolated.passed:
            return (f"first divergent layer: {row.layer!r} ({row.class_name}, layer {i}): given "
                    f"Keras's own input its output mask differs from Keras's in "
                    f"{row.isolated_mask_mismatch} entries")
        if self.blame == "layer":
            where = (f", from timestep {row.isolated_first_bad_timestep}"
                     if row.isolated_first_bad_timestep is not None else "")
            return (f"first divergent layer: {row.layer!r} ({row.class_name}, layer {i}): given "
                    f"Keras's own input it is off by {_fmt_err(row.isolated_max_abs_err)} "
                    f"(atol {row.atol:.0e}, rtol {row.rtol:.0e}){where}")
        return (f"first divergent layer: {row.layer!r} ({row.class_name}, layer {i}): no layer "
                f"diverges given identical input, but the error accumulated through the model "
                f"reaches {_fmt_err(row.max_abs_err)} here (atol {row.atol:.0e}, "
                f"rtol {row.rtol:.0e})")

    def format(self) -> str:
        """The table: one row per layer, the first divergent marked ``<-``."""
        head = ["#", "layer", "class", "output shape", "max|err|", "growth", "first bad t",
                "mask", "alone max|err|", "status"]
        first = self.first_divergent_row
        lines = []
        for i, r in enumerate(self.rows):
            t = "-" if r.first_bad_timestep is None else str(r.first_bad_timestep)
            lines.append([str(i), r.layer, r.class_name, str(r.output_shape),
                          _fmt_err(r.max_abs_err), _fmt_growth(r.growth), t,
                          _fmt_mask(r.mask_mismatch),
                          _fmt_err(r.isolated_max_abs_err),
                          r.status + ("  <- first divergent" if r is first else "")])
        widths = [max(len(row[c]) for row in [head] + lines) for c in range(len(head))]
        out = [f"trace {'PASSED' if self.passed else 'FAILED'}: {self.case}"]
        if self.rows:
            tols = sorted({(r.atol, r.rtol) for r in self.rows})
            out.append("  tolerance: " + "; ".join(f"atol {a:.0e}, rtol {b:.0e}"
                                                   for a, b in tols)
                       + " (numpy_rnn.testing.TABLE)")
            out.append("  max|err|: each side fed its own previous output; alone: the numpy "
                       "layer fed keras's previous output and mask")
        for row in [head] + lines:
            out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        out.append(self.summary())
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> dict:
        return {"case": self.case, "passed": self.passed,
                "first_divergent": self.first_divergent, "blame": self.blame,
                "rows": [r.to_dict() for r in self.rows]}

    def to_json(self) -> str:
        """Strict JSON (non-finite figures as the strings ``"inf"`` / ``"nan"``)."""
        return json.dumps(json_safe(self.to_dict()), indent=2, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "TraceReport":
        return cls(d["case"], [TraceRow.from_dict(r) for r in d.get("rows", [])])
