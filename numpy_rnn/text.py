"""Text preprocessing that reproduces Keras exactly, in pure Python + NumPy.

* :class:`Vocabulary` is ``tf_keras.preprocessing.text.Tokenizer`` (word index, counts, sequences,
  matrices, JSON), plus two extras: :attr:`Vocabulary.size` and :meth:`Vocabulary.tokenize`.
* :func:`text_to_word_sequence` is ``tf_keras.preprocessing.text.text_to_word_sequence``.
* :class:`TextVectorization` is ``keras.layers.TextVectorization`` with ``output_mode="int"``.
* :func:`pad_sequences` is ``keras.utils.pad_sequences``.

The measured Keras behaviour these follow is in ``spec/keras-semantics.md`` section 3; where this
module differs on purpose it says so in ``docs/text-differences.md``.
"""
from __future__ import annotations

import collections
import functools
import json
import numbers
import os
import re
import string
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

import numpy as np

from . import _validation as _v

__all__ = [
    "DEFAULT_FILTERS",
    "Vocabulary",
    "TextVectorization",
    "pad_sequences",
    "text_to_word_sequence",
]

#: Keras's default ``filters``: ASCII punctuation except ``'``, plus tab and newline.
DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'

_MATRIX_MODES = ("binary", "count", "tfidf", "freq")


# ------------------------------------------------------------------------------------------------
# text_to_word_sequence
# ------------------------------------------------------------------------------------------------
def _check_split(split: Any) -> str | None:
    """``split`` is a non-empty separator, or None (filters deleted, split on whitespace runs)."""
    if split is None:
        return None
    if not isinstance(split, str) or split == "":
        raise ValueError(
            f"`split` must be a non-empty string (or None). Received: split={_v._show(split)}"
        )
    return split


@functools.lru_cache(maxsize=64)
def _cached_table(filters: str, split: str | None) -> dict:
    return str.maketrans({c: split for c in filters})


def _translate_table(filters: Any, split: str | None) -> dict:
    """The ``str.translate`` table replacing every filter character by ``split``."""
    try:
        if isinstance(filters, str):
            return _cached_table(filters, split)
        return str.maketrans({c: split for c in filters})
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "`filters` must be a string (or an iterable of single characters). "
            f"Received: filters={_v._show(filters)} ({exc})"
        ) from None


def _word_sequence(text: str, filters: Any, lower: Any, split: str | None) -> list[str]:
    if lower:
        text = text.lower()  # Unicode-aware, before filtering (as Keras)
    text = text.translate(_translate_table(filters, split))
    return [word for word in text.split(split) if word]


def text_to_word_sequence(
    text: str | None = None,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
    *,
    input_text: str | None = None,
) -> list[str]:
    """Split a text into words exactly as ``tf_keras.preprocessing.text.text_to_word_sequence``.

    Lower-case (Python ``str.lower``, Unicode-aware), replace every character of ``filters`` by
    ``split``, split on ``split`` and drop empty pieces. ``'``, ``\\r`` and non-breaking spaces are
    not default filters, so they stay inside words.

    Args:
        text: the text (Keras calls it ``input_text``; that keyword works too).
        filters: characters to remove (each becomes a separator).
        lower: whether to lower-case first.
        split: the separator; ``None`` deletes the filter characters and splits on whitespace runs.

    Returns:
        The list of words.
    """
    if input_text is not None:
        if text is not None:
            raise TypeError("Pass the text once: either `text` or `input_text`, not both.")
        text = input_text
    if not isinstance(text, str):
        raise TypeError(
            f"`text` must be a string. Received: text={_v._show(text)} of type {type(text).__name__}"
        )
    return _word_sequence(text, filters, lower, _check_split(split))


# ------------------------------------------------------------------------------------------------
# Vocabulary  (= tf_keras Tokenizer)
# ------------------------------------------------------------------------------------------------
_JSON_COUNT_KEYS = ("word_counts", "word_docs", "index_docs", "index_word", "word_index")
#: What fitting changes: a failed call restores exactly these.
_FITTED_STATE = (
    "document_count", "word_counts", "word_docs", "index_docs", "word_index", "index_word",
)
_JSON_ARG_KEYS = (
    "num_words", "filters", "lower", "split", "char_level", "oov_token", "document_count",
)


def _text_type_error(arg: str, position: int, text: Any, what: str) -> TypeError:
    return TypeError(
        f"`{arg}` must contain {what}. Received: {arg}[{position}]={_v._show(text)} "
        f"of type {type(text).__name__}"
    )


class Vocabulary:
    """A word index fitted on texts; behaves as ``tf_keras.preprocessing.text.Tokenizer``.

    Index 0 is never assigned. Words are indexed by count, most frequent first; ties keep the order
    in which the words were first seen. Fitting is cumulative.

    Args:
        num_words: keep only ids ``< num_words`` when converting (``word_index`` keeps every word);
            a positive integer or None.
        filters: characters removed from texts (each becomes a separator).
        lower: lower-case texts (Unicode-aware ``str.lower``).
        split: word separator (may be several characters); None splits on whitespace runs.
        char_level: every character is a token; ``filters`` are then not applied.
        oov_token: if given, takes index 1 and replaces out-of-vocabulary words.
        analyzer: optional callable ``text -> tokens`` replacing the default word split.

    Attributes (as in Keras): ``word_counts`` (OrderedDict word -> count), ``word_docs``
    (word -> number of texts containing it), ``index_docs`` (id -> number of texts),
    ``word_index``, ``index_word``, ``document_count``.

    A ``str`` given where a list of texts is expected is iterated like Keras does: every character
    is one text. Items that are lists are pre-tokenised texts (lower-cased, not filtered).
    """

    def __init__(
        self,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str | None = " ",
        char_level: bool = False,
        oov_token: Hashable | None = None,
        analyzer: Callable[[str], Iterable[Hashable]] | None = None,
        **kwargs: Any,
    ) -> None:
        if "nb_words" in kwargs:  # Keras 1 spelling, still accepted by Tokenizer
            warnings.warn("The `nb_words` argument has been renamed `num_words`.", stacklevel=2)
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {kwargs}")
        self.num_words = _v.positive_int("num_words", num_words, allow_none=True)
        self.split = _check_split(split)
        _translate_table(filters, self.split)  # validates filters
        self.filters = filters
        self.lower = lower
        self.char_level = char_level
        if not isinstance(oov_token, Hashable):
            raise TypeError(
                f"`oov_token` must be a string (or None). Received: oov_token={_v._show(oov_token)}"
            )
        self.oov_token = oov_token
        if analyzer is not None and not callable(analyzer):
            raise TypeError(
                f"`analyzer` must be a callable or None. Received: analyzer={_v._show(analyzer)}"
            )
        self.analyzer = analyzer
        self.document_count = _v.non_negative_int("document_count", document_count)
        self.word_counts: collections.OrderedDict = collections.OrderedDict()
        self.word_docs: collections.defaultdict = collections.defaultdict(int)
        self.index_docs: collections.defaultdict = collections.defaultdict(int)
        self.word_index: dict = {}
        self.index_word: dict = {}

    def __repr__(self) -> str:
        return (
            f"Vocabulary(num_words={self.num_words!r}, oov_token={self.oov_token!r}, "
            f"words={len(self.word_index)}, documents={self.document_count})"
        )

    # -- tokens --------------------------------------------------------------------------------
    def _tokens(self, text: Any, position: int, arg: str) -> Iterable[Hashable]:
        """The tokens of one text, exactly as Tokenizer derives them."""
        if isinstance(text, list):  # pre-tokenised: lower-cased, never filtered
            if not self.lower:
                return text
            lowered = []
            for token in text:
                try:
                    lowered.append(token.lower())
                except AttributeError:
                    raise _text_type_error(
                        arg, position, text, "strings or lists of string tokens"
                    ) from None
            return lowered
        if self.char_level:
            if not isinstance(text, str):
                raise _text_type_error(arg, position, text, "strings or lists of string tokens")
            return list(text.lower() if self.lower else text)
        if self.analyzer is not None:
            return self.analyzer(text)
        if not isinstance(text, str):
            raise _text_type_error(arg, position, text, "strings or lists of string tokens")
        return _word_sequence(text, self.filters, self.lower, self.split)

    def _oov_index(self) -> int | None:
        return self.word_index.get(self.oov_token) if self.oov_token is not None else None

    def _unfit_oov_error(self) -> ValueError:
        return ValueError(
            f"`oov_token`={self.oov_token!r} is not in the vocabulary: fit the Vocabulary "
            "(fit_on_texts) before converting, so that the oov token has an index."
        )

    # -- fitting -------------------------------------------------------------------------------
    def fit_on_texts(self, texts: Iterable[str | list]) -> None:
        """Add texts to the counts and rebuild the index (cumulative, like Keras).

        A call that raises (a bad text, an analyzer that fails) leaves the Vocabulary unchanged.

        Args:
            texts: an iterable of strings, or of lists of tokens (pre-tokenised texts).
        """
        seqs = [self._tokens(text, i, "texts") for i, text in enumerate(texts)]
        # Count into copies and commit at the end, so that a failure half-way changes nothing.
        word_counts = collections.OrderedDict(self.word_counts)
        word_docs = collections.defaultdict(int, self.word_docs)
        for position, seq in enumerate(seqs):
            try:
                for word in seq:
                    word_counts[word] = word_counts.get(word, 0) + 1
                for word in set(seq):  # as Keras: a generator analyzer is spent by now
                    word_docs[word] += 1
            except TypeError as exc:
                if "unhashable" not in str(exc):
                    raise
                raise TypeError(
                    f"`texts` must give hashable tokens (strings). Received: texts[{position}] "
                    f"gives an unhashable token ({exc})"
                ) from None
        index, index_word, index_docs = self._index_tables(word_counts, word_docs)
        self.document_count += len(seqs)
        self.word_counts, self.word_docs = word_counts, word_docs
        self.word_index, self.index_word, self.index_docs = index, index_word, index_docs

    def _index_tables(
        self, word_counts: dict, word_docs: dict
    ) -> tuple[dict, dict, collections.defaultdict]:
        """``word_index``, ``index_word`` and the updated ``index_docs`` for these counts."""
        # Stable sort, count descending: ties keep first-seen order.
        ranked = sorted(word_counts.items(), key=lambda item: item[1], reverse=True)
        words = ([] if self.oov_token is None else [self.oov_token]) + [w for w, _ in ranked]
        index: dict = {}
        for i, word in enumerate(words, start=1):
            index[word] = i  # an oov token also found in the texts: the later index wins
        index_docs = collections.defaultdict(int, self.index_docs)
        for word, n_docs in word_docs.items():
            index_docs[index[word]] = n_docs
        return index, {i: w for w, i in index.items()}, index_docs

    def fit_on_sequences(self, sequences: Iterable[Iterable[int]]) -> None:
        """Count, per id, the number of sequences containing it (for ``tfidf``).

        Ids must be integers (Python or NumPy; Keras also takes other values, then writes JSON that
        ``tokenizer_from_json`` cannot read). A call that raises changes nothing.
        """
        try:
            seqs = list(sequences)
        except TypeError:
            raise TypeError(
                "`sequences` must be a list of sequences of integer ids. Received: "
                f"{_v._show(sequences)} of type {type(sequences).__name__}"
            ) from None
        keyed = []
        for position, seq in enumerate(seqs):
            try:
                ids = list(seq)
            except TypeError:
                ids = None
            if ids is None or isinstance(seq, (str, bytes)):
                raise TypeError(
                    "`sequences` must be a list of sequences of integer ids. Received: "
                    f"sequences[{position}]={_v._show(seq)}"
                )
            for i in ids:
                if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                    raise TypeError(
                        "`sequences` must hold integer ids. Received: "
                        f"{_v._show(i)} of type {type(i).__name__} in sequences[{position}]"
                    )
            keyed.append({int(i) for i in ids})
        self.document_count += len(seqs)
        for ids in keyed:
            for i in ids:
                self.index_docs[i] += 1

    # -- conversion ----------------------------------------------------------------------------
    def texts_to_sequences(self, texts: Iterable[str | list]) -> list[list[int]]:
        """Each text as a list of ids (unknown words dropped, or the oov index if set)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts: Iterable[str | list]) -> Iterator[list[int]]:
        """Yield :meth:`texts_to_sequences` one text at a time."""
        num_words = self.num_words
        oov_index = self._oov_index()
        for position, text in enumerate(texts):
            ids = []
            for word in self._tokens(text, position, "texts"):
                i = self.word_index.get(word)
                if i is None:
                    if self.oov_token is not None:
                        if oov_index is None:
                            raise self._unfit_oov_error()
                        ids.append(oov_index)
                elif num_words is not None and i >= num_words:
                    if oov_index is not None:
                        ids.append(oov_index)
                else:
                    ids.append(i)
            yield ids

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Each id sequence as a space-joined text (unknown ids dropped, or the oov token)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        """Yield :meth:`sequences_to_texts` one sequence at a time."""
        num_words = self.num_words
        oov_index = self._oov_index()
        for seq in sequences:
            words = []
            for i in seq:
                word = self.index_word.get(i)
                if word is not None and (num_words is None or i < num_words):
                    words.append(word)
                elif word is not None or self.oov_token is not None:
                    if oov_index is not None:
                        words.append(self.index_word[oov_index])
                    elif word is None:
                        raise self._unfit_oov_error()
            yield " ".join(words)

    def texts_to_matrix(self, texts: Iterable[str | list], mode: str = "binary") -> np.ndarray:
        """``(len(texts), width)`` float64 matrix; see :meth:`sequences_to_matrix`."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: Iterable[Iterable[int]], mode: str = "binary") -> np.ndarray:
        """One row per sequence, one column per id: ``(n_sequences, width)`` float64.

        ``width`` is ``num_words``, or ``len(word_index) + 1``. Ids ``>= width`` are ignored.
        Modes: ``binary`` (1 where present), ``count``, ``freq`` (count / len(sequence)) and
        ``tfidf`` (``(1 + log(count)) * log(1 + document_count / (1 + index_docs[id]))``).
        """
        _v.one_of("mode", mode, _MATRIX_MODES)
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError(
                "Specify a dimension (`num_words` argument), or fit on some text data first."
            )
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Vocabulary on some data before using tfidf mode.")
        seqs = list(sequences)
        x = np.zeros((len(seqs), width))  # (n_sequences, width) float64
        for row, seq in enumerate(seqs):
            if len(seq) == 0:
                continue
            counts: dict = {}
            for j in seq:
                if j >= width:
                    continue
                counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                if mode == "count":
                    x[row][j] = c
                elif mode == "freq":
                    x[row][j] = c / len(seq)
                elif mode == "binary":
                    x[row][j] = 1
                else:  # tfidf, Wikipedia weighting scheme 2, as Keras
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[row][j] = tf * idf
        return x

    # -- extras --------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Rows an Embedding needs for every id this vocabulary emits: largest emitted id + 1.

        Ids ``>= num_words`` are never emitted; the oov index is. An empty vocabulary gives 1.
        """
        emitted = [
            i for i in self.word_index.values()
            if self.num_words is None or i < self.num_words
        ]
        oov_index = self._oov_index()
        if oov_index is not None:
            emitted.append(oov_index)
        return max(emitted, default=0) + 1

    def tokenize(self, corpus: str | Iterable[str], seq_length: int, step: int = 1) -> np.ndarray:
        """Fit on ``corpus``, then cut its id stream into windows.

        The stream is the concatenation of ``texts_to_sequences`` of every text, in reading order.

        Args:
            corpus: one string (one text), or an iterable of texts.
            seq_length: window length, a positive integer.
            step: distance between window starts, a positive integer.

        Returns:
            int64 array ``(n_windows, seq_length)`` with
            ``n_windows = (len(stream) - seq_length) // step + 1``.
        """
        seq_length = _v.positive_int("seq_length", seq_length)
        step = _v.positive_int("step", step)
        if isinstance(corpus, str):
            texts = [corpus]
        else:
            try:
                texts = list(corpus)
            except TypeError:
                raise TypeError(
                    "`corpus` must be a string or an iterable of strings. Received: "
                    f"{_v._show(corpus)} of type {type(corpus).__name__}"
                ) from None
        for position, text in enumerate(texts):
            if not isinstance(text, (str, list)):
                raise _text_type_error("corpus", position, text, "strings")
        # Fit a copy; the Vocabulary itself changes only once every check has passed.
        trial = self._copy()
        trial.fit_on_texts(texts)
        stream = np.fromiter(
            (i for seq in trial.texts_to_sequences(texts) for i in seq), dtype=np.int64
        )  # (n_ids,)
        if seq_length > stream.size:
            raise ValueError(
                f"`seq_length` must be at most the number of token ids in the corpus "
                f"({stream.size}), so that at least one window fits. Received: "
                f"seq_length={seq_length} for a stream of {stream.size} ids"
            )
        windows = np.lib.stride_tricks.sliding_window_view(stream, seq_length)
        out = np.ascontiguousarray(windows[::step])  # (n_windows, seq_length)
        for name in _FITTED_STATE:
            setattr(self, name, getattr(trial, name))
        return out

    def _copy(self) -> Vocabulary:
        """A copy with its own tables (options shared), for fitting without touching ``self``."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.word_counts = collections.OrderedDict(self.word_counts)
        clone.word_docs = collections.defaultdict(int, self.word_docs)
        clone.index_docs = collections.defaultdict(int, self.index_docs)
        clone.word_index = dict(self.word_index)
        clone.index_word = dict(self.index_word)
        return clone

    # -- serialisation -------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Tokenizer's config: the arguments, plus the five tables as JSON strings."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs: Any) -> str:
        """JSON in exactly ``Tokenizer.to_json()``'s format (``tokenizer_from_json`` reads it).

        ``kwargs`` go to ``json.dumps``.
        """
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **kwargs)

    @classmethod
    def from_json(cls, json_string: str | bytes) -> Vocabulary:
        """Read ``Tokenizer.to_json()`` output (or :meth:`to_json`'s).

        Everything a tf_keras ``Tokenizer`` writes loads (fitted or not, on texts or on sequences,
        any options). The tables are checked as Keras writes them: ``word_index`` ids are distinct
        integers from 1 to 2**31 - 1 (0 is padding), ``index_word`` is exactly its inverse, counts
        are non-negative integers, ``word_docs`` only counts words of ``word_counts``, and a fitted
        vocabulary holds its ``oov_token``.

        Raises:
            TypeError: ``json_string`` is not a str / bytes.
            ValueError: the text is not tokenizer JSON (invalid or too deeply nested JSON,
                ``class_name`` other than ``"Tokenizer"``, missing or unknown keys, a field of the
                wrong type, tables that are not JSON objects, a bad id or count); the message
                names the field, the word and the value.
        """
        if not isinstance(json_string, (str, bytes, bytearray)):
            raise TypeError(
                "`json_string` must be a string holding Tokenizer JSON. Received: "
                f"{_v._show(json_string)} of type {type(json_string).__name__}"
            )
        try:
            return cls._from_json(json_string)
        except _BadTokenizerJSON as exc:
            raise ValueError(
                f"`json_string` is not tokenizer JSON (Tokenizer.to_json() output): {exc}. "
                f"Received: {_v._show(json_string)}"
            ) from None

    @classmethod
    def _from_json(cls, json_string: str | bytes) -> Vocabulary:
        bad = _BadTokenizerJSON
        payload = _json_loads(json_string, "the text")
        if not isinstance(payload, dict):
            raise bad(f"expected a JSON object, got {_json_type(payload)}")
        if payload.get("class_name") != "Tokenizer":
            raise bad(f"expected class_name 'Tokenizer', got {_v._show(payload.get('class_name'))}")
        config = payload.get("config")
        if not isinstance(config, dict):
            raise bad(f"expected a 'config' object, got {_json_type(config)}")
        missing = [key for key in _JSON_COUNT_KEYS if key not in config]
        if missing:
            raise bad(f"missing config keys {missing}")
        unknown = sorted(set(config) - set(_JSON_COUNT_KEYS) - set(_JSON_ARG_KEYS))
        if unknown:
            raise bad(f"unknown config keys {[_v._show(k) for k in unknown]}")

        args = {key: config[key] for key in _JSON_ARG_KEYS if key in config}
        _check_json_args(args)
        if args.get("num_words") == 0:  # Keras treats num_words=0 as "no limit"
            args["num_words"] = None
        try:
            vocab = cls(**args)
        except (TypeError, ValueError) as exc:
            raise bad(f"bad config argument: {exc}") from None

        tables = {}
        for key in _JSON_COUNT_KEYS:
            if not isinstance(config[key], str):
                raise bad(
                    f"config[{key!r}] must be a JSON object encoded as a string, "
                    f"got {_json_type(config[key])}"
                )
            table = _json_loads(config[key], f"config[{key!r}]", collections.OrderedDict)
            if not isinstance(table, dict):
                raise bad(
                    f"config[{key!r}] must be a JSON object encoded as a string, "
                    f"got {_json_type(table)}"
                )
            tables[key] = table
        for key in ("word_counts", "word_docs"):
            for word, count in tables[key].items():
                _check_count(key, word, count)
        index_docs = {}
        for key, count in tables["index_docs"].items():
            index_docs[_json_int_key("index_docs", key)] = _check_count("index_docs", key, count)
        extra_docs = [word for word in tables["word_docs"] if word not in tables["word_counts"]]
        if extra_docs:
            raise bad(
                f"config['word_docs'] counts documents for {_v._show(extra_docs[0])}, which is not "
                "in config['word_counts'] (Keras counts documents only for counted words)"
            )
        word_index = _check_word_index(tables["word_index"])
        index_word = _check_index_word(tables["index_word"], word_index)
        oov_token = args.get("oov_token")
        if word_index and oov_token is not None and _json_key(oov_token) not in word_index:
            raise bad(
                f"config['oov_token']={_v._show(oov_token)} is not in config['word_index'] "
                "(a fitted Tokenizer always indexes its oov token)"
            )

        vocab.word_counts = collections.OrderedDict(tables["word_counts"])
        vocab.word_docs = collections.defaultdict(int, tables["word_docs"])
        vocab.index_docs = collections.defaultdict(int, index_docs)
        vocab.word_index = word_index
        vocab.index_word = index_word
        return vocab


# -- tokenizer JSON checks ------------------------------------------------------------------------
#: Largest word id a tokenizer JSON may give (Keras / TensorFlow ids are int32).
_MAX_JSON_ID = 2**31 - 1
#: Largest count (word_counts, word_docs, index_docs, document_count) a tokenizer JSON may hold.
_MAX_JSON_COUNT = 2**63 - 1
_INT_KEY = re.compile(r"-?[1-9][0-9]*|0")


class _BadTokenizerJSON(Exception):
    """Internal: why a text is not tokenizer JSON (turned into ValueError by from_json)."""


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    kind = names.get(type(value), type(value).__name__)
    return kind if value is None or isinstance(value, (dict, list)) else f"{kind} {_v._show(value)}"


def _json_loads(text: str | bytes, what: str, object_pairs_hook: Any = None) -> Any:
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except RecursionError:
        raise _BadTokenizerJSON(f"{what} is nested too deeply to be tokenizer JSON") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise _BadTokenizerJSON(f"{what} is not valid JSON ({exc})") from None


def _is_json_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _where(field: str, key: Any = None) -> str:
    return f"config[{field!r}]" if key is None else f"config[{field!r}][{_v._show(key)}]"


def _check_count(field: str, key: Any, value: Any) -> int:
    """``value`` is a count; ``field`` and ``key`` (None: the field itself) name it in the error."""
    if type(value) is not int or not 0 <= value <= _MAX_JSON_COUNT:
        raise _BadTokenizerJSON(
            f"{_where(field, key)} must be a count (an integer from 0 to 2**63 - 1), "
            f"got {_json_type(value)}"
        )
    return value


def _json_int_key(field: str, key: str) -> int:
    if not _INT_KEY.fullmatch(key):
        raise _BadTokenizerJSON(
            f"{_where(field, key)}: the key must be an integer id written in decimal"
        )
    return int(key)


def _json_key(word: Any) -> str:
    """The object key JSON writes for ``word`` (Keras tokens that are not strings become keys)."""
    if isinstance(word, str):
        return word
    return next(iter(json.loads(json.dumps({word: 0}))))


def _check_json_args(args: dict) -> None:
    """Types of the Tokenizer arguments as Tokenizer.to_json() writes them."""
    bad = _BadTokenizerJSON
    num_words = args.get("num_words")
    if num_words is not None and (not _is_json_int(num_words) or not 0 <= num_words <= _MAX_JSON_ID):
        raise bad(
            "config['num_words'] must be null or an integer from 0 to 2**31 - 1, "
            f"got {_json_type(num_words)}"
        )
    if "document_count" in args:
        _check_count("document_count", None, args["document_count"])
    if "filters" in args and not isinstance(args["filters"], (str, list)):
        raise bad(
            "config['filters'] must be a string (or a list of characters), "
            f"got {_json_type(args['filters'])}"
        )
    for key in ("lower", "char_level"):
        if key in args and not isinstance(args[key], bool):
            raise bad(f"config[{key!r}] must be true or false, got {_json_type(args[key])}")
    if "split" in args and not (args["split"] is None or isinstance(args["split"], str)):
        raise bad(f"config['split'] must be a string or null, got {_json_type(args['split'])}")
    oov = args.get("oov_token")
    if isinstance(oov, (dict, list)):
        raise bad(f"config['oov_token'] must be a string or null, got {_json_type(oov)}")


def _check_word_index(table: dict) -> dict:
    """word -> id, ids distinct integers in [1, 2**31 - 1]."""
    owner: dict = {}
    for word, i in table.items():
        if type(i) is not int or not 1 <= i <= _MAX_JSON_ID:
            raise _BadTokenizerJSON(
                f"config['word_index'][{_v._show(word)}] must be an integer id from 1 to "
                f"2**31 - 1 (0 is reserved for padding), got {_json_type(i)}"
            )
        if i in owner:
            raise _BadTokenizerJSON(
                f"config['word_index'] gives the id {i} to both {_v._show(owner[i])} and "
                f"{_v._show(word)}"
            )
        owner[i] = word
    return dict(table)


def _check_index_word(table: dict, word_index: dict) -> dict:
    """id -> word, exactly the inverse of ``word_index`` (as Keras writes both)."""
    index_word: dict = {}
    for key, word in table.items():
        i = _json_int_key("index_word", key)
        if isinstance(word, (dict, list)):
            raise _BadTokenizerJSON(
                f"{_where('index_word', key)} must be a word (a string), got {_json_type(word)}"
            )
        key_form = word if type(word) is str else _json_key(word)
        found = word_index.get(key_form)
        if found != i:
            raise _BadTokenizerJSON(
                f"{_where('index_word', key)}={_v._show(word)} disagrees with "
                "config['word_index'], which gives "
                + (f"{_v._show(key_form)} the id {found}" if found is not None else "it no id")
                + " (index_word must be the inverse of word_index)"
            )
        index_word[i] = word
    if len(index_word) != len(word_index):
        missing = [w for w, i in word_index.items() if i not in index_word]
        raise _BadTokenizerJSON(
            f"config['index_word'] lacks the id {word_index[missing[0]]} of "
            f"{_v._show(missing[0])} (index_word must be the inverse of word_index)"
        )
    return index_word


# ------------------------------------------------------------------------------------------------
# pad_sequences  (= keras.utils.pad_sequences)
# ------------------------------------------------------------------------------------------------
def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (and truncate) sequences to one length, exactly as ``keras.utils.pad_sequences``.

    Args:
        sequences: a list (or array) of sequences; each sequence is a list/array of ids or of
            samples of any fixed shape.
        maxlen: output length; None means the longest sequence.
        dtype: output dtype; values are cast with NumPy (floats truncate toward zero for ints).
        padding: ``"pre"`` or ``"post"``: where the padding goes.
        truncating: ``"pre"`` (keep the end) or ``"post"`` (keep the start).
        value: the padding value (cast to ``dtype``; a string needs a string or object dtype).

    Returns:
        Array ``(len(sequences), maxlen) + sample_shape`` of ``dtype``.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            "`sequences` must be a list (or array) of sequences. "
            f"Received: {_v._show(sequences)} of type {type(sequences).__name__}"
        )
    _v.one_of("padding", padding, ("pre", "post"))
    _v.one_of("truncating", truncating, ("pre", "post"))
    if maxlen is not None:
        if not isinstance(maxlen, numbers.Integral):
            raise TypeError(
                f"`maxlen` must be a non-negative integer or None. Received: maxlen={_v._show(maxlen)}"
            )
        maxlen = _v.non_negative_int("maxlen", maxlen)
    try:
        is_str_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
        is_object = np.dtype(dtype) == np.dtype(object)
    except TypeError:
        raise TypeError(
            f"`dtype` must be a NumPy dtype (e.g. 'int32', 'float32', object). Received: dtype={dtype!r}"
        ) from None
    if isinstance(value, str) and not (is_object or is_str_dtype):
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}. "
            "Use dtype=object (or a string dtype) for string padding values."
        )

    lengths = []
    sample_shape: tuple = ()
    found_sample = False
    for position, seq in enumerate(sequences):
        try:
            n = len(seq)
        except TypeError:
            raise ValueError(
                "`sequences` must be a list of iterables. "
                f"Found non-iterable at position {position}: {_v._show(seq)}"
            ) from None
        lengths.append(n)
        if n and not found_sample:
            sample_shape = np.asarray(seq).shape[1:]
            found_sample = True
    if maxlen is None:
        if not lengths:
            raise ValueError(
                "`maxlen` cannot be inferred from an empty `sequences`: pass `maxlen`. "
                "Received: sequences=[] and maxlen=None"
            )
        maxlen = int(max(lengths))

    try:
        out = np.full((len(lengths), maxlen) + sample_shape, value, dtype=dtype)
    except OverflowError as exc:
        raise ValueError(
            f"`value` does not fit `dtype`={dtype!r}. Received: value={value!r} ({exc})"
        ) from None
    for idx, seq in enumerate(sequences):
        if not len(seq):
            continue
        if maxlen == 0 and truncating == "pre":
            # Keras: seq[-0:] is the whole sequence, which cannot fit in 0 columns.
            raise ValueError(
                "`maxlen=0` with truncating='pre' cannot hold a non-empty sequence "
                f"(keras.utils.pad_sequences fails to broadcast too). Received: maxlen=0, "
                f"sequence {idx} of length {len(seq)}"
            )
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        try:
            kept = np.asarray(kept, dtype=dtype)
        except OverflowError as exc:
            raise ValueError(
                f"Sequence {idx} of `sequences` holds values that do not fit `dtype`={dtype!r} ({exc})"
            ) from None
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {idx} "
                f"is different from expected shape {sample_shape}"
            )
        if padding == "post":
            out[idx, : len(kept)] = kept
        else:
            out[idx, -len(kept):] = kept
    return out


# ------------------------------------------------------------------------------------------------
# TextVectorization  (= keras.layers.TextVectorization, output_mode="int")
# ------------------------------------------------------------------------------------------------
MASK_TOKEN = ""
OOV_TOKEN = "[UNK]"
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
# Keras's regex  [!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']  is exactly string.punctuation.
_STRIP_PUNCTUATION = {ord(c): None for c in string.punctuation}
# tf.strings.lower without an encoding only lower-cases ASCII.
_ASCII_LOWER = {ord(c): ord(c.lower()) for c in string.ascii_uppercase}
# tf.strings.split: runs of ASCII whitespace (space, \t, \n, \v, \f, \r); NBSP etc. do not split.
_WHITESPACE_TOKEN = re.compile(r"[^ \t\n\x0b\x0c\r]+")
_DTYPE_POLICY = {
    "module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
    "registered_name": None,
}


def _as_str(item: Any) -> str | None:
    if isinstance(item, str):
        return str(item)
    if isinstance(item, (bytes, np.bytes_)):
        try:
            return bytes(item).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"byte strings must be valid UTF-8. Received: {item!r} ({exc})") from None
    return None


def _string_array(value: Any, name: str) -> np.ndarray:
    """``value`` as an object ndarray of Python ``str`` (any rank, 0-d for one string)."""
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        arr = np.empty((), dtype=object)
        arr[()] = value
    elif isinstance(value, np.ndarray):
        arr = value.astype(object) if value.dtype.kind in "USO" else None
        if arr is None:
            raise TypeError(
                f"`{name}` must hold strings. Received: {_v._show(value)}"
            )
    else:
        try:
            arr = np.array(value, dtype=object)
        except ValueError:
            raise ValueError(
                f"`{name}` must be a string, a list of strings or a rectangular array of strings "
                f"(e.g. shape (batch, 1)). Received a non-rectangular nested sequence: {_v._show(value)}"
            ) from None
    out = np.empty(arr.shape, dtype=object)
    for idx, item in np.ndenumerate(arr):
        text = _as_str(item)
        if text is None:
            if isinstance(item, (list, tuple)):
                raise ValueError(
                    f"`{name}` must be rectangular (every row the same length). "
                    f"Received: {_v._show(value)}"
                )
            raise TypeError(
                f"`{name}` must contain only strings. Received: element {item!r} of type "
                f"{type(item).__name__} at index {idx}"
            )
        out[idx] = text
    return out


def _ngrams(tokens: list[str], widths: tuple[int, ...]) -> list[str]:
    """tf.strings.ngrams(separator=" "): all n-grams of each width, widths in the given order."""
    out = []
    for width in widths:
        out.extend(" ".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1))
    return out


def _n_ngrams(length: int, widths: tuple[int, ...]) -> int:
    return sum(max(0, length - width + 1) for width in widths)


def _read_vocabulary_file(path: str) -> list[str]:
    """One token per line, as TF's TextFileInitializer: a trailing ``\\r`` is dropped."""
    if not os.path.exists(path):
        raise ValueError(f"Vocabulary file {path} does not exist.")
    with open(path, encoding="utf-8", newline="") as handle:
        content = handle.read()
    if content == "":
        raise ValueError(f"Vocabulary file {path} is empty.")
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    tokens = [line[:-1] if line.endswith("\r") else line for line in lines]
    for position, token in enumerate(tokens):
        if token == "":
            raise ValueError(
                f"Invalid content in vocabulary file {path}: empty line found at position {position}."
            )
    repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
    if repeated:
        raise ValueError(f"Vocabulary file {path} has repeated terms: {repeated}")
    return tokens


class TextVectorization:
    """Map strings to padded int64 id sequences, as ``keras.layers.TextVectorization(output_mode="int")``.

    Pipeline per string: standardize -> split -> (ngrams) -> look up ids -> pad.
    Ids: 0 is padding (the token ``''``), 1 is ``'[UNK]'`` (out of vocabulary), then the
    vocabulary.

    Args:
        max_tokens: largest vocabulary size, counting ``''`` and ``'[UNK]'``; None or an int > 1.
        standardize: None, ``"lower_and_strip_punctuation"``, ``"lower"`` (ASCII letters only,
            as TF) or ``"strip_punctuation"`` (deletes every ASCII punctuation character, ``'``
            included; nothing is replaced by a space).
        split: None, ``"whitespace"`` (runs of ASCII whitespace) or ``"character"`` (code points).
        ngrams: None, an int ``n`` (widths 1..n) or a tuple of positive widths.
        output_mode: only ``"int"`` (other Keras modes raise NotImplementedError).
        output_sequence_length: pad/truncate the last axis at the end to this length; None pads to
            the longest row of the batch.
        pad_to_max_tokens: accepted for config compatibility; unused in ``"int"`` mode (as Keras).
        vocabulary: a list/tuple/1-D array of tokens (a leading ``['', '[UNK]']`` is dropped), or
            the path of a file with one token per line. A layer built with a vocabulary cannot
            ``adapt``. As in Keras, a list or tuple loses trailing NULs of its tokens (it becomes a
            NumPy string array); an object array keeps them.
        ragged: return a list of 1-D int64 arrays (rows not padded) instead of a padded array.
        encoding: kept for the config; strings are Python ``str`` (bytes are decoded as UTF-8).

    Callable ``standardize``/``split`` and non-"int" output modes raise NotImplementedError.
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        standardize: str | None = "lower_and_strip_punctuation",
        split: str | None = "whitespace",
        ngrams: int | tuple[int, ...] | None = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Any = None,
        idf_weights: Any = None,
        sparse: bool = False,
        ragged: bool = False,
        encoding: str = "utf-8",
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._standardize = self._check_option("standardize", standardize, _STANDARDIZE)
        self._split = self._check_option("split", split, _SPLIT)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"`output_mode` must be one of {list(_OUTPUT_MODES)}. Received: output_mode={output_mode!r}"
            )
        if output_mode != "int":
            raise NotImplementedError(
                f"numpy_rnn.TextVectorization supports only output_mode='int'. "
                f"Received: output_mode={output_mode!r}"
            )
        self._output_mode = output_mode
        if not (
            ngrams is None
            or isinstance(ngrams, int)
            or (isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))
        ):
            raise ValueError(
                f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams!r}"
            )
        if isinstance(ngrams, tuple) and any(n <= 0 for n in ngrams):
            raise ValueError(
                f"Every width in `ngrams` must be greater than 0. Received: ngrams={ngrams!r}"
            )
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        if output_sequence_length is not None and (
            not isinstance(output_sequence_length, int) or output_sequence_length < 0
        ):
            raise ValueError(
                "`output_sequence_length` must be either None or a non-negative integer when "
                f"`output_mode` is 'int'. Received: output_sequence_length={output_sequence_length!r}"
            )
        self._output_sequence_length = output_sequence_length
        if max_tokens is not None and (
            not isinstance(max_tokens, numbers.Integral) or max_tokens <= 1
        ):
            raise ValueError(
                f"If set, `max_tokens` must be an integer greater than 1. Received: max_tokens={max_tokens!r}"
            )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}"
            )
        if sparse:
            raise ValueError(
                "`sparse` may only be true if `output_mode` is 'one_hot', 'multi_hot', 'count' "
                f"or 'tf_idf'. Received: sparse={sparse!r} and output_mode='int'"
            )
        if idf_weights is not None:
            raise ValueError(
                "`idf_weights` should only be set if `output_mode` is 'tf_idf'. "
                f"Received: idf_weights={_v._show(idf_weights)} and output_mode='int'"
            )
        if not isinstance(encoding, str):
            raise ValueError(f"`encoding` must be a string. Received: encoding={encoding!r}")
        self._max_tokens = None if max_tokens is None else int(max_tokens)
        self._pad_to_max_tokens = pad_to_max_tokens
        self._ragged = _v.boolean("ragged", ragged)
        self._encoding = encoding
        self.name = name if name is not None else "text_vectorization"
        self.trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        self._dtype_name = dtype["config"]["name"] if isinstance(dtype, dict) else (dtype or "float32")
        self._has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)  # from get_config(); recomputed from the vocabulary
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to TextVectorization: {kwargs}")
        self._input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self._tokens: list[str] | None = None  # None: no vocabulary yet
        self._index: dict[str, int] = {}
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    @staticmethod
    def _check_option(name: str, value: Any, allowed: tuple[str, ...]) -> str | None:
        if value is None or (isinstance(value, str) and value in allowed):
            return value
        if callable(value):
            raise NotImplementedError(
                f"numpy_rnn.TextVectorization does not support a callable `{name}` (Keras passes "
                f"it TensorFlow tensors). Use one of {list(allowed)} or None. Received: {name}={value!r}"
            )
        raise ValueError(
            f"Unknown value for `{name}` argument of TextVectorization. Allowed values are: "
            f"{allowed} or None. Received: {name}={value!r}"
        )

    def __repr__(self) -> str:
        return (
            f"TextVectorization(max_tokens={self._max_tokens!r}, standardize={self._standardize!r}, "
            f"split={self._split!r}, output_sequence_length={self._output_sequence_length!r}, "
            f"vocabulary_size={self.vocabulary_size()})"
        )

    # -- read-only options ---------------------------------------------------------------------
    max_tokens = property(lambda self: self._max_tokens)
    standardize = property(lambda self: self._standardize)
    split = property(lambda self: self._split)
    ngrams = property(lambda self: self._ngrams_arg)
    output_mode = property(lambda self: self._output_mode)
    output_sequence_length = property(lambda self: self._output_sequence_length)
    ragged = property(lambda self: self._ragged)

    # -- preprocessing -------------------------------------------------------------------------
    def _standardize_text(self, text: str) -> str:
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = text.translate(_STRIP_PUNCTUATION)
        return text

    def _split_text(self, text: str) -> list[str]:
        if self._split == "whitespace":
            return _WHITESPACE_TOKEN.findall(text)
        return list(text)  # "character": one token per code point

    def _rows(self, arr: np.ndarray) -> tuple[tuple[int, ...] | None, list[list[str]], int]:
        """Standardize, split and n-gram a string array.

        Returns ``(prefix_shape, rows, dense_length)``: the output is ``prefix_shape + (L,)``,
        ``rows`` holds the tokens of each output row (C order), ``dense_length`` is the row length
        when the tokens are dense (not split into ragged rows), else -1. ``prefix_shape`` None means
        a scalar output (split=None on a single string).
        """
        std = np.empty(arr.shape, dtype=object)
        for idx, text in np.ndenumerate(arr):
            std[idx] = self._standardize_text(text)
        if self._split is not None:
            if std.ndim > 1:
                if std.shape[-1] != 1:
                    raise ValueError(
                        "When using `TextVectorization` to tokenize strings, the input rank must be "
                        "1 or the last shape dimension must be 1. Received: "
                        f"inputs.shape={std.shape} with rank={std.ndim}"
                    )
                std = std[..., 0]
            rows = [self._split_text(text) for text in std.ravel()]
            dense_length = -1 if std.ndim else len(rows[0])
            prefix: tuple[int, ...] | None = std.shape
        elif std.ndim == 0:
            if self._ngrams is not None:
                raise ValueError(
                    "`ngrams` with split=None needs inputs of rank > 0. Received: a single string"
                )
            return None, [[std[()]]], 1
        else:
            prefix = std.shape[:-1]
            rows = [list(std[idx]) for idx in np.ndindex(*prefix)]
            dense_length = std.shape[-1]
        if self._ngrams is not None:
            rows = [_ngrams(row, self._ngrams) for row in rows]
            if dense_length >= 0:
                dense_length = _n_ngrams(dense_length, self._ngrams)
        return prefix, rows, dense_length

    # -- vocabulary ----------------------------------------------------------------------------
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from ``data``, replacing the previous one.

        Tokens are ranked by count (descending), ties by descending UTF-8 byte order, then cut to
        ``max_tokens - 2``. As in Keras, data without any token leaves the vocabulary unchanged.

        Args:
            data: a string array/list/tuple (shape ``(N,)`` or ``(N, 1)``), or any other iterable
                of batches (a ``str`` is iterated character by character, like Keras).
            batch_size: accepted for Keras compatibility; unused.
            steps: with an iterable of batches, the number of batches to read.
        """
        counts: collections.Counter = collections.Counter()
        if isinstance(data, (list, tuple, np.ndarray)):
            arr = _string_array(data, "data")
            if arr.ndim == 1:
                arr = arr[:, None]
            self._count(arr, counts)
        elif hasattr(data, "__iter__"):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self._count(_string_array(batch, "data"), counts)
        else:
            raise TypeError(
                "`data` must be a list, tuple or array of strings, or an iterable of batches. "
                f"Received: {_v._show(data)} of type {type(data).__name__}"
            )
        if not counts:
            return  # Keras: nothing counted -> keep the previous vocabulary
        counts.pop(MASK_TOKEN, None)
        counts.pop(OOV_TOKEN, None)
        # Count descending, then token descending (code-point order == UTF-8 byte order).
        ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        tokens = [token for token, _ in ranked]
        if self._max_tokens:
            tokens = tokens[: self._max_tokens - 2]
        if not tokens:
            raise ValueError(
                "adapt() found no token to put in the vocabulary (only '' / '[UNK]', or "
                f"max_tokens=2 leaves no room). Received: max_tokens={self._max_tokens}"
            )
        self._set_tokens(tokens)

    def _count(self, arr: np.ndarray, counts: collections.Counter) -> None:
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via the "
                "`vocabulary` argument."
            )
        _, rows, _ = self._rows(arr)
        for row in rows:
            counts.update(row)

    def _set_tokens(self, tokens: list[str]) -> None:
        self._tokens = list(tokens)
        self._index = {token: i for i, token in enumerate(self._tokens, start=2)}

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary: a list/tuple/1-D array of tokens, or a file path.

        A leading ``['', '[UNK]']`` is dropped; repeated tokens, ``''`` elsewhere, an empty
        vocabulary, or more than ``max_tokens`` entries raise ValueError.
        """
        if idf_weights is not None:
            raise ValueError(
                "`idf_weights` should only be set if output_mode is 'tf_idf'. "
                f"Received: output_mode='int' and idf_weights={_v._show(idf_weights)}"
            )
        if isinstance(vocabulary, str):
            self._set_tokens(_read_vocabulary_file(vocabulary))
            return
        if isinstance(vocabulary, np.ndarray):
            if vocabulary.ndim != 1:
                raise ValueError(
                    f"`vocabulary` must be 1-D. Received: {_v._show(vocabulary)}"
                )
            items = list(vocabulary)
        elif isinstance(vocabulary, (list, tuple)):
            items = list(vocabulary)
        else:
            raise TypeError(
                "`vocabulary` must be a list, tuple or 1-D array of strings, or a file path. "
                f"Received: {_v._show(vocabulary)} of type {type(vocabulary).__name__}"
            )
        # Keras turns a list/tuple into a NumPy string array, which drops trailing NULs; an object
        # array keeps every token exactly.
        exact = isinstance(vocabulary, np.ndarray) and vocabulary.dtype == object
        terms = []
        for position, item in enumerate(items):
            text = _as_str(item)
            if text is None:
                raise TypeError(
                    f"`vocabulary` must contain only strings. Received: vocabulary[{position}]="
                    f"{item!r} of type {type(item).__name__}"
                )
            terms.append(text if exact else text.rstrip("\x00"))
        if not terms:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary!r}")
        tokens = terms[2:] if terms[:2] == [MASK_TOKEN, OOV_TOKEN] else terms
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(
                "The passed vocabulary has at least one repeated term. Please uniquify your "
                f"dataset. The repeated terms are: {repeated}"
            )
        if MASK_TOKEN in tokens:
            raise ValueError(
                "Found reserved mask token '' at unexpected location in `vocabulary`. Either "
                "remove it, or pass ['', '[UNK]'] only at the start. Received: vocabulary index "
                f"{terms.index(MASK_TOKEN, 2 if tokens is not terms else 0)}"
            )
        if self._max_tokens is not None and 2 + len(tokens) > self._max_tokens:
            raise ValueError(
                "Attempted to set a vocabulary larger than the maximum vocab size. Received "
                f"vocabulary size is {2 + len(tokens)}; `max_tokens` is {self._max_tokens}."
            )
        if not tokens:
            raise ValueError(
                "`vocabulary` must hold at least one token besides '' and '[UNK]'. "
                f"Received: vocabulary={vocabulary!r}"
            )
        self._set_tokens(tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """``['', '[UNK]', *tokens]`` (id order), or only the tokens.

        As in Keras (which passes them through a NumPy string array) trailing NUL characters are
        dropped from the returned tokens; lookups still use the exact tokens.
        """
        tokens = [token.rstrip("\x00") for token in self._tokens or []]
        return [MASK_TOKEN, OOV_TOKEN] + tokens if include_special_tokens else tokens

    def vocabulary_size(self) -> int:
        """Number of ids, ``''`` and ``'[UNK]'`` included."""
        return 2 + len(self._tokens or [])

    # -- call ----------------------------------------------------------------------------------
    def __call__(self, inputs: Any) -> np.ndarray | list:
        """Vectorize strings.

        Args:
            inputs: a list/tuple/array of strings ``(batch,)`` or ``(batch, 1)`` (or any rank with a
                last axis of 1), or a single string.

        Returns:
            int64 array ``(batch, L)`` (``(L,)`` for a single string), where ``L`` is
            ``output_sequence_length`` or the longest row; padding is 0 at the end. With
            ``split=None`` the shape is the input's with its last axis padded/truncated. With
            ``ragged=True`` a (nested) list of 1-D int64 arrays.
        """
        arr = _string_array(inputs, "inputs")
        prefix, rows, dense_length = self._rows(arr)
        if self._tokens is None:
            raise ValueError(
                f"TextVectorization layer '{self.name}' has no vocabulary: call adapt(data) or "
                "set_vocabulary(...) first, or pass `vocabulary=`."
            )
        index = self._index
        ids = [[0 if t == MASK_TOKEN else index.get(t, 1) for t in row] for row in rows]
        osl = self._output_sequence_length
        if prefix is None:  # split=None on one string: a scalar id
            if osl is not None:
                raise ValueError(
                    "`output_sequence_length` cannot be applied to a single string with split=None "
                    "(Keras: 'Attempting to slice scalar input'). Pass a list of strings."
                )
            return np.array(ids[0][0], dtype=np.int64)
        if self._ragged and dense_length < 0:
            rows_out = [np.array(row[:osl], dtype=np.int64) for row in ids]
            return _nest(rows_out, prefix)
        if dense_length >= 0:
            length = dense_length if osl is None else (min(osl, dense_length) if self._ragged else osl)
        else:
            length = osl if osl is not None else max((len(row) for row in ids), default=0)
        out = np.zeros((len(ids), length), dtype=np.int64)  # (rows, L)
        for r, row in enumerate(ids):
            kept = row[:length]
            out[r, : len(kept)] = kept
        return out.reshape(tuple(prefix) + (length,))

    # -- config --------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Keras's config keys, so ``keras.layers.TextVectorization.from_config`` reads it."""
        vocab = self._input_vocabulary
        if isinstance(vocab, np.ndarray):
            vocab = vocab.tolist()
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": {**_DTYPE_POLICY, "config": {"name": self._dtype_name}},
            "max_tokens": self._max_tokens,
            "standardize": self._standardize,
            "split": self._split,
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": self._pad_to_max_tokens,
            "sparse": False,
            "ragged": self._ragged,
            "vocabulary": vocab,
            "idf_weights": None,
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config: dict) -> TextVectorization:
        """Build from :meth:`get_config` output or a Keras ``TextVectorization.get_config()``."""
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)


def _nest(rows: list, shape: tuple[int, ...]) -> list:
    """Nest a flat C-order list into lists of ``shape``."""
    if len(shape) <= 1:
        return list(rows)
    step = len(rows) // shape[0] if shape[0] else 0
    return [_nest(rows[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]
