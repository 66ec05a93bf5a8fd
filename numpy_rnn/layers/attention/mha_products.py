"""MultiHeadAttention's four products and its softmax for the common case, written for speed.

The common case: inputs ``(batch, steps, dim)``, so the projected tensors are ``(B, T, N, H)``
(query) and ``(B, S, N, H)`` (key, value) and Keras's equations are ``aecd,abcd->acbe`` (scores
``(B, N, T, S)``) and ``acbe,aecd->abcd`` (``STANDARD`` below).  Every product here is one
``numpy.matmul`` over the ``(B, N)`` stack of the operands' *transposed views*: each head's
matrix ``(T, H)`` is strided (rows ``N * H`` apart) but BLAS takes it as it is, so nothing is
copied (but the key of the scores, see ``scores``), and a ``(B, T, N, H)`` result is written
through a transposed view (``out=``).  Measured
at batch 64, 128 tokens, 4 heads of 32, float32, one BLAS thread (CPU time): the scores 6.0 ms
against 18.6 ms for ``einsum2`` (which copies both operands and the result to C order).

The softmax over the last axis works in place on the scores (``matmul``'s fresh result, which
nothing else holds), sums with a matmul against ones (0.7 ms against 1.8 ms for ``np.sum`` over
4.2M float32), and its backward takes ``sum(g * p)`` as an einsum row dot (4.8 ms against 14.8 ms
for ``(g * p).sum(-1)`` in float64) and works in place on ``g``.  The results differ from the
einsum / ``np.sum`` forms by rounding only (the same sums in another order).
"""
from __future__ import annotations

import numpy as np

__all__ = ["STANDARD", "is_standard", "scores", "combine", "transposed_product",
           "score_bound", "softmax_last", "softmax_last_backward", "UNSHIFTED_BOUND"]

#: ``(target, source, product)`` subscripts of the common case (``build_attention_equation(4,
#: (1,))``).
STANDARD = ("abcd", "aecd", "acbe")


def is_standard(equations: tuple) -> bool:
    """Whether ``MultiHeadAttention._equations`` are the common case's."""
    return tuple(equations[2:]) == STANDARD


def _heads_first(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 1, 3)  # (B, T, N, H) -> (B, N, T, H), a view


def scores(k: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``einsum("aecd,abcd->acbe", k, q)``: ``(B, N, T, S)``, C-contiguous.  The key is copied
    to ``(B, N, H, S)`` C order (a quarter of the scores' size at H = 32): as a transposed view
    it is BLAS's ``trans`` operand, which OpenBLAS on two threads took 1.5 s for, against 30 ms
    copied (the 2-core machine under load 13; one thread: the same either way)."""
    return np.matmul(_heads_first(q), np.ascontiguousarray(k.transpose(0, 2, 3, 1)))


def combine(p: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``einsum("acbe,aecd->abcd", p, v)``: ``(B, T, N, H)``, C-contiguous."""
    b, n, t, _ = p.shape
    out = np.empty((b, t, n, v.shape[-1]), np.result_type(p, v))
    np.matmul(p, _heads_first(v), out=_heads_first(out))
    return out


def transposed_product(s: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``einsum("acbe,abcd->aecd", s, x)`` (the gradient of a key or value): ``(B, S, N, H)``,
    C-contiguous."""
    b, n, _, s_len = s.shape
    out = np.empty((b, s_len, n, x.shape[-1]), np.result_type(s, x))
    np.matmul(s.transpose(0, 1, 3, 2), _heads_first(x), out=_heads_first(out))
    return out


#: Below this bound on ``|scores|`` the softmax skips subtracting the row maximum: ``exp`` of
#: every score and their sum (``S * e**64`` for ``S`` keys) stay finite in float32 and no
#: probability that is a normal float32 with the maximum subtracted underflows, so the result
#: differs from the shifted form by the rounding of ``exp`` alone.
UNSHIFTED_BOUND = 64.0


def score_bound(q: np.ndarray, k: np.ndarray, scale: float = 1.0) -> float:
    """An upper bound on ``|scale * q . k|`` over every query and key row (Cauchy-Schwarz: the
    largest row norm of ``q`` times that of ``k``), computed in float64."""
    def largest_norm(x: np.ndarray) -> float:
        return float(np.sqrt(np.max(np.einsum("...d,...d->...", x, x, dtype=np.float64))))
    return abs(float(scale)) * largest_norm(q) * largest_norm(k)


def softmax_last(x: np.ndarray, bound: float | None = None) -> np.ndarray:
    """``softmax(x, axis=-1)`` computed in ``x`` (overwritten and returned): ``exp(x - max)``
    over its sum; the row maximum is not subtracted when ``bound`` (``score_bound``) is below
    ``UNSHIFTED_BOUND`` (two passes over the scores fewer: measured 4.3 + 3 ms of about 15 ms
    at batch 64, 4 heads, 128 x 128)."""
    if bound is None or not bound < UNSHIFTED_BOUND:
        np.subtract(x, np.max(x, axis=-1, keepdims=True), out=x)
    np.exp(x, out=x)
    x /= np.matmul(x, np.ones((x.shape[-1], 1), x.dtype))
    return x


def softmax_last_backward(p: np.ndarray, g: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """dL/dx of ``p = softmax(x, axis=-1)`` given ``g`` = dL/dp: ``p * (g - sum(g * p))``
    rounded once to ``dtype``; ``g`` (a fresh array, float64 for the precision) is overwritten."""
    g -= np.einsum("...s,...s->...", g, p)[..., None]
    return np.multiply(g, p, out=np.empty(g.shape, dtype), casting="unsafe")
