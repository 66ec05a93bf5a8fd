"""``TextVectorization`` inside a functional model: string inputs end to end.

``numpy_rnn.TextVectorization`` is not a :class:`~numpy_rnn.layers.base.Layer` (it mirrors
Keras's preprocessing layer on its own); :class:`TextVectorizationLayer` wraps one so that a
graph can call it on a string ``Input``::

    text = numpy_rnn.Input((1,), dtype="string")
    ids = vectorizer(text)               # a TextVectorization called on a symbolic tensor
    x = numpy_rnn.Embedding(vectorizer.vocabulary_size(), 16, mask_zero=True)(ids)

A ``TextVectorization`` called on a symbolic tensor wraps itself (once) in this layer; the
``.keras`` reader makes one from the Keras config with the vocabulary from the archive's assets,
and ``parity.from_keras`` with the live layer's.  No weights, no gradient (strings have none);
the config carries the options and the vocabulary, so bundles keep it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..text import vectorization as _vectorization
from ..text.vectorization import TextVectorization
from .base import Layer

__all__ = ["TextVectorizationLayer", "vocabulary_from_asset"]


def vocabulary_from_asset(data: bytes) -> list[str]:
    """The tokens of a ``vocabulary.txt`` Keras 3 writes in a ``.keras`` archive's assets (one
    token a line, in id order, the mask token ``''`` first: what ``get_vocabulary()`` gives)."""
    text = data.decode("utf-8")
    return text.split("\n")


class TextVectorizationLayer(Layer):
    """A graph layer around a :class:`~numpy_rnn.TextVectorization` (``vectorizer``).

    Args:
        vectorizer: the ``TextVectorization`` to run (its options and vocabulary); or None and
            the ``TextVectorization`` options as keyword arguments.
        name: the layer's name (default: the vectorizer's).

    ``layer(strings)`` is ``vectorizer(strings)``: int64 ids ``(batch, length)`` for a
    ``(batch, 1)`` or ``(batch,)`` string input in ``output_mode="int"``.
    """

    def __init__(self, vectorizer: TextVectorization | None = None, name: str | None = None,
                 **options: Any) -> None:
        options.pop("dtype", None)  # the ids are int64 whatever the Keras dtype policy says
        options.pop("vocabulary_size", None)  # what the vocabulary gives
        if vectorizer is None:
            vocabulary = options.pop("vocabulary", None)
            idf = options.pop("idf_weights", None)
            vectorizer = TextVectorization(name=name, **options)
            if vocabulary is not None:
                vectorizer.set_vocabulary(
                    np.array(vocabulary, dtype=object) if not isinstance(vocabulary, str)
                    else vocabulary, **({"idf_weights": idf} if idf is not None else {}))
        elif options:
            raise TypeError(f"Give either `vectorizer` or TextVectorization options, not both. "
                            f"Received: {sorted(options)}")
        if not isinstance(vectorizer, TextVectorization):
            raise TypeError("`vectorizer` must be a numpy_rnn.TextVectorization. Received: "
                            f"{type(vectorizer).__name__}")
        super().__init__(name=name or getattr(vectorizer, "name", None) or "text_vectorization")
        self.vectorizer = vectorizer
        self.built = True

    def __call__(self, inputs: Any, training: bool = False) -> np.ndarray:
        """Token ids of ``inputs`` (strings); ``training`` changes nothing."""
        self._record = None if not training else ()
        return np.asarray(self.vectorizer(inputs))

    def _backward(self, record: Any, grad_output: Any) -> None:
        """Strings have no gradient."""
        self.gradients = []
        return None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """``(batch, output_sequence_length)`` in ``"int"`` mode (None when it pads to the
        longest row); in the other modes ``(batch, depth)``: ``max_tokens`` with
        ``pad_to_max_tokens``, else the vocabulary's size (None before it has one)."""
        shape = tuple(input_shape)
        config = self.vectorizer.get_config()
        batch = shape[:1] if len(shape) >= 1 else (None,)
        if len(shape) >= 2 and shape[-1] not in (1, None):
            batch = shape[:-1]
        if config.get("output_mode", "int") == "int":
            return tuple(batch) + (config.get("output_sequence_length"),)
        size = len(self.vectorizer.get_vocabulary())
        depth = config.get("max_tokens") if config.get("pad_to_max_tokens") else (
            size if size > 2 else None)
        return tuple(batch) + (depth,)

    def output_dtypes(self) -> list[str]:
        mode = self.vectorizer.get_config().get("output_mode", "int")
        return ["float32" if mode == "tf_idf" else "int64"]

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        return self.vectorizer.get_vocabulary(include_special_tokens)

    def get_config(self) -> dict:
        config = {**self.vectorizer.get_config(), "name": self.name}
        config.pop("vocabulary_size", None)
        vocabulary = self.vectorizer.get_vocabulary()
        config["vocabulary"] = list(vocabulary) if len(vocabulary) > 2 else None
        return config

    @classmethod
    def from_config(cls, config: dict) -> "TextVectorizationLayer":
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict. Received: {type(config).__name__}")
        return cls(**config)


def _as_graph_layer(vectorizer: TextVectorization) -> TextVectorizationLayer:
    """The graph layer of ``vectorizer`` (one per vectorizer, so a second call shares it)."""
    layer = vectorizer.__dict__.get("_graph_layer")
    if layer is None:
        layer = vectorizer.__dict__["_graph_layer"] = TextVectorizationLayer(vectorizer)
    return layer


_vectorization.GRAPH_LAYER = _as_graph_layer  # the seam TextVectorization.__call__ uses
