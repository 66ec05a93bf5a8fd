"""``reach/comparison/...`` rows of ``numpy-rnn parity`` (see ``parity.cases.reach``): the
comparison itself, against Keras's own outputs and gradients.

* ``nan on one side fails``: one NaN planted in numpy's or in Keras's outputs of an
  LSTM(return_sequences, return_state) (the sequence, ``h``, the cell state ``c``), and in a
  kernel gradient (kinds ``"gradient"`` and ``"training"``): the comparison must fail, the
  planted element the only bad one and its error infinite; NaN on both sides at the same place
  must pass (a NaN Keras gives is reproduced), at different places fail;
* ``float64 against float32 is held to float32``: a float64 twin of a float32 Keras layer, and
  a float32 twin of a float64 one, are compared in float32 (the *less* precise dtype: their
  errors, ~1e-7, are far beyond the float64 tolerance); both float64 in float64.

Verdicts are built without the comparison under test (``parity.cases.case.verdict``).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from numpy_rnn.testing import lookup

from ..bridge import compare, deviations, from_keras
from ..bridge.grad import gradient_comparison
from ..report import OutputDiff, ParityReport, diff_arrays
from .case import verdict
from .family import BATCH, FEATURES, TIMESTEPS, UNITS
from .weights import GATES, randomize

__all__ = ["NAN_NAME", "DTYPE_NAME", "Recorded", "nan_case", "dtype_case"]


def _keras():
    import keras

    return keras


class Recorded:
    """Keras's outputs on ``x`` (and the call arguments ``call``), computed once: every
    comparison of a row reuses them; :meth:`planted` gives a copy with one element changed."""

    def __init__(self, outputs: list[np.ndarray], x: np.ndarray, **call: Any) -> None:
        self.outputs = [np.array(o, copy=True) for o in outputs]
        self.x, self.call = np.asarray(x), {k: np.asarray(v) for k, v in call.items()}

    def planted(self, which: int, index: tuple, value: float) -> "Recorded":
        out = Recorded(self.outputs, self.x, **self.call)
        out.outputs[which][index] = value
        return out

    def __call__(self, inputs: Any, **kwargs: Any) -> list[np.ndarray]:
        same = (np.array_equal(np.asarray(inputs), self.x) and set(kwargs) == set(self.call)
                and all(np.array_equal(np.asarray(v), self.call[k]) for k, v in kwargs.items()))
        if not same:
            raise ValueError("Recorded only answers the inputs and call arguments it was made "
                             "with")
        return self.outputs


def _lstm_pair(rng: np.random.Generator, keras_dtype: str = "float32"):
    """A Keras LSTM(return_sequences, return_state) of ``keras_dtype`` and its input."""
    keras = _keras()
    k = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True, dtype=keras_dtype)
    k.build((None, None, FEATURES))
    randomize(k, GATES["LSTM"], rng, keras_dtype)
    return k, rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype(keras_dtype)


NAN_NAME = "reach/comparison/nan on one side fails, nan on both sides passes"


def _judge_nan(report: ParityReport, expect_bad: dict[str, int]) -> tuple[bool, str]:
    """``expect_bad``: output name -> how many elements must be out of tolerance (with an
    infinite error); every other output must pass.  Empty: the whole report must pass."""
    bad = {o.name: o for o in report.outputs if not o.passed}
    if set(bad) != set(expect_bad):
        return False, (f"expected {sorted(expect_bad) or 'nothing'} to fail, failed: "
                       f"{sorted(bad) or 'nothing'}")
    for name, n in expect_bad.items():
        o = bad[name]
        if o.n_bad != n or np.isfinite(o.max_abs_err):
            return False, (f"{name}: {o.n_bad} bad element(s), max|err| {o.max_abs_err}; "
                           f"expected {n} with an infinite error")
    return True, ("; ".join(f"{n}: {bad[n].n_bad} bad, max|err| {bad[n].max_abs_err}"
                            for n in expect_bad) or "passed")


def nan_case(seed: int) -> ParityReport:
    """One NaN planted in numpy's or Keras's outputs (sequence, h, the cell state c) and in a
    gradient: the comparison must fail where one side has NaN, pass where both do."""
    rng = np.random.default_rng(seed)
    k, x = _lstm_pair(rng)
    twin = from_keras(k)
    keras_out = Recorded([np.asarray(o) for o in k(x)], x)
    honest = Recorded(twin(x), x)
    nan = float("nan")
    plants: list[tuple[str, Any, Any, dict]] = [
        ("numpy sequence NaN", honest.planted(0, (0, 2, 1), nan), keras_out, {"sequence": 1}),
        ("keras state c NaN", honest, keras_out.planted(2, (1, 3), nan), {"c": 1}),
        ("both h NaN at the same place", honest.planted(1, (2, 0), nan),
         keras_out.planted(1, (2, 0), nan), {}),
        ("h NaN at different places", honest.planted(1, (2, 0), nan),
         keras_out.planted(1, (2, 1), nan), {"h": 2}),
    ]
    control = compare(twin, keras_out, x, case=f"{NAN_NAME}: control")
    rows = [dataclasses.replace(o, name=f"control {o.name}") for o in control.outputs]
    for label, np_side, k_side, expect in plants:
        report = compare(np_side, k_side, x, case=f"{NAN_NAME}: {label}")
        rows.append(verdict(label, *_judge_nan(report, expect)))
    grads = gradient_comparison(from_keras(k), k, x, case=f"{NAN_NAME}: gradients")
    rows += [dataclasses.replace(o, name=f"control {o.name}") for o in grads.report.outputs]
    kernel_np, kernel_k = grads.numpy[0][0].copy(), grads.keras[0][0]
    kernel_np[1, 2] = nan
    for kind, scale in (("gradient", None), ("training", float(np.max(np.abs(kernel_k))))):
        d = diff_arrays("d kernel", kernel_np, kernel_k, kind=kind, scale=scale)
        ok = not d.passed and d.n_bad == 1 and not np.isfinite(d.max_abs_err)
        rows.append(verdict(f"numpy {kind} NaN", ok, f"passed={d.passed}, n_bad={d.n_bad}, "
                                                     f"max|err|={d.max_abs_err}"))
    return ParityReport(NAN_NAME, rows)


DTYPE_NAME = "reach/comparison/float64 against float32 is held to float32"


def _in_dtype(layer: Any, dtype: str) -> Any:
    """A numpy_rnn layer rebuilt in ``dtype`` (same config and weights)."""
    out = type(layer).from_config({**layer.get_config(), "dtype": dtype})
    out.set_weights([w.astype(dtype) for w in layer.get_weights()])
    return out


def dtype_case(seed: int) -> ParityReport:
    """numpy float64 against Keras float32 and numpy float32 against Keras float64 are compared
    in float32 (their errors, ~1e-7, are far beyond the float64 tolerance); both float64 in
    float64."""
    rng = np.random.default_rng(seed)
    k32, x32 = _lstm_pair(rng, "float32")
    k64, x64 = _lstm_pair(rng, "float64")
    rows: list[OutputDiff] = []
    for np_dtype, k, x, key in (("float64", k32, x32, "float32"), ("float32", k64, x64, "float32"),
                                ("float64", k64, x64, "float64")):
        twin = _in_dtype(from_keras(k), np_dtype)
        label = f"numpy {np_dtype} vs keras {k.dtype}"
        report = compare(twin, k, x, case=f"{DTYPE_NAME}: {label}")
        rows += [dataclasses.replace(o, name=f"{label} {o.name}") for o in report.outputs]
        held = [(o.name, o.dtype, o.rtol, o.atol) for o in report.outputs]
        want = [(o.name, key, *lookup(key, kind)) for o, kind in
                zip(report.outputs, ("output", "output", "state"))]
        rows.append(verdict(f"{label} compared in {key}", held == want,
                            f"compared as {sorted({h[1] for h in held})}, tolerances "
                            f"{[(h[2], h[3]) for h in held]}"))
        if key == "float32":  # the less precise tolerance was needed: the row can fail
            worst, atol64 = max(o.max_abs_err for o in report.outputs), lookup("float64").atol
            rows.append(verdict(f"{label} error beyond float64's tolerance", worst > 100 * atol64,
                                f"max|err| {worst:.3e} (float64 atol {atol64:.0e})"))
    # float64 against float64 needs Keras to compute in float64 (not on JAX: float64-promotion)
    return deviations.excuse(ParityReport(DTYPE_NAME, rows), float64=True)
