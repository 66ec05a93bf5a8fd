"""A float64 referee for float32 comparisons that disagree on ill-conditioned cases.

The tolerance table holds float32 results to ``atol + rtol * |keras|``, measured on well-conditioned
layers (bounded gate activations).  Unbounded activations (``recurrent_activation="linear"``,
``relu`` ...) can grow outputs to 1e6 and more within a few steps; then both float32 sides round
differently, and Keras is sometimes the one farther from the exact answer.  Measured (hypothesis
example with ``activation="elu"``, ``recurrent_activation="linear"``, 4 steps, output -5.8e6): Keras
float32 is 69 away from the float64 answer (1.2e-5 relative), numpy_rnn float32 16 away; the two
disagree by 85 = 1.5e-5 relative, above rtol 1e-5.

The referee settles such a disagreement with an independent float64 computation: the *Keras*
layer rebuilt with ``dtype="float64"`` and the same weights.  An element passes when NumPy is
within the table's tolerance of the float64 answer plus Keras's own distance from it:

    |numpy - exact| <= atol + rtol * |exact| + NOISE_FACTOR * max |keras - exact|

(the maximum over the whole output: rounding in an ill-conditioned recurrence scales with the
largest intermediate values, not with each element, so where Keras happens to land close to
exact on one element NumPy may still carry the output's typical rounding there).  NumPy may be
as wrong as Keras is, up to ``NOISE_FACTOR`` = 2: two float32 implementations of the same
ill-conditioned recurrence round independently, and which one lands closer to exact is chance.
Measured on the hypothesis examples that needed the referee (relu / elu / selu activations with a
linear recurrent activation, outputs 4e2 to 6e6): numpy_rnn's distance from exact was 0.24x to
1.23x Keras's (16 vs 69; 8.7e-4 vs 6.2e-4; 0.178 vs 0.145).  A real bug (a swapped gate, a dropped bias)
moves NumPy by orders of magnitude more than Keras's rounding and still fails.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..report import ParityReport
from .run import _to_tensor, assert_parity, call_keras, compare

#: Beyond this magnitude of the exact (float64) output, float32 parity is not defined here: the
#: recurrence has grown exponentially (a linear recurrent activation reaches 1e19 and float32
#: overflow within 9 steps) and both float32 sides carry errors larger than any tolerance table
#: (at 1e7 the spacing of float32 values is 1).
MAX_MAGNITUDE = 1e7


class OutOfFloat32Range(ArithmeticError):
    """The float32 sides disagree on a case whose exact output is huge or not finite."""


#: How many times Keras's own float32 error NumPy's may reach (see the module docstring).
NOISE_FACTOR = 2.0


def _float64_config(cfg: Any) -> Any:
    """A serialized Keras object with every float dtype (and dtype policy) made float64;
    integer dtypes (a model's ``Input`` of token ids) are kept."""
    if isinstance(cfg, dict):
        out = {}
        for k, v in cfg.items():
            is_float = isinstance(v, dict) or (isinstance(v, str) and v.startswith(("float",
                                                                                   "bfloat")))
            out[k] = "float64" if k == "dtype" and is_float else _float64_config(v)
        return out
    if isinstance(cfg, list):
        return [_float64_config(v) for v in cfg]
    return cfg


def keras_float64_copy(keras_obj: Any, inputs: Any) -> Any:
    """The same Keras layer or model (config and weights) computing in float64 (``inputs``: an
    array, or the list a multi-input layer takes, to build it)."""
    import keras

    if type(keras_obj).__module__.split(".")[0] == "tf_keras" and not hasattr(keras_obj, "layers"):
        # a tf_keras (Keras 2) layer: rebuilt by its own class, so Keras 2's semantics stay
        twin = type(keras_obj).from_config(_float64_config(keras_obj.get_config()))
    else:
        cfg = _float64_config(keras.saving.serialize_keras_object(keras_obj))
        twin = keras.saving.deserialize_keras_object(cfg)
    if isinstance(inputs, (list, tuple)) and not twin.built:
        # a multi-input layer (tf_keras's MultiHeadAttention builds on its first call)
        call_keras(twin, [_to_tensor(np.zeros(np.shape(x), np.float64)) for x in inputs])
    elif not hasattr(keras_obj, 'layers') and not twin.built:  # a layer, not a model
        twin.build((None,) * (inputs.ndim - 1) + (inputs.shape[-1],)
                   if inputs.dtype.kind == "f" else (None,) * inputs.ndim)
    twin.set_weights([np.asarray(w, np.float64) if np.asarray(w).dtype.kind == "f"
                      else np.asarray(w) for w in keras_obj.get_weights()])
    return twin


def as_float64(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [as_float64(v) for v in value]
    arr = np.asarray(value)
    return arr.astype(np.float64) if arr.dtype.kind == "f" else arr


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def referee(diff: Any, actual: Any, expected: Any, exact: Any, case: str) -> Any:
    """Judge one failing float32 row by the float64 answer (module docstring): the elements that
    fail the table pass when ``|actual - exact| <= atol + rtol * |exact| + NOISE_FACTOR *
    max|expected - exact|``.  ``diff`` (an ``ArrayDiff``) gets ``passed`` and a note with the
    figures; returned for convenience.  Rows that are not float32 or do not fail on values (a
    wrong dtype, a shape) are returned unchanged.

    Raises ``OutOfFloat32Range`` when ``exact`` is not finite or exceeds ``MAX_MAGNITUDE``.
    """
    if diff.passed or diff.dtype != "float32" or actual is None or \
            np.shape(actual) != np.shape(exact):
        return diff
    a, e, r = (np.asarray(t, np.float64) for t in (actual, expected, exact))
    if not np.all(np.isfinite(r)) or np.abs(r).max() > MAX_MAGNITUDE:
        raise OutOfFloat32Range(
            f"{case}: {diff.name!r} reaches {np.abs(r).max():.3e} in float64 (limit "
            f"{MAX_MAGNITUDE:.0e}); float32 parity is not defined there")
    with np.errstate(invalid="ignore", over="ignore"):
        plain_bad = ~((a == e) | (np.abs(a - e) <= diff.atol + diff.rtol * np.abs(e)))
    if not plain_bad.any():  # failed for another reason (its dtype): not a rounding matter
        return diff
    with np.errstate(invalid="ignore", over="ignore"):
        own = np.abs(e - r)  # Keras's own float32 rounding, element by element
        own_max = float(own[np.isfinite(own)].max(initial=0.0))
        allowed = diff.atol + diff.rtol * np.abs(r) + NOISE_FACTOR * own_max
        excess = np.where(plain_bad, np.abs(a - r) - allowed, -np.inf)  # judge failures only
    ok = bool(np.all(excess <= 0))
    diff.passed = ok
    diff.refereed = True
    diff.note = ((diff.note + "; ") if diff.note else "") + (
        f"refereed by float64 Keras: max|numpy-exact|={np.abs(a - r)[plain_bad].max():.3e} "
        f"where numpy and keras disagree, max|keras-exact|={own_max:.3e}; "
        + ("numpy no farther from exact than keras" if ok else
           f"numpy farther from exact than keras allows by {excess.max():.3e}"))
    return diff


def refereed_parity(np_obj: Any, keras_obj: Any, inputs: Any, *, case: str | None = None,
                    **call_kwargs: Any) -> ParityReport:
    """``compare``; where a float32 comparison fails, the float64 referee decides (module doc).

    Raises ``OutOfFloat32Range`` when a failing output's exact values exceed ``MAX_MAGNITUDE``
    or are not finite.  Returns the plain report when it passes (or when the comparison is not float32); otherwise a
    report whose rows say, per output, whether NumPy stayed within tolerance of the float64
    answer plus Keras's own error, with the figures in the row's note.
    """
    report = compare(np_obj, keras_obj, inputs, case=case, **call_kwargs)
    if report.passed or all(d.dtype != "float32" for d in report.outputs):
        return report
    several = isinstance(inputs, (list, tuple))  # a multi-input layer's [query, value, ...]
    x = [np.asarray(i) for i in inputs] if several else np.asarray(inputs)
    twin = keras_float64_copy(keras_obj, x)

    def keras_args(v: Any, to64: bool) -> Any:
        return v if isinstance(v, (bool, str)) or v is None else _to_tensor(
            as_float64(v) if to64 else v)

    kw64 = {k: keras_args(v, True) for k, v in call_kwargs.items()}
    exact = [np.asarray(o, np.float64)
             for o in _as_list(call_keras(twin, keras_args(inputs, True), **kw64))]
    np_out = [np.asarray(o, np.float64) for o in _as_list(np_obj(inputs, **call_kwargs))]
    kw = {k: keras_args(v, False) for k, v in call_kwargs.items()}
    k_out = [np.asarray(o, np.float64)
             for o in _as_list(call_keras(keras_obj, keras_args(inputs, False), **kw))]
    rows = [diff if diff.passed else referee(diff, a, e, r, report.case)
            for diff, a, e, r in zip(report.outputs, np_out, k_out, exact)]
    return ParityReport(report.case, rows)


def assert_refereed_parity(np_obj: Any, keras_obj: Any, inputs: Any, **call_kwargs: Any) -> ParityReport:
    """``assert_parity`` with the float64 referee for float32 disagreements; inside a hypothesis
    test, an example out of float32 range is rejected (``hypothesis.reject``)."""
    __tracebackhide__ = True
    try:
        report = refereed_parity(np_obj, keras_obj, inputs, **call_kwargs)
    except OutOfFloat32Range:
        from hypothesis import reject  # only property tests call this with huge outputs

        reject()
    if not report.passed:
        raise AssertionError(str(report))
    return report


__all__ = ["OutOfFloat32Range", "MAX_MAGNITUDE", "NOISE_FACTOR", "referee", "keras_float64_copy",
           "as_float64", "refereed_parity", "assert_refereed_parity", "assert_parity"]
