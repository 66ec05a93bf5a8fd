"""``Vocabulary``: tf_keras.preprocessing.text.Tokenizer in NumPy, plus :attr:`Vocabulary.size`
and :meth:`Vocabulary.tokenize`.  Measured Keras behaviour: spec/keras-semantics.md section 3.1;
deliberate differences: docs/text-differences.md.
"""
from __future__ import annotations

import collections
import json
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

import numpy as np

from .. import _validation as _v
from .sequence import DEFAULT_FILTERS, check_split, translate_table, word_sequence
from .tokenizer_json import BadTokenizerJSON, parse_tokenizer_json

_MATRIX_MODES = ("binary", "count", "tfidf", "freq")

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
        self.split = check_split(split)
        translate_table(filters, self.split)  # validates filters
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
        return word_sequence(text, self.filters, self.lower, self.split)

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
            parsed = parse_tokenizer_json(json_string, _JSON_COUNT_KEYS, _JSON_ARG_KEYS)
            if parsed.args.get("num_words") == 0:  # Keras treats num_words=0 as "no limit"
                parsed.args["num_words"] = None
            try:
                vocab = cls(**parsed.args)
            except (TypeError, ValueError) as exc:
                raise BadTokenizerJSON(f"bad config argument: {exc}") from None
        except BadTokenizerJSON as exc:
            raise ValueError(
                f"`json_string` is not tokenizer JSON (Tokenizer.to_json() output): {exc}. "
                f"Received: {_v._show(json_string)}"
            ) from None
        vocab.word_counts = collections.OrderedDict(parsed.word_counts)
        vocab.word_docs = collections.defaultdict(int, parsed.word_docs)
        vocab.index_docs = collections.defaultdict(int, parsed.index_docs)
        vocab.word_index = parsed.word_index
        vocab.index_word = parsed.index_word
        return vocab

