"""The pieces of ``keras.layers.MultiHeadAttention`` that are plain functions (Keras 3.15,
keras/src/layers/attention/multi_head_attention.py and the TensorFlow backend's
``dot_product_attention``): the einsum equations, the masks and the two softmaxes.

Keras computes multi-head attention along one of two paths, and so does numpy_rnn:

* the *fused* path (``ops.dot_product_attention``), taken when ``dropout == 0``, the scores are
  not returned and the projected query has rank 4 (inputs ``(batch, T, dim)``): the logits
  ``q.k`` are scaled by ``1/sqrt(key_dim)`` *after* the product, masked positions are set to
  ``-0.7 * 3.38953e38`` and a plain softmax follows, so a query row whose keys are all masked
  gets the *uniform* average of the values;
* the *explicit* path (``_compute_attention``), otherwise: the query is scaled *before* the
  product, masked positions are set to ``-1e9`` (Keras's ``Softmax`` layer) and zeroed again
  after the softmax, so a query row whose keys are all masked gets *zero* attention.
"""
from __future__ import annotations

import numbers
import string
from typing import Any

import numpy as np

from ... import _validation as v

__all__ = ["build_proj_equation", "build_attention_equation", "get_output_shape",
           "causal_mask", "sliding_window_mask", "expand_mask", "broadcastable",
           "explicit_softmax", "fused_softmax", "keras2_softmax", "softmax_backward", "attention_mask", "check_inputs",
           "check_shape", "check_output_shape", "check_attention_axes",
           "EXPLICIT_NEGATIVE", "FUSED_NEGATIVE"]

#: keras/src/layers/activations/softmax.py ``_large_negative_number`` (not float16).
EXPLICIT_NEGATIVE = -1e9
#: keras/src/backend/tensorflow/nn.py ``_get_large_negative`` (not float16): ``3.38953e38 * -0.7``.
FUSED_NEGATIVE = 3.38953e38 * -0.7


def _letter(i: int) -> str:
    return string.ascii_lowercase[i]


def build_proj_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str, int]:
    """Keras's ``_build_proj_equation``: ``(equation, bias axes, output rank)``."""
    input_str = kernel_str = output_str = bias_axes = ""
    for i in range(free_dims):
        input_str += _letter(i)
        output_str += _letter(i)
    for i in range(bound_dims):
        char = _letter(i + free_dims)
        input_str += char
        kernel_str += char
    for i in range(output_dims):
        char = _letter(i + free_dims + bound_dims)
        kernel_str += char
        output_str += char
        bias_axes += char
    return f"{input_str},{kernel_str}->{output_str}", bias_axes, len(output_str)


def get_output_shape(output_rank: int, known_last_dims: list) -> list:
    """Keras's ``_get_output_shape``."""
    return [None] * (output_rank - len(known_last_dims)) + list(known_last_dims)


def build_attention_equation(rank: int, attn_axes: tuple) -> tuple[str, str, str, str, str]:
    """Keras's ``_build_attention_equation`` for projected tensors of ``rank``:
    ``(dot-product equation (key, query -> scores), combine equation (scores, value ->
    output), target (query / output) subscripts, source (key / value) subscripts, scores
    subscripts)``."""
    target = "".join(_letter(i) for i in range(rank))
    batch_dims = tuple(i for i in range(rank) if i not in attn_axes + (rank - 1,))
    offset = rank
    source = ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _letter(offset)
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attn_axes]
                      + [source[i] for i in attn_axes])
    return (f"{source},{target}->{product}", f"{product},{source}->{target}", target, source,
            product)


def causal_mask(t: int, s: int) -> np.ndarray:
    """``(1, T, S)``: True where query ``i`` may see key ``j`` (``i >= j``), as Keras's
    ``_compute_causal_mask`` (row index >= column index)."""
    return (np.arange(t)[:, None] >= np.arange(s)[None, :])[None]


def sliding_window_mask(t: int, s: int, window: int) -> np.ndarray:
    """``(1, T, S)``: True where ``|i - j| < window`` (Keras's ``_compute_sliding_window_mask``)."""
    return (np.abs(np.arange(t)[:, None] - np.arange(s)[None, :]) < window)[None]


def expand_mask(mask: np.ndarray, rank: int, n_axes: int) -> np.ndarray:
    """Keras's mask expansion before the softmax: new axes at ``-2 * n_axes - 1`` (the heads'
    axis) until the mask has ``rank`` dimensions."""
    axis = -2 * n_axes - 1
    while mask.ndim < rank:
        mask = np.expand_dims(mask, axis)
    return mask


def broadcastable(mask_shape: tuple, shape: tuple) -> bool:
    """Keras's Softmax rule: no more dimensions, and each one 1 or equal (from the right)."""
    if len(mask_shape) > len(shape):
        return False
    return all(m == 1 or m == i for m, i in zip(mask_shape[::-1], shape[::-1]))


def _softmax(x: np.ndarray, axes: tuple) -> np.ndarray:
    if len(axes) == 1:  # ops.softmax; one array written in place (the scores are large)
        e = np.subtract(x, np.max(x, axis=axes, keepdims=True))
        np.exp(e, out=e)
        e /= np.sum(e, axis=axes, keepdims=True)
        return e
    m = np.max(x, axis=axes, keepdims=True)  # exp(x - logsumexp(x, axes)), as Keras's Softmax
    lse = m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))
    return np.exp(x - lse)


def explicit_softmax(scores: np.ndarray, mask: np.ndarray | None, axes: tuple) -> np.ndarray:
    """Keras's ``Softmax(axis=axes)(scores, mask)``: masked scores set to -1e9, softmax, masked
    probabilities set to 0 (a row with every key masked is all zeros)."""
    if mask is None:
        return _softmax(scores, axes)
    x = np.where(mask, scores, np.asarray(EXPLICIT_NEGATIVE, scores.dtype))
    return np.where(mask, _softmax(x, axes), np.zeros((), scores.dtype))


def fused_softmax(logits: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """TensorFlow's ``dot_product_attention`` softmax over the last axis: masked logits set to
    ``-0.7 * 3.38953e38`` (a row with every key masked becomes uniform), nothing zeroed."""
    if mask is not None:
        logits = np.where(mask, logits, np.asarray(FUSED_NEGATIVE, logits.dtype))
    return _softmax(logits, (-1,))


def keras2_softmax(scores: np.ndarray, mask: np.ndarray | None, axes: tuple,
                   robust: bool) -> np.ndarray:
    """tf_keras's ``Softmax(axis)(scores, mask)`` (its MultiHeadAttention): masked scores get
    ``-1e9`` added (``robust=False``, the default) or are set to ``-1e9`` (``robust=True``); the
    probabilities are not zeroed after (a row with every key masked is uniform in float32)."""
    if mask is not None:
        negative = np.asarray(EXPLICIT_NEGATIVE, scores.dtype)
        scores = np.where(mask, scores, negative) if robust else \
            scores + (1 - mask.astype(scores.dtype)) * negative
    return _softmax(scores, axes)


def softmax_backward(p: np.ndarray, g: np.ndarray, axes: tuple,
                     mask: np.ndarray | None) -> np.ndarray:
    """dL/dscores of ``p = softmax(where(mask, scores, negative))`` over ``axes`` given
    ``g`` = dL/dp: ``p * (g - sum(g * p))``, exactly 0 where ``mask`` is False (``where``
    passes no gradient to the replaced scores)."""
    d = g * p
    d = np.subtract(g, np.sum(d, axis=axes, keepdims=True), out=d)
    d *= p
    return d if mask is None else np.where(mask, d, np.zeros((), d.dtype))


def _mask_arg(name: str, mask: Any, shape: tuple) -> np.ndarray | None:
    if mask is None:
        return None
    m = v.numeric_array(name, mask)
    if m.shape != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)} (the input's shape without "
                         f"its last axis). Received: {name} with shape {m.shape}")
    return m.astype(bool)


def attention_mask(q_shape: tuple, v_shape: tuple, k_shape: tuple, scores: tuple, n_axes: int,
                   query_mask: Any, value_mask: Any, key_mask: Any, attention_mask: Any,
                   causal: bool, sliding_window: int | None) -> np.ndarray | None:
    """Keras's ``_compute_attention_mask`` (the query's mask ``(B, T, 1)``, the value's and the
    key's ``(B, 1, S)``, the causal and sliding-window masks ``(1, T, S)`` and
    ``attention_mask``, AND-ed), expanded to the rank of the ``scores`` shape; None when there
    is no mask.  ValueError naming the mask that does not fit (nothing is changed)."""
    qm = _mask_arg("query_mask", query_mask, q_shape[:-1])
    vm = _mask_arg("value_mask", value_mask, v_shape[:-1])
    km = _mask_arg("key_mask", key_mask, k_shape[:-1])
    auto = None
    if qm is not None:
        auto = qm[..., None]  # (B, T, 1)
    for m in (vm, km):
        if m is not None:
            m = np.expand_dims(m, -2)  # (B, 1, S)
            auto = m if auto is None else auto & m
    if causal:
        c = causal_mask(q_shape[1], v_shape[1])
        auto = c if auto is None else auto & c
    if sliding_window is not None:
        w = sliding_window_mask(q_shape[1], v_shape[1], sliding_window)
        auto = w if auto is None else auto & w
    if attention_mask is not None:
        am = v.numeric_array("attention_mask", attention_mask)
        am = am if am.dtype == bool else am > 0.5 if np.issubdtype(am.dtype, np.floating) \
            else am != 0
        expanded = expand_mask(am, len(scores), n_axes)
        fused_rank = 4 if len(q_shape) == 3 else len(scores)
        if not broadcastable(expanded.shape, scores) or am.ndim > fused_rank:
            raise ValueError(
                "`attention_mask` must be broadcastable to the attention scores of shape "
                f"{scores} (batch, heads, query positions, key positions) after new axes at "
                "the heads' position: each of its axes 1 or equal to the scores' axis (from the "
                f"right), at most {len(scores) - 1} of them. Received: attention_mask with "
                f"shape {am.shape}")
        auto = am if auto is None else am & auto
    if auto is None:
        return None
    auto = expand_mask(auto, len(scores), n_axes)
    if not broadcastable(auto.shape, scores):
        raise ValueError(f"The masks (query_mask, value_mask, key_mask, attention_mask) combine "
                         f"to shape {auto.shape}, which does not broadcast to the attention "
                         f"scores of shape {scores}.")
    return auto


def check_inputs(layer: str, q: np.ndarray, val: np.ndarray, k: np.ndarray | None,
                 built: tuple, attention_axes: tuple) -> None:
    """ValueError unless the inputs fit the shapes the layer was built for (``built``: the
    query, value and key shapes) and each other."""
    kv = val if k is None else k
    for name, x, shape in zip(("query", "value", "key"), (q, val, kv), built):
        if x.ndim != len(shape) or x.shape[-1] != shape[-1]:
            what = name if name != "key" or k is not None else "key (the value, no key given)"
            raise ValueError(f"Layer '{layer}' was built for `{name}` of shape {shape}; "
                             f"received `{what}` of shape {x.shape}")
    if val.shape[:-1] != kv.shape[:-1]:
        raise ValueError("All dimensions of `value` and `key`, except the last one, must be "
                         f"equal. Received: value_shape={val.shape} and key_shape={kv.shape}")
    if q.shape[0] != val.shape[0]:
        raise ValueError(f"`query` and `value` must have the same batch size. Received: "
                         f"query shape {q.shape}, value shape {val.shape}")
    batch_axes = [i for i in range(1, q.ndim - 1) if i not in attention_axes]
    if any(q.shape[i] != val.shape[i] for i in batch_axes):
        raise ValueError(f"`query` and `value` must agree on the axes attention does not run "
                         f"over {batch_axes}. Received: query shape {q.shape}, value shape "
                         f"{val.shape}")


def check_shape(name: str, shape: Any) -> tuple:
    try:
        dims = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a tuple of integers or None (batch first). "
                         f"Received: {name}={shape!r}") from None
    if len(dims) < 3:
        raise ValueError(f"`{name}` must have rank 3 or more: (batch, <attention axes>, "
                         f"features). Received: {name}={shape!r}")
    return dims


def check_output_shape(output_shape: Any) -> tuple | None:
    if not output_shape:
        return None
    dims = (output_shape,) if isinstance(output_shape, numbers.Integral) else output_shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise ValueError(f"Invalid `output_shape`: {output_shape!r}. When specified, the "
                         "`output_shape` should be of type tuple, list, or int.") from None
    return tuple(v.positive_int("output_shape", d) for d in dims)

def check_attention_axes(axes: Any) -> tuple | None:
    if axes is None:
        return None
    if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
        axes = (axes,)
    elif not isinstance(axes, (list, tuple)):
        raise ValueError("`attention_axes` must be an int, list, or tuple."
                         f"Received: attention_axes={axes!r}")
    if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral)
                       for a in axes):
        raise ValueError("`attention_axes` must hold integers. Received: "
                         f"attention_axes={axes!r}")
    return tuple(int(a) for a in axes)
