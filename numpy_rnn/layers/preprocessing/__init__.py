"""Preprocessing layers, as Keras's ``keras/src/layers/preprocessing/``: ``text_vectorization``
(``TextVectorizationLayer``, a ``numpy_rnn.text.TextVectorization`` as a graph node)."""
from .text_vectorization import TextVectorizationLayer

__all__ = ["TextVectorizationLayer"]
