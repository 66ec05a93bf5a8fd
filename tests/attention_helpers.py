"""Test helpers for the attention layers and EinsumDense (NumPy only).

* ``reference_mha``: a naive float64 multi-head attention written from the paper and Keras's
  documented semantics, per batch element and per head with explicit loops, sharing no code with
  numpy_rnn (no einsum equations, no mask helpers);
* ``reference_luong`` / ``reference_bahdanau``: the same for Attention / AdditiveAttention;
* ``finite_difference_check``: a layer's backward pass (input and weight gradients) against
  central finite differences of a random weighted sum of its outputs (float64 layers).
"""
from __future__ import annotations

import math

import numpy as np


def _softmax_row(row: np.ndarray, keep: np.ndarray, fused: bool) -> np.ndarray:
    """One query row: softmax over the kept keys.  Every key masked: uniform (the fused path,
    Keras's ``dot_product_attention``) or zeros (the explicit path, Keras's Softmax layer)."""
    if not keep.any():
        return np.full(row.shape, 1.0 / row.size) if fused else np.zeros(row.shape)
    e = np.where(keep, np.exp(row - row[keep].max()), 0.0)
    return e / e.sum()


def reference_mha(query, value, key, weights, num_heads, key_dim, value_dim, *, mask=None,
                  fused=False, use_bias=True):
    """float64 ``(output (B, T, E), scores (B, N, T, S))`` of rank-3 multi-head attention.
    ``weights`` in Keras's order; ``mask`` (B, T, S) booleans (True: may attend)."""
    q, v = np.asarray(query, np.float64), np.asarray(value, np.float64)
    k = v if key is None else np.asarray(key, np.float64)
    w = [np.asarray(a, np.float64) for a in weights]
    if use_bias:
        wq, bq, wk, bk, wv, bv, wo, bo = w
    else:
        wq, wk, wv, wo = w
        bq = np.zeros((num_heads, key_dim))
        bk = np.zeros((num_heads, key_dim))
        bv = np.zeros((num_heads, value_dim))
        bo = np.zeros(wo.shape[-1])
    b_, t_, _ = q.shape
    s_ = v.shape[1]
    out = np.zeros((b_, t_, wo.shape[-1]))
    scores = np.zeros((b_, num_heads, t_, s_))
    for b in range(b_):
        for h in range(num_heads):
            qh = q[b] @ wq[:, h, :] + bq[h]  # (T, key_dim)
            kh = k[b] @ wk[:, h, :] + bk[h]  # (S, key_dim)
            vh = v[b] @ wv[:, h, :] + bv[h]  # (S, value_dim)
            # 1/sqrt(key_dim) rounded to float32, as Keras's TensorFlow backend casts it
            logits = (qh @ kh.T) * float(np.float32(1.0 / math.sqrt(key_dim)))  # (T, S)
            for t in range(t_):
                keep = np.ones(s_, bool) if mask is None else np.asarray(mask[b, t], bool)
                scores[b, h, t] = _softmax_row(logits[t], keep, fused)
            context = scores[b, h] @ vh  # (T, value_dim)
            out[b] += context @ wo[h]  # (T, E)
    return out + bo, scores


def _masked_softmax_rows(scores, v_mask, causal):
    """Keras's Attention masking: masked keys get 1e9 subtracted (float64 here), then softmax."""
    b_, t_, s_ = scores.shape
    keep = np.ones((b_, t_, s_), bool)
    if v_mask is not None:
        keep &= np.asarray(v_mask, bool)[:, None, :]
    if causal:
        keep &= np.tril(np.ones((t_, s_), bool))[None]
    shifted = np.where(keep, scores, scores - 1e9)
    e = np.exp(shifted - shifted.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _finish(weights, value, q_mask):
    out = weights @ value
    if q_mask is not None:
        out = out * np.asarray(q_mask, bool)[..., None]
    return out, weights


def reference_luong(query, value, key=None, *, scale=None, concat_weight=None, q_mask=None,
                    v_mask=None, causal=False):
    """float64 Attention: dot scores (``concat_weight`` None) or concat scores."""
    q, v = np.asarray(query, np.float64), np.asarray(value, np.float64)
    k = v if key is None else np.asarray(key, np.float64)
    b_, t_, _ = q.shape
    s_ = v.shape[1]
    scores = np.zeros((b_, t_, s_))
    for b in range(b_):
        for i in range(t_):
            for j in range(s_):
                if concat_weight is None:
                    sc = float(q[b, i] @ k[b, j])
                    scores[b, i, j] = sc * (1.0 if scale is None else float(scale))
                else:
                    u = q[b, i] + k[b, j]
                    u = u * (1.0 if scale is None else float(scale))
                    scores[b, i, j] = float(concat_weight) * np.tanh(u).sum()
    return _finish(_masked_softmax_rows(scores, v_mask, causal), v, q_mask)


def reference_bahdanau(query, value, key=None, *, scale=None, q_mask=None, v_mask=None,
                       causal=False):
    """float64 AdditiveAttention: ``sum(scale * tanh(q + k))``."""
    q, v = np.asarray(query, np.float64), np.asarray(value, np.float64)
    k = v if key is None else np.asarray(key, np.float64)
    b_, t_, d_ = q.shape
    s_ = v.shape[1]
    w = np.ones(d_) if scale is None else np.asarray(scale, np.float64)
    scores = np.zeros((b_, t_, s_))
    for b in range(b_):
        for i in range(t_):
            for j in range(s_):
                scores[b, i, j] = float(np.sum(w * np.tanh(q[b, i] + k[b, j])))
    return _finish(_masked_softmax_rows(scores, v_mask, causal), v, q_mask)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def finite_difference_check(layer, inputs, *, call=None, several=None, eps=1e-6, rtol=1e-6,
                            seed=0):
    """Compare ``layer.backward`` (and ``layer.gradients``) with central finite differences of
    ``sum_i sum(out_i * R_i)`` (``R_i`` random) for a float64 layer; raises AssertionError naming
    the first gradient off by more than ``rtol`` of its largest element.

    ``inputs``: one array or a list (a multi-input layer); ``call``: extra call arguments;
    ``several``: how the layer takes a list (``"list"``: ``layer(inputs)``, ``"args"``:
    ``layer(*inputs)``; default ``"list"`` for a list)."""
    call = dict(call or {})
    is_list = isinstance(inputs, (list, tuple))
    xs = [np.array(x, np.float64) for x in _as_list(inputs)]

    def run(arrays, training=False):
        args = arrays if is_list else arrays[0]
        if is_list and several == "args":
            return layer(*args, training=training, **call)
        return layer(args, training=training, **call)

    outs = _as_list(run(xs, training=True))
    rng = np.random.default_rng(seed)
    rs = [rng.normal(size=o.shape) for o in outs]
    grad_out = rs if len(outs) > 1 else rs[0]
    d_inputs = _as_list(layer.backward(grad_out))
    d_weights = [np.array(g) for g in layer.gradients]

    def loss(arrays):
        return sum(float(np.sum(o * r)) for o, r in zip(_as_list(run(arrays)), rs))

    base_weights = [w.copy() for w in layer.get_weights()]
    problems = []

    def numeric_wrt(array, setter):
        num = np.zeros(array.shape)
        for idx in np.ndindex(*array.shape):
            old = array[idx]
            array[idx] = old + eps
            setter()
            up = loss(xs)
            array[idx] = old - eps
            setter()
            down = loss(xs)
            array[idx] = old
            num[idx] = (up - down) / (2 * eps)
        setter()
        return num

    for i, x in enumerate(xs):
        num = numeric_wrt(x, lambda: None)
        scale = max(np.abs(num).max(), 1e-12)
        err = np.abs(np.asarray(d_inputs[i]) - num).max() / scale
        if err > rtol:
            problems.append(f"d inputs[{i}]: {err:.2e} of max {scale:.2e}")
    weights = [w.copy() for w in base_weights]
    names = layer_weight_names(layer)
    numeric = [numeric_wrt(w, lambda: layer.set_weights(weights)) for w in weights]
    # a gradient that is zero in exact arithmetic is measured on the scale of the one the layer
    # names for it (MultiHeadAttention's key bias: the key kernel's)
    vanishing = getattr(layer, "vanishing_gradients", {})
    for i, (name, num) in enumerate(zip(names, numeric)):
        ref = numeric[names.index(vanishing[name])] if name in vanishing else num
        scale = max(np.abs(ref).max(), 1e-12)
        err = np.abs(d_weights[i] - num).max() / max(scale, 1e-6)
        if err > rtol:
            problems.append(f"d {name}: {err:.2e} of max {scale:.2e}")
    layer.set_weights(base_weights)
    assert not problems, "backward differs from finite differences: " + "; ".join(problems)


def layer_weight_names(layer):
    return list(layer.weight_names())
