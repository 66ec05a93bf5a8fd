"""Text preprocessing that reproduces Keras exactly, in pure Python + NumPy.

* :class:`Vocabulary` is ``tf_keras.preprocessing.text.Tokenizer`` (word index, counts, sequences,
  matrices, JSON), plus two extras: :attr:`Vocabulary.size` and :meth:`Vocabulary.tokenize`.
* :func:`text_to_word_sequence` is ``tf_keras.preprocessing.text.text_to_word_sequence``.
* :class:`TextVectorization` is ``keras.layers.TextVectorization``, every output mode.
* :func:`pad_sequences` is ``keras.utils.pad_sequences``.

The measured Keras behaviour these follow is in ``spec/keras-semantics.md`` section 3; where this
module differs on purpose it says so in ``docs/text-differences.md``.
"""
from __future__ import annotations

from .sequence import DEFAULT_FILTERS, pad_sequences, text_to_word_sequence
from .tokenizer import Vocabulary
from .vectorization import TextVectorization

__all__ = [
    "DEFAULT_FILTERS",
    "Vocabulary",
    "TextVectorization",
    "pad_sequences",
    "text_to_word_sequence",
]
