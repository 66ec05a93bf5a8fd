"""Small functional models the graph rows, the property tests and the zoo share.

Each builder takes a namespace of layers (``keras.layers`` plus ``Input`` / ``Model`` /
``Sequential``, or ``numpy_rnn`` itself) and a dtype, so Keras and numpy_rnn build the same
graph from one piece of code; :func:`keras_namespace` makes Keras's.  The heads end in ``tanh``
(not ``softmax``, whose outputs sum to one and so give the sum-of-outputs gradient nothing to
check).  :func:`graph_inputs` draws inputs for any of them: ids in ``[1, VOCAB)`` padded with 0
(every row differently, one row starting padded), floats from a normal distribution with some
all-zero steps (a ``Masking(0.0)`` masks them).
"""
from __future__ import annotations

import types
from typing import Any, Callable

import numpy as np

__all__ = ["GRAPHS", "keras_namespace", "graph_inputs", "VOCAB", "STEPS"]

VOCAB, STEPS = 11, 6


def keras_namespace() -> Any:
    """``keras.layers`` with ``Input``, ``Model`` and ``Sequential``: what the builders call."""
    import keras

    names = {n: getattr(keras.layers, n) for n in dir(keras.layers) if n[:1].isupper()}
    names.update(Input=keras.Input, Model=keras.Model, Sequential=keras.Sequential)
    return types.SimpleNamespace(**names)


def seq2seq_states(L: Any, dt: str) -> Any:
    """Encoder-decoder, two inputs: the encoder's ``return_state`` [h, c] is the decoder's
    ``initial_state`` (Keras's character-level seq2seq example, small)."""
    enc = L.Input((STEPS,), dtype="int32", name="encoder_ids")
    dec = L.Input((STEPS,), dtype="int32", name="decoder_ids")
    e = L.Embedding(VOCAB, 4, mask_zero=True, name="enc_emb", dtype=dt)(enc)
    _, h, c = L.LSTM(5, return_state=True, name="encoder", dtype=dt)(e)
    d = L.Embedding(VOCAB, 4, mask_zero=True, name="dec_emb", dtype=dt)(dec)
    seq = L.LSTM(5, return_sequences=True, name="decoder", dtype=dt)(d, initial_state=[h, c])
    return L.Model([enc, dec], L.Dense(VOCAB, activation="tanh", name="next", dtype=dt)(seq),
                   name="seq2seq")


def residual_add(L: Any, dt: str) -> Any:
    """A GRU block with a residual Add around it (the input fans out to both branches)."""
    x = L.Input((STEPS, 4), name="x", dtype=dt)
    h = L.GRU(4, return_sequences=True, name="gru", dtype=dt)(x)
    r = L.Add(name="residual", dtype=dt)([x, h])
    return L.Model(x, L.Dense(3, activation="tanh", name="head", dtype=dt)(
        L.LSTM(3, name="lstm", dtype=dt)(r)), name="residual")


def two_inputs(L: Any, dt: str) -> Any:
    """Token ids and float features: the Embedding's mask and the Masking's, merged by Add (a
    step is kept when either input keeps it), into one LSTM; the features also feed a
    SimpleRNN; both concatenated into one head."""
    ids = L.Input((STEPS,), dtype="int32", name="ids")
    feats = L.Input((STEPS, 3), name="features", dtype=dt)
    e = L.Embedding(VOCAB, 3, mask_zero=True, name="emb", dtype=dt)(ids)
    f = L.Masking(0.0, name="masking", dtype=dt)(feats)
    merged = L.Add(name="merge", dtype=dt)([e, f])
    a = L.LSTM(4, name="rnn", dtype=dt)(merged)
    b = L.SimpleRNN(3, name="feat_rnn", dtype=dt)(feats)
    cat = L.Concatenate(name="cat", dtype=dt)([a, b])
    return L.Model([ids, feats], L.Dense(2, activation="tanh", name="head", dtype=dt)(cat),
                   name="two_inputs")


def two_outputs(L: Any, dt: str) -> Any:
    """One encoder, two heads: a class score and a per-step sequence."""
    x = L.Input((STEPS, 3), name="x", dtype=dt)
    seq = L.LSTM(4, return_sequences=True, name="encoder", dtype=dt)(x)
    last = L.GRU(3, name="summary", dtype=dt)(seq)
    cls = L.Dense(2, activation="tanh", name="cls", dtype=dt)(last)
    per_step = L.Dense(2, activation="tanh", name="per_step", dtype=dt)(seq)
    return L.Model(x, [cls, per_step], name="two_outputs")


def nested(L: Any, dt: str) -> Any:
    """A nested Sequential (Embedding with mask_zero first) and a nested functional Model."""
    inner_seq = L.Sequential([L.Input((STEPS,), dtype="int32"),
                              L.Embedding(VOCAB, 4, mask_zero=True, name="emb", dtype=dt),
                              L.Dense(4, name="proj", dtype=dt)], name="embed_block")
    t = L.Input((STEPS, 4), name="t", dtype=dt)
    u = L.LSTM(3, return_sequences=True, name="rnn", dtype=dt)(t)
    inner = L.Model(t, L.Add(name="inner_add", dtype=dt)(
        [u, L.Dense(3, name="skip", dtype=dt)(t)]), name="rnn_block")
    ids = L.Input((STEPS,), dtype="int32", name="ids")
    h = inner(inner_seq(ids))
    return L.Model(ids, L.Dense(2, activation="tanh", name="head", dtype=dt)(
        L.GRU(3, name="gru", dtype=dt)(h)), name="nested")


def shared(L: Any, dt: str) -> Any:
    """A Siamese pair: one LSTM (one set of weights) on two inputs, merged by Subtract."""
    a = L.Input((STEPS, 3), name="left", dtype=dt)
    b = L.Input((STEPS, 3), name="right", dtype=dt)
    encoder = L.LSTM(4, name="shared_lstm", dtype=dt)
    diff = L.Subtract(name="diff", dtype=dt)([encoder(a), encoder(b)])
    return L.Model([a, b], L.Dense(1, activation="tanh", name="score", dtype=dt)(diff),
                   name="shared")


#: row name -> builder
GRAPHS: dict[str, Callable[[Any, str], Any]] = {
    "seq2seq with states": seq2seq_states,
    "residual add": residual_add,
    "two inputs": two_inputs,
    "two outputs": two_outputs,
    "nested": nested,
    "shared": shared,
}


def graph_inputs(model: Any, rng: np.random.Generator, n: int = 4,
                 dtype: str = "float32") -> list[np.ndarray]:
    """One array per input of ``model`` (Keras or numpy_rnn: ``inputs`` with ``shape`` and
    ``dtype``): padded ids for integer inputs, normal floats otherwise."""
    out = []
    for t in model.inputs:
        shape = (n,) + tuple(int(d) for d in t.shape[1:])
        if np.dtype(str(getattr(t.dtype, "name", t.dtype))).kind in "iu":
            ids = rng.integers(1, VOCAB, size=shape)
            for i in range(n):
                ids[i, shape[1] - int(rng.integers(0, shape[1] - 1)):] = 0
            ids[0, :1] = 0
            out.append(ids.astype("int32"))
        else:
            x = rng.normal(size=shape).astype(dtype)
            if len(shape) == 3:  # some all-zero steps (what a Masking(0.0) masks)
                x[1::2, int(rng.integers(0, shape[1])), :] = 0
                x[0, -1, :] = 0
            out.append(x)
    return out
