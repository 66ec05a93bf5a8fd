"""Writing bundles: ``save`` (exclusive temporary file in the target directory, then an atomic
rename; a planted symlink is never followed).
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import tempfile
from typing import Any

import numpy as np

from .. import __version__
from ..layers import Embedding
from ..functional import Model
from ..model import Sequential
from ..text import Vocabulary
from .bundle_format import (CONFIG_KEY, DIGEST_KEY, FORMAT, INPUTS_KEY, OUTPUTS_KEY,
                            SEQUENTIAL_FORMAT_VERSION, bundle_digest, check_labels)
from .bundle_graph import GRAPH_FORMAT_VERSION, make_graph_inputs, test_keys, verify_graph
from .bundle_verify import TOLERANCES, compare_outputs, make_test_inputs

def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for every thread)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bundle(path: str | os.PathLike, config: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``config`` + ``arrays`` with their digest, atomically: a new temporary file with a
    random name in the target directory, created exclusively (``O_EXCL``: a planted file or
    symlink is never followed), then ``os.replace``; the temporary file is removed on failure.
    The bundle gets the mode a plain ``open(path, "w")`` would give it (0o666 less the umask)."""
    payload = dict(arrays)
    payload[CONFIG_KEY] = np.frombuffer(json.dumps(config, sort_keys=True).encode("utf-8"),
                                         dtype=np.uint8)
    payload[DIGEST_KEY] = np.frombuffer(bundle_digest(payload), dtype=np.uint8)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot write the bundle to {path!r}: it is a directory")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise




def _versions() -> dict:
    return {"numpy_rnn_version": __version__, "numpy_version": np.__version__,
            "python_version": platform.python_version()}


def save(model: Sequential, path: str | os.PathLike, vocabulary: Any = None,
         test_inputs: Any = None, test_outputs: Any = None, *, verified_by: str | None = None,
         provenance: dict | None = None, rtol: float | None = None, atol: float | None = None,
         n_test: int = 8, seed: int = 0, labels: Any = None) -> str:
    """Write ``model`` (with its vocabulary and test vectors) to one ``.npz`` bundle.

    Args:
        model: a :class:`numpy_rnn.Sequential` (built, or built here by running the inputs).
        path: the file to write (written atomically; any name, ``.npz`` suggested).
        vocabulary: a :class:`numpy_rnn.Vocabulary` or its ``to_json()`` text, for text models.
        test_inputs: inputs ``(n, ...)``; made by :func:`make_test_inputs` when None.
        test_outputs: what the reference model (Keras) gave for ``test_inputs``.  When None the
            model's own outputs are stored and marked as not verified by Keras.
        verified_by: who computed ``test_outputs`` (e.g. ``"keras 3.15.1"``).
        provenance: extra facts to record (keras_version, tensorflow_version, source file...).
        rtol, atol: the tolerance ``load`` checks with (default by output dtype).
        labels: optional class names, one per entry of the model output's last axis (what
            ``numpy-rnn predict`` shows for a classifier).

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: the model does not reproduce ``test_outputs`` within the tolerance, cannot
            be rebuilt from its config, or the vocabulary emits ids the Embedding lacks.
    """
    if isinstance(model, Model):
        return _save_graph(model, path, vocabulary, test_inputs, test_outputs,
                           verified_by=verified_by, provenance=provenance, rtol=rtol, atol=atol,
                           n_test=n_test, seed=seed, labels=labels)
    if not isinstance(model, Sequential):
        raise TypeError(f"`model` must be a numpy_rnn.Sequential or Model. Received: "
                        f"{type(model).__name__}")
    vocab_json = None
    if vocabulary is not None:
        vocab = vocabulary if isinstance(vocabulary, Vocabulary) else Vocabulary.from_json(
            vocabulary)
        first = model.layers[0] if model.layers else None
        if isinstance(first, Embedding) and vocab.size > first.input_dim:
            raise ValueError(
                f"`vocabulary` emits ids up to {vocab.size - 1}, but the model's Embedding "
                f"'{first.name}' has input_dim={first.input_dim} rows. Received: a vocabulary "
                f"of {len(vocab.word_index)} words")
        vocab_json = vocab.to_json()
    labels = check_labels(labels)
    if test_inputs is None:
        if not model.built:
            model.build()
        test_inputs = make_test_inputs(model, n_test, seed=seed)
    x = np.asarray(test_inputs)
    if x.dtype == object or x.ndim < 1:
        raise TypeError("`test_inputs` must be a numeric array with a batch axis. Received: "
                        f"{x.dtype} array of shape {x.shape}")
    computed = np.asarray(model.predict(x))
    if test_outputs is None:
        y = computed
        verified_by = verified_by or f"numpy-rnn {__version__} (not verified by Keras)"
    else:
        y = np.asarray(test_outputs)
        verified_by = verified_by or "caller"
    if labels is not None and (y.ndim < 2 or y.shape[-1] not in (1, len(labels))
                               or (y.shape[-1] == 1 and len(labels) != 2)):
        raise ValueError(f"`labels` must name each of the {y.shape[-1]} entries of the model "
                         "output's last axis (or two classes for a single sigmoid output). "
                         f"Received: {len(labels)} labels for outputs of shape {y.shape}")
    out_key = "float64" if y.dtype == np.float64 and computed.dtype == np.float64 else "float32"
    d_rtol, d_atol = TOLERANCES[out_key]
    rtol = d_rtol if rtol is None else float(rtol)
    atol = d_atol if atol is None else float(atol)
    report = compare_outputs(computed, y, rtol, atol, verified_by)
    if not report.passed:
        raise ValueError(f"The model does not reproduce `test_outputs`, so the bundle would "
                         f"fail its own check:\n{report}")
    model_config = model.get_config()
    try:  # never write a bundle that cannot be loaded
        Sequential.from_config(json.loads(json.dumps(model_config)))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Model '{model.name}' cannot be rebuilt from its config, so it cannot "
                         f"be bundled (custom activations or initializers are not storable): "
                         f"{exc}") from None
    weights = model.get_weights()
    names = model.weight_names()
    arrays = {f"weight_{i:03d}": np.ascontiguousarray(w) for i, w in enumerate(weights)}
    arrays[INPUTS_KEY] = np.ascontiguousarray(x)
    arrays[OUTPUTS_KEY] = np.ascontiguousarray(y)
    config = {
        "format": FORMAT,
        "format_version": SEQUENTIAL_FORMAT_VERSION,
        "model": model_config,
        "weights": [{"key": f"weight_{i:03d}", "name": n, "shape": list(w.shape),
                     "dtype": w.dtype.name} for i, (n, w) in enumerate(zip(names, weights))],
        "test": {"inputs": INPUTS_KEY, "outputs": OUTPUTS_KEY, "verified_by": verified_by,
                 "rtol": rtol, "atol": atol, "input_shape": list(x.shape),
                 "input_dtype": x.dtype.name, "output_shape": list(y.shape),
                 "output_dtype": y.dtype.name},
        "vocabulary": vocab_json,
        **({"labels": labels} if labels is not None else {}),
        "provenance": {**_versions(),
                       "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                           timespec="seconds"),
                       **(provenance or {})},
    }
    write_bundle(path, config, arrays)
    return os.fspath(path)


def _as_list(value: Any, what: str) -> list[np.ndarray]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    out = [np.asarray(v) for v in items]
    for a in out:
        strings = a.dtype.kind == "U" or (a.dtype == object and all(
            isinstance(item, str) for item in a.reshape(-1)))
        if (a.dtype == object and not strings) or a.ndim < 1:
            raise TypeError(f"`{what}` must be numeric arrays (or strings) with a batch axis. "
                            f"Received: {a.dtype} array of shape {a.shape}")
    return out


def _save_graph(model: Model, path: Any, vocabulary: Any, test_inputs: Any, test_outputs: Any,
                *, verified_by: str | None, provenance: dict | None, rtol: float | None,
                atol: float | None, n_test: int, seed: int, labels: Any) -> str:
    """:func:`save` for a functional model (``numpy_rnn.formats.bundle_graph``)."""
    vocab_json = None
    if vocabulary is not None:
        vocab = vocabulary if isinstance(vocabulary, Vocabulary) else Vocabulary.from_json(
            vocabulary)
        vocab_json = vocab.to_json()
    labels = check_labels(labels)
    if labels is not None and len(model.outputs) != 1:
        raise ValueError(f"`labels` name the classes of a single output; model "
                         f"'{model.name}' has {len(model.outputs)} outputs")
    if isinstance(test_inputs, dict):
        test_inputs = [test_inputs[n] for n in model.input_names]
    xs = make_graph_inputs(model, n_test, seed=seed) if test_inputs is None else \
        _as_list(test_inputs, "test_inputs")
    xs = model._standardize_inputs(xs if len(xs) > 1 else xs[0], what="test_inputs")
    got = model.predict(xs if len(xs) > 1 else xs[0])
    computed = [got[k] for k in sorted(got)] if isinstance(got, dict) else (
        list(got) if isinstance(got, (list, tuple)) else [got])
    if test_outputs is None:
        ys = [np.asarray(c) for c in computed]
        verified_by = verified_by or f"numpy-rnn {__version__} (not verified by Keras)"
    else:
        ys = _as_list(test_outputs, "test_outputs")
        verified_by = verified_by or "caller"
    out_key = "float64" if all(y.dtype == np.float64 for y in ys) else "float32"
    d_rtol, d_atol = TOLERANCES[out_key]
    rtol = d_rtol if rtol is None else float(rtol)
    atol = d_atol if atol is None else float(atol)
    test = {"verified_by": verified_by, "rtol": rtol, "atol": atol,
            "inputs": test_keys("inputs", len(xs)), "outputs": test_keys("outputs", len(ys)),
            "input_shapes": [list(x.shape) for x in xs],
            "input_dtypes": [x.dtype.name for x in xs],
            "output_shapes": [list(y.shape) for y in ys],
            "output_dtypes": [y.dtype.name for y in ys]}
    report = verify_graph(model, xs, ys, test)
    if not report.passed:
        raise ValueError(f"The model does not reproduce `test_outputs`, so the bundle would "
                         f"fail its own check:\n{report}")
    model_config = model.get_config()
    try:  # never write a bundle that cannot be loaded
        Model.from_config(json.loads(json.dumps(model_config)))
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"Model '{model.name}' cannot be rebuilt from its config, so it cannot "
                         f"be bundled (layers registered by users or custom activations are "
                         f"not storable): {exc}") from None
    weights = model.get_weights()
    names = model.weight_names()
    arrays = {f"weight_{i:03d}": np.ascontiguousarray(w) for i, w in enumerate(weights)}
    # strings stored as fixed-width text (never as pickled objects)
    arrays.update({k: np.ascontiguousarray(x.astype(str) if x.dtype == object else x)
                   for k, x in zip(test["inputs"], xs)})
    arrays.update({k: np.ascontiguousarray(y) for k, y in zip(test["outputs"], ys)})
    config = {
        "format": FORMAT,
        "format_version": GRAPH_FORMAT_VERSION,
        "model_class": "Model",
        "model": model_config,
        "weights": [{"key": f"weight_{i:03d}", "name": n, "shape": list(w.shape),
                     "dtype": w.dtype.name} for i, (n, w) in enumerate(zip(names, weights))],
        "test": test,
        "vocabulary": vocab_json,
        **({"labels": labels} if labels is not None else {}),
        "provenance": {**_versions(),
                       "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                           timespec="seconds"),
                       **(provenance or {})},
    }
    write_bundle(path, config, arrays)
    return os.fspath(path)
