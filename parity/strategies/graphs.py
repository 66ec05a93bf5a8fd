"""Hypothesis strategies for functional graphs: random DAGs of numpy_rnn-supported layers that one
piece of code builds both in Keras and in numpy_rnn (:func:`build_graph`).

A drawn :class:`GraphSpec` is plain data: one or two inputs (float sequences, optionally masked
by ``Masking``, or token ids through an ``Embedding`` with or without ``mask_zero``), then a few
steps, each one of

* ``dense``: a Dense on a sequence (a new one, or a Dense already in the graph: a shared layer);
* ``rnn``: an LSTM / GRU / SimpleRNN with ``return_sequences`` (new or shared);
* ``merge``: Add / Subtract / Multiply / Average / Maximum / Minimum of two sequences, or a
  Concatenate brought back to width by a Dense (masks combined as Keras combines them);
* ``nested``: a nested Sequential (Dense) or a nested functional Model (an LSTM plus a skip
  Dense, added) called on a sequence;
* ``states``: an encoder LSTM with ``return_state`` whose ``[h, c]`` is a decoder LSTM's
  ``initial_state`` on another sequence;

and a head: every sequence nothing read yet is added together (so every input reaches an
output), a GRU and a ``Dense(tanh)``; optionally a second, per-step output.  Every sequence has
the same width, so any two can be merged.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import strategies as st

__all__ = ["GraphSpec", "graph_specs", "build_graph", "spec_inputs", "MERGES", "KINDS",
           "INPUTS"]

MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
RNNS = ("LSTM", "GRU", "SimpleRNN")
VOCAB = 9


@dataclasses.dataclass(frozen=True)
class GraphSpec:
    """A random DAG: ``inputs`` (``"float"``, ``"masked"``, ``"ids"``, ``"ids_masked"``),
    ``steps`` (tuples: the kind, then the indices of the sequences it reads and its options),
    ``width`` (every sequence's last axis), ``timesteps``, ``two_outputs``."""

    inputs: tuple
    steps: tuple
    width: int
    timesteps: int
    two_outputs: bool


KINDS = ("dense", "rnn", "merge", "nested", "states")
INPUTS = ("float", "masked", "ids", "ids_masked")


@st.composite
def graph_specs(draw: Any, max_steps: int = 4, kinds: tuple = KINDS, merges: tuple = MERGES,
                inputs: tuple = INPUTS, min_inputs: int = 1) -> GraphSpec:
    """A :class:`GraphSpec` with ``min_inputs``-2 inputs (of the ``inputs`` kinds) and
    1-``max_steps`` steps of the ``kinds`` given (merges among ``merges``)."""
    inputs = tuple(draw(st.lists(st.sampled_from(inputs), min_size=min_inputs, max_size=2)))
    n_seq = len(inputs)
    steps = []
    denses = rnns = 0
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(kinds))
        pick = st.integers(0, n_seq - 1)
        if kind == "dense":
            shared = denses > 0 and draw(st.booleans())
            steps.append(("dense", draw(pick), draw(st.integers(0, denses - 1)) if shared else -1))
            denses += 0 if shared else 1
        elif kind == "rnn":
            shared = rnns > 0 and draw(st.booleans())
            steps.append(("rnn", draw(pick), draw(st.sampled_from(RNNS)),
                          draw(st.integers(0, rnns - 1)) if shared else -1))
            rnns += 0 if shared else 1
        elif kind == "merge":
            steps.append(("merge", draw(pick), draw(pick), draw(st.sampled_from(merges))))
        elif kind == "nested":
            steps.append(("nested", draw(pick), draw(st.sampled_from(["sequential", "model"]))))
        else:
            steps.append(("states", draw(pick), draw(pick)))
        n_seq += 1
    return GraphSpec(inputs, tuple(steps), draw(st.integers(2, 4)), draw(st.integers(2, 5)),
                     draw(st.booleans()))


def _input(L: Any, kind: str, i: int, spec: GraphSpec, dt: str) -> tuple[Any, Any]:
    """``(model input, its sequence)``."""
    if kind.startswith("ids"):
        x = L.Input((spec.timesteps,), dtype="int32", name=f"in{i}")
        return x, L.Embedding(VOCAB, spec.width, mask_zero=kind == "ids_masked",
                              name=f"emb{i}", dtype=dt)(x)
    x = L.Input((spec.timesteps, spec.width), name=f"in{i}", dtype=dt)
    return x, (L.Masking(0.0, name=f"masking{i}", dtype=dt)(x) if kind == "masked" else x)


def _rnn(L: Any, cls: str, width: int, name: str, dt: str, **kw: Any) -> Any:
    return getattr(L, cls)(width, name=name, dtype=dt, **kw)


def _reads(step: tuple) -> list[int]:
    """The sequences a step reads (by index)."""
    kind = step[0]
    if kind in ("dense", "rnn", "nested"):
        return [step[1]]
    return [step[1], step[2]]  # merge, states


def build_graph(spec: GraphSpec, L: Any, dt: str = "float32") -> Any:
    """The model of ``spec``, built with the namespace ``L`` (``keras.layers`` plus ``Input``,
    ``Model``, ``Sequential``; or ``numpy_rnn``): the same names and layer order either way."""
    w = spec.width
    inputs, seqs = [], []
    for i, kind in enumerate(spec.inputs):
        x, s = _input(L, kind, i, spec, dt)
        inputs.append(x)
        seqs.append(s)
    read: set[int] = set()
    denses, rnns = [], []
    for k, step in enumerate(spec.steps):
        kind = step[0]
        read.update(_reads(step))
        if kind == "dense":
            _, src, shared = step
            if shared < 0:
                denses.append(L.Dense(w, activation="tanh", name=f"dense{k}", dtype=dt))
            seqs.append(denses[shared](seqs[src]))
        elif kind == "rnn":
            _, src, cls, shared = step
            if shared < 0:
                rnns.append(_rnn(L, cls, w, f"rnn{k}", dt, return_sequences=True))
            seqs.append(rnns[shared](seqs[src]))
        elif kind == "merge":
            _, a, b, cls = step
            merged = getattr(L, cls)(name=f"{cls.lower()}{k}", dtype=dt)([seqs[a], seqs[b]])
            if cls == "Concatenate":
                merged = L.Dense(w, name=f"narrow{k}", dtype=dt)(merged)
            seqs.append(merged)
        elif kind == "nested":
            _, src, how = step
            if how == "sequential":
                block = L.Sequential([L.Input((spec.timesteps, w), dtype=dt),
                                      L.Dense(w, activation="tanh", name=f"inner_dense{k}",
                                              dtype=dt)], name=f"block{k}")
            else:
                t = L.Input((spec.timesteps, w), dtype=dt)
                u = L.LSTM(w, return_sequences=True, name=f"inner_lstm{k}", dtype=dt)(t)
                block = L.Model(t, L.Add(name=f"inner_add{k}", dtype=dt)(
                    [u, L.Dense(w, name=f"inner_skip{k}", dtype=dt)(t)]), name=f"block{k}")
            seqs.append(block(seqs[src]))
        else:
            _, enc, dec = step
            _, h, c = L.LSTM(w, return_state=True, name=f"encoder{k}", dtype=dt)(seqs[enc])
            seqs.append(L.LSTM(w, return_sequences=True, name=f"decoder{k}", dtype=dt)(
                seqs[dec], initial_state=[h, c]))
    frontier = [s for i, s in enumerate(seqs) if i not in read]
    top = frontier[0] if len(frontier) == 1 else L.Add(name="gather", dtype=dt)(frontier)
    outputs = [L.Dense(2, activation="tanh", name="head", dtype=dt)(
        L.GRU(w, name="summary", dtype=dt)(top))]
    if spec.two_outputs:
        outputs.append(L.Dense(2, activation="tanh", name="per_step", dtype=dt)(top))
    return L.Model(inputs if len(inputs) > 1 else inputs[0],
                   outputs if len(outputs) > 1 else outputs[0], name="drawn")


def spec_inputs(spec: GraphSpec, rng: np.random.Generator, n: int = 3,
                dtype: str = "float32") -> list[np.ndarray]:
    """Inputs for the model of ``spec``: ids in ``[1, VOCAB)`` with some 0s (padding at the
    end, one row starting with one), floats with some all-zero steps (what Masking masks)."""
    out = []
    for kind in spec.inputs:
        if kind.startswith("ids"):
            ids = rng.integers(1, VOCAB, size=(n, spec.timesteps))
            for i in range(n):
                ids[i, spec.timesteps - int(rng.integers(0, spec.timesteps)):] = 0
            ids[0, 0] = 0
            out.append(ids.astype("int32"))
        else:
            x = rng.normal(size=(n, spec.timesteps, spec.width)).astype(dtype)
            x[1:, int(rng.integers(0, spec.timesteps))] = 0
            out.append(x)
    return out
