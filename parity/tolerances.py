"""The one table of tolerances, with the measurements that justify each entry.

Semantics follow numpy.testing / torch.testing: the Keras output is the *expected* side and an
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
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


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
}


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
