"""Core layers, one module each, as Keras's ``keras/src/layers/core/``: ``dense``, ``embedding``,
``einsum_dense``, ``masking``.

``numpy_rnn.layers.core`` was one module holding ``Masking`` and ``Dropout`` before the family
move (issue 19 item 10); ``Dropout`` now lives in ``numpy_rnn.layers.regularization.dropout``
(where Keras files it) and is re-exported here so ``from numpy_rnn.layers.core import Dropout``
keeps working."""
from ..regularization.dropout import Dropout
from .dense import Dense
from .einsum_dense import EinsumDense
from .embedding import Embedding, EmbeddingLayer, TokenIdError
from .masking import Masking

__all__ = ["Dense", "Embedding", "EmbeddingLayer", "TokenIdError", "EinsumDense", "Masking",
           "Dropout"]
