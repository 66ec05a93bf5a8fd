"""AdditiveAttention (Bahdanau-style), as ``keras.layers.AdditiveAttention`` (Keras 3.15):
``scores = sum(scale * tanh(query + key), axis=-1)``, with ``scale`` ``(dim,)`` (glorot
uniform, Keras's initializer) when ``use_scale`` (the default), else 1.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _limits
from ... import initializers
from .base_dense_attention import BaseDenseAttention

__all__ = ["AdditiveAttention"]


class AdditiveAttention(BaseDenseAttention):
    """Additive attention layer.

    Args:
        use_scale: learn a ``scale`` vector ``(dim,)`` (default True).
        dropout: dropout rate on the attention weights (training only).
        build_input_shape: ``[query_shape, value_shape(, key_shape)]`` to build now.
        dtype, seed, name, trainable: as every layer.

    Call: ``layer([query, value(, key)], mask=[query_mask, value_mask], training=False,
    return_attention_scores=False, use_causal_mask=False)`` (see ``BaseDenseAttention``).
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def _needs_dim(self) -> bool:
        return self.use_scale

    def weight_names(self) -> list[str]:
        return ["scale"] if self.use_scale else []

    def _shapes_for(self, features: Any) -> dict[str, tuple]:
        return {"scale": (features,)}

    def _features_from_weights(self, weights: list) -> Any:
        w = np.asarray(weights[0]) if weights else None
        if w is None or w.ndim != 1 or w.shape[0] < 1:
            raise ValueError(f"Weight `scale` of layer '{self.name}' must have shape (dim,). "
                             f"Received: shape {None if w is None else w.shape}")
        return int(w.shape[0])

    def _initial_weights(self, features: Any) -> dict[str, np.ndarray]:
        if not self.use_scale:
            return {}
        return {"scale": initializers.glorot_uniform((self.dim or features,), self.dtype,
                                                     self._rng)}

    def _calculate_scores(self, query: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, Any]:
        t = np.tanh(np.expand_dims(query, -2) + np.expand_dims(key, -3))  # (B, Tq, Tv, dim)
        if self.use_scale:
            return np.sum(self.scale * t, axis=-1), t
        return np.sum(t, axis=-1), t

    def _scores_backward(self, cache: Any, d_scores: np.ndarray) -> tuple:
        t = cache
        d = np.expand_dims(d_scores, -1)  # (B, Tq, Tv, 1)
        grads = []
        if self.use_scale:
            axes = tuple(range(t.ndim - 1))
            grads.append(np.sum(d * t, axis=axes, dtype=np.float64))
            d_u = d * self.scale * (1 - t * t)
        else:
            d_u = d * (1 - t * t)
        return np.sum(d_u, axis=-2), np.sum(d_u, axis=-3), grads

    def get_config(self) -> dict:
        return self._attention_config()

    @classmethod
    def declared_weights(cls, cfg: dict, in_width: int | None = None,
                         stored: Any = None) -> tuple[list[tuple[str, tuple]], int | None]:
        """``([(weight name, shape)], output width)`` from a config alone (see EinsumDense)."""
        label = _limits.layer_label("AdditiveAttention", cfg)
        shapes = cfg.get("build_input_shape")
        try:
            dim = shapes[0][-1] if shapes else in_width
            width = shapes[1][-1] if shapes else None
        except (TypeError, IndexError, KeyError) as exc:
            raise _limits.LimitError(f"{label}: its config declares no weight shapes: "
                                     f"{exc}") from None
        if not cfg.get("use_scale", True):
            return [], width
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise _limits.LimitError(f"{label}: weight `scale` has an unknown size ({dim!r})")
        return [("scale", (dim,))], width
