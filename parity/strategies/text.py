"""Hypothesis strategies for hostile text, corpora, id sequences and text-pipeline options.

Everything here is public (re-exported by ``parity.strategies``) so users can drive their own
property tests with the same inputs the project's suite uses. Composite strategies return named
tuples: ``TokenizerCase``, ``VectorizerCase``, ``PadCase``.

The text deliberately mixes what breaks naive tokenizers: upper/lower Unicode letters (``ÄÖÜ``,
``é``, ``ß``/``ẞ``, Greek with final sigma, ``İ`` whose lower case is two code points), every ASCII
punctuation character (apostrophes included), tabs, newlines, ``\\r``, vertical tab / form feed,
non-breaking and other Unicode spaces, NUL, an emoji and a combining accent, digits, empty strings, and words repeated from a small pool
so that counts tie. No lone surrogates (TensorFlow cannot encode them).
"""
from __future__ import annotations

import string
from typing import Any, NamedTuple

from hypothesis import strategies as st

from numpy_rnn.text import DEFAULT_FILTERS

__all__ = [
    "LETTERS", "PUNCTUATION", "SEPARATORS", "WORD_ALPHABET",
    "TokenizerCase", "VectorizerCase", "PadCase",
    "words", "word_pools", "texts", "corpora", "filters", "splits",
    "tokenizer_options", "tokenizer_cases",
    "standardize_options", "split_options", "ngrams_options", "text_vectorization_options",
    "text_vectorization_cases", "vocabulary_lists", "OUTPUT_MODES", "idf_weight_lists",
    "token_id_sequences", "pad_sequences_options", "pad_cases",
]

#: Letters: ASCII, German, French, Greek, Turkish dotted I, digits.
LETTERS = (
    string.ascii_letters + string.digits
    + "ÄÖÜäöüßẞéÉèêçÇñÑøÅå" + "ΣσςΑαΩωΔδ" + "İıЖж"
    + "\U0001F600\u0301"  # an astral code point (emoji) and a combining acute accent
)
#: Every ASCII punctuation character plus typographic apostrophes / quotes / dashes.
PUNCTUATION = string.punctuation + "’‘“”–—…«»¿¡"
#: Separators, from plain spaces to those only some splitters treat as whitespace.
SEPARATORS = (
    " ", "  ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\xa0", "\u2009", "\u3000",
    "\x1c", "\x85", "\u2028", "\x00", ",", ", ", "-", "'", "...", " - ",
)
#: Characters that may appear inside a word.
WORD_ALPHABET = LETTERS + PUNCTUATION


class TokenizerCase(NamedTuple):
    """Options for ``Tokenizer``/``Vocabulary``, corpora fitted in turn, texts to convert."""

    options: dict
    fits: list  # list of corpora; fitting is cumulative
    queries: list  # texts for texts_to_sequences / texts_to_matrix


class VectorizerCase(NamedTuple):
    """Options for ``TextVectorization``, an adapt corpus, and texts to vectorize."""

    options: dict
    corpus: list
    queries: list


class PadCase(NamedTuple):
    """Sequences and keyword options for ``pad_sequences``."""

    sequences: list
    options: dict


def words(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    """One word-ish string: mostly letters, sometimes punctuation (``don't``, ``e-mail``, ``!!``)."""
    return st.one_of(
        st.text(alphabet=LETTERS, min_size=min_size, max_size=max_size),
        st.text(alphabet=WORD_ALPHABET, min_size=min_size, max_size=max_size),
        st.sampled_from(["don't", "e-mail", "ÄBC", "straße", "STRASSE", "ΣΟΦΙΑΣ", "İstanbul",
                         "'quoted'", "U.S.A.", "[UNK]", "<OOV>", "10", "9", "co-op", "hello,world"]),
    )


def word_pools(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[list[str]]:
    """A small set of distinct words; texts drawn from it repeat words, so counts tie."""
    return st.lists(words(), min_size=min_size, max_size=max_size, unique=True)


@st.composite
def texts(draw: Any, pool: list[str] | None = None, max_words: int = 8) -> str:
    """A text: words (from ``pool`` when given) joined by hostile separators, maybe empty."""
    word_strategy = st.sampled_from(pool) if pool else words()
    parts = draw(st.lists(word_strategy, min_size=0, max_size=max_words))
    sep = st.sampled_from(SEPARATORS)
    out = draw(st.sampled_from(["", " ", "\n", "\t"]))
    for part in parts:
        out += part + draw(sep)
    if draw(st.booleans()):
        out = out.rstrip(" ")
    return out


@st.composite
def corpora(draw: Any, min_size: int = 0, max_size: int = 6, pool: list[str] | None = None) -> list[str]:
    """A list of texts sharing a word pool (tied counts), with empty texts now and then."""
    if pool is None:
        pool = draw(word_pools())
    n = draw(st.integers(min_size, max_size))
    out = []
    for _ in range(n):  # mostly real texts; one in six empty or punctuation/whitespace only
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from(["", "!!!", "  \t\n", "\r", "'"])))
        else:
            out.append(draw(texts(pool=pool)))
    return out


def filters() -> st.SearchStrategy[str]:
    """Tokenizer ``filters``: the default, none, or a random subset of punctuation/whitespace."""
    return st.one_of(
        st.just(DEFAULT_FILTERS),
        st.just(""),
        st.text(alphabet=PUNCTUATION + "\t\n\r\xa0aeiouÄ", max_size=10),
    )


def splits() -> st.SearchStrategy[str | None]:
    """Tokenizer ``split``: space, other single characters, multi-character separators, None."""
    return st.sampled_from([" ", " ", None, ",", "\n", "-", ", ", "ab", " - "])


@st.composite
def tokenizer_options(draw: Any) -> dict:
    """Keyword options for ``Tokenizer(...)`` / ``Vocabulary(...)``."""
    options: dict = {}
    if draw(st.booleans()):
        options["num_words"] = draw(st.integers(1, 12))
    if draw(st.booleans()):
        options["oov_token"] = draw(st.sampled_from(["<OOV>", "OOV", "[UNK]", "the", "a"]))
    if draw(st.booleans()):
        options["lower"] = draw(st.booleans())
    if draw(st.sampled_from([False, False, False, True])):  # first choice is the favoured one
        options["char_level"] = True
    if draw(st.booleans()):
        options["filters"] = draw(filters())
    if draw(st.booleans()):
        options["split"] = draw(splits())
    return options


@st.composite
def tokenizer_cases(draw: Any) -> TokenizerCase:
    """Options, one or two corpora (fitted in turn; some texts pre-tokenised), queries."""
    pool = draw(word_pools())
    fits = draw(st.lists(corpora(pool=pool), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:  # pre-tokenised texts (lists of tokens)
        fits[0] = fits[0] + [draw(st.lists(st.sampled_from(pool), max_size=5))]
    queries = draw(corpora(pool=pool + draw(word_pools(max_size=2)), min_size=0, max_size=4))
    seen = [t for t in fits[0] if isinstance(t, str)]
    if seen:  # one text already fitted, so known words reach the conversions
        queries.append(draw(st.sampled_from(seen)))
    options = draw(tokenizer_options())
    if draw(st.integers(0, 3)) == 0:  # an oov token that is also a corpus word
        options["oov_token"] = draw(st.sampled_from(pool)).lower()
    return TokenizerCase(options, fits, queries)


def standardize_options() -> st.SearchStrategy[str | None]:
    return st.sampled_from(["lower_and_strip_punctuation", "lower", "strip_punctuation", None])


def split_options() -> st.SearchStrategy[str | None]:
    return st.sampled_from(["whitespace", "whitespace", "character", None])


def ngrams_options() -> st.SearchStrategy[int | tuple[int, ...] | None]:
    return st.sampled_from([None, None, None, 1, 2, (1, 3), (2,)])


_DRAW = object()
#: ``TextVectorization`` output modes.
OUTPUT_MODES = ("int", "multi_hot", "count", "one_hot", "tf_idf")


@st.composite
def text_vectorization_options(draw: Any, standardize: Any = _DRAW, split: Any = _DRAW,
                               output_mode: str = "int") -> dict:
    """Keyword options for ``TextVectorization(...)`` in ``output_mode`` (default ``"int"``;
    other modes draw ``pad_to_max_tokens`` instead of ``output_sequence_length``).

    ``standardize`` / ``split`` fix that option instead of drawing it (hypothesis favours the first
    choice of a ``sampled_from``; parametrizing over them guarantees every option is exercised).
    """
    options: dict = {
        "standardize": draw(standardize_options()) if standardize is _DRAW else standardize,
        "split": draw(split_options()) if split is _DRAW else split,
    }
    if output_mode != "int":
        options["output_mode"] = output_mode
    if draw(st.booleans()):
        options["max_tokens"] = draw(st.integers(3, 12))
    if output_mode == "int" and draw(st.booleans()):
        options["output_sequence_length"] = draw(st.integers(0, 9))
    if output_mode != "int" and "max_tokens" in options and draw(st.booleans()):
        options["pad_to_max_tokens"] = True
    if options["split"] is not None and draw(st.integers(0, 3)) == 0:
        options["ngrams"] = draw(ngrams_options())
    return options


@st.composite
def text_vectorization_cases(draw: Any, **fixed: Any) -> VectorizerCase:
    """Options, an adapt corpus with at least one token, and texts to vectorize.

    ``fixed`` (``standardize=...``, ``split=...``) is passed to :func:`text_vectorization_options`.
    """
    pool = draw(word_pools())
    corpus = draw(corpora(min_size=1, pool=pool))
    corpus.append(draw(st.sampled_from(pool)) + "x")  # one word every standardize keeps
    queries = draw(corpora(min_size=1, max_size=4, pool=pool + draw(word_pools(max_size=2))))
    queries.append(draw(st.sampled_from(corpus)))  # an adapted text: known tokens
    if draw(st.booleans()):  # the reserved tokens: '' (padding / mask) and '[UNK]'
        corpus.append(draw(st.sampled_from(["[UNK]", "[UNK] x [UNK]", "", "[UNK]\t''"])))
        queries.extend(["", "[UNK]"])
    return VectorizerCase(draw(text_vectorization_options(**fixed)), corpus, queries)


def vocabulary_lists(max_size: int = 10) -> st.SearchStrategy[list[str]]:
    """A ``TextVectorization(vocabulary=...)`` list: unique, non-empty tokens."""
    return st.lists(words().filter(lambda w: w != ""), min_size=1, max_size=max_size, unique=True)


def idf_weight_lists(size: int) -> st.SearchStrategy[list[float]]:
    """``size`` positive idf weights (as Keras's ``log(1 + N / (1 + df))`` would give)."""
    return st.lists(st.floats(0.0625, 5.0, allow_nan=False, width=32), min_size=size,
                    max_size=size)


def token_id_sequences(max_len: int = 8, max_id: int = 20, floats: bool = False) -> st.SearchStrategy[list]:
    """Lists of id sequences (some empty) for ``pad_sequences``; optionally float ids."""
    element = (
        st.floats(-max_id, max_id, allow_nan=False, width=32) if floats else st.integers(0, max_id)
    )
    return st.lists(st.lists(element, max_size=max_len), min_size=1, max_size=6)


@st.composite
def pad_sequences_options(draw: Any, max_len: int = 10) -> dict:
    """Keyword options for ``pad_sequences``: every padding/truncating/dtype/value combination."""
    options: dict = {
        "padding": draw(st.sampled_from(["pre", "post"])),
        "truncating": draw(st.sampled_from(["pre", "post"])),
    }
    if draw(st.booleans()):
        options["maxlen"] = draw(st.integers(1, max_len))
    if draw(st.booleans()):
        options["dtype"] = draw(st.sampled_from(["int32", "int64", "float32", "float64", "int16",
                                                 "uint8"]))
    if draw(st.booleans()):
        options["value"] = draw(st.sampled_from([0, 0.0, -1, 3, 0.5, -1.7, 2.9]))
    return options


@st.composite
def pad_cases(draw: Any) -> PadCase:
    """Sequences (ints or floats) with ``pad_sequences`` options."""
    sequences = draw(token_id_sequences(floats=draw(st.booleans())))
    return PadCase(sequences, draw(pad_sequences_options()))
