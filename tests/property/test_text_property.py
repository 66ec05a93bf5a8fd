"""Property-based parity: the NumPy text pipeline against tf_keras / Keras on the same random input.

Strategies come from parity.strategies.text (hostile Unicode, punctuation, whitespace, tied counts).
Where Keras raises, the NumPy side must raise ValueError or TypeError (the project's error contract).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
tf_text = pytest.importorskip("tf_keras.preprocessing.text")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from numpy_rnn import TextVectorization, Vocabulary, pad_sequences, text_to_word_sequence  # noqa: E402
from parity.strategies import text as ts  # noqa: E402

Tokenizer = tf_text.Tokenizer
MODES = ("binary", "count", "freq", "tfidf")
slow_ok = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])


def run(fn, *args, **kwargs):
    """("ok", value) or ("error", exception)."""
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any Keras failure is an outcome to compare
        return "error", exc


def assert_same_outcome(ours, theirs, what: str):
    """Both succeed with equal values, or both fail (ours with ValueError / TypeError)."""
    __tracebackhide__ = True
    (o_kind, o_val), (k_kind, k_val) = ours, theirs
    if k_kind == "error":
        assert o_kind == "error", f"{what}: Keras raised {k_val!r} but numpy_rnn returned {o_val!r}"
        assert isinstance(o_val, (ValueError, TypeError, IndexError)), f"{what}: {o_val!r}"
        return None
    if o_kind == "error":
        raise AssertionError(f"{what}: numpy_rnn raised {o_val!r}, Keras returned {k_val!r}")
    return o_val, k_val


def assert_arrays_identical(actual, expected, what: str):
    __tracebackhide__ = True
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != Keras {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != Keras {expected.shape}"
    np.testing.assert_array_equal(actual, expected, err_msg=what)


# ------------------------------------------------------------------------------------------------
# text_to_word_sequence / Tokenizer
# ------------------------------------------------------------------------------------------------
@given(text=ts.texts(), filters=ts.filters(), lower=st.booleans(), split=ts.splits())
def test_text_to_word_sequence_matches_keras(text, filters, lower, split):
    expected = tf_text.text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    assert text_to_word_sequence(text, filters=filters, lower=lower, split=split) == expected


def _tables_equal(voc: Vocabulary, tok) -> None:
    __tracebackhide__ = True
    assert list(voc.word_counts.items()) == list(tok.word_counts.items())
    assert voc.word_docs == tok.word_docs
    assert voc.index_docs == tok.index_docs
    assert list(voc.word_index.items()) == list(tok.word_index.items())
    assert list(voc.index_word.items()) == list(tok.index_word.items())
    assert voc.document_count == tok.document_count


@slow_ok
@given(case=ts.tokenizer_cases(), extra_ids=st.lists(st.integers(-2, 25), max_size=6))
def test_vocabulary_matches_tokenizer(case, extra_ids):
    tok, voc = Tokenizer(**case.options), Vocabulary(**case.options)
    for corpus in case.fits:
        tok.fit_on_texts(corpus)
        voc.fit_on_texts(corpus)
        _tables_equal(voc, tok)

    sequences = tok.texts_to_sequences(case.queries)
    assert voc.texts_to_sequences(case.queries) == sequences
    assert list(voc.texts_to_sequences_generator(case.queries)) == sequences
    id_lists = sequences + [extra_ids]
    assert voc.sequences_to_texts(id_lists) == tok.sequences_to_texts(id_lists)

    emitted = {i for seq in tok.texts_to_sequences(case.queries + [t for c in case.fits for t in c])
               for i in seq}
    assert all(i < voc.size for i in emitted)
    possible = {i for i in tok.word_index.values() if not tok.num_words or i < tok.num_words}
    possible |= {tok.word_index[tok.oov_token]} if tok.oov_token is not None else set()
    assert voc.size == max(possible | {0}) + 1

    for mode in MODES:
        pair = assert_same_outcome(run(voc.texts_to_matrix, case.queries, mode),
                                   run(tok.texts_to_matrix, case.queries, mode), f"texts_to_matrix {mode}")
        if pair:
            assert_arrays_identical(*pair, what=f"texts_to_matrix mode={mode}")

    assert voc.get_config() == tok.get_config()
    text = tok.to_json()
    assert voc.to_json() == text
    assert Vocabulary.from_json(text).to_json() == text
    loaded = tf_text.tokenizer_from_json(voc.to_json())
    assert loaded.word_index == tok.word_index and loaded.index_word == tok.index_word


@slow_ok
@given(case=ts.tokenizer_cases(), sequences=ts.token_id_sequences(max_id=15))
def test_fit_on_sequences_and_matrices_match_tokenizer(case, sequences):
    tok, voc = Tokenizer(**case.options), Vocabulary(**case.options)
    tok.fit_on_texts(case.fits[0])
    voc.fit_on_texts(case.fits[0])
    tok.fit_on_sequences(sequences)
    voc.fit_on_sequences(sequences)
    _tables_equal(voc, tok)
    seqs = [[i for i in s if i < 10] for s in sequences]  # Keras wraps negatives; keep in range
    for mode in MODES:
        pair = assert_same_outcome(run(voc.sequences_to_matrix, seqs, mode),
                                   run(tok.sequences_to_matrix, seqs, mode), f"sequences_to_matrix {mode}")
        if pair:
            assert_arrays_identical(*pair, what=f"sequences_to_matrix mode={mode}")
    if case.fits[1:]:  # fitting texts after sequences rewrites index_docs the Keras way
        tok.fit_on_texts(case.fits[1])
        voc.fit_on_texts(case.fits[1])
        _tables_equal(voc, tok)
    assert voc.to_json() == tok.to_json()
    assert Vocabulary.from_json(tok.to_json()).to_json() == tok.to_json()  # ids 0.. in index_docs


@slow_ok
@given(corpus=ts.corpora(min_size=1), seq_length=st.integers(1, 8), step=st.integers(1, 4),
       options=ts.tokenizer_options())
def test_tokenize_windows_match_tokenizer_stream(corpus, seq_length, step, options):
    tok = Tokenizer(**options)
    tok.fit_on_texts(corpus)
    stream = [i for seq in tok.texts_to_sequences(corpus) for i in seq]
    voc = Vocabulary(**options)
    if seq_length > len(stream):
        with pytest.raises(ValueError, match="seq_length"):
            voc.tokenize(corpus, seq_length, step)
        return
    windows = voc.tokenize(corpus, seq_length, step)
    expected = np.array([stream[i:i + seq_length] for i in range(0, len(stream) - seq_length + 1, step)],
                        dtype=np.int64)
    assert_arrays_identical(windows, expected, "tokenize windows")
    assert voc.word_index == tok.word_index
    assert windows.max(initial=0) < voc.size


BAD_IDS = st.one_of(
    st.integers(max_value=0), st.integers(min_value=2**31, max_value=2**70), st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=3), st.none(),
    st.lists(st.integers(1, 5), max_size=2),
)


@slow_ok
@given(case=ts.tokenizer_cases(), bad_id=BAD_IDS, data=st.data())
def test_tokenizer_json_with_one_bad_id_is_refused(case, bad_id, data):
    tok = Tokenizer(**case.options)
    for corpus in case.fits:
        tok.fit_on_texts(corpus)
    payload = json.loads(tok.to_json())
    word_index = json.loads(payload["config"]["word_index"])
    if not word_index:
        return
    word = data.draw(st.sampled_from(sorted(word_index)), label="word")
    word_index[word] = bad_id
    payload["config"]["word_index"] = json.dumps(word_index)
    with pytest.raises(ValueError, match=r"tokenizer JSON.*config\['word_index'\]") as info:
        Vocabulary.from_json(json.dumps(payload))
    assert repr(word)[:40] in str(info.value)


@slow_ok
@given(prefit=ts.corpora(), corpus=ts.corpora(min_size=1), seq_length=st.integers(1, 40),
       options=ts.tokenizer_options())
def test_failed_tokenize_changes_nothing(prefit, corpus, seq_length, options):
    tok, voc = Tokenizer(**options), Vocabulary(**options)
    tok.fit_on_texts(prefit)
    voc.fit_on_texts(prefit)
    before = voc.to_json()
    try:
        voc.tokenize(corpus, seq_length)
    except ValueError:
        assert voc.to_json() == before  # the failed call changed nothing
        voc.fit_on_texts(corpus)  # so a retry counts the corpus once
    tok.fit_on_texts(corpus)
    assert voc.to_json() == tok.to_json()


# ------------------------------------------------------------------------------------------------
# pad_sequences
# ------------------------------------------------------------------------------------------------
@given(case=ts.pad_cases())
def test_pad_sequences_matches_keras(case):
    pair = assert_same_outcome(run(pad_sequences, case.sequences, **case.options),
                               run(keras.utils.pad_sequences, case.sequences, **case.options),
                               f"pad_sequences {case.options}")
    if pair:
        assert_arrays_identical(*pair, what=f"pad_sequences {case.options}")


# ------------------------------------------------------------------------------------------------
# TextVectorization
# ------------------------------------------------------------------------------------------------
def _compare_calls(ours, theirs, queries, label):
    __tracebackhide__ = True
    inputs_list = [queries, np.array([[q] for q in queries]), queries[0]]
    for inputs in inputs_list:
        o_run, k_run = run(ours, inputs), run(lambda x: np.asarray(theirs(x)), inputs)
        if (k_run[0] == "error" and "is not compatible with supplied shape" in str(k_run[1])
                and o_run[0] == "ok" and not o_run[1].any()
                and o_run[1].shape[-1] == ours.output_sequence_length):
            continue  # documented difference: no token + output_sequence_length -> zeros
        pair = assert_same_outcome(o_run, k_run, f"{label} call on {inputs!r}")
        if pair:
            assert_arrays_identical(*pair, what=f"{label} call on {inputs!r}")


# Every standardize with whitespace split, and every split with two standardizers. Fixed by
# parametrize because hypothesis favours the first choice of a sampled_from.
TV_GRID = [(std, "whitespace") for std in ("lower_and_strip_punctuation", "lower",
                                           "strip_punctuation", None)]
TV_GRID += [(std, split) for std in ("lower_and_strip_punctuation", None) for split in ("character", None)]


@pytest.mark.parametrize("standardize, split", TV_GRID)
@slow_ok
@given(data=st.data())
def test_text_vectorization_adapt_and_call_match_keras(standardize, split, data):
    case = data.draw(ts.text_vectorization_cases(standardize=standardize, split=split), label="case")
    theirs = keras.layers.TextVectorization(**case.options)
    ours = TextVectorization(**case.options)
    pair = assert_same_outcome(run(ours.adapt, case.corpus), run(theirs.adapt, case.corpus),
                               f"adapt {case.options}")
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()], case.options
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    _compare_calls(ours, theirs, case.queries, str(case.options))
    if pair is not None:
        assert ours.get_config() == theirs.get_config() | {"name": ours.name}


@pytest.mark.parametrize("split", ["whitespace", "character", None])
@slow_ok
@given(vocabulary=ts.vocabulary_lists(), queries=ts.corpora(min_size=1, max_size=3),
       data=st.data())
def test_text_vectorization_given_vocabulary_matches_keras(split, vocabulary, queries, data):
    options = data.draw(ts.text_vectorization_options(split=split), label="options")
    queries = queries + vocabulary[:1] + ["", "[UNK]"]
    k_run = run(keras.layers.TextVectorization, vocabulary=vocabulary, **options)
    o_run = run(TextVectorization, vocabulary=vocabulary, **options)
    pair = assert_same_outcome(o_run, k_run, f"vocabulary={vocabulary!r} {options}")
    if pair is None:
        return
    ours, theirs = pair
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()]
    _compare_calls(ours, theirs, queries, f"vocabulary={vocabulary!r} {options}")
    expected = json.loads(json.dumps(theirs.get_config() | {"name": ours.name}))
    assert json.loads(json.dumps(ours.get_config())) == expected
