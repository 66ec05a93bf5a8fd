"""Bundles of functional models (``numpy_rnn.Model``): what differs from a ``Sequential``'s.

* The config's ``model`` is ``Model.get_config()`` (layers with their nodes) and
  ``model_class`` is ``"Model"``; such a bundle has ``format_version`` 2, so a numpy-rnn that
  reads only version 1 refuses it by name rather than misreading it.
* Test vectors: one array per input and per output (``test_inputs_0``, ``test_outputs_1``...),
  named in ``test.inputs`` / ``test.outputs`` (lists, in the model's input / output order).
* The declared weight shapes are the model's own: the graph is rebuilt from the config
  symbolically (layers built, no weight drawn), its ``get_weights()`` shapes compared with the
  stored arrays' headers, before any data is read.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _limits
from ..functional import Model
from ..layers import Embedding, Masking
from . import bundle_verify as _verify
from .bundle_verify import VerificationReport, compare_outputs, stored_tolerances
from .errors import BundleError
from .keras_graph_weights import expected_shapes

__all__ = ["GRAPH_FORMAT_VERSION", "is_graph_config", "rebuild", "check_graph_shapes",
           "make_graph_inputs", "verify_graph", "test_keys", "make_test_inputs", "verify_model"]

#: The bundle format version of a functional model's bundle.
GRAPH_FORMAT_VERSION = 2


def is_graph_config(config: dict) -> bool:
    return config.get("model_class") == "Model"


def test_keys(kind: str, n: int) -> list[str]:
    """``test_inputs_0``... (``kind``: ``"inputs"`` / ``"outputs"``)."""
    return [f"test_{kind}_{i}" for i in range(n)]


def rebuild(path: str, model_config: Any) -> Model:
    """The model of a bundle config (fresh layers, no weight drawn)."""
    try:
        return Model.from_config(model_config)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise BundleError(f"{path!r}: the model config cannot be rebuilt: {exc}") from None


def check_graph_shapes(path: str, model: Model, specs: list[dict], stored: list[tuple]) -> None:
    """The model's weight shapes against the stored arrays' headers, and the total size."""
    want = expected_shapes(model)
    names = model.weight_names()
    if len(want) != len(specs):
        raise BundleError(f"{path!r}: the weights do not match the model config: the model "
                          f"declares {len(want)} weights {names}, the bundle {len(specs)}")
    problems = [f"weight `{name}` has shape {tuple(have)} in the bundle ({spec['key']}) but "
                f"the model config needs {tuple(shape)}"
                for name, shape, have, spec in zip(names, want, stored, specs)
                if shape is not None and tuple(have) != tuple(shape)]
    if problems:
        raise BundleError(f"{path!r}: the weights do not match the model config: "
                          + "; ".join(problems))
    try:
        _limits.check_total(sum(_limits.element_count(s) for s in stored), repr(path))
    except _limits.LimitError as exc:
        raise BundleError(str(exc)) from None


def _embedding_rows(model: Model, tensor: Any) -> tuple[int | None, bool]:
    """The smallest ``input_dim`` of the Embeddings that read ``tensor`` (None: none does)
    and whether any of them has ``mask_zero``."""
    rows, mask = None, False
    for node in model.nodes:
        if node.is_input or not any(t is tensor for t in node.input_tensors):
            continue
        layer = node.layer
        if isinstance(layer, Embedding):
            rows = layer.input_dim if rows is None else min(rows, layer.input_dim)
            mask = mask or layer.mask_zero
        elif isinstance(layer, Model):
            inner_rows, inner_mask = _embedding_rows(layer, layer.inputs[0])
            if inner_rows is not None:
                rows = inner_rows if rows is None else min(rows, inner_rows)
            mask = mask or inner_mask
        elif hasattr(layer, "layers") and layer.layers and isinstance(layer.layers[0],
                                                                      Embedding):
            first = layer.layers[0]
            rows = first.input_dim if rows is None else min(rows, first.input_dim)
            mask = mask or first.mask_zero
    return rows, mask


def _masking_value(model: Model, tensor: Any) -> float | None:
    for node in model.nodes:
        if not node.is_input and isinstance(node.layer, Masking) and any(
                t is tensor for t in node.input_tensors):
            return float(node.layer.mask_value)
    return None


def _texts(model: Model, tensor: Any, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Texts of 1-8 words for a string input: words of the vocabulary of the TextVectorization
    that reads it (and one unknown word), one text per sample."""
    words = ["numpy", "rnn"]
    for node in model.nodes:
        if not node.is_input and any(t is tensor for t in node.input_tensors) and \
                hasattr(node.layer, "get_vocabulary"):
            words = [w for w in node.layer.get_vocabulary()[2:] if w] or words
    texts = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        n = int(rng.integers(1, 9))
        picked = [str(words[int(i)]) for i in rng.integers(0, len(words), size=n)]
        if idx[0] == 1:
            picked.append("zzunknownzz")
        texts[idx] = " ".join(picked)
    return texts


def make_graph_inputs(model: Model, n: int = 8, timesteps: int | None = None,
                      seed: int = 0) -> list[np.ndarray]:
    """Random valid inputs for each input of ``model``, in its input order: token ids below
    the smallest ``input_dim`` of the Embeddings that read an integer input (every other row
    left-padded with 0 when one has ``mask_zero``), normal floats otherwise (every other row's
    first steps set to the mask value of a Masking that reads it).  Unknown sizes other than
    the feature axis take ``timesteps`` (default 12)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        dims = [d if d is not None else (timesteps or 12) for d in t.shape[1:]]
        if t.shape[1:] and t.shape[-1] is None and np.dtype(t.dtype).kind == "f":
            raise ValueError(f"Cannot make test inputs for input '{t.name}' of model "
                             f"'{model.name}': its feature size is unknown. Give `test_inputs`.")
        shape = (n, *dims)
        if t.dtype == "object":  # a string input: texts of the vocabulary's words
            out.append(_texts(model, t, shape, rng))
        elif np.dtype(t.dtype).kind in "iu":
            rows, mask_zero = _embedding_rows(model, t)
            high = rows or 10
            ids = rng.integers(1 if high > 1 else 0, high, size=shape)
            if mask_zero and len(dims) >= 1 and dims[0] > 1:
                for row in range(0, n, 2):
                    ids[row, :rng.integers(1, dims[0])] = 0
            out.append(ids.astype(t.dtype))
        else:
            x = rng.normal(size=shape).astype(t.dtype)
            value = _masking_value(model, t)
            if value is not None and len(dims) >= 2 and dims[0] > 1:
                for row in range(0, n, 2):
                    x[row, :rng.integers(1, dims[0])] = value
            out.append(x)
    return out


def verify_graph(model: Model, xs: list, ys: list, test: dict | None = None
                 ) -> VerificationReport:
    """Recompute every output of ``model.predict(xs)`` and compare it with ``ys`` (one array
    per output) at the bundle's tolerance; the report is the worst output's figures, passed
    only when every output passed, counts summed over the outputs."""
    test = test or {}
    try:
        got = model.predict(xs if len(xs) > 1 else xs[0])
    except Exception as exc:  # noqa: BLE001 - reported as a bundle that cannot run its inputs
        raise BundleError(f"the model cannot run its stored test inputs "
                          f"{[x.shape for x in xs]}: {exc}") from None
    got = [got[k] for k in sorted(got)] if isinstance(got, dict) else (
        list(got) if isinstance(got, (list, tuple)) else [got])
    if len(got) != len(ys):
        raise BundleError(f"the model returns {len(got)} outputs, the bundle stores {len(ys)}")
    reports = []
    for a, e in zip(got, ys):
        rtol, atol = stored_tolerances(test, "float64" if e.dtype == np.float64 else "float32")
        reports.append(compare_outputs(a, e, rtol, atol, str(test.get("verified_by", "?"))))
    worst = max(reports, key=lambda r: (not r.passed, r.max_abs_err / max(r.atol, 1e-300)))
    worst.passed = all(r.passed for r in reports)
    worst.n_bad = sum(r.n_bad for r in reports)
    worst.n_total = sum(r.n_total for r in reports)
    return worst


def make_test_inputs(model: Any, n: int = 8, timesteps: int | None = None,
                     seed: int = 0) -> Any:
    """Random valid inputs for a ``Sequential`` (one array, ``bundle_verify``) or a functional
    ``Model`` (a list, one array per input: :func:`make_graph_inputs`)."""
    if isinstance(model, Model):
        return make_graph_inputs(model, n, timesteps=timesteps, seed=seed)
    return _verify.make_test_inputs(model, n, timesteps=timesteps, seed=seed)


def verify_model(model: Any, x: Any, y: Any, test: dict | None = None) -> VerificationReport:
    """Recompute the stored test outputs: a ``Sequential``'s one array, or every output of a
    functional ``Model`` (lists)."""
    if isinstance(model, Model):
        xs = x if isinstance(x, list) else [x]
        ys = y if isinstance(y, list) else [y]
        return verify_graph(model, xs, ys, test)
    return _verify.verify_model(model, x, y, test)
