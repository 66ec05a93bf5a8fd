"""Next-word prediction and text generation with a next-word model (NumPy only).

A next-word model reads token ids and ends in a Dense layer over the vocabulary: ``Embedding ->
... -> Dense(softmax)`` (or a linear Dense giving logits).  With the :class:`Vocabulary` it was
trained with (a Keras ``Tokenizer``'s tables):

* :func:`top_k_next` -- the ``k`` most likely next words after a text, with their probabilities;
* :func:`generate` -- the text continued by ``n`` words, greedy or sampled at a temperature.

Only words a Keras user could read back with ``tokenizer.index_word`` are predicted: never id 0
(padding), the OOV token, an id at or past ``num_words``, or an id the vocabulary has no word for.
A model with a fixed input length reads the last ``window`` ids, padded with 0 in front ("pre").
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import activations
from .layers import Dense, Embedding

__all__ = ["next_word_problem", "predictable_words", "text_ids", "next_word_probabilities",
           "top_k_next", "generate"]


def next_word_problem(model: Any) -> str | None:
    """Why ``model`` is not an Embedding -> ... -> Dense(softmax) next-word model, or None."""
    if not model.layers or not isinstance(model.layers[0], Embedding):
        return "its first layer is not an Embedding (it does not read token ids)"
    last = model.layers[-1]
    if not isinstance(last, Dense):
        return f"its last layer is a {type(last).__name__}, not a Dense layer over the vocabulary"
    act = activations.serialize(last.activation)
    if act not in ("softmax", "linear"):
        return f"its last Dense layer has activation {act!r}, not softmax"
    return None


def _check_model(model: Any) -> None:
    why = next_word_problem(model)
    if why is not None:
        raise ValueError(f"`model` must be a next-word model; this one is not: {why}")


def predictable_words(model: Any, vocabulary: Any) -> np.ndarray:
    """A boolean mask over the model's outputs: True where the output is a vocabulary word."""
    _check_model(model)
    n_out = model.layers[-1].units
    valid = np.zeros(n_out, dtype=bool)
    for i, word in vocabulary.index_word.items():
        if (isinstance(i, (int, np.integer)) and 0 < i < n_out and word != vocabulary.oov_token
                and (vocabulary.num_words is None or i < vocabulary.num_words)):
            valid[i] = True
    return valid


def text_ids(vocabulary: Any, text: str) -> list[int]:
    """The ids of ``text``'s words the vocabulary knows (``texts_to_sequences``)."""
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a string. Received: {type(text).__name__}")
    return list(vocabulary.texts_to_sequences([text])[0])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def next_word_probabilities(model: Any, ids: list[int], valid: np.ndarray) -> np.ndarray:
    """The probability of each output being the word after ``ids`` (0 where ``valid`` is False;
    sums to 1)."""
    window = model.input_shape[0] if model.input_shape else None
    logits_out = activations.serialize(model.layers[-1].activation) == "linear"
    x = np.asarray(ids[-window:] if window else ids, dtype=np.int64)
    if window and x.size < window:
        x = np.concatenate([np.zeros(window - x.size, np.int64), x])  # 'pre' padding
    out = np.asarray(model.predict(x[None].astype(model.input_dtype or "int32")))[0]
    if out.ndim == 2:  # return_sequences: the last step predicts the next word
        out = out[-1]
    p = _softmax(out.astype(np.float64)) if logits_out else out.astype(np.float64)
    p = np.where(valid & np.isfinite(p) & (p > 0), p, 0.0)
    if not p.sum() > 0:  # every word's probability underflowed: all words equally likely
        p = valid.astype(np.float64)
    return p / p.sum()


def _start(model: Any, vocabulary: Any, text: str) -> tuple[list[int], np.ndarray]:
    valid = predictable_words(model, vocabulary)
    ids = text_ids(vocabulary, text)
    if not ids:
        raise ValueError(f"`text`: none of its words are in the vocabulary. Received: {text!r}")
    if not valid.any():
        raise ValueError("no output of the model corresponds to a vocabulary word")
    return ids, valid


def top_k_next(model: Any, vocabulary: Any, text: str, k: int) -> list[tuple[str, float]]:
    """The ``k`` most likely next words after ``text`` (fewer when the model predicts fewer),
    most likely first, with their probabilities; ties keep id order."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`k` must be an integer >= 1. Received: k={k!r}")
    ids, valid = _start(model, vocabulary, text)
    p = next_word_probabilities(model, ids, valid)
    order = [int(i) for i in np.argsort(-p, kind="stable") if valid[i]][:k]
    return [(vocabulary.index_word[i], float(p[i])) for i in order]


def generate(model: Any, vocabulary: Any, text: str, n: int, temperature: float = 0.0,
             seed: int | None = 0) -> list[str]:
    """The ``n`` words that continue ``text``: the most likely each time (``temperature`` 0), or
    drawn from the probabilities sharpened / flattened by ``temperature`` (reproducible from
    ``seed``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"`n` must be an integer >= 0. Received: n={n!r}")
    if not isinstance(temperature, (int, float, np.floating)) or not np.isfinite(temperature) \
            or temperature < 0:
        raise ValueError(f"`temperature` must be a finite number >= 0. "
                         f"Received: temperature={temperature!r}")
    ids, valid = _start(model, vocabulary, text)
    rng = np.random.default_rng(seed)
    seq, words = list(ids), []
    for _ in range(n):
        probs = next_word_probabilities(model, seq, valid)
        if temperature > 0:
            logp = np.where(probs > 0, np.log(np.where(probs > 0, probs, 1.0)), -np.inf)
            q = np.exp((logp - logp.max()) / temperature)
            q /= q.sum()
            nxt = int(rng.choice(valid.size, p=q))
        else:
            nxt = int(np.argmax(probs))
        seq.append(nxt)
        words.append(vocabulary.index_word[nxt])
    return words
