"""MultiHeadAttention, as ``keras.layers.MultiHeadAttention`` (Keras 3.15): four (five with
``use_gate``) ``EinsumDense`` projections named ``query``, ``key`` (``gate``), ``value`` and
``attention_output``, weights in that order (kernel then bias each), as ``get_weights()``.

Masks.  Keras 3.15 takes the query's mask from the query *tensor* (``_keras_mask``, set by an
``Embedding(mask_zero=True)`` or ``Masking`` upstream) and ignores an explicit ``query_mask=``
keyword (``call`` rereads it from the tensor); ``value_mask`` / ``key_mask`` come from the
keywords or, when those are None, from the tensors (``Layer.__call__``).  NumPy arrays carry no
mask, so here ``query_mask=`` / ``value_mask=`` / ``key_mask=`` *are* the inputs' Keras masks,
and ``mask=[query_mask, value_mask(, key_mask)]`` gives the same (what a functional model passes
from the tensors' masks; a keyword wins over ``mask=``).  The output's mask is the query's
(``compute_mask``).  See ``mha_math`` for Keras's two computation paths (fused and explicit),
which differ for query rows whose keys are all masked.

Long because the one class carries Keras's two computation paths (fused and explicit), the
gate, dropout and the returned scores through both the call and its backward; the maths it
shares lives in ``mha_math`` (masks, softmaxes) and ``mha_products`` (the common case's
products), so what is left here is the wiring between them.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ... import _limits
from ... import _validation as v
from ... import initializers
from ..base import Layer
from ..core.einsum_dense import EinsumDense, einsum2, einsum_grad
from . import mha_math as mm
from . import mha_products as mp
from .base_dense_attention import split_grad_output

__all__ = ["MultiHeadAttention"]

_SHAPE_KEYS = ("query_shape", "value_shape", "key_shape")


class MultiHeadAttention(Layer):
    """Multi-head (scaled dot-product) attention.

    Args:
        num_heads, key_dim: heads, and size of each head for query and key.
        value_dim: size of each head for value (default ``key_dim``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: biases in the projections.
        output_shape: the output's last axes (default: the query's last axis).
        attention_axes: the axes attention runs over (default: all but batch, heads, features).
        use_gate: a sigmoid gate from the query on the attention output (Keras 3.15).
        sliding_window: each query sees keys within ``sliding_window - 1`` positions.
        kernel_initializer, bias_initializer: for the projections (Keras defaults).
        query_shape, value_shape, key_shape: build now for these input shapes (batch first;
            kept in ``get_config()``, as tf_keras does).
        softmax_robust_masking: None (Keras 3) or tf_keras's option of that name, which gives
            tf_keras's maths: always the explicit path, the exact ``1/sqrt(key_dim)``, masked
            scores shifted by -1e9 (False) or set to -1e9 (True), never zeroed after.
        dtype, seed, name, trainable: as every layer.
    """

    supports_masking = True
    builds_from_shape = True

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Any = None,
                 attention_axes: Any = None, use_gate: bool = False,
                 sliding_window: int | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", query_shape: Any = None,
                 value_shape: Any = None, key_shape: Any = None,
                 softmax_robust_masking: bool | None = None, **kwargs: Any) -> None:
        for name, value, allow_none in (("num_heads", num_heads, False),
                                        ("key_dim", key_dim, False),
                                        ("value_dim", value_dim, True)):
            if not (value is None and allow_none) and (
                    isinstance(value, bool) or not isinstance(value, numbers.Integral)
                    or value <= 0):
                raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                                 f"positive integer{' or `None`' if allow_none else ''}. "
                                 f"Received: {name}={value!r}")
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or \
                not 0 <= dropout <= 1:
            raise ValueError("Invalid value received for argument `dropout`. Expected a float "
                             f"value between 0 and 1. Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.use_bias = v.boolean("use_bias", use_bias)
        self.use_gate = v.boolean("use_gate", use_gate)
        self.output_shape = mm.check_output_shape(output_shape)
        self.attention_axes = mm.check_attention_axes(attention_axes)
        self.sliding_window = v.positive_int("sliding_window", sliding_window, allow_none=True)
        self.softmax_robust_masking = None if softmax_robust_masking is None else v.boolean(
            "softmax_robust_masking", softmax_robust_masking)
        self._init_names = {"kernel_initializer": kernel_initializer,
                            "bias_initializer": bias_initializer}
        for k, val in self._init_names.items():
            initializers.get(val, k)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self.key_dim))
        self._dense: list[EinsumDense] = []
        self.query_shape = self.value_shape = self.key_shape = None
        if query_shape is not None or value_shape is not None:
            if query_shape is None or value_shape is None:
                raise ValueError("`query_shape` and `value_shape` must be given together. "
                                 f"Received: query_shape={query_shape!r}, "
                                 f"value_shape={value_shape!r}")
            self.build(query_shape, value_shape, key_shape)

    # -- build -------------------------------------------------------------------------------
    def _build_state(self, query_shape: Any, value_shape: Any, key_shape: Any = None) -> dict:
        """Everything ``build`` installs, computed without changing the layer."""
        q_shape = mm.check_shape("query_shape", query_shape)
        v_shape = mm.check_shape("value_shape", value_shape)
        k_shape = v_shape if key_shape is None else mm.check_shape("key_shape", key_shape)
        if v_shape[1:-1] != k_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be "
                             f"equal. Received: value_shape={v_shape} and key_shape={k_shape}")
        if len(q_shape) != len(v_shape):
            raise ValueError("`query` and `value` must have the same rank. Received: "
                             f"query_shape={q_shape} and value_shape={v_shape}")
        seeds = iter(range(1, 6)) if self.seed is None else iter(self.seed + i for i in range(1, 6))
        common = {"dtype": self.dtype, **self._init_names}

        def dense(name: str, shape: tuple, last: int, activation: Any = None) -> EinsumDense:
            eq, bias_axes, rank = mm.build_proj_equation(len(shape) - 1, 1, 2)
            seed = next(seeds) if self.seed is not None else None
            return EinsumDense(eq, mm.get_output_shape(rank - 1, [self.num_heads, last]),
                               activation=activation,
                               bias_axes=bias_axes if self.use_bias else None, name=name,
                               seed=seed, build_input_shape=shape, **common)

        query = dense("query", q_shape, self.key_dim)
        key = dense("key", k_shape, self.key_dim)
        gate = dense("gate", q_shape, self.value_dim, "sigmoid") if self.use_gate else None
        value = dense("value", v_shape, self.value_dim)
        rank = len(v_shape) + 1  # the projections' rank
        axes = tuple(range(1, rank - 2)) if self.attention_axes is None else tuple(
            a if a >= 0 else (rank - 1) + a for a in self.attention_axes)
        if len(set(axes)) != len(axes) or any(not 0 < a < rank - 1 for a in axes):
            raise ValueError(f"`attention_axes` must be distinct axes of the inputs other than "
                             f"the batch and feature axes, for inputs of rank {rank - 1}. "
                             f"Received: attention_axes={self.attention_axes!r}")
        dot, combine, target, source, product = mm.build_attention_equation(rank, axes)
        out_shape = self.output_shape or (q_shape[-1],)
        eq, bias_axes, out_rank = mm.build_proj_equation(len(q_shape) - 1, 2, len(out_shape))
        out_in = list(query.compute_output_shape(q_shape))
        out_in[-1] = self.value_dim
        output = EinsumDense(eq, mm.get_output_shape(out_rank - 1, list(out_shape)),
                             bias_axes=bias_axes if self.use_bias else None,
                             name="attention_output",
                             seed=next(seeds) if self.seed is not None else None,
                             build_input_shape=tuple(out_in), **common)
        n_scores = len(product)
        shapes = {"query_shape": q_shape, "value_shape": v_shape}
        if key_shape is not None:
            shapes["key_shape"] = k_shape
        return {
            "query_dense": query, "key_dense": key, "gate_dense": gate, "value_dense": value,
            "output_dense": output,
            "_dense": [d for d in (query, key, gate, value, output) if d is not None],
            "attention_axes": axes,
            "_equations": (dot, combine, target, source, product),
            "_norm_axes": tuple(range(n_scores - len(axes), n_scores)),
            "query_shape": q_shape, "value_shape": v_shape,
            "key_shape": None if key_shape is None else k_shape,
            "build_input_shape": shapes, "built": True,
        }

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        """Build the projections for the inputs' shapes (batch first), as Keras's
        ``build(query_shape, value_shape, key_shape=None)``; one list ``[query_shape,
        value_shape(, key_shape)]`` or a dict of those names is accepted too."""
        if isinstance(query_shape, dict):
            shapes = dict(query_shape)
            query_shape, value_shape, key_shape = (shapes.get(k) for k in _SHAPE_KEYS)
        elif value_shape is None and isinstance(query_shape, (list, tuple)) and query_shape \
                and isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        if value_shape is None:
            raise ValueError("`value_shape` is required to build a MultiHeadAttention layer. "
                             f"Received: query_shape={query_shape!r}, value_shape=None")
        self.__dict__.update(self._build_state(query_shape, value_shape, key_shape))

    # -- weights -----------------------------------------------------------------------------
    @property
    def vanishing_gradients(self) -> dict[str, str]:
        """Gradients that are zero in exact arithmetic -> the gradient of the same terms' size:
        the key bias adds ``q . b`` to every score of a query row, which the softmax ignores,
        so its gradient is rounding noise on both sides (``parity.compare_gradients`` measures
        it on the key kernel gradient's scale, or within the rounding bound of
        ``vanishing_gradient_terms`` where that is larger)."""
        return {"key/bias": "key/kernel"} if self.use_bias else {}

    @property
    def vanishing_gradient_terms(self) -> dict[str, tuple[np.ndarray, int]]:
        """Name -> ``(sum of |terms|, number of terms)`` of the sum that gives that vanishing
        gradient in the last backward call: the key bias gradient is ``sum over (batch, keys)``
        of dL/dkey-projection, whose exact value is 0, so what either side computes is
        rounding of that sum, bounded by ``n * eps * sum|terms|`` (the classic bound of a
        floating-point sum of n terms).  Empty before a backward or without a key bias."""
        return dict(getattr(self, "_vanishing_terms", {}))

    def keras_weight_groups(self) -> list[tuple[str, EinsumDense]]:
        """``(group below the layer's group in a .keras weights file, the sublayer whose
        weights it holds)`` in ``get_weights()`` order: Keras saves a sublayer under its public
        property's name (``query_dense``), else its attribute's (``_gate_dense``)."""
        named = (("query_dense", self.query_dense), ("key_dense", self.key_dense),
                 ("_gate_dense", self.gate_dense), ("value_dense", self.value_dense),
                 ("output_dense", self.output_dense))
        return [(path, d) for path, d in named if d is not None]

    def weight_names(self) -> list[str]:
        return [f"{d.name}/{n}" for d in self._dense for n in d.weight_names()]

    def weight_shapes(self) -> dict[str, tuple]:
        return {f"{d.name}/{n}": s for d in self._dense for n, s in d.weight_shapes().items()}

    @property
    def weights(self) -> list[np.ndarray]:
        return [w for d in self._dense for w in d.weights]

    def _shapes_from_weights(self, weights: list) -> dict:
        """Rank-3 build shapes read off the kernels (query, key, value: ``(dim, heads, size)``)."""
        kernels = [np.shape(w) for w in weights if np.ndim(w) == 3]
        if len(kernels) < 3:
            raise ValueError(f"Layer '{self.name}' is not built and its weights do not show the "
                             f"input sizes. Received: {len(weights)} weight(s)")
        q, k = kernels[0], kernels[1]
        val = kernels[3] if self.use_gate and len(kernels) > 3 else kernels[2]
        return {"query_shape": (None, None, q[0]), "value_shape": (None, None, val[0]),
                "key_shape": None if k[0] == val[0] else (None, None, k[0])}

    def _prepare_weights(self, weights: Any) -> Any:
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"`weights` must be a list of arrays. Received: "
                            f"{type(weights).__name__}")
        state = None
        dense = self._dense
        if not self.built:
            state = self._build_state(**self._shapes_from_weights(list(weights)))
            dense = state["_dense"]
        names = [f"{d.name}/{n}" for d in dense for n in d.weight_names()]
        if len(weights) != len(names):
            raise ValueError(f"Layer '{self.name}' expected {len(names)} weights {names}, but "
                             f"received {len(weights)} weight(s).")
        prepared, start = [], 0
        for d in dense:
            count = len(d.weight_names())
            try:
                prepared.append((d, d._prepare_weights(list(weights[start:start + count]))))
            except ValueError as exc:
                raise ValueError(f"Layer '{self.name}': {exc}") from None
            start += count
        return state, prepared

    def _commit_weights(self, prepared: Any) -> None:
        state, parts = prepared
        if state is not None:
            self.__dict__.update(state)
        for d, ready in parts:
            d._commit_weights(ready)

    # -- call --------------------------------------------------------------------------------
    def __call__(self, query: Any, value: Any = None, key: Any = None, query_mask: Any = None,
                 value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
                 return_attention_scores: bool = False, training: bool = False,
                 use_causal_mask: bool = False, mask: Any = None) -> Any:
        """``query (B, T, dim)``, ``value (B, S, dim_v)``, ``key`` (default ``value``) ->
        ``(B, T, E)`` (and the scores ``(B, heads, T, S)`` with ``return_attention_scores``).

        ``query`` may be the list ``[query, value(, key)]`` and ``mask`` the list of their
        masks (see the module docstring).  ``attention_mask`` (B, T, S) is True where a query
        may attend to a key.  ``training=True`` applies dropout and keeps what ``backward``
        needs; a call that raises changes nothing."""
        if value is None and isinstance(query, (list, tuple)):
            if not 2 <= len(query) <= 3:
                raise ValueError("MultiHeadAttention takes inputs [query, value] or [query, "
                                 f"value, key]. Received: a list of {len(query)} inputs")
            query, value, key = (list(query) + [None])[:3]
        if value is None:
            raise ValueError("MultiHeadAttention needs `value` (the layer is called as "
                             "layer(query, value) or layer([query, value]))")
        if mask is not None:
            masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
            masks += [None] * (3 - len(masks))
            query_mask = masks[0] if query_mask is None else query_mask
            value_mask = masks[1] if value_mask is None else value_mask
            key_mask = masks[2] if key_mask is None else key_mask
        q = self._cast_input("query", query)
        val = self._cast_input("value", value)
        k = None if key is None else self._cast_input("key", key)
        for name, flag in (("return_attention_scores", return_attention_scores),
                           ("use_causal_mask", use_causal_mask)):
            v.boolean(name, flag)
        snapshot = None if self.built else self._snapshot()
        try:
            if not self.built:
                self.build(q.shape, val.shape, None if k is None else k.shape)
            self._check_inputs(q, val, k)
            attn_mask = self._attention_mask(q, val, k, query_mask, value_mask, key_mask,
                                             attention_mask, use_causal_mask)
            return self._apply(q, val, k, attn_mask, bool(return_attention_scores),
                               bool(training))
        except BaseException:
            if snapshot is not None:
                self._restore(snapshot)
            raise

    def _check_inputs(self, q: np.ndarray, val: np.ndarray, k: np.ndarray | None) -> None:
        mm.check_inputs(self.name, q, val, k, (self.query_shape, self.value_shape,
                                               self.key_shape or self.value_shape),
                        self.attention_axes)

    def _scores_shape(self, q: np.ndarray, val: np.ndarray) -> tuple:
        _, _, target, source, product = self._equations
        dims = dict(zip(target, q.shape[:-1] + (self.num_heads, self.key_dim)))
        dims.update({c: d for c, d in zip(source, val.shape[:-1] + (self.num_heads,
                                                                  self.key_dim))
                     if c not in dims})
        return tuple(dims[c] for c in product)

    def _attention_mask(self, q, val, k, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask) -> np.ndarray | None:
        return mm.attention_mask(q.shape, val.shape, (val if k is None else k).shape,
                                 self._scores_shape(q, val), len(self.attention_axes),
                                 query_mask, value_mask, key_mask, attention_mask,
                                 use_causal_mask, self.sliding_window)

    def _scale(self) -> np.ndarray:
        """``1/sqrt(key_dim)`` as Keras's TensorFlow backend has it: ``ops.cast`` of a Python
        float goes through a float32 tensor, so a float64 layer scales by the float32 rounding
        (measured: exact 1/sqrt(3) leaves float64 outputs 1.3e-8 from Keras, this 1e-16)."""
        if self.softmax_robust_masking is not None:  # tf_keras: tf.multiply(query, float)
            return np.asarray(self._inverse_sqrt_key_dim, self.dtype)
        return np.asarray(np.float32(self._inverse_sqrt_key_dim), self.dtype)

    def _scores(self, q: np.ndarray, k: np.ndarray, fused: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(the query the product used, the scaled scores (B, N, T, S))``: on the fused path
        (``ops.dot_product_attention``) the product is scaled, on the explicit path
        (``_compute_attention``) the query is scaled first, as Keras does.  The scores are a
        fresh array (the softmax may overwrite them)."""
        _, _, target, source, product = self._equations
        standard = mp.is_standard(self._equations)
        if fused:
            scores = mp.scores(k, q) if standard else einsum2(source, k, target, q, product)
            scores *= self._scale()
            return q, scores
        qs = q * self._scale()
        return qs, mp.scores(k, qs) if standard else einsum2(source, k, target, qs, product)

    def _softmax(self, scores: np.ndarray, mask: Any, fused: bool, q: Any, k: Any) -> Any:
        """The probabilities of Keras's path (``mha_math``); in the common case without a mask,
        in place on ``scores`` (``mha_products.softmax_last``; ``q``, ``k``: the bound)."""
        if mask is None and mp.is_standard(self._equations):
            return mp.softmax_last(scores, mp.score_bound(q, k, self._scale() if fused else 1.0))
        if fused:
            return mm.fused_softmax(scores, mask)
        if self.softmax_robust_masking is not None:
            return mm.keras2_softmax(scores, mask, self._norm_axes, self.softmax_robust_masking)
        return mm.explicit_softmax(scores, mask, self._norm_axes)

    def _apply(self, q_in, v_in, k_in, mask, return_scores: bool, training: bool) -> Any:
        _, _, target, source, product = self._equations
        dtype = self.dtype
        keras2 = self.softmax_robust_masking is not None
        fused = self.dropout == 0 and not return_scores and q_in.ndim == 3 and not keras2
        gate = self.gate_dense(q_in, training=training) if self.use_gate else None
        q = self.query_dense(q_in, training=training)  # (B, T, N, key_dim)
        k = self.key_dense(v_in if k_in is None else k_in, training=training)  # (B, S, N, key_dim)
        val = self.value_dense(v_in, training=training)  # (B, S, N, value_dim)
        qs, scores = self._scores(q, k, fused)  # (B, N, T, S)
        p = self._softmax(scores, mask, fused, qs, k)
        keep = None
        pd = p
        if training and self.dropout > 0:
            keep = self._rng.random(p.shape) >= self.dropout
            pd = np.where(keep, p * np.asarray(1 / (1 - self.dropout), dtype),
                          np.zeros((), dtype))
        o = mp.combine(pd, val) if mp.is_standard(self._equations) else \
            einsum2(product, pd, source, val, target)  # (B, T, N, value_dim)
        o_in = o * gate if gate is not None else o
        out = self.output_dense(o_in, training=training)
        if training:
            self._record = (fused, mask, qs, k, val, p, keep, pd, o, gate, k_in is None,
                            out.shape, return_scores)
        else:
            self._record = None
        return (out, p) if return_scores else out

    def _backward(self, record: tuple, grad_output: Any) -> list[np.ndarray]:
        """dL/d[query, value(, key)] from dL/doutput (and dL/dscores when the call returned
        them; None stands for zeros); sets ``gradients`` in ``get_weights()`` order."""
        (fused, mask, qs, k, val, p, keep, pd, o, gate, key_is_value, out_shape,
         return_scores) = record
        dot, combine, target, source, product = self._equations
        g, g_scores = split_grad_output(self, grad_output, out_shape, p.shape, return_scores)
        d_in = self.output_dense.backward(g)
        d_gate_out = None
        if gate is not None:
            d_gate_out = d_in * o
            d_in = d_in * gate
        standard = mp.is_standard(self._equations)
        d_val = mp.transposed_product(pd, d_in) if standard else \
            einsum_grad(target, d_in, product, pd, source, val.shape)
        # dL/dprobabilities in float64: the softmax's backward subtracts its weighted mean, and
        # where the values are alike that difference is small, so one float32 rounding of each
        # element would be amplified (measured: 2.4e-6 of max|d query| against 7e-8 for Keras
        # on a 3-key example; accumulated in float64 and rounded once at d_scores: 1.3e-7).
        d_in64, val64 = d_in.astype(np.float64), val.astype(np.float64)
        d_pd = mp.scores(val64, d_in64) if standard else \
            einsum_grad(target, d_in64, source, val64, product, pd.shape)
        d_p = d_pd if keep is None else np.where(
            keep, d_pd * np.asarray(1 / (1 - self.dropout), self.dtype), np.zeros((), self.dtype))
        if g_scores is not None:
            d_p = d_p + g_scores
        scale = self._scale()
        additive = self.softmax_robust_masking is False  # tf_keras: scores + (1 - mask) * -1e9
        softmax_mask = mask if fused or not additive else None
        if softmax_mask is None and standard:  # d_p: fresh, float64; rounded once, and the
            d_scores = mp.softmax_last_backward(p, d_p, self.dtype)  # scale goes on d q / d k
            d_q, d_k = mp.combine(d_scores, k), mp.transposed_product(d_scores, qs)
            d_q *= scale
            if fused:
                d_k *= scale
        else:
            d_scores = mm.softmax_backward(p, d_p, (-1,) if fused else self._norm_axes,
                                           softmax_mask)
            d_scores = (d_scores * scale if fused else d_scores).astype(self.dtype, copy=False)
            d_q, d_k = (mp.combine(d_scores, k), mp.transposed_product(d_scores, qs)) if standard \
                else (einsum_grad(product, d_scores, source, k, target, qs.shape),
                      einsum_grad(product, d_scores, target, qs, source, k.shape))
            d_q = d_q if fused else d_q * scale
        d_query = self.query_dense.backward(d_q)
        if gate is not None:
            d_query = d_query + self.gate_dense.backward(d_gate_out)
        d_key = self.key_dense.backward(d_k)
        if self.use_bias:  # the terms of the key bias gradient (vanishing_gradient_terms)
            lead = tuple(range(d_k.ndim - np.ndim(self.key_dense.bias)))
            self._vanishing_terms = {"key/bias": (
                np.abs(d_k).sum(axis=lead, dtype=np.float64),
                int(np.prod([d_k.shape[i] for i in lead], dtype=np.int64)))}
        d_value = self.value_dense.backward(d_val)
        self.gradients = [gw for d in self._dense for gw in d.gradients]
        if key_is_value:
            return [d_query, d_value + d_key]
        return [d_query, d_value, d_key]

    # -- shapes, masks, config ---------------------------------------------------------------
    def compute_output_shape(self, query_shape: Any, value_shape: Any = None,
                             key_shape: Any = None) -> tuple:
        if value_shape is None and isinstance(query_shape, (list, tuple)) and query_shape \
                and isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        query_shape = tuple(query_shape)
        if value_shape is not None and key_shape is not None and \
                tuple(value_shape)[1:-1] != tuple(key_shape)[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be "
                             f"equal. Received: value_shape={tuple(value_shape)} and "
                             f"key_shape={tuple(key_shape)}")
        if self.output_shape:
            return query_shape[:-1] + tuple(self.output_shape)
        return query_shape

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The query's mask (Keras sets it on the output)."""
        if isinstance(mask, (list, tuple)):
            return mask[0] if mask else None
        return mask

    def call_output_names(self, n: int) -> list[str]:
        """Names of the ``n`` arrays a call returned (for reports)."""
        return ["output", "attention_scores"][:n]

    def get_config(self) -> dict:
        inits = {k: (val if isinstance(val, str) else initializers.serialize(val))
                 for k, val in self._init_names.items()}

        def listed(shape):
            return None if shape is None else list(shape)

        return {"num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_shape": None if self.output_shape is None else list(self.output_shape),
                "attention_axes": None if self.attention_axes is None
                else list(self.attention_axes),
                "use_gate": self.use_gate, "sliding_window": self.sliding_window, **inits,
                "query_shape": listed(self.query_shape), "value_shape": listed(self.value_shape),
                "key_shape": listed(self.key_shape), **self._base_config(),
                **({} if self.softmax_robust_masking is None
                   else {"softmax_robust_masking": self.softmax_robust_masking})}

    @classmethod
    def declared_weights(cls, cfg: dict, in_width: int | None = None,
                         stored: Any = None) -> tuple[list[tuple[str, tuple]], int | None]:
        """``([(weight name, shape)], output width)`` from a config alone (its ``query_shape`` /
        ``value_shape`` / ``key_shape``), for the readers' checks before anything is built;
        ``numpy_rnn._limits.LimitError`` for a config that declares no valid shapes."""
        label = _limits.layer_label("MultiHeadAttention", cfg)
        try:
            layer = cls(**{k: cfg.get(k) for k in ("num_heads", "key_dim", "value_dim",
                                                   "output_shape", "attention_axes")},
                        use_bias=cfg.get("use_bias", True), use_gate=cfg.get("use_gate", False))
            state = layer._build_state(cfg["query_shape"], cfg["value_shape"],
                                       cfg.get("key_shape"))
        except (KeyError, TypeError, ValueError) as exc:
            raise _limits.LimitError(f"{label}: its config declares no weight shapes: "
                                     f"{exc}") from None
        declared = [(f"{d.name}/{n}", tuple(s)) for d in state["_dense"]
                    for n, s in d.weight_shapes().items()]
        for name, dims in declared:
            if any(d is None for d in dims):
                raise _limits.LimitError(f"{label}: weight `{name}` has an unknown size {dims}")
        out = layer.output_shape or (state["query_shape"][-1],)
        return declared, out[-1]

