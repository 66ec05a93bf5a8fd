"""Text-pipeline parity cases: Vocabulary vs tf_keras's Tokenizer, TextVectorization vs
keras.layers.TextVectorization (every output mode: ids, multi-hot, counts, one-hot vectors, tf-idf
with the idf weights adapt learns) and pad_sequences vs keras.utils.pad_sequences, on the shipped
corpus and on hostile text.  Token ids and integer encodings must match exactly, tf-idf values
within the float32 tolerance."""
from __future__ import annotations

import numpy as np

import numpy_rnn

from ..bridge import compare_text, install_hint
from ..bridge.text import compare_text_vectorization
from ..report import ParityReport, diff_arrays
from .case import Case, register

HOSTILE = [
    "Ä ÖÜ straße ÉCOLE école", "don't\tstop\nthe e-mail, (now)!", "a\rb c\xa0d  e",
    "", "!!!", "the the THE The", "9 10 99 10", "tab\tand\ttabs", "x-y_z [w] {v}",
]

TOKENIZER_OPTIONS = {
    "default": {},
    "oov+num_words=50": {"oov_token": "<OOV>", "num_words": 50},
    "char_level": {"char_level": True},
    "lower=False split=','": {"lower": False, "split": ","},
}

VECTORIZER_OPTIONS = {
    "default": {},
    "max_tokens=60 length=12": {"max_tokens": 60, "output_sequence_length": 12},
    "lower only, split=character": {"standardize": "lower", "split": "character",
                                    "output_sequence_length": 30},
    "multi_hot max_tokens=60": {"output_mode": "multi_hot", "max_tokens": 60},
    "count ngrams=2": {"output_mode": "count", "ngrams": 2, "max_tokens": 80},
    "one_hot split=None": {"output_mode": "one_hot", "split": None, "max_tokens": 30},
    "tf_idf pad_to_max_tokens": {"output_mode": "tf_idf", "max_tokens": 70,
                                 "pad_to_max_tokens": True},
}


def tokenizer_case(option: str, texts: list[str], name: str) -> ParityReport:
    try:
        from tf_keras.preprocessing.text import Tokenizer, tokenizer_from_json
    except ImportError:
        return ParityReport(name, [], skipped=f"tf_keras is not installed "
                                              f"({install_hint('legacy')})")

    kwargs = TOKENIZER_OPTIONS[option]
    tok = Tokenizer(**kwargs)
    tok.fit_on_texts(texts)
    vocab = numpy_rnn.Vocabulary(**kwargs)
    vocab.fit_on_texts(texts)
    report = compare_text(vocab, tok, texts, case=name)
    # JSON both ways: our JSON read by Keras and Keras's JSON read by us give the same ids.
    back = tokenizer_from_json(vocab.to_json())
    ids_a = [i for s in back.texts_to_sequences(texts) for i in s]
    ids_b = [i for s in numpy_rnn.Vocabulary.from_json(tok.to_json()).texts_to_sequences(texts)
             for i in s]
    expected = np.array([i for s in tok.texts_to_sequences(texts) for i in s], dtype=np.int64)
    report.outputs.append(diff_arrays("json->keras", np.array(ids_a, np.int64), expected,
                                      rtol=0, atol=0))
    report.outputs.append(diff_arrays("keras json->np", np.array(ids_b, np.int64), expected,
                                      rtol=0, atol=0))
    return report


def vectorizer_case(option: str, texts: list[str], name: str) -> ParityReport:
    import keras

    kwargs = VECTORIZER_OPTIONS[option]
    try:
        k = keras.layers.TextVectorization(**kwargs)
    except ImportError as exc:  # Keras's TextVectorization runs on tf.data on every backend
        return ParityReport(name, [], skipped=f"TensorFlow-only: {exc}")
    k.adapt(texts)
    n = numpy_rnn.TextVectorization(**kwargs)
    n.adapt(texts)
    vocab_ok = list(n.get_vocabulary()) == [str(t) for t in k.get_vocabulary()]
    probe = texts[:40]
    if kwargs.get("split", "whitespace") is None:  # one string is one token: (batch, 1)
        probe = np.array([[t] for t in probe])
    report = compare_text_vectorization(n, k, probe, case=name)
    diff = report.outputs[-1]
    if not vocab_ok:
        diff.passed = False
        diff.note = "get_vocabulary() differs from Keras's"
    if n.output_mode == "tf_idf":  # the weights adapt learned
        report.outputs.append(diff_arrays("idf_weights", n.idf_weights,
                                          np.asarray(k._lookup_layer.idf_weights_const)))
    return report


def pad_case(seed: int) -> ParityReport:
    import keras

    rng = np.random.default_rng(seed)
    seqs = [list(rng.integers(1, 50, size=rng.integers(0, 9))) for _ in range(12)]
    outputs = []
    for padding in ("pre", "post"):
        for truncating in ("pre", "post"):
            for maxlen in (None, 5):
                kw = dict(maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
                outputs.append(diff_arrays(
                    f"{padding}/{truncating}/{maxlen}",
                    numpy_rnn.pad_sequences(seqs, **kw), keras.utils.pad_sequences(seqs, **kw),
                    rtol=0, atol=0))
    return ParityReport("text/pad_sequences (8 combinations)", outputs)


@register("text")
def text_cases(seed: int) -> list[Case]:
    corpus = numpy_rnn.datasets.load_corpus_lines()
    cases = []
    for option in TOKENIZER_OPTIONS:
        name = f"text/tokenizer {option} (corpus)"
        cases.append(Case(name, lambda o=option, n=name: tokenizer_case(o, corpus, n)))
    name = "text/tokenizer default (hostile text)"
    cases.append(Case(name, lambda n=name: tokenizer_case("default", HOSTILE, n)))
    for option in VECTORIZER_OPTIONS:
        name = f"text/textvectorization {option} (corpus)"
        cases.append(Case(name, lambda o=option, n=name: vectorizer_case(o, corpus, n)))
    name = "text/textvectorization default (hostile text)"
    cases.append(Case(name, lambda n=name: vectorizer_case("default", HOSTILE, n)))
    cases.append(Case("text/pad_sequences (8 combinations)", lambda: pad_case(seed)))
    return cases
