"""Attention (Luong-style dot-product attention), as ``keras.layers.Attention`` (Keras 3.15):
``score_mode="dot"``: ``scores = query @ key^T`` (times ``scale`` with ``use_scale``);
``score_mode="concat"``: ``scores = concat_score_weight * sum(tanh(scale * (query + key)))``.
Weights: ``scale`` ``()`` with ``use_scale``, then ``concat_score_weight`` ``()`` with
``score_mode="concat"``, both initialised to 1 (Keras's order and initializers).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _limits
from .base_dense_attention import BaseDenseAttention

__all__ = ["Attention"]


class Attention(BaseDenseAttention):
    """Dot-product attention layer.

    Args:
        use_scale: learn a scalar ``scale`` for the scores.
        score_mode: ``"dot"`` or ``"concat"``.
        dropout: dropout rate on the attention weights (training only).
        build_input_shape: ``[query_shape, value_shape(, key_shape)]`` to build now.
        dtype, seed, name, trainable: as every layer.

    Call: ``layer([query, value(, key)], mask=[query_mask, value_mask], training=False,
    return_attention_scores=False, use_causal_mask=False)`` (see ``BaseDenseAttention``).
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 **kwargs: Any) -> None:
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of {'dot', "
                             f"'concat'}}. Received: score_mode={score_mode!r}")
        self.score_mode = score_mode
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def weight_names(self) -> list[str]:
        return ((["scale"] if self.use_scale else [])
                + (["concat_score_weight"] if self.score_mode == "concat" else []))

    def _shapes_for(self, features: Any) -> dict[str, tuple]:
        return {"scale": (), "concat_score_weight": ()}

    def _initial_weights(self, features: Any) -> dict[str, np.ndarray]:
        return {name: np.ones((), self.dtype) for name in self.weight_names()}

    def _calculate_scores(self, query: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, Any]:
        if self.score_mode == "dot":
            raw = query @ np.swapaxes(key, -1, -2)  # (B, Tq, Tv)
            scores = raw * self.scale if self.use_scale else raw
            return scores, (query, key, raw)
        u = np.expand_dims(query, -2) + np.expand_dims(key, -3)  # (B, Tq, Tv, dim)
        t = np.tanh(self.scale * u) if self.use_scale else np.tanh(u)
        summed = np.sum(t, axis=-1)  # (B, Tq, Tv)
        return self.concat_score_weight * summed, (u, t, summed)

    def _scores_backward(self, cache: Any, d_scores: np.ndarray) -> tuple:
        grads = []
        if self.score_mode == "dot":
            query, key, raw = cache
            if self.use_scale:
                grads.append(np.sum(d_scores * raw, dtype=np.float64))
                d_raw = d_scores * self.scale
            else:
                d_raw = d_scores
            d_q = d_raw @ key  # (B, Tq, dim)
            d_k = np.swapaxes(d_raw, -1, -2) @ query  # (B, Tv, dim)
            return d_q, d_k, grads
        u, t, summed = cache
        d_csw = np.sum(d_scores * summed, dtype=np.float64)
        d_pre = np.expand_dims(d_scores * self.concat_score_weight, -1) * (1 - t * t)
        if self.use_scale:
            grads.append(np.sum(d_pre * u, dtype=np.float64))
            d_u = d_pre * self.scale
        else:
            d_u = d_pre
        grads.append(d_csw)
        return np.sum(d_u, axis=-2), np.sum(d_u, axis=-3), grads

    def get_config(self) -> dict:
        return {"score_mode": self.score_mode, **self._attention_config()}

    @classmethod
    def declared_weights(cls, cfg: dict, in_width: int | None = None,
                         stored: Any = None) -> tuple[list[tuple[str, tuple]], int | None]:
        """``([(weight name, shape)], output width)`` from a config alone (see EinsumDense)."""
        label = _limits.layer_label("Attention", cfg)
        try:
            layer = cls(use_scale=cfg.get("use_scale", False),
                        score_mode=cfg.get("score_mode", "dot"))
            shapes = cfg.get("build_input_shape")
            width = shapes[1][-1] if shapes else None
        except (TypeError, ValueError, IndexError) as exc:
            raise _limits.LimitError(f"{label}: its config declares no weight shapes: "
                                     f"{exc}") from None
        return [(n, ()) for n in layer.weight_names()], width
