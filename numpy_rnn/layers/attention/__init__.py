"""Attention layers, as keras/src/layers/attention/: ``MultiHeadAttention`` (built from
``EinsumDense`` projections), ``Attention`` (Luong) and ``AdditiveAttention`` (Bahdanau) on a
shared base (``base_dense_attention``)."""
from .additive_attention import AdditiveAttention
from .attention import Attention
from .base_dense_attention import BaseDenseAttention
from .multi_head_attention import MultiHeadAttention

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention", "BaseDenseAttention"]
