"""``from_keras`` / ``to_keras``: one entry point for layers, models and the text pipeline."""
from __future__ import annotations

from typing import Any

import numpy_rnn

from . import backend
from .layers import layer_from_keras, layer_to_keras
from .models import model_from_keras, model_to_keras
from .text import (is_tokenizer, text_vectorization_from_keras, text_vectorization_to_keras,
                   vocabulary_from_tokenizer, vocabulary_to_tokenizer)

__all__ = ["from_keras", "to_keras"]


def from_keras(obj: Any):
    """A NumPy twin of a Keras layer / model / Tokenizer / TextVectorization, weights copied."""
    if is_tokenizer(obj):
        return vocabulary_from_tokenizer(obj)
    if type(obj).__name__ == "TextVectorization":
        return text_vectorization_from_keras(obj)
    if any(c.__name__ in ("Sequential", "Functional", "Model") for c in type(obj).__mro__):
        return model_from_keras(obj)
    return layer_from_keras(obj)


def to_keras(np_obj: Any):
    """A Keras (Keras 3) twin of a NumPy layer or model, weights copied."""
    if isinstance(np_obj, numpy_rnn.Vocabulary):
        return vocabulary_to_tokenizer(np_obj)
    backend.require()  # Keras 3 on this process's backend (a Vocabulary's twin is tf_keras's)
    if isinstance(np_obj, numpy_rnn.TextVectorization):
        return text_vectorization_to_keras(np_obj)
    if isinstance(np_obj, (numpy_rnn.Sequential, numpy_rnn.Model)):
        return model_to_keras(np_obj)
    return layer_to_keras(np_obj)
