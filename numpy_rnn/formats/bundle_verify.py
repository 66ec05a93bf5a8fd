"""Checking a model against a bundle's stored test vectors, with the one tolerance table and
diff of :mod:`numpy_rnn.testing`.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

from .. import _limits
from ..layers import Bidirectional, Dense, Embedding, Masking
from ..model import Sequential
from ..layers.recurrent import RNNBase
from ..testing import TABLE, diff
from .errors import BundleError

#: Test-vector tolerance by output dtype: |numpy - reference| <= atol + rtol * |reference|.
#: The figures of the one table, numpy_rnn.testing.TABLE (float32: measured worst 6e-7 against
#: tf.keras).
TOLERANCES = {key: tuple(TABLE[(key, "output")]) for key in ("float32", "float64")}


@dataclasses.dataclass
class VerificationReport:
    """How the recomputed test outputs compare with the stored ones (the expected side)."""

    passed: bool
    shape: tuple
    max_abs_err: float
    max_rel_err: float
    n_bad: int
    n_total: int
    worst_index: tuple
    actual_at_worst: float
    expected_at_worst: float
    rtol: float
    atol: float
    verified_by: str
    argmax_agree: float | None = None

    def __str__(self) -> str:
        status = "PASSED" if self.passed else "FAILED"
        text = (f"bundle check {status}: {self.n_total} output values, shape {self.shape}; "
                f"max|err|={self.max_abs_err:.3e} max rel={self.max_rel_err:.3e} "
                f"(atol={self.atol:.0e}, rtol={self.rtol:.0e}); reference outputs from "
                f"{self.verified_by}")
        if self.argmax_agree is not None:
            text += f"; argmax agrees on {self.argmax_agree:.1%} of rows"
        if not self.passed:
            text += (f"\n  {self.n_bad} value(s) out of tolerance; worst at "
                     f"{list(self.worst_index)}: recomputed={self.actual_at_worst!r} "
                     f"stored={self.expected_at_worst!r}")
        return text




def compare_outputs(actual: Any, expected: Any, rtol: float, atol: float,
                    verified_by: str = "?") -> VerificationReport:
    """Element-wise ``|actual - expected| <= atol + rtol * |expected|`` (``numpy_rnn.testing.diff``),
    with the figures and, for class scores, how often the argmax agrees."""
    a = np.asarray(actual)
    e = np.asarray(expected)
    d = diff("test_outputs", a, e, rtol=rtol, atol=atol)
    agree = None
    if a.shape == e.shape and e.ndim >= 2 and e.shape[-1] > 1 and e.size:
        agree = float(np.mean(a.argmax(-1) == e.argmax(-1)))
    return VerificationReport(
        passed=d.passed, shape=tuple(e.shape), max_abs_err=d.max_abs_err,
        max_rel_err=d.max_rel_err, n_bad=d.n_bad if a.shape == e.shape else int(e.size),
        n_total=int(e.size), worst_index=tuple(d.worst_index),
        actual_at_worst=d.actual_at_worst, expected_at_worst=d.expected_at_worst,
        rtol=rtol, atol=atol, verified_by=verified_by, argmax_agree=agree)


def make_test_inputs(model: Sequential, n: int = 8, timesteps: int | None = None,
                     seed: int = 0) -> np.ndarray:
    """Random valid inputs for ``model``: token ids for an Embedding-first model (some rows
    left-padded with 0 when ``mask_zero``), normal floats otherwise (some steps set to the mask
    value for a Masking-first model).  ``timesteps`` applies when the model's input length is
    not fixed (default 12).

    Returns ``(n, timesteps)`` ids or ``(n, timesteps, features)`` / ``(n, features)`` floats.
    """
    if not model.layers:
        raise ValueError(f"Model '{model.name}' has no layers.")
    rng = np.random.default_rng(seed)
    shape = model.input_shape
    first = model.layers[0]
    known_t = shape[0] if shape and len(shape) >= 1 else None
    if isinstance(first, Dense) and shape and len(shape) == 1:
        known_t = None
    t = known_t or timesteps or 12  # a model with a fixed input length gets that length
    if isinstance(first, Embedding):
        low = 1 if first.input_dim > 1 else 0
        ids = rng.integers(low, first.input_dim, size=(n, t))
        if first.mask_zero and t > 1:
            for row in range(0, n, 2):  # left padding on every other row, as pad_sequences
                ids[row, :rng.integers(1, t)] = 0
        dtype = model.input_dtype if model.input_dtype and \
            np.dtype(model.input_dtype).kind in "iu" else "int32"
        return ids.astype(dtype)
    features = None
    if shape and shape[-1] is not None:
        features = shape[-1]
    elif isinstance(first, (RNNBase, Bidirectional, Dense)) and first.features is not None:
        features = first.features
    if features is None:
        raise ValueError(f"Cannot make test inputs for model '{model.name}': its input size is "
                         "unknown. Give `test_inputs`, or Sequential(input_shape=...).")
    dtype = model.input_dtype if model.input_dtype and \
        np.dtype(model.input_dtype).kind == "f" else "float32"
    if isinstance(first, Dense) and (shape is None or len(shape) == 1):
        return rng.normal(size=(n, features)).astype(dtype)
    if shape is not None and (len(shape) != 2 or not isinstance(first, (RNNBase, Masking))):
        # the model's own input shape, whatever its rank (a Flatten, Permute, RepeatVector,
        # TimeDistributed ... first): unknown sizes take ``t``
        return rng.normal(size=(n,) + tuple(t if d is None else d for d in shape)).astype(dtype)
    x = rng.normal(size=(n, t, features)).astype(dtype)
    if isinstance(first, Masking) and t > 1:
        for row in range(0, n, 2):
            x[row, :rng.integers(1, t)] = first.mask_value
    return x




def stored_tolerances(test: dict, out_key: str = "float32") -> tuple[float, float]:
    """``(rtol, atol)`` of a bundle's test entry: finite, non-negative real numbers."""
    values = []
    for i, key in enumerate(("rtol", "atol")):
        value = test.get(key, TOLERANCES[out_key][i])
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                not math.isfinite(value) or value < 0:
            raise BundleError(f"the bundle's test tolerance `{key}` must be a finite "
                              f"non-negative number. Received: {key}={_limits._show(value)}")
        values.append(float(value))
    return values[0], values[1]


def verify_model(model: Sequential, x: np.ndarray, y: np.ndarray,
                 test: dict | None = None) -> VerificationReport:
    """Recompute ``model.predict(x)`` and compare it with ``y`` at the bundle's tolerance."""
    test = test or {}
    rtol, atol = stored_tolerances(test, "float64" if y.dtype == np.float64 else "float32")
    try:
        actual = model.predict(x)
    except Exception as exc:  # noqa: BLE001 - reported as a bundle that cannot run its inputs
        raise BundleError(f"the model cannot run its stored test inputs {x.shape}: "
                          f"{exc}") from None
    return compare_outputs(actual, y, rtol, atol, str(test.get("verified_by", "?")))
