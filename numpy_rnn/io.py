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
import math
import numbers
import os
import platform
import stat
import tempfile
import warnings
import zipfile
from typing import Any

import numpy as np

from . import __version__
from . import _limits
from .layers import Bidirectional, Dense, Embedding, Masking
from .model import Sequential
from .layers.recurrent import RNNBase
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
        h.update(arr.reshape(-1).view(np.uint8) if arr.size else b"")
    return h.digest()


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


def _write_bundle(path: str | os.PathLike, config: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``config`` + ``arrays`` with their digest, atomically: a new temporary file with a
    random name in the target directory, created exclusively (``O_EXCL``: a planted file or
    symlink is never followed), then ``os.replace``; the temporary file is removed on failure.
    The bundle gets the mode a plain ``open(path, "w")`` would give it (0o666 less the umask)."""
    payload = dict(arrays)
    payload[_CONFIG_KEY] = np.frombuffer(json.dumps(config, sort_keys=True).encode("utf-8"),
                                         dtype=np.uint8)
    payload[_DIGEST_KEY] = np.frombuffer(_digest(payload), dtype=np.uint8)
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
# Reading: every member's header first, the config's declared shapes checked against them, then
# the data (bounded), then the digest, then the model.
@dataclasses.dataclass
class _Member:
    info: zipfile.ZipInfo
    shape: tuple
    dtype: np.dtype
    fortran: bool
    offset: int  # bytes of .npy header before the data

    @property
    def nbytes(self) -> int:
        return _limits.element_count(self.shape) * self.dtype.itemsize


class _Counting:
    """A read-only stream that counts the bytes read (the .npy header length)."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.count = stream, 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(min(n, 1 << 16) if n >= 0 else 1 << 16)
        self.count += len(data)
        return data


def _describe_start(head: bytes) -> str:
    text = head.lstrip()
    if text[:1] in (b"{", b"["):
        return "JSON text"
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "binary data"


def _open_zip(path: str) -> zipfile.ZipFile:
    """The bundle's zip archive, or a BundleError that says what the file is instead."""
    if os.path.isdir(path):
        raise BundleError(f"{path!r} is a directory, not a numpy-rnn bundle (an .npz file)")
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise BundleError(f"{path!r} cannot be read as a numpy-rnn bundle: {exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise BundleError(f"{path!r} is not a regular file, so not a numpy-rnn bundle")
        head = fh.read(64)
        if head.startswith(b"\x93NUMPY"):
            raise BundleError(f"{path!r} is a single .npy array, not a numpy-rnn bundle (.npz)")
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            what = "an empty file" if not head else _describe_start(head)
            raise BundleError(f"{path!r} is not a numpy-rnn bundle: a bundle is an .npz (zip) "
                              f"archive, this file is {what} (starts with {head[:16]!r})")
        fh.seek(0)
        return zipfile.ZipFile(fh)
    except BundleError:
        fh.close()
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        fh.close()
        raise BundleError(f"{path!r} is not a readable numpy-rnn bundle (truncated, corrupt or "
                          f"not an .npz file): {exc}") from None


def _read_header(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Member:
    key = info.filename[:-4]
    with zf.open(info) as raw:
        stream = _Counting(raw)
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise BundleError(f"{path!r}: array {key!r} uses .npy format version {version}; "
                              "bundles use 1.0 or 2.0")
    if dtype.hasobject:
        raise BundleError(f"{path!r}: array {key!r} holds Python objects; bundles hold plain "
                          "numbers only (nothing is unpickled)")
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise BundleError(f"{path!r}: array {key!r} has dtype {dtype}; bundles hold plain "
                          "booleans, integers and floats only")
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise BundleError(f"{path!r}: array {key!r} declares an invalid shape {shape}")
    member = _Member(info, tuple(shape), dtype, bool(fortran), stream.count)
    if member.offset + member.nbytes != info.file_size:
        raise BundleError(f"{path!r}: array {key!r} declares shape {member.shape} "
                          f"({member.nbytes} bytes of {dtype}) but its member holds "
                          f"{info.file_size - member.offset} bytes of data (truncated or "
                          "tampered)")
    return member


def _read_headers(path: str, zf: zipfile.ZipFile) -> dict[str, _Member]:
    """Every member's .npy header (no data read), each member checked against the limits."""
    members: dict[str, _Member] = {}
    total = 0
    size = _limits.archive_size(zf)
    for info in zf.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else None
        if key is None or key in members:
            raise BundleError(f"{path!r}: member {info.filename!r} is not an array of a "
                              "numpy-rnn bundle (an .npz holds NAME.npy members, once each)")
        try:
            _limits.check_member(info, _limits.MAX_MEMBER_BYTES, size)
            members[key] = _read_header(path, zf, info)
        except BundleError:
            raise
        except _limits.LimitError as exc:
            raise BundleError(f"{path!r}: {exc}") from None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError,
                SyntaxError) as exc:
            raise BundleError(f"{path!r}: array {key!r} cannot be read (truncated or corrupt "
                              f"bundle): {exc}") from None
        total += info.file_size
    if total > _limits.MAX_BUNDLE_BYTES:
        raise BundleError(f"{path!r}: its arrays declare {total} bytes, more than the limit of "
                          f"{_limits.MAX_BUNDLE_BYTES} bytes (numpy_rnn._limits."
                          "MAX_BUNDLE_BYTES)")
    return members


def _read_data(path: str, zf: zipfile.ZipFile, key: str, member: _Member) -> np.ndarray:
    """The array of ``member``, read a chunk at a time: never more than its header declares."""
    try:
        with zf.open(member.info) as stream:
            _limits.read_stream(stream, member.offset, f"array {key!r}")
            buf = _limits.read_stream(stream, member.nbytes, f"array {key!r}")
            if stream.read(1):
                raise _limits.LimitError(f"array {key!r} holds more data than its shape "
                                         f"{member.shape}")
    except _limits.LimitError as exc:
        raise BundleError(f"{path!r}: {exc}") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise BundleError(f"{path!r}: array {key!r} cannot be read (truncated or corrupt "
                          f"bundle): {exc}") from None
    arr = np.frombuffer(buf, dtype=member.dtype)
    if member.fortran:
        return arr.reshape(member.shape[::-1]).transpose()
    return arr.reshape(member.shape)


def _parse_config(path: str, raw: np.ndarray) -> Any:
    try:
        return json.loads(raw.tobytes().decode("utf-8"))
    except RecursionError:
        raise BundleError(f"{path!r}: the config nests too deeply to be a numpy-rnn bundle "
                          "config") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleIntegrityError(f"{path!r}: the config is not valid JSON (corrupted): "
                                   f"{exc}") from None


def _check_config(path: str, config: Any) -> None:
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise BundleError(f"{path!r} is not a numpy-rnn bundle: its config has format "
                          f"{_limits._show(found)}, expected {FORMAT!r}")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BundleVersionError(f"{path!r}: unknown bundle format version "
                                 f"{_limits._show(version)}; this numpy-rnn {__version__} reads "
                                 f"format version(s) 1..{FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise BundleVersionError(f"{path!r} was written in bundle format version {version} (by "
                                 "a newer numpy-rnn); this numpy-rnn "
                                 f"{__version__} reads format version(s) 1..{FORMAT_VERSION}: "
                                 "upgrade numpy-rnn")
    test = config.get("test")
    if test is not None:
        if not isinstance(test, dict):
            raise BundleError(f"{path!r}: the config's 'test' entry must be a dict. Received: "
                              f"{_limits._show(test)}")
        try:
            _tolerances(test)
        except BundleError as exc:
            raise BundleError(f"{path!r}: {exc}") from None
        for key in ("inputs", "outputs"):
            if key in test and not isinstance(test[key], str):
                raise BundleError(f"{path!r}: the config's test.{key} must be an array name. "
                                  f"Received: {_limits._show(test[key])}")


def _weight_specs(path: str, config: dict, members: dict[str, _Member]) -> list[dict]:
    specs = config.get("weights")
    if not isinstance(specs, list):
        raise BundleError(f"{path!r}: the config has no 'weights' list")
    for i, spec in enumerate(specs):
        key = spec.get("key") if isinstance(spec, dict) else None
        if not isinstance(key, str) or key not in members or key in (_CONFIG_KEY, _DIGEST_KEY):
            raise BundleError(f"{path!r}: weight {i} ({_limits._show(spec)}) is missing from "
                              "the bundle")
        member = members[key]
        want = spec.get("shape")
        if not isinstance(want, list) or any(isinstance(d, bool) or not isinstance(d, int)
                                             for d in want):
            raise BundleError(f"{path!r}: weight {i} ({key}) has shape {_limits._show(want)} "
                              "in the config; expected a list of integers")
        if member.shape != tuple(want) or member.dtype.name != spec.get("dtype"):
            raise BundleError(f"{path!r}: weight `{spec.get('name')}` ({key}) has shape "
                              f"{member.shape} and dtype {member.dtype} but the config says "
                              f"shape {tuple(want)} and dtype {_limits._show(spec.get('dtype'))}")
        if member.dtype.kind != "f":
            raise BundleError(f"{path!r}: weight `{spec.get('name')}` ({key}) has dtype "
                              f"{member.dtype}; weights are float32 or float64")
    return specs


def _check_declared_shapes(path: str, config: dict, specs: list[dict],
                           members: dict[str, _Member]) -> None:
    """Every weight shape the model config declares, computed from the config alone, against
    the shapes the arrays' headers store -- before any layer is built or any data read."""
    model = config.get("model")
    layers = model.get("layers") if isinstance(model, dict) else None
    if not isinstance(layers, list):
        raise BundleError(f"{path!r}: the model config cannot be rebuilt: it has no 'layers' "
                          "list")
    input_shape = model.get("input_shape")
    width = None
    if isinstance(input_shape, list) and input_shape and isinstance(input_shape[-1], int) \
            and not isinstance(input_shape[-1], bool):
        width = input_shape[-1]
    stored = [members[spec["key"]].shape for spec in specs]
    pos = total = 0
    problems: list[str] = []
    for i, item in enumerate(layers):
        if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
            raise BundleError(f"{path!r}: the model config cannot be rebuilt: layer {i} is "
                              f"{_limits._show(item)}, not a {{'class_name', 'config'}} dict")
        cls, cfg = item.get("class_name"), item["config"]
        if i == 0 and cls in ("Embedding", "EmbeddingLayer"):
            width = None
        try:
            declared, width = _limits.declared_weights(cls, cfg, width, stored[pos:])
        except _limits.LimitError as exc:
            raise BundleError(f"{path!r}: the model config cannot be rebuilt: {exc}") from None
        total += sum(_limits.element_count(s) for _, s in declared)
        label = _limits.layer_label(cls, cfg)
        have = stored[pos:pos + len(declared)]
        if len(have) < len(declared):
            problems.append(f"{label}: the config declares weights "
                            f"{[n for n, _ in declared]}, the bundle stores only {len(have)}")
            break
        problems += _limits.compare_shapes(
            label, [(f"{cfg.get('name')}/{n}", s) for n, s in declared], have,
            lambda j, pos=pos: specs[pos + j]["key"], where_first=False)
        pos += len(declared)
    if not problems and pos != len(specs):
        problems.append(f"the model config declares {pos} weights, the bundle {len(specs)}")
    if problems:
        raise BundleError(f"{path!r}: the weights do not match the model config: "
                          + "; ".join(problems))
    try:
        _limits.check_total(total, repr(path))
    except _limits.LimitError as exc:
        raise BundleError(str(exc)) from None


def _read_arrays(path: str, zf: zipfile.ZipFile,
                 members: dict[str, _Member]) -> dict[str, np.ndarray]:
    return {key: _read_data(path, zf, key, member) for key, member in members.items()}


def read_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Read a bundle: check its format version, every declared weight shape against the stored
    arrays (before reading their data), the size limits, the digest, build the model and
    (``verify=True``) recompute the stored test outputs.

    Raises:
        FileNotFoundError: no such file.
        BundleVersionError: a format version this numpy-rnn cannot read.
        BundleIntegrityError: the digest does not match (truncated, corrupted or edited).
        BundleVerificationError: the model no longer reproduces its test outputs (figures in
            the message and in ``.report``).
        BundleError: any other problem: not a bundle (a directory, a text file, a plain npz),
            missing arrays, shapes that disagree with the config, sizes over the limits of
            ``numpy_rnn._limits``, a config that cannot be rebuilt or nests too deeply, test
            tolerances that are not finite non-negative numbers.
    """
    path = os.fspath(path)
    try:
        return _read_bundle(path, verify)
    except RecursionError:
        raise BundleError(f"{path!r}: the config nests too deeply to be a numpy-rnn bundle "
                          "config") from None
    except MemoryError:
        raise BundleError(f"{path!r}: not enough memory to load this bundle") from None


def _read_bundle(path: str, verify: bool) -> Bundle:
    zf = _open_zip(path)
    with zf:
        members = _read_headers(path, zf)
        for key in (_CONFIG_KEY, _DIGEST_KEY):
            if key not in members:
                raise BundleError(f"{path!r} is not a numpy-rnn bundle: it has no {key!r} array "
                                  f"(arrays: {sorted(members)})")
        head = members[_CONFIG_KEY]
        if head.dtype != np.uint8 or len(head.shape) != 1:
            raise BundleError(f"{path!r}: the config must be a 1-D uint8 array; found "
                              f"{head.dtype} {head.shape}")
        if head.nbytes > _limits.MAX_JSON_BYTES:
            raise BundleError(f"{path!r}: the config holds {head.nbytes} bytes, more than the "
                              f"limit of {_limits.MAX_JSON_BYTES} bytes")
        config = _parse_config(path, _read_data(path, zf, _CONFIG_KEY, head))
        _check_config(path, config)
        specs = _weight_specs(path, config, members)
        _check_declared_shapes(path, config, specs, members)
        arrays = _read_arrays(path, zf, members)
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
    except RecursionError:
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
                      UserWarning, stacklevel=3)
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
                      UserWarning, stacklevel=3)
    return Bundle(model=model, vocabulary=vocabulary, config=config, test_inputs=x,
                  test_outputs=y, report=report)


def _build_model(path: str, config: dict, arrays: dict[str, np.ndarray]) -> Sequential:
    """The model of a bundle whose shapes and digest checked out (checked once more here)."""
    specs = config["weights"]
    weights = [arrays[spec["key"]] for spec in specs]
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


def _tolerances(test: dict, out_key: str = "float32") -> tuple[float, float]:
    """``(rtol, atol)`` of a bundle's test entry: finite, non-negative real numbers."""
    values = []
    for i, key in enumerate(("rtol", "atol")):
        value = test.get(key, TOLERANCES[out_key][i])
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                not math.isfinite(value) or value < 0:
            raise BundleError(f"the bundle's test tolerance `{key}` must be a finite "
                              f"non-negative number. Received: {key}={_limits._show(value)}")
        values.append(float(value))
    return values[0], values[1]


def verify_model(model: Sequential, x: np.ndarray, y: np.ndarray,
                 test: dict | None = None) -> VerificationReport:
    """Recompute ``model.predict(x)`` and compare it with ``y`` at the bundle's tolerance."""
    test = test or {}
    rtol, atol = _tolerances(test, "float64" if y.dtype == np.float64 else "float32")
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
