"""The part ``Attention`` and ``AdditiveAttention`` share (Keras 3.15's ``Attention`` layer,
which ``AdditiveAttention`` subclasses; tf_keras called it ``BaseDenseAttention``): the inputs
``[query, value(, key)]``, the masks, the masked softmax over the keys, dropout, the weighted sum
of the values and their backward pass.  A subclass gives the scores (``_calculate_scores``) and
their backward pass (``_scores_backward``).

Masking (keras/src/layers/attention/attention.py ``_apply_scores``): a masked key's score has
``1e9`` *subtracted* (not replaced: a query row whose keys are all masked keeps its softmax
over the shifted scores, which in float32 rounds to a uniform average); the causal mask keeps
key ``j <= i``; the output at a masked query is 0.  ``mask=[query_mask, value_mask]`` (a third
entry is ignored, as in Keras); the output's mask is the query's.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer
from . import mha_math

__all__ = ["BaseDenseAttention", "split_grad_output"]

#: keras/src/layers/attention/attention.py ``_apply_scores`` (not float16).
MASK_SUBTRAHEND = 1.0e9


def split_grad_output(layer: Layer, grad_output: Any, out_shape: tuple, scores_shape: tuple,
                      return_scores: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``(dL/doutput, dL/dscores or None)`` from what ``backward`` was given: one gradient, or
    ``[d output, d attention_scores]`` when the call returned the scores (None: zeros), each
    checked by ``layer._grad_output``."""
    g_scores = None
    if return_scores:
        if not isinstance(grad_output, (list, tuple)) or len(grad_output) != 2:
            raise ValueError(f"`grad_output` of layer '{layer.name}' must be a list of two "
                             "gradients [d output, d attention_scores], as the call returned two "
                             "outputs")
        grad_output, g_scores = grad_output
        if g_scores is not None:
            g_scores = layer._grad_output(g_scores, scores_shape, "grad_output[1]")
    if grad_output is None:
        grad_output = np.zeros(out_shape, layer.dtype)
    return layer._grad_output(grad_output, out_shape), g_scores


class BaseDenseAttention(Layer):
    """Dot-product style attention over ``[query (B, Tq, dim), value (B, Tv, dim_v), key
    (B, Tv, dim)]`` (key defaults to value) -> ``(B, Tq, dim_v)``."""

    supports_masking = True
    builds_from_shape = True
    _WEIGHT_ATTRS = Layer._WEIGHT_ATTRS | {"scale", "concat_score_weight"}

    def __init__(self, use_scale: bool = False, dropout: float = 0.0,
                 build_input_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_scale = v.boolean("use_scale", use_scale)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or \
                not 0 <= dropout <= 1:
            raise ValueError("Invalid value received for argument `dropout`. Expected a float "
                             f"value between 0 and 1. Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.features: int | None = None
        if build_input_shape is not None:
            self.build(build_input_shape)

    # -- inputs --------------------------------------------------------------------------------
    def _validate_inputs(self, inputs: Any, mask: Any = None) -> None:
        """Keras's ``_validate_inputs``: a list of 2 or 3 inputs, a list of 2 or 3 masks."""
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, "
                             f"value] or [query, value, key]. Received: inputs={v._show(inputs)}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely "
                             f"[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"{name} layer mask must be a list, namely [query_mask, "
                                 f"value_mask]. Received: mask={v._show(mask)}.")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"{name} layer accepts mask list of length 2 or 3. Received: "
                                 f"a mask list of length {len(mask)}.")

    @staticmethod
    def _shapes(input_shape: Any) -> list[tuple]:
        try:
            shapes = [tuple(None if d is None else int(d) for d in s) for s in input_shape]
        except (TypeError, ValueError):
            raise ValueError("`input_shape` must be a list of 2 or 3 shapes [query, value(, "
                             f"key)], batch first. Received: input_shape={input_shape!r}") from None
        if not 2 <= len(shapes) <= 3 or any(len(s) < 2 for s in shapes):
            raise ValueError("`input_shape` must be a list of 2 or 3 shapes of rank >= 2 "
                             f"[query, value(, key)]. Received: input_shape={input_shape!r}")
        return shapes

    def build(self, input_shape: Any) -> None:
        """Build for ``[query_shape, value_shape(, key_shape)]`` (batch first)."""
        self._validate_inputs(list(input_shape) if isinstance(input_shape, (list, tuple))
                              else input_shape)
        shapes = self._shapes(input_shape)
        dim = shapes[0][-1]
        if self._needs_dim() and dim is None:
            raise ValueError(f"Layer '{self.name}' needs the query's last axis to build. "
                             f"Received: input_shape={input_shape!r}")
        self.features = dim
        self.build_input_shape = shapes
        self.built = True
        self._drop_weights()

    @property
    def dim(self) -> int | None:
        """The query's last axis (what AdditiveAttention's ``scale`` is sized by)."""
        return self.features

    def _needs_dim(self) -> bool:
        return False

    def _features_from_weights(self, weights: list) -> Any:
        return None  # the weights' shapes do not depend on the inputs (Attention)

    # -- call ------------------------------------------------------------------------------------
    def __call__(self, inputs: Any, mask: Any = None, training: bool = False,
                 return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        """``[query, value(, key)]`` -> the attention output ``(B, Tq, dim_v)`` (and the
        attention weights ``(B, Tq, Tv)`` with ``return_attention_scores``).  ``mask`` =
        ``[query_mask (B, Tq), value_mask (B, Tv)]``, None entries allowed.  ``training=True``
        applies dropout to the weights and keeps what ``backward`` needs."""
        self._validate_inputs(inputs, mask)
        v.boolean("return_attention_scores", return_attention_scores)
        v.boolean("use_causal_mask", use_causal_mask)
        q = self._cast_input("inputs[0]", inputs[0])
        val = self._cast_input("inputs[1]", inputs[1])
        k = self._cast_input("inputs[2]", inputs[2]) if len(inputs) > 2 else None
        key = val if k is None else k
        for name, x in (("query", q), ("value", val), ("key", key)):
            if x.ndim < 2:
                raise ValueError(f"`{name}` of layer '{self.name}' must have rank >= 2 (batch, "
                                 f"..., timesteps, features). Received: shape {x.shape}")
        if key.shape[:-1] != val.shape[:-1]:
            raise ValueError(f"`key` and `value` of layer '{self.name}' must have the same shape "
                             f"but for the last axis. Received: value shape {val.shape}, key "
                             f"shape {key.shape}")
        if q.shape[:-2] != val.shape[:-2]:
            raise ValueError(f"`query` and `value` of layer '{self.name}' must have the same "
                             f"batch axes. Received: query shape {q.shape}, value shape "
                             f"{val.shape}")
        if q.shape[-1] != key.shape[-1]:
            raise ValueError(f"`query` and `key` of layer '{self.name}' must have the same last "
                             f"axis (the scores compare them). Received: query shape {q.shape}, "
                             f"key shape {key.shape}")
        masks = list(mask) if mask is not None else [None, None]
        q_mask = self._mask(masks[0], "mask[0]", q.shape[:-1])
        v_mask = self._mask(masks[1], "mask[1]", val.shape[:-1])
        snapshot = None
        if not self.built:
            snapshot = self._snapshot()
            self.build([q.shape, val.shape] + ([k.shape] if k is not None else []))
        elif self._needs_dim() and q.shape[-1] != self.dim:
            raise ValueError(f"Layer '{self.name}' was built for a query of {self.dim} "
                             f"features; received a query of shape {q.shape}")
        try:
            return self._apply(q, val, k, q_mask, v_mask, bool(training),
                               bool(return_attention_scores), bool(use_causal_mask))
        except BaseException:
            if snapshot is not None:
                self._restore(snapshot)
            raise

    @staticmethod
    def _mask(mask: Any, name: str, shape: tuple) -> np.ndarray | None:
        if mask is None:
            return None
        m = v.numeric_array(name, mask)
        if m.shape != shape:
            raise ValueError(f"`{name}` must have shape {shape} (its input's shape without the "
                             f"last axis). Received: {name} with shape {m.shape}")
        return m.astype(bool)

    def _apply(self, q, val, k, q_mask, v_mask, training, return_scores, causal) -> Any:
        key = val if k is None else k
        scores, cache = self._calculate_scores(q, key)  # (B, Tq, Tv)
        scores_mask = v_mask
        if causal:
            tq, tv = scores.shape[-2:]
            c = mha_math.causal_mask(tq, tv)  # (1, Tq, Tv): key j <= query i
            scores_mask = c if v_mask is None else np.expand_dims(v_mask, -2) & c
        if scores_mask is not None:
            padding = ~scores_mask
            if padding.ndim == 2:
                padding = np.expand_dims(padding, -2)  # (B, 1, Tv)
            scores = np.where(padding, scores - np.asarray(MASK_SUBTRAHEND, scores.dtype), scores)
        e = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
        weights = e / np.sum(e, axis=-1, keepdims=True)  # (B, Tq, Tv)
        keep = None
        dropped = weights
        if training and self.dropout > 0:
            keep = self._rng.random(weights.shape) >= self.dropout
            dropped = np.where(keep, weights * np.asarray(1 / (1 - self.dropout), weights.dtype),
                               np.zeros((), weights.dtype))
        out = dropped @ val  # (B, Tq, dim_v)
        if q_mask is not None:
            out = np.where(q_mask[..., None], out, np.zeros((), out.dtype))
        if training:
            self._record = (cache, weights, keep, dropped, val, q_mask, k is None, out.shape,
                            return_scores)
        else:
            self._record = None
        return (out, weights) if return_scores else out

    def _backward(self, record: tuple, grad_output: Any) -> list[np.ndarray]:
        """dL/d[query, value(, key)] from dL/doutput (and dL/dscores when the call returned
        them); sets ``gradients`` in ``get_weights()`` order."""
        cache, weights, keep, dropped, val, q_mask, key_is_value, out_shape, return_scores = \
            record
        g, g_scores = split_grad_output(self, grad_output, out_shape, weights.shape,
                                        return_scores)
        if q_mask is not None:
            g = np.where(q_mask[..., None], g, np.zeros((), g.dtype))
        # dL/dweights in float64, the softmax's backward rounded once: it subtracts the
        # weighted mean, which float32 roundings of each element would swamp where the values
        # are alike (as MultiHeadAttention's backward)
        d_dropped = g.astype(np.float64) @ np.swapaxes(val, -1, -2).astype(np.float64)
        d_val = np.swapaxes(dropped, -1, -2) @ g  # (B, Tv, dim_v)
        d_w = d_dropped if keep is None else np.where(
            keep, d_dropped * (1 / (1 - self.dropout)), 0.0)
        if g_scores is not None:
            d_w = d_w + g_scores
        d_scores = (weights * (d_w - np.sum(d_w * weights, axis=-1, keepdims=True))).astype(
            self.dtype)  # (B, Tq, Tv)
        d_q, d_k, grads = self._scores_backward(cache, d_scores)
        self.gradients = [np.asarray(gw, dtype=self.dtype) for gw in grads]
        if key_is_value:
            return [d_q, d_val + d_k]
        return [d_q, d_val, d_k]

    # -- subclasses ------------------------------------------------------------------------------
    def _calculate_scores(self, query: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, Any]:
        """``(scores (B, Tq, Tv), what _scores_backward needs)``."""
        raise NotImplementedError

    def _scores_backward(self, cache: Any, d_scores: np.ndarray) -> tuple:
        """``(dL/dquery, dL/dkey, [weight gradients in get_weights() order])``."""
        raise NotImplementedError

    # -- shapes, masks, config ---------------------------------------------------------------------
    def compute_output_shape(self, input_shape: Any) -> tuple:
        query_shape, value_shape = tuple(input_shape[0]), tuple(input_shape[1])
        return (*query_shape[:-1], value_shape[-1])

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return np.asarray(mask[0])

    def call_output_names(self, n: int) -> list[str]:
        """Names of the ``n`` arrays a call returned (for reports)."""
        return ["output", "attention_scores"][:n]

    def _attention_config(self) -> dict:
        return {"use_scale": self.use_scale, "dropout": self.dropout,
                "build_input_shape": None if self.build_input_shape is None
                else [list(s) for s in self.build_input_shape],
                **self._base_config()}
