"""Property-based parity of ``TextVectorization``'s output modes other than ``"int"``
(``multi_hot``, ``count``, ``one_hot``, ``tf_idf``; ``ngrams``, ``pad_to_max_tokens``) against
``keras.layers.TextVectorization`` on random hostile corpora: the vocabulary, the config, the
learned idf weights, and every call (a batch, a ``(batch, 1)`` array, one string; ``split=None``
also a 2-D array) -- integers exactly, ``tf_idf`` at the tolerance table's float32 entry.  With a
given vocabulary (and idf weights), with and without the ``'[UNK]'`` entry in front."""
from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from numpy_rnn import TextVectorization, testing  # noqa: E402
from numpy_rnn.text import encoding  # noqa: E402
from parity.strategies import text as ts  # noqa: E402

#: A third of the profile's examples per test (at least 10): 13 tests, each example adapting and
#: calling a Keras layer (ci profile: about 30 s in all).
slow_ok = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much],
                   max_examples=max(10, settings().max_examples // 3))
MODES = ("multi_hot", "count", "one_hot", "tf_idf")


def run(fn, *args, **kwargs):
    """("ok", value) or ("error", exception)."""
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any Keras failure is an outcome to compare
        return "error", exc


def assert_same_output(ours, theirs, what: str) -> None:
    """Equal arrays (exact for integers, the float32 tolerance for tf_idf) of the same dtype; a
    ragged Keras result (one_hot of split strings) row by row against our list of rows."""
    __tracebackhide__ = True
    if hasattr(theirs, "to_list"):
        depth = theirs.shape[-1]
        rows = [np.asarray(r, theirs.dtype.as_numpy_dtype).reshape(-1, depth)
                for r in theirs.to_list()]
        assert isinstance(ours, list) and len(ours) == len(rows), f"{what}: rows differ"
        for mine, row in zip(ours, rows):
            assert_same_output(mine, row, what)
        return
    theirs = np.asarray(theirs)
    assert isinstance(ours, np.ndarray), f"{what}: {type(ours).__name__}, Keras an array"
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} != Keras {theirs.dtype}"
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != Keras {theirs.shape}"
    if theirs.dtype.kind == "f":
        tol = testing.lookup(testing.comparison_dtype(theirs.dtype))
        np.testing.assert_allclose(ours, theirs, rtol=tol.rtol, atol=tol.atol, err_msg=what)
    else:
        np.testing.assert_array_equal(ours, theirs, err_msg=what)


def compare_calls(ours, theirs, queries, label) -> None:
    __tracebackhide__ = True
    inputs_list = [queries, np.array([[q] for q in queries]), queries[0]]
    if ours.split is None:
        inputs_list.append(np.array([queries[:2], queries[-2:]]))
    for inputs in inputs_list:
        (o_kind, o_val), (k_kind, k_val) = run(ours, inputs), run(theirs, inputs)
        what = f"{label} call on {inputs!r}"
        if k_kind == "error":
            assert o_kind == "error", f"{what}: Keras raised {k_val!r}, numpy_rnn returned"
            assert isinstance(o_val, (ValueError, TypeError, RuntimeError)), f"{what}: {o_val!r}"
            continue
        assert o_kind == "ok", f"{what}: numpy_rnn raised {o_val!r}"
        assert_same_output(o_val, k_val, what)


def assert_same_idf(ours, theirs) -> None:
    __tracebackhide__ = True
    expected = np.asarray(theirs._lookup_layer.idf_weights_const)
    tol = testing.lookup("float32")
    np.testing.assert_allclose(ours.idf_weights, expected, rtol=tol.rtol, atol=tol.atol)
    assert ours.idf_weights.dtype == expected.dtype


#: Every mode with a whitespace split and with split=None; one mode also per character.
GRID = [(mode, split) for mode in MODES for split in ("whitespace", None)]
GRID += [("count", "character")]


@pytest.mark.parametrize("mode, split", GRID)
@slow_ok
@given(data=st.data())
def test_output_modes_adapt_and_call_match_keras(mode, split, data):
    case = data.draw(ts.text_vectorization_cases(split=split, output_mode=mode), label="case")
    theirs = keras.layers.TextVectorization(**case.options)
    ours = TextVectorization(**case.options)
    (k_kind, k_val), (o_kind, o_val) = run(theirs.adapt, case.corpus), run(ours.adapt, case.corpus)
    assert (k_kind == "error") == (o_kind == "error"), (case.options, k_val, o_val)
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()], case.options
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    if mode == "tf_idf" and k_kind == "ok":
        assert_same_idf(ours, theirs)
    compare_calls(ours, theirs, case.queries, str(case.options))
    if k_kind == "ok":
        assert ours.get_config() == theirs.get_config() | {"name": ours.name}


@pytest.mark.parametrize("mode", MODES)
@slow_ok
@given(vocabulary=ts.vocabulary_lists(), queries=ts.corpora(min_size=1, max_size=3),
       unk_first=st.booleans(), data=st.data())
def test_output_modes_given_vocabulary_match_keras(mode, vocabulary, queries, unk_first, data):
    options = data.draw(ts.text_vectorization_options(split="whitespace", output_mode=mode),
                        label="options")
    if unk_first:
        vocabulary = ["[UNK]"] + [t for t in vocabulary if t != "[UNK]"]
    if mode == "tf_idf":
        options["idf_weights"] = data.draw(ts.idf_weight_lists(len(vocabulary)), label="idf")
    queries = queries + vocabulary[:1] + ["", "[UNK]"]
    k_run = run(keras.layers.TextVectorization, vocabulary=vocabulary, **options)
    o_run = run(TextVectorization, vocabulary=vocabulary, **options)
    label = f"vocabulary={vocabulary!r} {options}"
    assert (k_run[0] == "error") == (o_run[0] == "error"), (label, k_run[1], o_run[1])
    if k_run[0] == "error":
        assert isinstance(o_run[1], (ValueError, TypeError)), (label, o_run[1])
        return
    ours, theirs = o_run[1], k_run[1]
    assert ours.get_vocabulary() == [str(t) for t in theirs.get_vocabulary()]
    if mode == "tf_idf":
        assert_same_idf(ours, theirs)
    compare_calls(ours, theirs, queries, label)
    expected = json.loads(json.dumps(theirs.get_config() | {"name": ours.name}))
    assert json.loads(json.dumps(ours.get_config())) == expected


# -- teeth: a planted idf bug must fail the properties above ------------------------------------
def _idf_without_smoothing(document_counts, num_documents, dtype):
    df = np.asarray(document_counts, np.int64)
    return np.log(1 + num_documents / np.maximum(df, 1)).astype(dtype)  # 1 + df -> df


def _idf_without_one_plus(document_counts, num_documents, dtype):
    df = np.asarray(document_counts, np.int64)
    return np.log(num_documents / (1 + df)).astype(dtype)  # log(1 + x) -> log(x)


@pytest.mark.parametrize("plant", [_idf_without_smoothing, _idf_without_one_plus],
                         ids=["df not smoothed", "log without 1 +"])
def test_planted_idf_formula_bugs_are_caught(plant, monkeypatch):
    monkeypatch.setattr(encoding, "idf_from_documents", plant)

    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def prop(data):
        test_output_modes_adapt_and_call_match_keras.hypothesis.inner_test(
            mode="tf_idf", split="whitespace", data=data)

    with pytest.raises(AssertionError):
        prop()
