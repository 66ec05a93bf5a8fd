"""NumPy-only tests of numpy_rnn.text.

Expected values come from spec/keras-semantics.md section 3 or were measured on tf_keras 2.21 /
Keras 3.15.1 (noted where so); none is copied from this package's own output.
"""
from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

from numpy_rnn import TextVectorization, Vocabulary, pad_sequences, text_to_word_sequence
from numpy_rnn.text import DEFAULT_FILTERS

CORPUS = ["the cat sat on the mat", "the dog sat", "a cat and a dog", "zebra"]
SPEC_WORD_INDEX = {"the": 1, "cat": 2, "sat": 3, "dog": 4, "a": 5, "on": 6, "mat": 7, "and": 8,
                   "zebra": 9}
SPEC_TV_VOCAB = ["", "[UNK]", "the", "sat", "dog", "cat", "a", "zebra", "on", "mat", "and"]


def fitted(**kwargs) -> Vocabulary:
    v = Vocabulary(**kwargs)
    v.fit_on_texts(CORPUS)
    return v


# --- text_to_word_sequence (spec 3.1) ----------------------------------------------------------
@pytest.mark.parametrize(
    "text, kwargs, expected",
    [
        ("This is a sample sentence.", {}, ["this", "is", "a", "sample", "sentence"]),
        ("don't", {}, ["don't"]),
        ("a\tb\nc", {}, ["a", "b", "c"]),
        ("a\rb c\xa0d", {}, ["a\rb", "c\xa0d"]),
        ("ÄBC", {}, ["äbc"]),
        ("a b,c", {"split": ","}, ["a b", "c"]),
        ("ÄBC", {"lower": False}, ["ÄBC"]),
        ("a--b", {"split": "--"}, ["a", "b"]),  # measured: multi-character split
        ("a,b  c\xa0d\x1ce", {"split": None}, ["ab", "c", "d", "e"]),  # measured: filters deleted
        ("", {}, []),
        ("!!! ...", {}, []),
    ],
)
def test_text_to_word_sequence(text, kwargs, expected):
    assert text_to_word_sequence(text, **kwargs) == expected


def test_text_to_word_sequence_keyword_input_text_and_errors():
    assert text_to_word_sequence(input_text="A b") == ["a", "b"]
    with pytest.raises(TypeError, match="`text` must be a string"):
        text_to_word_sequence(3)
    with pytest.raises(ValueError, match="`split`"):
        text_to_word_sequence("ab", split="")


# --- Vocabulary (spec 3.1) ---------------------------------------------------------------------
def test_word_index_order_counts_desc_ties_first_seen():
    v = fitted()
    assert v.word_index == SPEC_WORD_INDEX
    assert list(v.word_index) == list(SPEC_WORD_INDEX)
    assert v.index_word == {i: w for w, i in SPEC_WORD_INDEX.items()}
    assert v.document_count == 4
    assert v.word_counts["the"] == 3 and list(v.word_counts)[:3] == ["the", "cat", "sat"]
    assert v.word_docs["the"] == 2 and v.word_docs["a"] == 1
    assert v.index_docs[1] == 2 and v.index_docs[5] == 1


def test_fitting_is_cumulative():
    v = Vocabulary()
    v.fit_on_texts(CORPUS[:2])
    v.fit_on_texts(CORPUS[2:])
    assert v.word_index == SPEC_WORD_INDEX
    assert v.document_count == 4


def test_oov_token_takes_index_one():
    v = fitted(oov_token="<OOV>")
    assert v.word_index["<OOV>"] == 1 and v.word_index["the"] == 2 and v.word_index["zebra"] == 10
    assert v.texts_to_sequences(["the unknown cat"]) == [[2, 1, 3]]
    assert v.sequences_to_texts([[2, 99, 0]]) == ["the <OOV> <OOV>"]


def test_oov_token_not_lowered():
    v = Vocabulary(oov_token="OOV")
    v.fit_on_texts(["OOV"])
    assert v.word_index == {"OOV": 1, "oov": 2}


def test_oov_token_found_in_corpus_later_index_wins():
    v = fitted(oov_token="cat")
    assert v.word_index["cat"] == 3 and 1 not in v.index_word
    # measured: {'cat': 2, 'the': 3, 'sat': 4}; texts 'cat dog the' -> [[2, 2, 3]]
    w = Vocabulary(oov_token="cat")
    w.fit_on_texts(["the cat sat", "cat"])
    assert w.word_index == {"cat": 2, "the": 3, "sat": 4}
    assert w.texts_to_sequences(["cat dog the"]) == [[2, 2, 3]]
    assert w.sequences_to_texts([[1, 2, 3, 9]]) == ["cat cat the cat"]
    np.testing.assert_array_equal(w.texts_to_matrix(["cat the sat"], mode="count"), [[0, 0, 1, 1]])
    assert w.size == 5


def test_num_words_limits_conversion_not_word_index():
    v = fitted(num_words=4)
    assert v.word_index == SPEC_WORD_INDEX
    assert v.texts_to_sequences(["the cat sat dog a zebra"]) == [[1, 2, 3]]
    assert v.texts_to_matrix(["the"]).shape == (1, 4)
    assert v.sequences_to_texts([[1, 4, 9]]) == ["the"]
    w = fitted(num_words=4, oov_token="<OOV>")
    assert w.texts_to_sequences(["the cat sat dog"]) == [[2, 3, 1, 1]]


def test_num_words_with_oov_measured():
    v = Vocabulary(num_words=3, oov_token="<o>")
    v.fit_on_texts(["a a a b b c"])
    assert v.sequences_to_texts([[1, 2, 3, 4, 0]]) == ["<o> a <o> <o> <o>"]
    assert v.texts_to_sequences(["a b c z"]) == [[2, 1, 1, 1]]


def test_texts_to_sequences_unknown_and_empty():
    v = fitted()
    assert v.texts_to_sequences(["the unknown", "", "!!! ..."]) == [[1], [], []]
    assert list(v.texts_to_sequences_generator(["mat"])) == [[7]]


def test_str_is_iterated_character_by_character_like_keras():
    v = Vocabulary()
    v.fit_on_texts("ab a")  # measured: 4 documents, {'a': 1, 'b': 2}
    assert v.word_index == {"a": 1, "b": 2} and v.document_count == 4
    assert v.texts_to_sequences("ab") == [[1], [2]]


def test_char_level_and_pretokenised_lists():
    v = Vocabulary(char_level=True, oov_token="?")
    v.fit_on_texts(["Ab!a", ["XY", "a"]])
    assert v.word_index == {"?": 1, "a": 2, "b": 3, "!": 4, "xy": 5}
    assert v.texts_to_sequences(["ab c", ["xy"]]) == [[2, 3, 1, 1], [5]]


def test_analyzer():
    v = Vocabulary(analyzer=lambda s: s.split("|"))
    v.fit_on_texts(["A|b|", ["Q"]])
    assert v.word_index == {"A": 1, "b": 2, "": 3, "q": 4}


def test_fit_on_sequences_then_texts_index_docs():
    v = Vocabulary()
    v.fit_on_texts(["a b", "b c"])
    v.fit_on_sequences([[1, 5, 5], [7]])
    v.fit_on_texts(["c d"])
    assert dict(v.index_docs) == {1: 2, 2: 2, 3: 1, 5: 1, 7: 1, 4: 1}
    assert v.document_count == 5


def test_matrix_modes_formulas():
    v = Vocabulary()
    v.fit_on_texts(["a a b", "b c"])  # word_index a:1? counts a2 b2 c1 -> a:1, b:2, c:3
    seqs = [[1, 1, 2], []]
    np.testing.assert_array_equal(v.sequences_to_matrix(seqs, "binary"), [[0, 1, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(v.sequences_to_matrix(seqs, "count"), [[0, 2, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(v.sequences_to_matrix(seqs, "freq"), [[0, 2 / 3, 1 / 3, 0], [0] * 4])
    # tf-idf weighting scheme 2: (1 + ln c) * ln(1 + N / (1 + df)); N=2, df(a)=1, df(b)=2
    expected_a = (1 + np.log(2)) * np.log(1 + 2 / 2)
    expected_b = (1 + np.log(1)) * np.log(1 + 2 / 3)
    np.testing.assert_allclose(v.sequences_to_matrix(seqs, "tfidf")[0], [0, expected_a, expected_b, 0])
    assert v.sequences_to_matrix(seqs).dtype == np.float64


def test_matrix_negative_ids_wrap_and_large_ids_skipped_like_keras():
    v = Vocabulary()
    v.fit_on_texts(["a b"])
    np.testing.assert_array_equal(v.sequences_to_matrix([[1, -1, 9]], mode="count"), [[0, 1, 1]])
    with pytest.raises(IndexError):
        v.sequences_to_matrix([[1, -9]], mode="count")


def test_matrix_errors():
    with pytest.raises(ValueError, match="num_words"):
        Vocabulary().texts_to_matrix(["a"])
    with pytest.raises(ValueError, match="tfidf"):
        Vocabulary(num_words=3).texts_to_matrix(["a"], mode="tfidf")
    np.testing.assert_array_equal(Vocabulary(num_words=3).texts_to_matrix(["a"], mode="count"), [[0, 0, 0]])
    with pytest.raises(ValueError, match="`mode`"):
        fitted().texts_to_matrix(["the"], mode="bogus")


def test_size():
    assert Vocabulary().size == 1
    assert fitted().size == 10
    assert fitted(num_words=4).size == 4
    assert fitted(num_words=100).size == 10
    assert fitted(oov_token="<OOV>").size == 11
    assert fitted(num_words=1, oov_token="<OOV>").size == 2  # every word -> oov index 1


def test_tokenize_windows():
    v = Vocabulary()
    X = v.tokenize(CORPUS, 3)
    stream = [1, 2, 3, 6, 1, 7, 1, 4, 3, 5, 2, 8, 5, 4, 9]  # spec word_index applied by hand
    assert X.dtype == np.int64
    np.testing.assert_array_equal(X, [stream[i:i + 3] for i in range(len(stream) - 2)])
    w = Vocabulary()
    np.testing.assert_array_equal(w.tokenize(" ".join(CORPUS), 4, step=5),
                                  [stream[0:4], stream[5:9], stream[10:14]])
    assert w.document_count == 1  # one string = one text


def test_tokenize_errors():
    with pytest.raises(ValueError, match=r"seq_length.*15.*Received: seq_length=16"):
        Vocabulary().tokenize(CORPUS, 16)
    with pytest.raises(ValueError, match="seq_length"):
        Vocabulary().tokenize(CORPUS, 0)
    with pytest.raises(ValueError, match="step"):
        Vocabulary().tokenize(CORPUS, 2, step=0)
    with pytest.raises(TypeError, match="corpus"):
        Vocabulary().tokenize(["a", 3], 1)


def test_seed_readme_usage():
    vocab = Vocabulary()
    data = " ".join(CORPUS * 3)
    X = vocab.tokenize(data, 26)
    assert X.shape == (45 - 26 + 1, 26)
    assert X.max() < vocab.size


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_num_words_must_be_positive(bad):
    with pytest.raises(ValueError, match="num_words"):
        Vocabulary(num_words=bad)


@pytest.mark.parametrize("bad_text", [3, None, ("a",), b"ab"])
def test_non_string_text_is_type_error(bad_text):
    v = Vocabulary()
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        v.fit_on_texts(["ok", bad_text])
    assert v.document_count == 0  # nothing was counted
    with pytest.raises(TypeError, match="texts"):
        fitted().texts_to_sequences([bad_text])


def test_list_tokens_need_lower_when_lower_true():
    with pytest.raises(TypeError, match="texts"):
        Vocabulary().fit_on_texts([[1, 2]])
    v = Vocabulary(lower=False)
    v.fit_on_texts([[1, 2, 2]])  # measured: Keras accepts any hashable token when lower=False
    assert v.word_index == {2: 1, 1: 2}


def test_unfit_vocabulary_with_oov_raises():
    v = Vocabulary(oov_token="<OOV>")
    assert v.texts_to_sequences(["", "!!!"]) == [[], []]
    with pytest.raises(ValueError, match="oov_token"):
        v.texts_to_sequences(["a"])
    with pytest.raises(ValueError, match="oov_token"):
        v.sequences_to_texts([[1]])


def test_bad_constructor_arguments():
    with pytest.raises(TypeError, match="Unrecognized"):
        Vocabulary(foo=1)
    with pytest.raises(ValueError, match="split"):
        Vocabulary(split="")
    with pytest.raises(ValueError, match="filters"):
        Vocabulary(filters=["ab"])
    with pytest.raises(TypeError, match="analyzer"):
        Vocabulary(analyzer=3)
    with pytest.warns(UserWarning, match="nb_words"):
        assert Vocabulary(nb_words=5).num_words == 5


# --- JSON ------------------------------------------------------------------------------------
KERAS_JSON = (  # measured: Tokenizer() fitted on ["héllo wörld", "a"], .to_json()
    '{"class_name": "Tokenizer", "config": {"num_words": null, "filters": '
    '"!\\"#$%&()*+,-./:;<=>?@[\\\\]^_`{|}~\\t\\n", "lower": true, "split": " ", '
    '"char_level": false, "oov_token": null, "document_count": 2, '
    '"word_counts": "{\\"h\\\\u00e9llo\\": 1, \\"w\\\\u00f6rld\\": 1, \\"a\\": 1}", '
    '"word_docs": "{\\"w\\\\u00f6rld\\": 1, \\"h\\\\u00e9llo\\": 1, \\"a\\": 1}", '
    '"index_docs": "{\\"2\\": 1, \\"1\\": 1, \\"3\\": 1}", '
    '"index_word": "{\\"1\\": \\"h\\\\u00e9llo\\", \\"2\\": \\"w\\\\u00f6rld\\", \\"3\\": \\"a\\"}", '
    '"word_index": "{\\"h\\\\u00e9llo\\": 1, \\"w\\\\u00f6rld\\": 2, \\"a\\": 3}"}}'
)


def test_from_json_reads_keras_and_round_trips_exactly():
    v = Vocabulary.from_json(KERAS_JSON)
    assert v.word_index == {"héllo": 1, "wörld": 2, "a": 3}
    assert v.index_word == {1: "héllo", 2: "wörld", 3: "a"}
    assert v.index_docs == {2: 1, 1: 1, 3: 1} and v.document_count == 2
    assert v.filters == DEFAULT_FILTERS
    assert v.to_json() == KERAS_JSON
    v.fit_on_texts(["new"])  # still fittable (Keras' loaded Tokenizer raises KeyError here)
    assert v.word_index["new"] == 4


def test_to_json_format():
    v = fitted(oov_token="<OOV>", num_words=5)
    payload = json.loads(v.to_json())
    assert payload["class_name"] == "Tokenizer"
    config = payload["config"]
    assert list(config) == ["num_words", "filters", "lower", "split", "char_level", "oov_token",
                            "document_count", "word_counts", "word_docs", "index_docs",
                            "index_word", "word_index"]
    assert json.loads(config["word_index"])["<OOV>"] == 1
    assert json.loads(config["index_word"])["1"] == "<OOV>"
    assert v.get_config()["num_words"] == 5


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"class_name": "Sequential", "config": {}}',
        '{"class_name": "Tokenizer"}',
        '{"class_name": "Tokenizer", "config": {"word_counts": "{}"}}',
        KERAS_JSON.replace('"word_docs": "{', '"word_docs": "[').replace('1}", "index_docs"', '1]", "index_docs"'),
        KERAS_JSON.replace('"num_words": null', '"num_words": null, "bogus": 1'),
        KERAS_JSON.replace('\\"2\\": 1, \\"1\\": 1', '\\"x\\": 1, \\"1\\": 1'),
    ],
)
def test_from_json_rejects_non_tokenizer_json(text):
    with pytest.raises(ValueError, match="tokenizer JSON"):
        Vocabulary.from_json(text)


def test_from_json_type_error_and_num_words_zero():
    with pytest.raises(TypeError):
        Vocabulary.from_json(3)
    assert Vocabulary.from_json(KERAS_JSON.replace('"num_words": null', '"num_words": 0')).num_words is None


# --- hostile / malformed tokenizer JSON (issue 10 items 4 and 7) -------------------------------
def keras_json(config_changes=None, **table_changes) -> str:
    """KERAS_JSON with some config fields and/or decoded tables replaced (tables re-encoded)."""
    payload = json.loads(KERAS_JSON)
    config = payload["config"]
    config.update(config_changes or {})
    for key, table in table_changes.items():
        config[key] = table if isinstance(table, str) else json.dumps(table)
    return json.dumps(payload)


GOOD_TABLES = {  # KERAS_JSON's tables, decoded
    "word_index": {"héllo": 1, "wörld": 2, "a": 3},
    "index_word": {"1": "héllo", "2": "wörld", "3": "a"},
}


def test_keras_json_helper_is_faithful():
    assert Vocabulary.from_json(keras_json(**GOOD_TABLES)).to_json() == KERAS_JSON


DEEP = 100_000


@pytest.mark.parametrize(
    "text",
    [
        "[" * DEEP + "]" * DEEP,
        '{"a": ' * DEEP + "1" + "}" * DEEP,
        keras_json(word_index="[" * DEEP + "]" * DEEP),
        keras_json(word_counts='{"a": ' * DEEP + "1" + "}" * DEEP),
        ("[" * DEEP).encode(),
    ],
    ids=["array", "object", "word_index-table", "word_counts-table", "bytes"],
)
def test_from_json_deep_nesting_is_value_error(text):
    with pytest.raises(ValueError, match="tokenizer JSON.*nested too deeply"):
        Vocabulary.from_json(text)


@pytest.mark.parametrize(
    "bad_id, shown",
    [(-3, "-3"), (0, "0"), ("x", "'x'"), (1.5, "1.5"), (True, "boolean"), (None, "null"),
     ([3], "array"), (2**31, str(2**31)), (3.0, "3.0")],
)
def test_from_json_refuses_bad_word_index_ids(bad_id, shown):
    text = keras_json(word_index={"héllo": 1, "wörld": 2, "a": bad_id},
                      index_word=GOOD_TABLES["index_word"])
    match = rf"tokenizer JSON.*config\['word_index'\]\['a'\].*{re.escape(shown)}"
    with pytest.raises(ValueError, match=match):
        Vocabulary.from_json(text)


def test_negative_id_no_longer_wraps_into_another_words_row():
    # Before: accepted, and `size` (the Embedding rows) ignored the -3, which then wraps to row 1.
    text = keras_json(word_index={"héllo": 1, "wörld": 2, "a": -3},
                      index_word={"1": "héllo", "2": "wörld", "-3": "a"})
    with pytest.raises(ValueError, match=r"word_index.*'a'.*-3"):
        Vocabulary.from_json(text)


def test_from_json_refuses_duplicate_ids():
    text = keras_json(word_index={"héllo": 1, "wörld": 2, "a": 2},
                      index_word={"1": "héllo", "2": "wörld"})
    with pytest.raises(ValueError, match=r"id 2 to both 'wörld' and 'a'"):
        Vocabulary.from_json(text)


@pytest.mark.parametrize(
    "index_word, match",
    [
        ({"1": "héllo", "2": "a", "3": "wörld"}, r"index_word'\]\['2'\]='a' disagrees.*'a' the id 3"),
        ({"1": "héllo", "2": "wörld"}, r"index_word'\] lacks the id 3 of 'a'"),
        ({"1": "héllo", "2": "wörld", "3": "a", "4": "zz"}, r"index_word'\]\['4'\]='zz'.*no id"),
        ({"1": "héllo", "2": "wörld", "3": ["a"]}, r"index_word'\]\['3'\] must be a word"),
        ({"1": "héllo", "2": "wörld", "03": "a"}, r"index_word'\]\['03'\].*integer id"),
        ({"1": "héllo", "2": "wörld", " 3": "a"}, r"index_word'\]\[' 3'\].*integer id"),
    ],
    ids=["swapped", "missing", "extra", "not-a-word", "leading-zero", "space"],
)
def test_from_json_index_word_must_invert_word_index(index_word, match):
    text = keras_json(word_index=GOOD_TABLES["word_index"], index_word=index_word)
    with pytest.raises(ValueError, match=match):
        Vocabulary.from_json(text)


@pytest.mark.parametrize("table", ["word_counts", "word_docs"])
@pytest.mark.parametrize("bad", [-1, 1.5, "2", True, None, [1], 2**63])
def test_from_json_refuses_bad_word_counts(table, bad):
    counts = {"héllo": 1, "wörld": 1, "a": bad}
    with pytest.raises(ValueError, match=rf"config\['{table}'\]\['a'\] must be a count"):
        Vocabulary.from_json(keras_json(**{table: counts}))


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True, None])
def test_from_json_refuses_bad_index_docs(bad):
    with pytest.raises(ValueError, match=r"config\['index_docs'\]\['3'\] must be a count"):
        Vocabulary.from_json(keras_json(index_docs={"2": 1, "1": 1, "3": bad}))


@pytest.mark.parametrize("key", ["x", "1.5", "01", " 1", "1_0", "true", ""])
def test_from_json_refuses_non_integer_index_docs_keys(key):
    with pytest.raises(ValueError, match=r"config\['index_docs'\].*integer id"):
        Vocabulary.from_json(keras_json(index_docs={"2": 1, key: 1}))


def test_from_json_word_docs_only_for_counted_words():
    text = keras_json(word_docs={"héllo": 1, "wörld": 1, "a": 1, "ghost": 1})
    with pytest.raises(ValueError, match=r"word_docs.*'ghost'.*not in config\['word_counts'\]"):
        Vocabulary.from_json(text)


def test_from_json_fitted_vocabulary_must_index_its_oov_token():
    with pytest.raises(ValueError, match=r"oov_token'\]='<OOV>' is not in config\['word_index'\]"):
        Vocabulary.from_json(keras_json({"oov_token": "<OOV>"}))
    # Unfitted with an oov token (what Tokenizer(oov_token=...).to_json() writes): fine.
    empty = keras_json({"oov_token": "<OOV>", "document_count": 0}, word_counts={}, word_docs={},
                       index_docs={}, index_word={}, word_index={})
    assert Vocabulary.from_json(empty).oov_token == "<OOV>"


@pytest.mark.parametrize(
    "field, bad, error_match",
    [
        ("document_count", -1, "document_count"),
        ("document_count", 1.5, "document_count"),
        ("document_count", "2", "document_count"),
        ("document_count", True, "document_count"),
        ("document_count", None, "document_count"),
        ("num_words", -1, "num_words"),
        ("num_words", 2.5, "num_words"),
        ("num_words", True, "num_words"),
        ("num_words", "5", "num_words"),
        ("num_words", 2**40, "num_words"),  # texts_to_matrix would allocate 8 TiB per row
        ("lower", "false", "lower"),  # a truthy string would silently lower-case
        ("lower", 0, "lower"),
        ("char_level", None, "char_level"),
        ("char_level", "true", "char_level"),
        ("filters", 3, "filters"),
        ("filters", {"a": 1}, "filters"),
        ("filters", ["ab"], "filters"),
        ("split", 3, "split"),
        ("split", "", "split"),
        ("oov_token", [1], "oov_token"),
        ("oov_token", {"a": 1}, "oov_token"),
    ],
)
def test_from_json_refuses_bad_argument_types(field, bad, error_match):
    with pytest.raises(ValueError, match=rf"tokenizer JSON.*{error_match}"):
        Vocabulary.from_json(keras_json({field: bad}))


@pytest.mark.parametrize("table", ["word_counts", "word_docs", "index_docs", "index_word", "word_index"])
@pytest.mark.parametrize("bad", [{"a": 1}, ["{}"], 3, None, "[1]", '"{}"', "{"])
def test_from_json_tables_must_be_json_objects_in_strings(table, bad):
    payload = json.loads(KERAS_JSON)
    payload["config"][table] = bad
    with pytest.raises(ValueError, match=rf"config\['{table}'\]"):
        Vocabulary.from_json(json.dumps(payload))


@pytest.mark.parametrize(
    "text", ["", "null", "3", '"Tokenizer"', b"\xff\xfe{", '{"class_name": "Tokenizer", "config": []}']
)
def test_from_json_other_malformed_text(text):
    with pytest.raises(ValueError, match="tokenizer JSON"):
        Vocabulary.from_json(text)


@pytest.mark.parametrize("bad", [None, 3, ["{}"], {"class_name": "Tokenizer"}])
def test_from_json_needs_text(bad):
    with pytest.raises(TypeError, match="json_string"):
        Vocabulary.from_json(bad)


def test_mutated_tokenizer_json_is_refused_or_fully_usable():
    """Seeded mutations of KERAS_JSON: from_json raises ValueError, or every method works."""
    rng = random.Random(10)
    values = [None, True, False, 0, -1, 1, 2, 3, 2**40, 1.5, "x", "", "a", "héllo", [], {}, [1],
              {"a": 1}, "{}", '{"a": 1}', '{"1": "a"}', '{"a": -1}', "NaN", "[" * 5000]
    tables = ("word_counts", "word_docs", "index_docs", "index_word", "word_index")
    accepted = 0
    for _ in range(3000):
        payload = json.loads(KERAS_JSON)
        config = payload["config"]
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(list(config))
            if key in tables and rng.random() < 0.7:
                try:
                    table = json.loads(config[key])
                except (TypeError, ValueError, RecursionError):
                    table = {}
                table = table if isinstance(table, dict) else {}
                entry = rng.choice(list(table)) if table and rng.random() < 0.5 else rng.choice(
                    ["a", "1", "2", "3", "zz", "0", "-1"])
                table[entry] = rng.choice(values[:14])
                config[key] = json.dumps(table)
            else:
                config[key] = rng.choice(values)
        try:
            v = Vocabulary.from_json(json.dumps(payload))
        except ValueError:
            continue
        accepted += 1
        try:  # an accepted vocabulary may still refuse a call (e.g. an unindexed oov) with ValueError
            v.texts_to_sequences(["héllo a new"])
            v.sequences_to_texts([[1, 2, 3, 9]])
            assert v.size >= 1
            for mode in ("binary", "count", "tfidf", "freq"):
                v.texts_to_matrix(["héllo a"], mode)
            v.fit_on_texts(["more a"])
            assert Vocabulary.from_json(v.to_json()).to_json() == v.to_json()
        except ValueError:
            pass
    assert accepted > 100  # the mutations also produce valid JSON (e.g. num_words, oov_token)

# Measured: tf_keras 2.21 Tokenizer JSON that must keep loading (a tokenizer whose oov token is also
# a corpus word leaves id 1 unused; fit_on_sequences alone stores ids 0 and -3 in index_docs;
# lower=False with int tokens; a generator analyzer leaves word_docs empty).
GENUINE_KERAS_CONFIGS = [
    {"oov_token": "cat", "document_count": 4,
     "word_counts": '{"the": 3, "cat": 2, "sat": 2}', "word_docs": '{"sat": 2, "cat": 2, "the": 2}',
     "index_docs": '{"4": 2, "3": 2, "2": 2}', "index_word": '{"3": "cat", "2": "the", "4": "sat"}',
     "word_index": '{"cat": 3, "the": 2, "sat": 4}'},
    {"document_count": 2, "word_counts": "{}", "word_docs": "{}",
     "index_docs": '{"0": 1, "5": 2, "-3": 1}', "index_word": "{}", "word_index": "{}"},
    {"lower": False, "document_count": 1, "word_counts": '{"1": 1, "2": 2}',
     "word_docs": '{"1": 1, "2": 1}', "index_docs": '{"2": 1, "1": 1}',
     "index_word": '{"1": 2, "2": 1}', "word_index": '{"2": 1, "1": 2}'},
    {"document_count": 1, "word_counts": '{"a": 2, "b": 1}', "word_docs": "{}", "index_docs": "{}",
     "index_word": '{"1": "a", "2": "b"}', "word_index": '{"a": 1, "b": 2}'},
    {"oov_token": 0, "document_count": 1, "word_counts": '{"a": 1}', "word_docs": '{"a": 1}',
     "index_docs": '{"2": 1}', "index_word": '{"1": 0, "2": "a"}', "word_index": '{"0": 1, "a": 2}'},
]


@pytest.mark.parametrize("changes", GENUINE_KERAS_CONFIGS,
                         ids=["oov-in-corpus", "sequences-only", "int-tokens", "generator-analyzer",
                              "int-oov"])
def test_from_json_keeps_reading_what_keras_writes(changes):
    text = keras_json(changes)
    assert Vocabulary.from_json(text).to_json() == text


def test_oov_token_in_corpus_keeps_keras_indexing():
    v = Vocabulary.from_json(keras_json(GENUINE_KERAS_CONFIGS[0]))
    assert v.texts_to_sequences(["the cat sat zebra"]) == [[2, 3, 4, 3]]  # measured on tf_keras
    assert v.size == 5


# --- a call that raises changes nothing (issue 10 item 8) --------------------------------------
def state(v: Vocabulary) -> tuple:
    return (v.to_json(), type(v.word_docs), type(v.index_docs),
            list(v.word_index.items()), list(v.index_word.items()))


def test_failed_tokenize_changes_nothing_and_retry_matches_a_fresh_fit():
    v = Vocabulary()
    before = state(v)
    with pytest.raises(ValueError, match="seq_length"):
        v.tokenize(CORPUS, 16)  # the stream has 15 ids
    assert state(v) == before
    np.testing.assert_array_equal(v.tokenize(CORPUS, 15), Vocabulary().tokenize(CORPUS, 15))
    assert v.word_counts["the"] == 3  # counted once, not twice

    fitted_v = fitted(oov_token="<OOV>")
    before = state(fitted_v)
    with pytest.raises(ValueError, match="seq_length"):
        fitted_v.tokenize("new words", 3)
    assert state(fitted_v) == before


@pytest.mark.parametrize(
    "corpus, seq_length, step, error",
    [
        (CORPUS, 0, 1, ValueError),
        (CORPUS, 2, 0, ValueError),
        (CORPUS, 2.5, 1, ValueError),
        (["a b", 3], 1, 1, TypeError),
        (3, 1, 1, TypeError),
        (None, 1, 1, TypeError),
    ],
)
def test_tokenize_bad_arguments_change_nothing(corpus, seq_length, step, error):
    v = fitted()
    before = state(v)
    with pytest.raises(error, match="seq_length|step|corpus"):
        v.tokenize(corpus, seq_length, step)
    assert state(v) == before


def test_tokenize_analyzer_failing_on_second_pass_changes_nothing():
    calls = []

    def analyzer(text):  # works while fitting, fails while converting
        calls.append(text)
        if len(calls) > 1:
            raise ValueError("analyzer broke")
        return text.split()

    v = Vocabulary(analyzer=analyzer)
    before = state(v)
    with pytest.raises(ValueError, match="analyzer broke"):
        v.tokenize("a b c", 2)
    assert state(v) == before


def test_failed_fit_on_texts_changes_nothing():
    def lazy(text):  # a generator analyzer that fails half-way through the second text
        for word in text.split():
            if word == "boom":
                raise ValueError("analyzer failed")
            yield word

    v = Vocabulary(analyzer=lazy)
    v.fit_on_texts(["a b"])
    before = state(v)
    with pytest.raises(ValueError, match="analyzer failed"):
        v.fit_on_texts(["c d", "e boom f"])
    assert state(v) == before

    w = Vocabulary(lower=False)
    w.fit_on_texts([["a", "b"]])
    before = state(w)
    with pytest.raises(TypeError, match=r"texts\[1\].*unhashable"):
        w.fit_on_texts([["c"], ["d", ["nested"]]])
    assert state(w) == before


@pytest.mark.parametrize(
    "sequences, match",
    [
        ([[1, 2], [1.5]], r"integer ids.*1\.5.*sequences\[1\]"),
        ([[1, 2], [True]], r"integer ids.*True.*sequences\[1\]"),
        ([[1], ["x"]], r"integer ids.*'x'.*sequences\[1\]"),
        ([[1], "ab"], r"sequences\[1\]"),
        ([[1], 3], r"sequences\[1\]"),
        (3, "sequences"),
        (None, "sequences"),
    ],
)
def test_fit_on_sequences_refuses_non_integer_ids_and_changes_nothing(sequences, match):
    v = fitted()
    before = state(v)
    with pytest.raises(TypeError, match=match):
        v.fit_on_sequences(sequences)
    assert state(v) == before


def test_fit_on_sequences_numpy_ids_round_trip_through_json():
    v = Vocabulary()
    v.fit_on_sequences([np.array([0, -3, 5], dtype=np.int32), [np.int64(5)]])
    assert v.index_docs == {0: 1, -3: 1, 5: 2}
    assert Vocabulary.from_json(v.to_json()).to_json() == v.to_json()


def tv_state(layer: TextVectorization) -> tuple:
    return layer.get_vocabulary(), layer.vocabulary_size(), json.dumps(layer.get_config())


@pytest.mark.parametrize(
    "call",
    [
        lambda tv: tv.adapt(iter([["the new"], ["words", 3]])),  # second batch bad
        lambda tv: tv.adapt(["ok", 3]),
        lambda tv: tv.adapt(3),
        lambda tv: tv.adapt([["a", "b"], ["c"]]),
        lambda tv: tv.set_vocabulary(["x", "y", "x"]),
        lambda tv: tv.set_vocabulary(["x", 3]),
        lambda tv: tv.set_vocabulary(["x", "", "y"]),
        lambda tv: tv.set_vocabulary([]),
        lambda tv: tv.set_vocabulary("/nonexistent/vocabulary.txt"),
        lambda tv: tv.set_vocabulary(["x"], idf_weights=[1.0]),
    ],
)
def test_failed_text_vectorization_calls_change_nothing(call):
    tv = TextVectorization(max_tokens=20)
    tv.adapt(CORPUS)
    before = tv_state(tv)
    query = tv(["the cat and a zebra"])
    with pytest.raises((TypeError, ValueError)):
        call(tv)
    assert tv_state(tv) == before
    np.testing.assert_array_equal(tv(["the cat and a zebra"]), query)


# --- pad_sequences (spec 3.2) --------------------------------------------------------------
SEQS = [[1], [2, 3], [4, 5, 6, 7]]


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, [[0, 0, 0, 1], [0, 0, 2, 3], [4, 5, 6, 7]]),
        ({"maxlen": 3}, [[0, 0, 1], [0, 2, 3], [5, 6, 7]]),
        ({"maxlen": 3, "truncating": "post"}, [[0, 0, 1], [0, 2, 3], [4, 5, 6]]),
        ({"maxlen": 3, "padding": "post"}, [[1, 0, 0], [2, 3, 0], [5, 6, 7]]),
        ({"value": -1, "padding": "post"}, [[1, -1, -1, -1], [2, 3, -1, -1], [4, 5, 6, 7]]),
    ],
)
def test_pad_sequences_spec(kwargs, expected):
    out = pad_sequences(SEQS, **kwargs)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)


def test_pad_sequences_floats_values_empty_and_dtypes():
    np.testing.assert_array_equal(pad_sequences([[1.7, 2.2]]), [[1, 2]])
    np.testing.assert_array_equal(pad_sequences([[1], [2, 3]], value=0.5), [[0, 1], [2, 3]])
    np.testing.assert_array_equal(pad_sequences([[], [1, 2]]), [[0, 0], [1, 2]])
    np.testing.assert_array_equal(pad_sequences([[], []]), np.zeros((2, 0)))
    out = pad_sequences([[1.5], [2, 3]], dtype="float32", value=-0.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[-0.5, 1.5], [2, 3]])
    strings = pad_sequences([["a"], ["b", "c"]], dtype=object, value="<pad>")
    assert strings.tolist() == [["<pad>", "a"], ["b", "c"]]
    assert pad_sequences([[1, 2]], maxlen=0, truncating="post").shape == (1, 0)
    samples = pad_sequences([[[1, 2]], [[3, 4], [5, 6]]])  # (2, 2, 2): samples of shape (2,)
    np.testing.assert_array_equal(samples, [[[0, 0], [1, 2]], [[3, 4], [5, 6]]])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"padding": "middle"}, ValueError, "padding"),
        ({"truncating": "mid"}, ValueError, "truncating"),
        ({"maxlen": 0}, ValueError, "maxlen"),
        ({"maxlen": -1}, ValueError, "maxlen"),
        ({"maxlen": 2.5}, TypeError, "maxlen"),
        ({"value": "x"}, ValueError, "dtype"),
        ({"dtype": "not-a-dtype"}, TypeError, "dtype"),
    ],
)
def test_pad_sequences_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        pad_sequences(SEQS, **kwargs)


def test_pad_sequences_bad_sequences():
    with pytest.raises(ValueError, match="sequences"):
        pad_sequences(iter([[1]]))
    with pytest.raises(ValueError, match="non-iterable"):
        pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="maxlen"):
        pad_sequences([])
    assert pad_sequences([], maxlen=3).shape == (0, 3)
    with pytest.raises(ValueError, match="Shape of sample"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


# --- TextVectorization (spec 3.3) -------------------------------------------------------------
def adapted(**kwargs) -> TextVectorization:
    tv = TextVectorization(**kwargs)
    tv.adapt(CORPUS)
    return tv


def test_tv_vocabulary_order_and_call():
    tv = adapted()
    assert tv.get_vocabulary() == SPEC_TV_VOCAB
    assert tv.vocabulary_size() == 11
    out = tv(["the cat", "zebra zebra dog unknown"])  # measured
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[2, 5, 0, 0], [7, 7, 4, 1]])
    assert tv.get_vocabulary(include_special_tokens=False) == SPEC_TV_VOCAB[2:]


def test_tv_max_tokens_counts_special_tokens():
    assert adapted(max_tokens=5).get_vocabulary() == ["", "[UNK]", "the", "sat", "dog"]


def test_tv_output_sequence_length():
    tv = adapted(output_sequence_length=4)
    np.testing.assert_array_equal(tv(["the cat", "the cat sat on the mat"]), [[2, 5, 0, 0], [2, 5, 3, 8]])


def test_tv_adapt_replaces_and_empty_adapt_keeps():
    tv = adapted()
    tv.adapt(["x y"])
    assert tv.get_vocabulary() == ["", "[UNK]", "y", "x"]
    tv.adapt(["", "!!!"])  # measured: no token at all -> vocabulary unchanged
    assert tv.get_vocabulary() == ["", "[UNK]", "y", "x"]


@pytest.mark.parametrize(
    "standardize, expected",  # measured on "Don't e-mail ÄÖ! Ab ab"
    [
        ("lower", ["", "[UNK]", "ab", "ÄÖ!", "e-mail", "don't"]),
        ("strip_punctuation", ["", "[UNK]", "ÄÖ", "email", "ab", "Dont", "Ab"]),
        (None, ["", "[UNK]", "ÄÖ!", "e-mail", "ab", "Don't", "Ab"]),
        ("lower_and_strip_punctuation", ["", "[UNK]", "ab", "ÄÖ", "email", "dont"]),
    ],
)
def test_tv_standardize(standardize, expected):
    tv = TextVectorization(standardize=standardize)
    tv.adapt(["Don't e-mail ÄÖ! Ab ab"])
    assert tv.get_vocabulary() == expected


def test_tv_standardize_deletes_punctuation_without_splitting():
    tv = TextVectorization(vocabulary=["helloworld", "dont", "email"])
    np.testing.assert_array_equal(tv(["hello,world don't e-mail"]), [[2, 3, 4]])


def test_tv_whitespace_is_ascii_only():
    tv = TextVectorization(standardize=None, split="whitespace", vocabulary=["a", "b"])
    for sep in [" ", "\t", "\n", "\x0b", "\x0c", "\r", "  \r\n "]:
        np.testing.assert_array_equal(tv(["a" + sep + "b"]), [[2, 3]])
    for sep in ["\xa0", "\x1c", "\x85", "\u2028", "\u3000"]:
        np.testing.assert_array_equal(tv(["a" + sep + "b"]), [[1]])


def test_tv_character_split_keeps_spaces():
    tv = TextVectorization(split="character")
    tv.adapt(["ab a", "Ä!é"])  # measured
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "é", "Ä", "b", " "]
    np.testing.assert_array_equal(tv(["ab  c", ""]), [[2, 5, 6, 6, 1], [0, 0, 0, 0, 0]])


def test_tv_ties_descending_byte_order():
    tv = TextVectorization()
    tv.adapt(["z b a é ä Ä e c 9 10"])  # measured
    assert tv.get_vocabulary()[2:] == ["é", "ä", "Ä", "z", "e", "c", "b", "a", "9", "10"]


def test_tv_special_tokens_in_data_are_not_learned():
    tv = TextVectorization(standardize=None)
    tv.adapt(["[UNK] [UNK] x", "", "Y y"])  # measured
    assert tv.get_vocabulary() == ["", "[UNK]", "y", "x", "Y"]
    np.testing.assert_array_equal(tv(["[UNK] x Y"]), [[1, 3, 4]])


def test_tv_input_forms():
    tv = adapted()
    np.testing.assert_array_equal(tv("the cat sat"), [2, 5, 3])  # one string -> (L,)
    np.testing.assert_array_equal(tv(np.array([["the cat"], ["dog"]])), [[2, 5], [4, 0]])
    np.testing.assert_array_equal(tv(("the", "cat")), [[2], [5]])
    assert tv([]).shape == (0, 0)
    np.testing.assert_array_equal(tv([b"the cat"]), [[2, 5]])
    np.testing.assert_array_equal(tv(np.array([[["a a"]], [["a"]]])), [[[6, 6]], [[6, 0]]])


def test_tv_input_errors():
    tv = adapted()
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        tv(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="inputs"):
        tv([1, 2])
    with pytest.raises(TypeError, match="inputs"):
        tv(["a", None])
    with pytest.raises(ValueError, match="rectangular"):
        tv([["a"], ["b", "c"]])
    with pytest.raises(ValueError, match="vocabulary"):
        TextVectorization()(["a"])


def test_tv_output_sequence_length_edges():
    tv = TextVectorization(vocabulary=["a", "b"], output_sequence_length=0)
    assert tv(["a b a", "b", ""]).shape == (3, 0)
    tv = TextVectorization(vocabulary=["a", "b"], output_sequence_length=3)
    np.testing.assert_array_equal(tv(["a b a b"]), [[2, 3, 2]])
    np.testing.assert_array_equal(tv("a"), [2, 0, 0])
    assert tv([]).shape == (0, 3)
    with pytest.raises(ValueError, match="output_sequence_length"):
        TextVectorization(output_sequence_length=-1)
    with pytest.raises(ValueError, match="output_sequence_length"):
        TextVectorization(output_sequence_length=2.0)


def test_tv_split_none():  # measured
    tv = TextVectorization(split=None, vocabulary=["a b", "c"])
    np.testing.assert_array_equal(tv(["a b", "c", "d", ""]), [2, 3, 1, 0])
    np.testing.assert_array_equal(tv(np.array([["a b"], ["c"]])), [[2], [3]])
    assert tv("c").shape == () and int(tv("c")) == 3
    np.testing.assert_array_equal(tv(np.array([["a b", "c"]])), [[2, 3]])
    tv = TextVectorization(split=None, vocabulary=["a b", "c"], output_sequence_length=3)
    np.testing.assert_array_equal(tv(["a b", "c", "d", "", "c"]), [2, 3, 1])
    np.testing.assert_array_equal(tv(np.array([["a b"], ["c"]])), [[2, 0, 0], [3, 0, 0]])
    with pytest.raises(ValueError):
        tv("c")


def test_tv_ngrams():  # measured
    tv = TextVectorization(ngrams=(1, 3))
    tv.adapt(["a b c d"])
    assert tv.get_vocabulary() == ["", "[UNK]", "d", "c", "b c d", "b", "a b c", "a"]
    np.testing.assert_array_equal(tv(["a b c d", "a"]), [[7, 5, 3, 2, 6, 4], [7, 0, 0, 0, 0, 0]])
    tv = TextVectorization(ngrams=(2, 2))
    tv.adapt(["a b c", "d"])
    np.testing.assert_array_equal(tv(["a b c", "d", ""]), [[3, 2, 3, 2], [0] * 4, [0] * 4])
    tv = TextVectorization(ngrams=0)
    tv.adapt(["a b"])
    assert tv.get_vocabulary() == ["", "[UNK]"]
    tv = TextVectorization(split=None, ngrams=2, vocabulary=["a", "b", "a b", "b c"])
    np.testing.assert_array_equal(tv(["a", "b", "c"]), [2, 3, 1, 4, 5])
    with pytest.raises(ValueError, match="ngrams"):
        TextVectorization(ngrams=(0,))
    with pytest.raises(ValueError, match="ngrams"):
        TextVectorization(ngrams=[1, 2])


def test_tv_ragged():
    tv = TextVectorization(vocabulary=["a"], ragged=True)
    rows = tv(["a a", "a", ""])
    assert [r.tolist() for r in rows] == [[2, 2], [2], []]
    assert all(r.dtype == np.int64 for r in rows)
    tv = TextVectorization(vocabulary=["a"], ragged=True, output_sequence_length=1)
    assert [r.tolist() for r in tv(["a a", ""])] == [[2], []]


def test_tv_vocabulary_argument():  # measured
    tv = TextVectorization(vocabulary=["earth", "wind", "and", "fire"], output_sequence_length=4)
    assert tv.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert TextVectorization(vocabulary=["", "[UNK]", "a"]).get_vocabulary() == ["", "[UNK]", "a"]
    assert TextVectorization(vocabulary=["[UNK]", "a"]).get_vocabulary() == ["", "[UNK]", "[UNK]", "a"]
    assert TextVectorization(vocabulary=("p",)).get_vocabulary() == ["", "[UNK]", "p"]
    assert TextVectorization(vocabulary=np.array(["x", "y"])).get_vocabulary() == ["", "[UNK]", "x", "y"]
    with pytest.raises(ValueError, match="adapt"):
        tv.adapt(["q"])


@pytest.mark.parametrize(
    "vocabulary, error, match",
    [
        (["a", "a"], ValueError, "repeated"),
        (["", "a"], ValueError, "mask token"),
        ([], ValueError, "empty"),
        (["", "[UNK]"], ValueError, "at least one token"),
        ([1, 2], TypeError, "vocabulary"),
        (np.array([["a"], ["b"]]), ValueError, "1-D"),
    ],
)
def test_tv_bad_vocabulary(vocabulary, error, match):
    with pytest.raises(error, match=match):
        TextVectorization(vocabulary=vocabulary)


def test_tv_set_vocabulary_after_adapt_and_max_tokens():
    tv = adapted(max_tokens=4)
    tv.set_vocabulary(["q"])
    assert tv.get_vocabulary() == ["", "[UNK]", "q"]
    tv.adapt(["r"])  # set_vocabulary does not forbid adapt (measured)
    assert tv.get_vocabulary() == ["", "[UNK]", "r"]
    with pytest.raises(ValueError, match="max_tokens"):
        tv.set_vocabulary(["a", "b", "c"])


def test_tv_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes("a\r\nb\n[UNK]\n x \n".encode())
    tv = TextVectorization(vocabulary=str(path), standardize=None, split=None)
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "b", "[UNK]", " x "]
    assert tv.get_config()["vocabulary"] is None
    path.write_text("a\n\nb\n")
    with pytest.raises(ValueError, match="empty line"):
        TextVectorization(vocabulary=str(path))
    with pytest.raises(ValueError, match="does not exist"):
        TextVectorization(vocabulary=str(tmp_path / "missing.txt"))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"max_tokens": 1}, ValueError),
        ({"max_tokens": 0}, ValueError),
        ({"max_tokens": -3}, ValueError),
        ({"max_tokens": 2.0}, ValueError),
        ({"standardize": "bogus"}, ValueError),
        ({"split": "bogus"}, ValueError),
        ({"standardize": 3}, ValueError),
        ({"output_mode": "bogus"}, ValueError),
        ({"output_mode": "count", "sparse": True}, NotImplementedError),
        ({"output_mode": "tf-idf", "output_sequence_length": 4}, ValueError),
        ({"output_mode": "multi_hot", "ragged": True}, ValueError),
        ({"output_mode": "count", "idf_weights": [1.0]}, ValueError),
        ({"output_mode": "tf_idf", "vocabulary": ["a"]}, ValueError),
        ({"output_mode": "tf_idf", "dtype": "float16"}, ValueError),
        ({"standardize": str.lower}, NotImplementedError),
        ({"split": str.split}, NotImplementedError),
        ({"sparse": True}, ValueError),
        ({"pad_to_max_tokens": True}, ValueError),
        ({"idf_weights": [1.0]}, ValueError),
        ({"foo": 1}, ValueError),
    ],
)
def test_tv_bad_options(kwargs, error):
    with pytest.raises(error):
        TextVectorization(**kwargs)


def test_tv_max_tokens_two_cannot_learn():
    tv = TextVectorization(max_tokens=2)
    with pytest.raises(ValueError, match="no token"):
        tv.adapt(CORPUS)
    assert tv.get_vocabulary() == ["", "[UNK]"]


def test_tv_config_round_trip():
    tv = adapted(max_tokens=8, output_sequence_length=5, ngrams=(1, 2), name="tv")
    config = tv.get_config()
    assert config["max_tokens"] == 8 and config["ngrams"] == (1, 2) and config["name"] == "tv"
    assert config["vocabulary"] is None and config["vocabulary_size"] == 8
    clone = TextVectorization.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == {**config, "ngrams": (1, 2), "vocabulary_size": 2}
    clone.set_vocabulary(tv.get_vocabulary())
    np.testing.assert_array_equal(clone(["the cat sat"]), tv(["the cat sat"]))


def test_pad_sequences_overflow_is_value_error():
    with pytest.raises(ValueError, match="dtype"):
        pad_sequences([[300]], dtype="uint8")
    with pytest.raises(ValueError, match="value"):
        pad_sequences([[1], [1, 2]], dtype="uint8", value=-1)


def test_tv_trailing_nul_handling_like_keras():  # measured on Keras 3.15.1
    tv = TextVectorization(vocabulary=["a\x00", "b"], standardize=None)  # list: NULs dropped
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "b"]
    np.testing.assert_array_equal(tv(["a", "a\x00", "\x00b"]), [[2], [1], [1]])
    tv = TextVectorization(vocabulary=np.array(["a\x00", "b"], dtype=object), standardize=None)
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "b"]  # exact inside, stripped when shown
    np.testing.assert_array_equal(tv(["a", "a\x00", "\x00b"]), [[1], [2], [1]])
    with pytest.raises(ValueError, match="repeated"):
        TextVectorization(vocabulary=["a", "a\x00"])
    with pytest.raises(ValueError, match="mask token"):
        TextVectorization(vocabulary=["\x00"])
    tv = TextVectorization(standardize=None)
    tv.adapt(["a\x00 a\x00 b \x00 \x00\x00c"])
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "b", "\x00\x00c", ""]
    np.testing.assert_array_equal(tv(["a\x00 a b \x00 \x00\x00c"]), [[2, 1, 3, 5, 4]])
