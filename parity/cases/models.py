"""Model-level parity cases for ``numpy-rnn parity``: what a user actually runs end to end.

* a stacked ``Sequential`` (Embedding(mask_zero=True) -> LSTM(return_sequences) -> GRU or
  Bidirectional(GRU) -> Dense) against the same Keras model, weights copied, on padded ids
  (left pad, right pad, holes; every batch also holds one all-padding row);
* ``Embedding(mask_zero=True)`` fed negative (wrapping) ids and float ids: the mask, the embedded
  vectors and an LSTM on top against Keras (Keras masks on the raw ids, before the cast and the
  wrap, so ``-input_dim`` and ``0.4`` are *valid* steps that read row 0);
* a bundle ``numpy_rnn.save`` -> ``numpy_rnn.load`` round trip at float32 and float64: the loaded
  model against Keras at the tolerance of the model's own dtype, and its dtype and weights
  checked bit for bit;
* a ``.keras`` file written by Keras (``model.save``) read by ``numpy_rnn.load_keras_model``.

Only public APIs are used (``numpy_rnn.save/load/load_keras_model``, ``parity.from_keras``,
``parity.compare``).  Small shapes: the whole group runs in a few seconds.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

import numpy_rnn

from numpy_rnn.testing import lookup

from ..bridge import (BackendUnsupported, backend, compare, deviations, from_keras,
                      to_numpy)
from ..report import OutputDiff, ParityReport, compare_outputs, diff_arrays
from .case import Case, register
from .masks import make_mask
from .weights import randomize_model

#: batch, timesteps, vocabulary rows, embedding size, recurrent units, Dense units
BATCH, TIMESTEPS, VOCAB, EMBED, UNITS, DENSE = 7, 8, 23, 5, 6, 3
PADDINGS = ("left", "right", "holes")
TOPS = ("gru", "bidirectional")


def _keras():
    return backend.require()  # Keras 3 on this process's backend


def check(name: str, ok: bool, note: str) -> OutputDiff:
    """A yes/no fact as a report row: max|err| 0 when ``ok``, else 1 (exact tolerance)."""
    d = diff_arrays(name, np.array(0 if ok else 1), np.array(0), rtol=0, atol=0)
    d.note = note
    return d


def stacked_keras(top: str, rng: np.random.Generator, dtype: str = "float32",
                  name: str | None = None):
    """Embedding(mask_zero) -> LSTM(sequences) -> GRU / Bidirectional(GRU) -> Dense, random
    gate-distinct weights.  ``top="gru"`` ends in a 2-D Dense on the GRU's last output;
    ``top="bidirectional"`` keeps the sequences (the mask flows into a 3-D Dense)."""
    keras = _keras()
    layers = [keras.Input((TIMESTEPS,), dtype="int32"),
              keras.layers.Embedding(VOCAB, EMBED, mask_zero=True, dtype=dtype),
              keras.layers.LSTM(UNITS, return_sequences=True, dtype=dtype)]
    if top == "gru":
        layers += [keras.layers.GRU(UNITS, dtype=dtype),
                   keras.layers.Dense(DENSE, dtype=dtype)]
    elif top == "bidirectional":
        layers += [keras.layers.Bidirectional(
                       keras.layers.GRU(UNITS, return_sequences=True, dtype=dtype), dtype=dtype),
                   keras.layers.Dense(DENSE, activation="tanh", dtype=dtype)]
    else:
        raise ValueError(f"`top` must be one of {TOPS}. Received: top={top!r}")
    model = keras.Sequential(layers, name=name or f"stacked_{top}_{dtype}")
    randomize_model(model, rng, dtype)
    return model


def padded_ids(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Token ids ``(BATCH, TIMESTEPS)`` in [1, VOCAB) with 0 as padding: ``left`` / ``right``
    padding of decreasing lengths (row 0 full), or ``holes`` (0 at every other step); the last
    row is all padding in every kind."""
    if kind not in PADDINGS:
        raise ValueError(f"`kind` must be one of {PADDINGS}. Received: kind={kind!r}")
    ids = rng.integers(1, VOCAB, size=(BATCH, TIMESTEPS)).astype(np.int32)
    keep = make_mask(kind, BATCH, TIMESTEPS)
    keep[-1] = False
    ids[~keep] = 0
    return ids


def stacked_case(top: str, padding: str, seed: int) -> ParityReport:
    rng = np.random.default_rng(seed)
    k = stacked_keras(top, rng)
    ids = padded_ids(padding, rng)
    name = f"models/stacked embedding->lstm->{top}->dense pad={padding}"
    return compare(from_keras(k), k, ids, case=name)


#: Ids that look invalid but that Keras accepts: -VOCAB and -1 wrap (to rows 0 and VOCAB-1),
#: yet Keras's mask is taken on the raw ids, so -VOCAB is a valid step reading row 0.
NEGATIVE_IDS = [-VOCAB, -1, -3, 0, 4, -VOCAB + 1, 0, 7]
#: Float ids: Keras casts to int32 (truncation toward 0) but masks the raw value, so 0.4 and
#: -0.6 are valid steps reading row 0, and -2.2 reads row VOCAB-2.
FLOAT_IDS = [3.7, 0.4, -0.6, 0.0, -2.2, 1.0, 0.0, float(-VOCAB) + 0.5]


def odd_ids_case(kind: str, seed: int) -> ParityReport:
    """Embedding(mask_zero=True) -> LSTM(sequences) on negative or float ids: the mask, the
    embedded vectors and the LSTM output against Keras."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    special = NEGATIVE_IDS if kind == "negative" else FLOAT_IDS
    dtype = "int32" if kind == "negative" else "float32"
    ids = rng.integers(-VOCAB, VOCAB, size=(BATCH, TIMESTEPS)).astype(dtype)
    if kind == "float":
        ids = ids + rng.choice([0.0, 0.3, -0.7], size=ids.shape).astype(dtype)
    ids[0] = special
    ids[1] = special[::-1]
    ids[2, 1::2] = 0
    model = keras.Sequential([keras.Input((TIMESTEPS,), dtype=dtype),
                              keras.layers.Embedding(VOCAB, EMBED, mask_zero=True),
                              keras.layers.LSTM(UNITS, return_sequences=True)],
                             name=f"odd_ids_{kind}")
    randomize_model(model, rng)
    twin = from_keras(model)
    k_emb, n_emb = model.layers[0], twin.layers[0]
    got = [np.asarray(n_emb.compute_mask(ids)).astype(np.int8), n_emb(ids), twin(ids)]
    expected = [to_numpy(k_emb.compute_mask(ids)).astype(np.int8), to_numpy(k_emb(ids)),
                to_numpy(model(ids))]
    return compare_outputs(f"models/embedding mask_zero {kind} ids -> lstm", got,
                                    expected, ["mask", "embedded", "sequence"])


def bundle_case(dtype: str, seed: int) -> ParityReport:
    """A Keras-verified bundle: save -> load, then the loaded model against Keras at the
    tolerance of ``dtype`` (not of the less precise side), its dtype and its weights."""
    keras = _keras()
    if dtype == "float64" and deviations.float64_reason():  # the bundle's own check would fail
        raise BackendUnsupported(deviations.float64_reason())
    rng = np.random.default_rng(seed)
    k = stacked_keras("gru", rng, dtype=dtype)
    ids = padded_ids("holes", rng)
    twin = from_keras(k)
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        path = os.path.join(tmp, f"model-{dtype}.npz")
        numpy_rnn.save(twin, path, test_inputs=ids, test_outputs=to_numpy(k(ids)),
                       verified_by=f"keras {keras.__version__}")
        loaded = numpy_rnn.load(path)
    tol = lookup(dtype)
    report = compare(loaded, k, ids, case=f"models/bundle save->load {dtype}",
                              rtol=tol.rtol, atol=tol.atol)
    out = np.asarray(loaded.predict(ids))
    report.outputs.append(check("out dtype", out.dtype == np.dtype(dtype),
                                f"loaded model outputs {out.dtype}, expected {dtype}"))
    before, after = twin.get_weights(), loaded.get_weights()
    same = len(before) == len(after) and all(
        a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
        for a, b in zip(before, after))
    dtypes = sorted({w.dtype.name for w in after})
    report.outputs.append(check("weights", same and dtypes == [dtype],
                                f"{len(after)} weight(s) of dtype(s) {dtypes} after load; "
                                f"expected {len(before)} bit-identical {dtype} arrays"))
    return report


def keras_file_case(dtype: str, seed: int) -> ParityReport:
    """``model.save("x.keras")`` by Keras, read back by ``numpy_rnn.load_keras_model``."""
    rng = np.random.default_rng(seed)
    k = stacked_keras("bidirectional", rng, dtype=dtype)
    ids = padded_ids("left", rng)
    with tempfile.TemporaryDirectory(prefix="numpy-rnn-parity-") as tmp:
        path = os.path.join(tmp, "model.keras")
        k.save(path)
        loaded = numpy_rnn.load_keras_model(path)
    tol = lookup(dtype)
    report = compare(loaded, k, ids, case=f"models/.keras file -> load_keras_model "
                              f"{dtype}", rtol=tol.rtol, atol=tol.atol)
    out = np.asarray(loaded(ids))
    report.outputs.append(check("out dtype", out.dtype == np.dtype(dtype),
                                f"model read from the .keras file outputs {out.dtype}, "
                                f"expected {dtype}"))
    return report


@register("models")
def model_cases(seed: int) -> list[Case]:
    cases = []
    for top in TOPS:
        for padding in PADDINGS:
            cases.append(Case(f"models/stacked embedding->lstm->{top}->dense pad={padding}",
                              lambda t=top, p=padding: stacked_case(t, p, seed)))
    for kind in ("negative", "float"):
        cases.append(Case(f"models/embedding mask_zero {kind} ids -> lstm",
                          lambda k=kind: odd_ids_case(k, seed)))
    for dtype in ("float32", "float64"):
        cases.append(Case(f"models/bundle save->load {dtype}",
                          lambda d=dtype: bundle_case(d, seed)))
    for dtype in ("float32", "float64"):
        cases.append(Case(f"models/.keras file -> load_keras_model {dtype}",
                          lambda d=dtype: keras_file_case(d, seed)))
    return cases
