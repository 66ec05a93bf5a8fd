"""The comparison itself (``numpy_rnn.testing.diff`` / ``comparison_dtype``), NumPy only: the two
bugs issue 21 planted that the suite let through.

* A NaN on one side is a failure whatever the tolerance kind (``output``, ``state``,
  ``gradient``, ``training``) and whichever side holds it; NaN on both sides at the same places
  is equal (a NaN Keras gives must be reproduced, and is), at different places it is not.
* The comparison dtype is the *less* precise of the two sides: float32 against float64 (either
  way round) is held to the float32 entries of the table, directly and through ``diff``.

Teeth: each bug is planted (monkeypatched into ``numpy_rnn.testing``) and the checks above are
shown to fail under it.
"""
from __future__ import annotations

import numpy as np
import pytest

from numpy_rnn import testing

KINDS = ("output", "state", "gradient", "training")


def _arrays(dtype="float32"):
    rng = np.random.default_rng(0)
    expected = rng.normal(size=(3, 4, 5)).astype(dtype)
    return expected.copy(), expected


# -- NaN -------------------------------------------------------------------------------------------
def check_nan_on_one_side_fails(kind: str, side: str, dtype: str) -> None:
    actual, expected = _arrays(dtype)
    (actual if side == "numpy" else expected)[1, 2, 3] = np.nan
    d = testing.diff("x", actual, expected, kind=kind, scale=1.0 if kind == "training" else None)
    assert not d.passed, d.line()
    assert d.n_bad == 1 and np.isinf(d.max_abs_err), d.line()
    assert d.worst_index == (1, 2, 3)


def check_nan_on_both_sides(kind: str) -> None:
    actual, expected = _arrays()
    actual[0, 1, 2] = expected[0, 1, 2] = np.nan
    assert testing.diff("x", actual, expected, kind=kind).passed
    actual[2, 0, 0] = np.nan          # one more, on the numpy side only
    expected[2, 0, 1] = np.nan        # and one on the Keras side only, elsewhere
    d = testing.diff("x", actual, expected, kind=kind)
    assert not d.passed and d.n_bad == 2, d.line()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("side", ["numpy", "keras"])
@pytest.mark.parametrize("kind", KINDS)
def test_nan_on_one_side_fails(kind, side, dtype):
    check_nan_on_one_side_fails(kind, side, dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_nan_on_both_sides_at_the_same_places_passes_elsewhere_fails(kind):
    check_nan_on_both_sides(kind)


def test_nan_fails_even_with_a_huge_tolerance():
    actual, expected = _arrays()
    actual[0, 0, 0] = np.nan
    assert not testing.diff("x", actual, expected, rtol=1e30, atol=1e30).passed
    with pytest.raises(AssertionError, match="1 element"):
        testing.assert_close(actual, expected)


def _nan_blind_diff(real):
    """Planted: a comparison that drops the elements where either side is NaN."""
    def diff(name, actual, expected, **kwargs):
        a, e = np.array(actual, copy=True), np.array(expected, copy=True)
        either = np.isnan(a.astype(np.float64)) | np.isnan(e.astype(np.float64))
        a[either] = 0
        e[either] = 0
        return real(name, a, e, **kwargs)
    return diff


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("side", ["numpy", "keras"])
def test_teeth_a_comparison_that_lets_one_sided_nan_pass_is_caught(monkeypatch, kind, side):
    monkeypatch.setattr(testing, "diff", _nan_blind_diff(testing.diff))
    with pytest.raises(AssertionError):
        check_nan_on_one_side_fails(kind, side, "float32")


# -- the comparison dtype ----------------------------------------------------------------------------
def check_comparison_dtype() -> None:
    for pair in (("float32", "float64"), ("float64", "float32"), (np.float32, np.float64)):
        assert testing.comparison_dtype(*pair) == "float32", pair
    assert testing.comparison_dtype("float64", "float64") == "float64"
    assert testing.comparison_dtype("float32", "float32") == "float32"
    assert testing.comparison_dtype("int32", "float64") == "float64"
    assert testing.comparison_dtype("int32", "int64") == "int"


def check_diff_in_the_less_precise_dtype(kind: str) -> None:
    """An error of 2e-7 (float32 rounding) between a float64 and a float32 array: held to the
    float32 entry, it passes; to the float64 one (1e-12) it would fail."""
    rng = np.random.default_rng(1)
    exact = rng.normal(size=(4, 6))
    rounded = exact.astype(np.float32)
    nudged = exact + 2e-7 * np.sign(exact)  # beyond float64's tolerance, inside float32's
    for actual, expected in ((nudged, rounded), (rounded, nudged)):
        d = testing.diff("x", actual, expected, kind=kind)
        want = testing.lookup("float32", kind)
        assert d.dtype == "float32", (d.dtype, kind)
        assert d.rtol == want.rtol, d.line()
        assert d.passed, d.line()
    d64 = testing.diff("x", nudged, exact, kind=kind)
    assert d64.dtype == "float64" and not d64.passed, d64.line()  # the figure is out of float64's


def test_comparison_dtype_is_the_less_precise():
    check_comparison_dtype()


@pytest.mark.parametrize("kind", KINDS)
def test_diff_compares_float32_against_float64_in_float32(kind):
    check_diff_in_the_less_precise_dtype(kind)


def test_half_precision_is_refused():
    with pytest.raises(ValueError, match="half precision"):
        testing.comparison_dtype("float16", "float32")


def _more_precise(*dtypes) -> str:
    """Planted: the *more* precise of the dtypes."""
    names = {np.dtype(d).name for d in dtypes if d is not None}
    floats = [n for n in names if n.startswith("float")]
    if not floats:
        return "int"
    return "float64" if "float64" in floats else "float32"


def test_teeth_a_comparison_dtype_that_picks_the_more_precise_is_caught(monkeypatch):
    monkeypatch.setattr(testing, "comparison_dtype", _more_precise)
    with pytest.raises(AssertionError):
        check_comparison_dtype()
    for kind in KINDS:
        with pytest.raises(AssertionError):
            check_diff_in_the_less_precise_dtype(kind)
