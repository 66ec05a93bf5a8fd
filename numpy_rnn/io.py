"""Self-checking model bundles: one ``.npz`` file that NumPy alone can load and verify.

A bundle holds (all plain arrays, read with ``np.load(allow_pickle=False)``):

* ``config``: UTF-8 JSON as a ``uint8`` array: format name and version, the model config
  (``Sequential.get_config()``), every weight's layer / name / shape / dtype, where the model came
  from (Keras, TensorFlow and numpy-rnn versions), the vocabulary JSON when given, and how the
  test vectors were made and the tolerance they are checked with;
* ``weight_000``, ``weight_001``, ...: the weights, in ``model.get_weights()`` order;
* ``test_inputs``, ``test_outputs``: inputs and the outputs the source model (Keras, when ported
  with TensorFlow installed) gave for them;
* ``sha256``: a SHA-256 digest over every other array (name, dtype, shape and bytes).

``load`` checks the format version, the digest (a truncated, corrupted or edited file is refused),
every weight's shape against the config, and then recomputes the test outputs: a bundle whose
model no longer reproduces them is refused with the figures.  The digest detects accidents and
edits, not a forger (anyone can recompute it): it is not a signature.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import platform
import warnings
import zipfile
from typing import Any

import numpy as np

from . import __version__
from .layers import Bidirectional, Dense, Embedding, Masking
from .model import Sequential
from .recurrent import RNNBase
from .text import Vocabulary

__all__ = ["save", "load", "read_bundle", "Bundle", "BundleError", "BundleIntegrityError",
           "BundleVersionError", "BundleVerificationError", "VerificationReport",
           "make_test_inputs", "FORMAT", "FORMAT_VERSION"]

FORMAT = "numpy-rnn-bundle"
FORMAT_VERSION = 1
_CONFIG_KEY = "config"
_DIGEST_KEY = "sha256"
_INPUTS_KEY = "test_inputs"
_OUTPUTS_KEY = "test_outputs"

#: Test-vector tolerance by output dtype: |numpy - reference| <= atol + rtol * |reference|.
#: The same figures as parity.tolerances (float32: measured worst 6e-7 against tf.keras).
TOLERANCES = {"float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}


class BundleError(ValueError):
    """A bundle that cannot be loaded: unreadable, truncated, inconsistent."""


class BundleIntegrityError(BundleError):
    """The SHA-256 digest stored in the bundle does not match its contents."""


class BundleVersionError(BundleError):
    """A bundle written in a format version this numpy-rnn cannot read."""


class BundleVerificationError(BundleError):
    """The model in the bundle no longer reproduces its stored test outputs."""

    def __init__(self, message: str, report: "VerificationReport") -> None:
        super().__init__(message)
        self.report = report


@dataclasses.dataclass
class VerificationReport:
    """How the recomputed test outputs compare with the stored ones (the expected side)."""

    passed: bool
    shape: tuple
    max_abs_err: float
    max_rel_err: float
    n_bad: int
    n_total: int
    worst_index: tuple
    actual_at_worst: float
    expected_at_worst: float
    rtol: float
    atol: float
    verified_by: str
    argmax_agree: float | None = None

    def __str__(self) -> str:
        status = "PASSED" if self.passed else "FAILED"
        text = (f"bundle check {status}: {self.n_total} output values, shape {self.shape}; "
                f"max|err|={self.max_abs_err:.3e} max rel={self.max_rel_err:.3e} "
                f"(atol={self.atol:.0e}, rtol={self.rtol:.0e}); reference outputs from "
                f"{self.verified_by}")
        if self.argmax_agree is not None:
            text += f"; argmax agrees on {self.argmax_agree:.1%} of rows"
        if not self.passed:
            text += (f"\n  {self.n_bad} value(s) out of tolerance; worst at "
                     f"{list(self.worst_index)}: recomputed={self.actual_at_worst!r} "
                     f"stored={self.expected_at_worst!r}")
        return text


@dataclasses.dataclass
class Bundle:
    """Everything a bundle holds, as read by :func:`read_bundle`."""

    model: Sequential
    vocabulary: Vocabulary | None
    config: dict
    test_inputs: np.ndarray | None
    test_outputs: np.ndarray | None
    report: VerificationReport | None

    @property
    def verified_by(self) -> str | None:
        test = self.config.get("test") or {}
        return test.get("verified_by")

    @property
    def provenance(self) -> dict:
        return dict(self.config.get("provenance") or {})


# ------------------------------------------------------------------------------------------------
def _digest(arrays: dict[str, np.ndarray]) -> bytes:
    h = hashlib.sha256(FORMAT.encode() + b"\0")
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + b"\0" + arr.dtype.str.encode() + b"\0"
                 + repr(tuple(arr.shape)).encode() + b"\0")
        h.update(arr.tobytes())
    return h.digest()


def _write_bundle(path: str | os.PathLike, config: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``config`` + ``arrays`` with their digest, atomically (temp file + rename)."""
    payload = dict(arrays)
    payload[_CONFIG_KEY] = np.frombuffer(json.dumps(config, sort_keys=True).encode("utf-8"),
                                         dtype=np.uint8)
    payload[_DIGEST_KEY] = np.frombuffer(_digest(payload), dtype=np.uint8)
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **payload)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def compare_outputs(actual: Any, expected: Any, rtol: float, atol: float,
                    verified_by: str = "?") -> VerificationReport:
    """Element-wise ``|actual - expected| <= atol + rtol * |expected|``, with the figures."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return VerificationReport(False, tuple(e.shape), float("inf"), float("inf"), e.size,
                                  e.size, (), float("nan"), float("nan"), rtol, atol,
                                  verified_by)
    err = np.abs(a - e)
    err = np.where(np.isnan(a) & np.isnan(e), 0.0, np.where(np.isnan(a) | np.isnan(e),
                                                            np.inf, err))
    bad = err > atol + rtol * np.abs(np.nan_to_num(e))
    worst = np.unravel_index(int(np.argmax(err)), err.shape) if err.size else ()
    rel = err / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
    agree = None
    if e.ndim >= 2 and e.shape[-1] > 1 and e.size:
        agree = float(np.mean(a.argmax(-1) == e.argmax(-1)))
    return VerificationReport(
        passed=not bool(bad.any()), shape=tuple(e.shape),
        max_abs_err=float(err.max()) if err.size else 0.0,
        max_rel_err=float(rel.max()) if rel.size else 0.0, n_bad=int(bad.sum()),
        n_total=int(e.size), worst_index=tuple(int(i) for i in worst),
        actual_at_worst=float(a[worst]) if err.size else 0.0,
        expected_at_worst=float(e[worst]) if err.size else 0.0,
        rtol=rtol, atol=atol, verified_by=verified_by, argmax_agree=agree)


def make_test_inputs(model: Sequential, n: int = 8, timesteps: int | None = None,
                     seed: int = 0) -> np.ndarray:
    """Random valid inputs for ``model``: token ids for an Embedding-first model (some rows
    left-padded with 0 when ``mask_zero``), normal floats otherwise (some steps set to the mask
    value for a Masking-first model).  ``timesteps`` applies when the model's input length is
    not fixed (default 12).

    Returns ``(n, timesteps)`` ids or ``(n, timesteps, features)`` / ``(n, features)`` floats.
    """
    if not model.layers:
        raise ValueError(f"Model '{model.name}' has no layers.")
    rng = np.random.default_rng(seed)
    shape = model.input_shape
    first = model.layers[0]
    known_t = shape[0] if shape and len(shape) >= 1 else None
    if isinstance(first, Dense) and shape and len(shape) == 1:
        known_t = None
    t = known_t or timesteps or 12  # a model with a fixed input length gets that length
    if isinstance(first, Embedding):
        low = 1 if first.input_dim > 1 else 0
        ids = rng.integers(low, first.input_dim, size=(n, t))
        if first.mask_zero and t > 1:
            for row in range(0, n, 2):  # left padding on every other row, as pad_sequences
                ids[row, :rng.integers(1, t)] = 0
        dtype = model.input_dtype if model.input_dtype and \
            np.dtype(model.input_dtype).kind in "iu" else "int32"
        return ids.astype(dtype)
    features = None
    if shape and shape[-1] is not None:
        features = shape[-1]
    elif isinstance(first, (RNNBase, Bidirectional, Dense)) and first.features is not None:
        features = first.features
    if features is None:
        raise ValueError(f"Cannot make test inputs for model '{model.name}': its input size is "
                         "unknown. Give `test_inputs`, or Sequential(input_shape=...).")
    dtype = model.input_dtype if model.input_dtype and \
        np.dtype(model.input_dtype).kind == "f" else "float32"
    if isinstance(first, Dense) and (shape is None or len(shape) == 1):
        return rng.normal(size=(n, features)).astype(dtype)
    x = rng.normal(size=(n, t, features)).astype(dtype)
    if isinstance(first, Masking) and t > 1:
        for row in range(0, n, 2):
            x[row, :rng.integers(1, t)] = first.mask_value
    return x


def _versions() -> dict:
    return {"numpy_rnn_version": __version__, "numpy_version": np.__version__,
            "python_version": platform.python_version()}


def save(model: Sequential, path: str | os.PathLike, vocabulary: Any = None,
         test_inputs: Any = None, test_outputs: Any = None, *, verified_by: str | None = None,
         provenance: dict | None = None, rtol: float | None = None, atol: float | None = None,
         n_test: int = 8, seed: int = 0) -> str:
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

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: the model does not reproduce ``test_outputs`` within the tolerance, cannot
            be rebuilt from its config, or the vocabulary emits ids the Embedding lacks.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"`model` must be a numpy_rnn.Sequential. Received: "
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
    arrays[_INPUTS_KEY] = np.ascontiguousarray(x)
    arrays[_OUTPUTS_KEY] = np.ascontiguousarray(y)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model_config,
        "weights": [{"key": f"weight_{i:03d}", "name": n, "shape": list(w.shape),
                     "dtype": w.dtype.name} for i, (n, w) in enumerate(zip(names, weights))],
        "test": {"inputs": _INPUTS_KEY, "outputs": _OUTPUTS_KEY, "verified_by": verified_by,
                 "rtol": rtol, "atol": atol, "input_shape": list(x.shape),
                 "input_dtype": x.dtype.name, "output_shape": list(y.shape),
                 "output_dtype": y.dtype.name},
        "vocabulary": vocab_json,
        "provenance": {**_versions(),
                       "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                           timespec="seconds"),
                       **(provenance or {})},
    }
    _write_bundle(path, config, arrays)
    return os.fspath(path)


# ------------------------------------------------------------------------------------------------
def _read_arrays(path: str) -> dict[str, np.ndarray]:
    """Every array of the npz, refusing pickles, truncation and size bombs."""
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise BundleError(f"{path!r} is not a readable numpy-rnn bundle (truncated, corrupt or "
                          f"not an .npz file): {exc}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise BundleError(f"{path!r} is a single .npy array, not a numpy-rnn bundle (.npz)")
    arrays: dict[str, np.ndarray] = {}
    with npz:
        for key in npz.files:
            try:
                info = npz.zip.getinfo(f"{key}.npy")
                if info.file_size > 1000 * max(info.compress_size, 1) + (1 << 20):
                    raise BundleError(f"{path!r}: array {key!r} declares {info.file_size} bytes "
                                      f"but stores {info.compress_size}; refusing a potential "
                                      "decompression bomb")
                with npz.zip.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    shape, _, dtype = (np.lib.format.read_array_header_1_0(member)
                                       if version == (1, 0)
                                       else np.lib.format.read_array_header_2_0(member))
                if dtype.hasobject:
                    raise BundleError(f"{path!r}: array {key!r} holds Python objects; bundles "
                                      "hold plain numbers only (nothing is unpickled)")
                if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > info.file_size:
                    raise BundleError(f"{path!r}: array {key!r} declares shape {shape} but its "
                                      f"member holds {info.file_size} bytes (truncated or "
                                      "tampered)")
                arrays[key] = npz[key]
            except BundleError:
                raise
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
                raise BundleError(f"{path!r}: array {key!r} cannot be read (truncated or "
                                  f"corrupt bundle): {exc}") from None
    return arrays


def _check_config(path: str, config: Any) -> None:
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise BundleError(f"{path!r} is not a numpy-rnn bundle: its config has format "
                          f"{found!r}, expected {FORMAT!r}")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BundleVersionError(f"{path!r}: unknown bundle format version {version!r}; this "
                                 f"numpy-rnn {__version__} reads format version(s) 1.."
                                 f"{FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise BundleVersionError(f"{path!r} was written in bundle format version {version} (by "
                                 "a newer numpy-rnn); this numpy-rnn "
                                 f"{__version__} reads format version(s) 1..{FORMAT_VERSION}: "
                                 "upgrade numpy-rnn")


def read_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Read a bundle: check its format version, digest and weight shapes, build the model and
    (``verify=True``) recompute the stored test outputs.

    Raises:
        FileNotFoundError: no such file.
        BundleVersionError: a format version this numpy-rnn cannot read.
        BundleIntegrityError: the digest does not match (truncated, corrupted or edited).
        BundleVerificationError: the model no longer reproduces its test outputs (figures in
            the message and in ``.report``).
        BundleError: any other inconsistency (missing arrays, shapes that disagree with the
            config, a config that cannot be rebuilt).
    """
    path = os.fspath(path)
    arrays = _read_arrays(path)
    for key in (_CONFIG_KEY, _DIGEST_KEY):
        if key not in arrays:
            raise BundleError(f"{path!r} is not a numpy-rnn bundle: it has no {key!r} array "
                              f"(arrays: {sorted(arrays)})")
    raw = arrays[_CONFIG_KEY]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise BundleError(f"{path!r}: the config must be a 1-D uint8 array; found "
                          f"{raw.dtype} {raw.shape}")
    try:
        config = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleIntegrityError(f"{path!r}: the config is not valid JSON (corrupted): "
                                   f"{exc}") from None
    _check_config(path, config)
    stored = arrays.pop(_DIGEST_KEY).tobytes()
    actual = _digest(arrays)
    if stored != actual:
        raise BundleIntegrityError(
            f"{path!r} failed its integrity check: SHA-256 stored {stored.hex()[:16]}..., "
            f"computed {actual.hex()[:16]}...: the file was truncated, corrupted or edited "
            "after it was written")
    try:
        model = _build_model(path, config, arrays)
    except BundleError:
        raise
    except Exception as exc:  # noqa: BLE001 - the config is untrusted data: never a crash
        raise BundleError(f"{path!r}: malformed bundle config ({type(exc).__name__}: "
                          f"{exc})") from None
    vocabulary = model.vocabulary
    test = config.get("test") if isinstance(config.get("test"), dict) else {}
    x = arrays.get(test.get("inputs", _INPUTS_KEY))
    y = arrays.get(test.get("outputs", _OUTPUTS_KEY))
    report = None
    if x is None or y is None:
        warnings.warn(f"{path!r} holds no test vectors: its outputs cannot be verified",
                      UserWarning, stacklevel=2)
    elif verify:
        try:
            report = verify_model(model, x, y, test)
        except BundleError as exc:
            raise BundleError(f"{path!r}: {exc}") from None
        if not report.passed:
            raise BundleVerificationError(
                f"{path!r}: the model no longer reproduces its stored test outputs, refusing "
                f"it:\n{report}", report)
    else:
        warnings.warn(f"{path!r} loaded with verify=False: its test vectors were NOT checked",
                      UserWarning, stacklevel=2)
    return Bundle(model=model, vocabulary=vocabulary, config=config, test_inputs=x,
                  test_outputs=y, report=report)


def _build_model(path: str, config: dict, arrays: dict[str, np.ndarray]) -> Sequential:
    """The model of a bundle whose digest checked out, every weight shape checked first."""
    specs = config.get("weights")
    if not isinstance(specs, list):
        raise BundleError(f"{path!r}: the config has no 'weights' list")
    weights = []
    for i, spec in enumerate(specs):
        key = spec.get("key") if isinstance(spec, dict) else None
        if key not in arrays:
            raise BundleError(f"{path!r}: weight {i} ({spec!r}) is missing from the bundle")
        arr = arrays[key]
        want = tuple(spec.get("shape") or ())
        if tuple(arr.shape) != want or arr.dtype.name != spec.get("dtype"):
            raise BundleError(f"{path!r}: weight `{spec.get('name')}` ({key}) has shape "
                              f"{tuple(arr.shape)} and dtype {arr.dtype} but the config says "
                              f"shape {want} and dtype {spec.get('dtype')}")
        weights.append(arr)
    try:
        model = Sequential.from_config(config["model"])
    except (ValueError, TypeError, KeyError) as exc:
        raise BundleError(f"{path!r}: the model config cannot be rebuilt: {exc}") from None
    names = model.weight_names()
    if len(names) != len(weights):
        raise BundleError(f"{path!r}: the model config has {len(names)} weights {names}, the "
                          f"bundle {len(weights)}")
    expected = [s for layer in model.layers for s in _shapes(layer)]
    for name, spec, arr, want in zip(names, specs, weights, expected):
        if tuple(arr.shape) != tuple(want):
            raise BundleError(f"{path!r}: weight `{name}` has shape {tuple(arr.shape)} in the "
                              f"bundle but the model config needs {tuple(want)}")
    model.set_weights(weights)
    vocabulary = None
    if config.get("vocabulary") is not None:
        try:
            vocabulary = Vocabulary.from_json(config["vocabulary"])
        except (ValueError, TypeError) as exc:
            raise BundleError(f"{path!r}: the stored vocabulary cannot be read: {exc}") from None
    model.vocabulary = vocabulary
    return model


def _shapes(layer: Any) -> list[tuple]:
    shapes = layer.weight_shapes()
    return [tuple(shapes[n]) for n in layer.weight_names()]


def verify_model(model: Sequential, x: np.ndarray, y: np.ndarray,
                 test: dict | None = None) -> VerificationReport:
    """Recompute ``model.predict(x)`` and compare it with ``y`` at the bundle's tolerance."""
    test = test or {}
    out_key = "float64" if y.dtype == np.float64 else "float32"
    try:
        rtol = float(test.get("rtol", TOLERANCES[out_key][0]))
        atol = float(test.get("atol", TOLERANCES[out_key][1]))
    except (TypeError, ValueError):
        raise BundleError(f"the bundle's test tolerance is not a number: rtol="
                          f"{test.get('rtol')!r}, atol={test.get('atol')!r}") from None
    try:
        actual = model.predict(x)
    except Exception as exc:  # noqa: BLE001 - reported as a bundle that cannot run its inputs
        raise BundleError(f"the model cannot run its stored test inputs {x.shape}: "
                          f"{exc}") from None
    return compare_outputs(actual, y, rtol, atol, str(test.get("verified_by", "?")))


def load(path: str | os.PathLike, verify: bool = True) -> Sequential:
    """Load a bundle written by :func:`save`; the model (with ``.vocabulary``) is returned only
    after it reproduced the stored test outputs (``verify=False`` skips that, with a warning).

    See :func:`read_bundle` for the errors."""
    return read_bundle(path, verify=verify).model
