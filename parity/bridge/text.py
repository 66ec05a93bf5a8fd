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
    "compare_text_vectorization",
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
    """A :class:`numpy_rnn.TextVectorization` with ``layer``'s options, current vocabulary and
    (``"tf_idf"``) idf weights, copied exactly (the weights of the vocabulary's entries; the
    zeros of ``pad_to_max_tokens`` follow from the options).

    Raises ``parity.UnsupportedKerasFeature`` for options the NumPy layer lacks (callable
    ``standardize`` / ``split``, ``sparse=True``).
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
    mode = config.get("output_mode")
    start = 2 if mode == "int" else 1  # the id of the first token
    static = bool(getattr(layer, "_has_input_vocabulary", config.get("vocabulary") is not None))
    vocabulary = _exact_keras_vocabulary(layer, start)
    initialized = layer.vocabulary_size() > start
    for key in ("vocabulary", "vocabulary_size", "idf_weights"):
        config.pop(key, None)
    try:
        ours = TextVectorization(**config, has_input_vocabulary=static)
    except NotImplementedError as exc:
        raise UnsupportedKerasFeature(f"TextVectorization layer '{layer.name}': {exc}") from None
    lookup = getattr(layer, "_lookup_layer", None)
    if initialized:
        idf = None
        if mode == "tf_idf":  # the weights of the vocabulary's entries, [UNK] first
            idf = np.asarray(lookup.idf_weights_const)[:len(vocabulary)]
        # object array: tokens kept exact; it starts with the special tokens, so no weight is
        # averaged in front
        ours.set_vocabulary(np.array(vocabulary, dtype=object), idf_weights=idf)
    ours.input_vocabulary = getattr(lookup, "input_vocabulary", None)  # get_config(), as Keras
    idf_in = getattr(lookup, "input_idf_weights", None)
    ours.input_idf_weights = idf_in.tolist() if isinstance(idf_in, np.ndarray) else idf_in
    return ours


def _exact_keras_vocabulary(layer: Any, start: int = 2) -> list[str]:
    """The layer's vocabulary in id order, the special tokens first (``''`` and ``'[UNK]'`` for
    ``start=2``, the ``"int"`` mode; ``'[UNK]'`` for ``start=1``), its tokens exactly
    (``get_vocabulary()`` drops trailing NULs)."""
    table = getattr(getattr(layer, "_lookup_layer", None), "lookup_table", None)
    try:
        keys, values = table.export()
        pairs = sorted(zip(values.numpy().tolist(), keys.numpy().tolist()))
        tokens = [k.decode("utf-8") if isinstance(k, bytes) else str(k) for _, k in pairs]
        if [i for i, _ in pairs] == list(range(start, start + len(pairs))):
            return ["", "[UNK]"][2 - start:] + tokens
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
    for key in ("vocabulary", "vocabulary_size", "dtype", "idf_weights"):
        config.pop(key)
    start = 2 if tv.output_mode == "int" else 1  # the id of the first token
    initialized = tv.vocabulary_size() > start
    special = ["", "[UNK]"][2 - start:]
    # The exact tokens, as an object array so that Keras keeps trailing NULs too; the special
    # tokens in front, so that Keras takes the idf weights as they are (no average in front).
    vocabulary = np.array(special + list(tv.tokens), dtype=object) if initialized else None
    idf = None
    if tv.output_mode == "tf_idf" and vocabulary is not None:
        idf = tv.idf_weights[:len(vocabulary)]
    static = tv.has_input_vocabulary
    if static and vocabulary is not None:
        layer = keras.layers.TextVectorization(**config, vocabulary=vocabulary, idf_weights=idf)
    else:
        layer = keras.layers.TextVectorization(**config)
        if vocabulary is not None:
            layer.set_vocabulary(vocabulary, idf_weights=idf)
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


def compare_text_vectorization(np_obj: TextVectorization, keras_obj: Any, inputs: Any, *,
                               case: str) -> ParityReport:
    """A ``ParityReport`` for a :class:`TextVectorization` against Keras's on ``inputs``: the
    ids (``"int"``) or the encoded output, exactly for integers, at the table's tolerance for
    ``"tf_idf"``; the dtypes must agree.  A ragged result (``"one_hot"`` of split strings: a
    list of ``(tokens, depth)`` arrays here, a ``RaggedTensor`` in Keras) is compared row by row
    (``row lengths``, then every row stacked)."""
    ours = np_obj(inputs)
    theirs = keras_obj(inputs)
    name = "ids" if np_obj.output_mode == "int" else "output"
    outputs = []
    if hasattr(theirs, "to_list"):  # a RaggedTensor: rows of (tokens, depth) vectors
        depth = int(theirs.shape[-1]) if theirs.shape[-1] is not None else 0
        rows = [np.asarray(r, dtype=theirs.dtype.as_numpy_dtype).reshape(-1, depth)
                for r in theirs.to_list()]
        mine = list(ours) if isinstance(ours, list) else []
        outputs.append(diff_arrays("row lengths", np.array([len(r) for r in mine], np.int64),
                                   np.array([len(r) for r in rows], np.int64), rtol=0, atol=0))
        expected = np.concatenate(rows) if rows else np.zeros((0, depth))
        actual = np.concatenate(mine) if mine else np.zeros((0, depth), expected.dtype)
        if actual.shape != expected.shape:
            actual = np.zeros((0,) + expected.shape[1:], expected.dtype)  # the lengths row fails
    else:
        expected = np.asarray(theirs)
        actual = np.asarray(ours)
    exact = {} if expected.dtype.kind == "f" else {"rtol": 0, "atol": 0}
    diff = diff_arrays(name, actual, expected, **exact)
    if actual.dtype != expected.dtype:
        diff.passed = False
        diff.note = f"numpy dtype {actual.dtype}, keras {expected.dtype}"
    outputs.append(diff)
    return ParityReport(case, outputs)
