"""Known ways Keras computes differently on one backend: each a Keras behaviour, found by
``numpy-rnn parity --reference keras,keras-jax,...``, with a minimal reproduction in
``docs/backends.md``.

numpy_rnn has one semantics (Keras on TensorFlow's, which PyTorch shares); where a backend's
Keras departs from it, the comparisons that meet the departure cannot agree, and a failure there
says nothing about NumPy.  :func:`excuse` turns such a failing report into a *skipped* one whose
reason names the deviation (the figures are kept, the gate counts and prints the skip), and
only when the comparison meets the deviation's conditions:

* ``float64-promotion`` (JAX, PyTorch, NumPy backends): Keras's type promotion maps float64 to
  float32 outside TensorFlow (``BIT64_TO_BIT32_DTYPE`` in ``keras/src/backend/common/dtypes.py``,
  "aligned with JAX's default behavior"), and the ops that compute in the promoted type compute
  a float64 tensor in float32 there: ``tanh`` (the default activation of every recurrent layer)
  on JAX, ``matmul`` and ``maximum`` on PyTorch, nearly every op on NumPy (measured op by op,
  docs/backends.md).  A float64 layer is then only float32-accurate (1.4e-7 from the float64
  answer for the grid's LSTM on JAX) even with JAX's x64 mode on, and some float64 models return
  float32 outputs.  Condition: a failing comparison whose NumPy side computes in float64.
* ``masked-step-output`` (JAX, NumPy backends): with a mask, Keras's JAX ``rnn``
  (``unroll=False``; the NumPy backend's is the same code) gives a masked step the layer's
  first *state* as its output ("Assume the first state is the previous
  output", ``keras/src/backend/jax/rnn.py``), where TensorFlow and PyTorch give the previous
  *output*, zeros before any step produced one.  They differ wherever a masked step comes before
  the first valid one of a row (in processing order) and that state is not zero: an
  ``initial_state``, or a stateful layer's carried state.  Condition: a failing comparison with
  a mask and an initial state (or a stateful layer).
* ``mha-value-dim`` (JAX): ``MultiHeadAttention(value_dim != key_dim)`` raises in Keras on JAX
  (``TypeError: cannot reshape array of shape (1, 5, 2, 1, 3) ... into shape (1, 5, 2, 4)``)
  whenever it takes the fused ``ops.dot_product_attention`` path (no dropout, no attention
  scores): ``jax.nn.dot_product_attention`` refuses value heads of another size and Keras's
  fallback (``keras/src/backend/jax/nn.py``) reshapes the output to the *query's* shape.
  Keras on TensorFlow and PyTorch compute it.  Not a comparison that fails: Keras crashes, so
  the row is skipped before it runs (:func:`unsupported`).
* ``kink-subgradient`` (JAX): at an input exactly on a kink, JAX's autodiff picks another
  subgradient than TensorFlow's (``LeakyReLU`` at 0: 1 where TensorFlow gives the slope; a
  ``ReLU(max_value=m)`` at ``m``: 0.5, ``jnp.minimum`` splitting the tie, where TensorFlow gives
  1); numpy_rnn follows TensorFlow.  Condition: a failing comparison whose only elements out of
  tolerance are the planted kink inputs' gradients (the caller checks that).
* ``sparse-crossentropy-clip`` (JAX): ``SparseCategoricalCrossentropy`` on probabilities that
  the ``epsilon`` clip changes (exact 0 and 1): Keras on JAX normalizes, clips and takes the log
  (``keras/src/backend/jax/nn.py``); on TensorFlow it clips, takes the log and hands it to
  ``sparse_softmax_cross_entropy_with_logits``, which normalizes again after the clip.  The loss
  and its gradient differ (6.24 vs 6.41 on the sweep's row; gradient 0 vs 0.054 at a clipped
  element).  Condition: the caller's clipped-probabilities row fails.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from ..report import ParityReport
from . import backend

__all__ = ["Deviation", "DEVIATIONS", "active", "excuse", "float64_reason", "unsupported"]


@dataclasses.dataclass(frozen=True)
class Deviation:
    """A known difference of Keras on some backends from Keras on TensorFlow."""

    key: str
    backends: tuple
    summary: str


DEVIATIONS: dict[str, Deviation] = {
    "float64-promotion": Deviation(
        "float64-promotion", ("jax", "torch", "numpy"),
        "Keras's type promotion maps float64 to float32 on this backend (BIT64_TO_BIT32_DTYPE, "
        "keras/src/backend/common/dtypes.py), so some ops of a float64 layer compute in float32 "
        "(tanh on JAX, matmul on PyTorch): float64 is only float32-accurate here; float64 "
        "parity is proven against keras (TensorFlow)"),
    "masked-step-output": Deviation(
        "masked-step-output", ("jax", "numpy"),
        "Keras's JAX (and NumPy) rnn gives a masked step before the row's first valid step "
        "the layer's first state as its output (keras/src/backend/jax/rnn.py), TensorFlow and "
        "PyTorch "
        "give zeros: they differ when that state is an initial_state or a stateful layer's "
        "carried state"),
    "mha-value-dim": Deviation(
        "mha-value-dim", ("jax",),
        "Keras's MultiHeadAttention with value_dim != key_dim raises on JAX when it takes the "
        "fused dot_product_attention path (no dropout, no attention scores): Keras's JAX "
        "fallback reshapes the output to the query's head size (keras/src/backend/jax/nn.py)"),
    "kink-subgradient": Deviation(
        "kink-subgradient", ("jax",),
        "JAX's autodiff takes another subgradient than TensorFlow's at an input exactly on a "
        "kink (LeakyReLU at 0: 1, not the slope; ReLU(max_value) at max_value: 0.5, not 1); "
        "every other element agrees"),
    "sparse-crossentropy-clip": Deviation(
        "sparse-crossentropy-clip", ("jax",),
        "Keras's SparseCategoricalCrossentropy on clipped probabilities (exact 0 or 1): on JAX it "
        "normalizes, clips and logs; on TensorFlow it clips, logs and renormalizes (softmax "
        "cross-entropy of the clipped log), so loss and gradient differ where the clip acts"),
}


def active(key: str) -> Deviation | None:
    """The deviation ``key`` when this process's Keras backend has it, else None."""
    deviation = DEVIATIONS[key]
    return deviation if backend.configured() in deviation.backends else None


def _reason(deviation: Deviation) -> str:
    return (f"known deviation of Keras on {backend.configured()} ('{deviation.key}', "
            f"docs/backends.md): {deviation.summary}")


def unsupported(key: str) -> backend.BackendUnsupported | None:
    """A :class:`~parity.bridge.backend.BackendUnsupported` naming deviation ``key`` when this
    process's backend has it (raise it: the gate counts the row skipped), else None."""
    deviation = active(key)
    return None if deviation is None else backend.BackendUnsupported(_reason(deviation))


def float64_reason() -> str | None:
    """Why float64 comparisons cannot hold on this backend (None: they can)."""
    deviation = active("float64-promotion")
    return None if deviation is None else _reason(deviation)


def excuse(report: ParityReport, *, float64: bool = False, mask: Any = None,
           initial_state: Any = None, stateful: bool = False,
           kinks_only: bool = False, meets: tuple = ()) -> ParityReport:
    """``report`` skipped (figures kept) when it fails on a backend with a known deviation the
    comparison meets (module docstring); otherwise ``report`` unchanged.  ``float64``: the
    NumPy side computes in float64 (a failing float64 row says so too); ``kinks_only``: every
    element out of tolerance is a gradient at an input on a kink; ``meets``: other deviation keys
    the caller's comparison meets by construction."""
    if report.passed or report.skipped or not report.outputs:
        return report
    reasons = []
    if float64 or any(not o.passed and o.dtype == "float64" for o in report.outputs):
        reason = float64_reason()
        if reason is not None:
            reasons.append(reason)
    deviation = active("masked-step-output")
    if deviation is not None and mask is not None and (initial_state is not None or stateful):
        reasons.append(_reason(deviation))
    deviation = active("kink-subgradient")
    if deviation is not None and kinks_only:
        reasons.append(_reason(deviation))
    for key in meets:
        if active(key) is not None:
            reasons.append(_reason(DEVIATIONS[key]))
    if reasons:
        report.skipped = "; ".join(reasons)
    return report
