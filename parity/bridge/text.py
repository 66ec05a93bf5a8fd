"""Keras <-> NumPy conversion for the text pipeline.

* ``tf_keras.preprocessing.text.Tokenizer``  <->  :class:`numpy_rnn.Vocabulary`
* ``keras.layers.TextVectorization``         <->  :class:`numpy_rnn.TextVectorization`

TensorFlow / Keras are imported inside the functions only, so importing this module is cheap.
"""
from __future__ import annotations

import collections
from typing import Any

import numpy as np

from numpy_rnn import TextVectorization, Vocabulary, pad_sequences

from ..report import ParityReport, diff_arrays
from .layers import UnsupportedKerasFeature

__all__ = [
    "vocabulary_from_tokenizer",
    "vocabulary_to_tokenizer",
    "text_vectorization_from_keras",
    "text_vectorization_to_keras",
    "is_tokenizer",
    "compare_text",
]

_TOKENIZER_TABLES = ("word_counts", "word_docs", "index_docs", "word_index", "index_word")


def is_tokenizer(obj: Any) -> bool:
    """Whether ``obj`` is a (tf_keras) ``Tokenizer``: the class name and its word index."""
    return type(obj).__name__ == "Tokenizer" and hasattr(obj, "word_index")


def _require(obj: Any, attributes: tuple[str, ...], expected: str) -> None:
    missing = [a for a in attributes if not hasattr(obj, a)]
    if missing:
        raise TypeError(
            f"Expected {expected}. Received: an object of type {type(obj).__name__} "
            f"without {missing}"
        )


def _copy_tables(src: Any, dst: Any) -> Any:
    """Copy a fitted tokenizer's tables (either class) into ``dst``, as the types Tokenizer uses."""
    dst.word_counts = collections.OrderedDict(src.word_counts)
    dst.word_docs = collections.defaultdict(int, src.word_docs)
    dst.index_docs = collections.defaultdict(int, src.index_docs)
    dst.word_index = dict(src.word_index)
    dst.index_word = dict(src.index_word)
    return dst


def vocabulary_from_tokenizer(tok: Any) -> Vocabulary:
    """A :class:`Vocabulary` with the same options and tables as a tf_keras ``Tokenizer``.

    The tables are copied (``OrderedDict`` / ``defaultdict`` as a freshly fitted Tokenizer holds
    them), so fitting the copy further behaves as fitting the original. ``num_words=0`` (Keras:
    no limit) becomes None.
    """
    _require(tok, ("num_words", "filters", "lower", "split", "char_level", "oov_token")
             + _TOKENIZER_TABLES, "a tf_keras.preprocessing.text.Tokenizer")
    vocab = Vocabulary(
        num_words=tok.num_words or None,
        filters=tok.filters,
        lower=tok.lower,
        split=tok.split,
        char_level=tok.char_level,
        oov_token=tok.oov_token,
        analyzer=getattr(tok, "analyzer", None),
        document_count=tok.document_count,
    )
    return _copy_tables(tok, vocab)


def vocabulary_to_tokenizer(v: Vocabulary) -> Any:
    """A tf_keras ``Tokenizer`` holding ``v``'s options and tables (usable for further fitting)."""
    if not isinstance(v, Vocabulary):
        raise TypeError(
            f"Expected a numpy_rnn.Vocabulary. Received: an object of type {type(v).__name__}"
        )
    from tf_keras.preprocessing.text import Tokenizer

    tok = Tokenizer(
        num_words=v.num_words,
        filters=v.filters,
        lower=v.lower,
        split=v.split,
        char_level=v.char_level,
        oov_token=v.oov_token,
        analyzer=v.analyzer,
        document_count=v.document_count,
    )
    return _copy_tables(v, tok)


def text_vectorization_from_keras(layer: Any) -> TextVectorization:
    """A :class:`numpy_rnn.TextVectorization` with ``layer``'s options and current vocabulary.

    Raises ``parity.UnsupportedKerasFeature`` for options the NumPy layer lacks (callable
    ``standardize`` / ``split``, ``output_mode`` other than ``"int"``).
    """
    _require(layer, ("get_config", "get_vocabulary", "vocabulary_size"),
             "a keras.layers.TextVectorization")
    for option in ("_standardize", "_split"):
        if callable(getattr(layer, option, None)):
            raise UnsupportedKerasFeature(
                f"TextVectorization layer '{layer.name}': a callable `{option[1:]}` is not "
                "supported by numpy_rnn.TextVectorization"
            )
    config = dict(layer.get_config())
    if config.get("output_mode") != "int":
        raise UnsupportedKerasFeature(
            f"TextVectorization layer '{layer.name}': output_mode={config.get('output_mode')!r} "
            "is not supported (only 'int')"
        )
    static = bool(getattr(layer, "_has_input_vocabulary", config.get("vocabulary") is not None))
    vocabulary = _exact_keras_vocabulary(layer)
    initialized = layer.vocabulary_size() > 2
    for key in ("vocabulary", "vocabulary_size", "idf_weights", "sparse"):
        config.pop(key, None)
    try:
        ours = TextVectorization(**config, has_input_vocabulary=static)
    except NotImplementedError as exc:
        raise UnsupportedKerasFeature(f"TextVectorization layer '{layer.name}': {exc}") from None
    if initialized:
        ours.set_vocabulary(np.array(vocabulary, dtype=object))  # object array: tokens kept exact
    input_vocabulary = getattr(getattr(layer, "_lookup_layer", None), "input_vocabulary", None)
    ours.input_vocabulary = input_vocabulary  # what get_config() reports, as Keras
    return ours


def _exact_keras_vocabulary(layer: Any) -> list[str]:
    """The layer's tokens in id order, exactly (``get_vocabulary()`` drops trailing NULs)."""
    table = getattr(getattr(layer, "_lookup_layer", None), "lookup_table", None)
    try:
        keys, values = table.export()
        pairs = sorted(zip(values.numpy().tolist(), keys.numpy().tolist()))
        tokens = [k.decode("utf-8") if isinstance(k, bytes) else str(k) for _, k in pairs]
        if [i for i, _ in pairs] == list(range(2, 2 + len(pairs))):
            return ["", "[UNK]"] + tokens
    except Exception:  # noqa: BLE001 - private Keras internals changed: use the public view
        pass
    return [str(token) for token in layer.get_vocabulary()]


def text_vectorization_to_keras(tv: TextVectorization) -> Any:
    """A ``keras.layers.TextVectorization`` with ``tv``'s options and vocabulary."""
    if not isinstance(tv, TextVectorization):
        raise TypeError(
            "Expected a numpy_rnn.TextVectorization. Received: an object of type "
            f"{type(tv).__name__}"
        )
    import keras

    config = tv.get_config()
    for key in ("vocabulary", "vocabulary_size", "dtype"):
        config.pop(key)
    initialized = tv.vocabulary_size() > 2
    # The exact tokens, as an object array so that Keras keeps trailing NULs too.
    vocabulary = np.array(["", "[UNK]"] + list(tv.tokens), dtype=object) if initialized else None
    static = tv.has_input_vocabulary
    if static and vocabulary is not None:
        layer = keras.layers.TextVectorization(**config, vocabulary=vocabulary)
    else:
        layer = keras.layers.TextVectorization(**config)
        if vocabulary is not None:
            layer.set_vocabulary(vocabulary)
    return layer


def compare_text(np_obj: Any, keras_obj: Any, inputs: Any, *,
                 case: str | None = None) -> ParityReport:
    """A ``ParityReport`` for a :class:`Vocabulary` against a tf_keras ``Tokenizer`` on texts.

    Outputs (all compared exactly, ``rtol = atol = 0``):

    * ``word_index``: for every Keras word, in Keras's order, the id each side gives it
      (``-1`` where our vocabulary lacks the word; a shape mismatch when the sizes differ);
    * ``sequences``: ``texts_to_sequences(inputs)`` of each side, padded at the end with ``-1``;
    * ``matrix``: ``texts_to_matrix(inputs, mode="count")`` when the Tokenizer can build it.
    """
    if isinstance(keras_obj, Vocabulary) and not isinstance(np_obj, Vocabulary):
        np_obj, keras_obj = keras_obj, np_obj
    if not isinstance(np_obj, Vocabulary):
        raise TypeError(
            "compare_text needs a numpy_rnn.Vocabulary and a tf_keras Tokenizer. Received: "
            f"{type(np_obj).__name__} and {type(keras_obj).__name__}"
        )
    case = case or "Vocabulary vs Tokenizer"
    texts = list(inputs) if not isinstance(inputs, str) else inputs
    exact = {"rtol": 0.0, "atol": 0.0}

    words = list(keras_obj.word_index)
    expected_ids = np.array([keras_obj.word_index[w] for w in words], dtype=np.int64)
    actual_ids = np.array([np_obj.word_index.get(w, -1) for w in words], dtype=np.int64)
    if len(np_obj.word_index) != len(words):
        actual_ids = np.append(actual_ids, -1)  # a size difference shows as a shape mismatch
    outputs = [diff_arrays("word_index", actual_ids, expected_ids, **exact)]

    def padded(seqs: list) -> np.ndarray:
        if not seqs:
            return np.zeros((0, 0), dtype=np.int64)
        return pad_sequences(seqs, dtype="int64", padding="post", value=-1)

    ours_seqs = np_obj.texts_to_sequences(texts)
    keras_seqs = keras_obj.texts_to_sequences(texts)
    outputs.append(diff_arrays("sequences", padded(ours_seqs), padded(keras_seqs), **exact))
    try:
        keras_matrix = keras_obj.texts_to_matrix(texts, mode="count")
    except ValueError:
        keras_matrix = None  # nothing fitted and no num_words: Keras cannot build a matrix
    if keras_matrix is not None:
        outputs.append(diff_arrays("matrix", np_obj.texts_to_matrix(texts, mode="count"),
                                   keras_matrix, **exact))
    return ParityReport(case, outputs)
