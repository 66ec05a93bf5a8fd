"""TextVectorization's output modes other than "int", NumPy only, against values worked out by
hand from Keras's rules (keras/src/layers/preprocessing/index_lookup.py): vocabularies per mode,
multi_hot / count / one_hot / tf_idf encodings and shapes, the idf formula, pad_to_max_tokens,
given vocabularies and idf weights, ngrams, errors, the frozen vocabulary size, configs."""
from __future__ import annotations

import math

import numpy as np
import pytest

from numpy_rnn import TextVectorization
from numpy_rnn.text import encoding

CORPUS = ["the cat sat", "the dog sat on the mat", "", "a cat"]


def adapted(**kwargs):
    tv = TextVectorization(**kwargs)
    tv.adapt(CORPUS)
    return tv


def test_vocabulary_has_no_mask_token_outside_int_mode():
    assert adapted().get_vocabulary()[:2] == ["", "[UNK]"]
    for mode in ("multi_hot", "count", "one_hot", "tf_idf"):
        tv = adapted(output_mode=mode)
        # counts: the 3, sat 2, cat 2, then ones by descending token
        assert tv.get_vocabulary() == ["[UNK]", "the", "sat", "cat", "on", "mat", "dog", "a"]
        assert tv.vocabulary_size() == 8
        assert tv.get_vocabulary(include_special_tokens=False)[0] == "the"
    assert adapted(output_mode="count", max_tokens=4).get_vocabulary() == \
        ["[UNK]", "the", "sat", "cat"]  # max_tokens - 1 learned tokens
    assert adapted(max_tokens=4).get_vocabulary() == ["", "[UNK]", "the", "sat"]


def test_multi_hot_count_one_hot_by_hand():
    queries = ["the cat the zzz", "mat"]
    multi = adapted(output_mode="multi_hot")(queries)
    count = adapted(output_mode="count")(queries)
    assert multi.dtype == count.dtype == np.int64 and multi.shape == (2, 8)
    np.testing.assert_array_equal(count[0], [1, 2, 0, 1, 0, 0, 0, 0])  # [UNK]=zzz, the x2, cat
    np.testing.assert_array_equal(multi[0], [1, 1, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(count[1], [0, 0, 0, 0, 0, 1, 0, 0])
    one = adapted(output_mode="one_hot")
    rows = one(queries)  # Keras: a ragged (batch, None, depth); here one array per string
    assert isinstance(rows, list) and [r.shape for r in rows] == [(4, 8), (1, 8)]
    np.testing.assert_array_equal(rows[0].argmax(axis=1), [1, 3, 1, 0])
    single = one("the dog")
    assert single.shape == (2, 8) and single.dtype == np.int64
    assert adapted(output_mode="count")("the the").tolist() == [0, 2, 0, 0, 0, 0, 0, 0]


def test_tf_idf_weights_by_hand():
    tv = adapted(output_mode="tf_idf")
    n_docs = len(CORPUS)
    doc_freq = {"the": 2, "sat": 2, "cat": 2, "on": 1, "mat": 1, "dog": 1, "a": 1}
    tokens = tv.get_vocabulary()[1:]
    weights = np.array([math.log(1 + n_docs / (1 + doc_freq[t])) for t in tokens], np.float32)
    expected = np.concatenate([[weights.mean()], weights]).astype(np.float32)
    np.testing.assert_allclose(tv.idf_weights, expected, rtol=1e-7)
    out = tv(["the the zzz"])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, :2], [expected[0], 2 * expected[1]], rtol=1e-7)
    assert not out[0, 2:].any()


def test_tf_idf_float64():
    tv = adapted(output_mode="tf_idf", dtype="float64")
    assert tv.idf_weights.dtype == np.float64 and tv(["cat"]).dtype == np.float64
    assert tv.idf_weights[3] == math.log(1 + 4 / 3)


def test_pad_to_max_tokens():
    for mode in ("multi_hot", "count", "tf_idf"):
        out = adapted(output_mode=mode, max_tokens=12, pad_to_max_tokens=True)(["cat a"])
        assert out.shape == (1, 12) and not out[:, 8:].any()
    tv = adapted(output_mode="tf_idf", max_tokens=12, pad_to_max_tokens=True)
    assert tv.idf_weights.shape == (12,) and not tv.idf_weights[8:].any()
    with pytest.raises(ValueError, match="pad_to_max_tokens"):
        TextVectorization(output_mode="count", pad_to_max_tokens=True)


def test_split_none_shapes_follow_keras():
    """One string one token; multi_hot / count sum over axis 1 (axis 0 for a 1-D batch: Keras
    takes the whole batch as one sample), one_hot drops a last axis of 1."""
    tv = TextVectorization(output_mode="count", split=None, vocabulary=["a", "b"])
    assert tv(["a", "a", "zz"]).tolist() == [1, 2, 0]
    assert tv(np.array([["a"], ["b"]])).tolist() == [[0, 1, 0], [0, 0, 1]]
    assert tv(np.array([[["a", "b"], ["a", "a"], ["b", ""]]])).tolist() == [
        [[0, 2, 1], [0, 1, 1]]]  # (1, 3, 2) ids: summed over axis 1; '' counts nowhere
    one = TextVectorization(output_mode="one_hot", split=None, vocabulary=["a", "b"])
    assert one(["a", "b", ""]).tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert one(np.array([["b"]])).shape == (1, 3)
    assert one("a").tolist() == [[0, 1, 0]]  # a scalar becomes (1,) first
    assert TextVectorization(output_mode="multi_hot", split=None, vocabulary=["a"])(
        "a").tolist() == [0, 1]


def test_ngrams_are_joined_with_a_space():
    tv = TextVectorization(output_mode="count", ngrams=2, vocabulary=["a", "a b", "b"])
    assert tv(["a b a b"]).tolist() == [[1, 2, 2, 2]]  # 'b a' is out of vocabulary
    tv = TextVectorization(output_mode="multi_hot", ngrams=(2,), vocabulary=["x y"])
    assert tv(["x y z"]).tolist() == [[1, 1]]


def test_given_vocabulary_and_idf_weights():
    tv = TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[1.0, 3.0])
    np.testing.assert_array_equal(tv.idf_weights, np.float32([2.0, 1.0, 3.0]))  # [UNK]: average
    tv = TextVectorization(output_mode="tf_idf", vocabulary=["[UNK]", "a", "b"],
                           idf_weights=[0.5, 1.0, 3.0], max_tokens=5, pad_to_max_tokens=True)
    np.testing.assert_array_equal(tv.idf_weights, np.float32([0.5, 1.0, 3.0, 0, 0]))
    np.testing.assert_array_equal(tv(["b b q"]), np.float32([[0.5, 0, 6.0, 0, 0]]))
    assert tv.get_config()["idf_weights"] == [0.5, 1.0, 3.0]
    tv.set_vocabulary(["c", "d"], idf_weights=np.array([4.0, 2.0]))
    assert tv.get_vocabulary() == ["[UNK]", "c", "d"]
    multi = TextVectorization(output_mode="multi_hot", vocabulary=["[UNK]", "x"])
    assert multi.get_vocabulary() == ["[UNK]", "x"]


@pytest.mark.parametrize("kwargs, call, error, needle", [
    ({"output_mode": "tf_idf", "vocabulary": ["a"]}, None, ValueError, "idf_weights"),
    ({"output_mode": "count", "vocabulary": ["a"], "idf_weights": [1.0]}, None, ValueError,
     "idf_weights"),
    ({"output_mode": "tf_idf", "vocabulary": ["a", "b"], "idf_weights": [1.0]}, None,
     ValueError, "same length"),
    ({"output_mode": "tf_idf", "vocabulary": ["a"], "idf_weights": [[1.0]]}, None, ValueError,
     "1-index"),
    ({"output_mode": "multi_hot", "vocabulary": ["", "[UNK]", "a"]}, None, ValueError,
     "mask token"),
    ({"output_mode": "count", "vocabulary": ["a", "b", "c"], "max_tokens": 3}, None, ValueError,
     "maximum vocab size"),
    ({"output_mode": "count", "output_sequence_length": 3}, None, ValueError,
     "output_sequence_length"),
    ({"output_mode": "one_hot", "ragged": True}, None, ValueError, "ragged"),
    ({"output_mode": "count", "sparse": True}, None, NotImplementedError, "sparse"),
    ({"output_mode": "count"}, ["a"], RuntimeError, "pad_to_max_tokens=False"),
    ({"output_mode": "count", "vocabulary": ["a"]}, np.array([[["a"]]]), ValueError,
     "(batch,) or"),
])
def test_errors(kwargs, call, error, needle):
    with pytest.raises(error, match=needle.replace("(", r"\(").replace(")", r"\)")):
        tv = TextVectorization(**kwargs)
        tv(call)


def test_tf_idf_vocabulary_file_refused(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\n")
    tv = TextVectorization(output_mode="tf_idf")
    with pytest.raises(ValueError, match="from file"):
        tv.set_vocabulary(str(path), idf_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="idf_weights"):
        tv.set_vocabulary(["a"])
    count = TextVectorization(output_mode="count", vocabulary=str(path))
    assert count.get_vocabulary() == ["[UNK]", "a", "b"]


def test_frozen_vocabulary_size_as_keras():
    """Outside "int" mode without pad_to_max_tokens the vocabulary size is fixed once set: a
    second adapt of another size raises RuntimeError and changes nothing."""
    tv = adapted(output_mode="multi_hot")
    before = tv.get_vocabulary()
    with pytest.raises(RuntimeError, match="cannot be changed"):
        tv.adapt(["x y"])
    assert tv.get_vocabulary() == before
    tv.adapt(["p q r s t u v"])  # the same size is fine
    assert tv.vocabulary_size() == 8
    free = adapted(output_mode="count", max_tokens=20, pad_to_max_tokens=True)
    free.adapt(["x y"])
    assert free.get_vocabulary() == ["[UNK]", "y", "x"]
    again = adapted()  # "int" mode: no freezing
    again.adapt(["x y"])
    assert again.vocabulary_size() == 4


def test_config_round_trip():
    for tv in (adapted(output_mode="tf_idf", ngrams=(1, 2)),
               TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"],
                                 idf_weights=np.array([1.0, 2.0]), dtype="float64"),
               adapted(output_mode="one_hot", split=None, max_tokens=9, pad_to_max_tokens=True)):
        cfg = tv.get_config()
        again = TextVectorization.from_config(cfg)
        if cfg["vocabulary"] is None:  # adapted: the vocabulary is not in the config (Keras
            # keeps it in the .keras assets), its size is, and is frozen as in Keras
            assert again.get_config() == cfg | {"vocabulary_size": 1}
            if not cfg["pad_to_max_tokens"]:
                with pytest.raises(RuntimeError, match="cannot be changed"):
                    again.set_vocabulary(["x"], **({"idf_weights": [1.0]}
                                                  if cfg["output_mode"] == "tf_idf" else {}))
                again.set_vocabulary(tv.get_vocabulary(), **(
                    {"idf_weights": tv.idf_weights} if cfg["output_mode"] == "tf_idf" else {}))
                assert again.get_config() == cfg
        else:
            assert again.get_config() == cfg
    static = TextVectorization.from_config(
        TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"],
                          idf_weights=[1.0, 2.0]).get_config())
    np.testing.assert_array_equal(static(["a b b q"]), np.float32([[1.5, 1.0, 4.0]]))


def test_encoding_helpers():
    ids = np.array([[1, 1, encoding.DROPPED], [0, 2, 2]])
    np.testing.assert_array_equal(encoding.counts(ids, 3), [[0, 2, 0], [1, 0, 2]])
    np.testing.assert_array_equal(encoding.one_hot(np.array([2, encoding.DROPPED]), 3),
                                  [[0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(encoding.dense_rows([[1], [], [2, 0]]),
                                  [[1, -1], [-1, -1], [2, 0]])
    idf = encoding.idf_from_documents([0, 3], 3, np.float64)
    np.testing.assert_allclose(idf, [math.log(4), math.log(1.75)])


def test_tf_idf_adapt_without_tokens():
    """Keras fails (AttributeError) adapting a fresh tf_idf layer on data without a token (here:
    no 2-gram); an adapted layer keeps its vocabulary and weights, as in Keras."""
    tv = TextVectorization(output_mode="tf_idf", ngrams=(2,))
    with pytest.raises(ValueError, match="no token"):
        tv.adapt(["single", ""])
    assert tv.idf_weights is None and tv.vocabulary_size() == 1
    tv.adapt(["a b", "b c"])
    before = tv.idf_weights
    tv.adapt(["lonely"])
    np.testing.assert_array_equal(tv.idf_weights, before)
