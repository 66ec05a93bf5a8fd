"""Reading bundles: ``read_bundle`` / ``load``.  Every declared shape is checked against the
stored arrays' headers, and every limit applied, before any weight data is read or any layer
built; the model is returned only after it reproduced its stored test outputs.
"""
from __future__ import annotations

import dataclasses
import json
import os
import stat
import warnings
import zipfile
from typing import Any

import numpy as np

from .. import __version__
from .. import _limits
from ..model import Sequential
from ..text import Vocabulary
from .bundle_format import (CONFIG_KEY, DIGEST_KEY, FORMAT, FORMAT_VERSION, INPUTS_KEY,
                            OUTPUTS_KEY, bundle_digest, check_labels)
from .bundle_graph import check_graph_shapes, is_graph_config, rebuild, verify_graph
from .bundle_verify import VerificationReport, stored_tolerances, verify_model
from .declared import declared_weights
from .errors import BundleError, BundleIntegrityError, BundleVerificationError, BundleVersionError

@dataclasses.dataclass
class Bundle:
    """Everything a bundle holds, as read by :func:`read_bundle` (a functional model's test
    vectors are lists: one array per input / output)."""

    model: Any
    vocabulary: Vocabulary | None
    config: dict
    test_inputs: Any
    test_outputs: Any
    report: VerificationReport | None

    @property
    def verified_by(self) -> str | None:
        test = self.config.get("test") or {}
        return test.get("verified_by")

    @property
    def provenance(self) -> dict:
        return dict(self.config.get("provenance") or {})

    @property
    def labels(self) -> list[str] | None:
        """The class names stored with the model (``save(labels=...)``), or None."""
        labels = self.config.get("labels")
        return list(labels) if labels is not None else None




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
    text = dtype.kind == "U" and key.startswith(INPUTS_KEY)  # a string model's test inputs
    if (dtype.kind not in "biuf" and not text) or dtype.fields is not None or \
            dtype.subdtype is not None:
        raise BundleError(f"{path!r}: array {key!r} has dtype {dtype}; bundles hold plain "
                          "booleans, integers and floats only (and fixed-width text as the "
                          "test inputs of a model that reads strings)")
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
    if config.get("labels") is not None:
        try:
            check_labels(config["labels"])
        except (TypeError, ValueError) as exc:
            raise BundleError(f"{path!r}: the config's 'labels' entry: {exc}") from None
    test = config.get("test")
    if test is not None:
        if not isinstance(test, dict):
            raise BundleError(f"{path!r}: the config's 'test' entry must be a dict. Received: "
                              f"{_limits._show(test)}")
        try:
            stored_tolerances(test)
        except BundleError as exc:
            raise BundleError(f"{path!r}: {exc}") from None
        graph = is_graph_config(config)
        for key in ("inputs", "outputs"):
            value = test.get(key)
            ok = isinstance(value, str) if not graph else (
                isinstance(value, list) and value and all(isinstance(v, str) for v in value))
            if key in test and not ok:
                raise BundleError(f"{path!r}: the config's test.{key} must be "
                                  f"{'a list of array names' if graph else 'an array name'}. "
                                  f"Received: {_limits._show(value)}")
    if is_graph_config(config) and version < 2:
        raise BundleError(f"{path!r}: a functional model's bundle has format version 2 or "
                          f"later. Received: format_version={version}")


def _weight_specs(path: str, config: dict, members: dict[str, _Member]) -> list[dict]:
    specs = config.get("weights")
    if not isinstance(specs, list):
        raise BundleError(f"{path!r}: the config has no 'weights' list")
    for i, spec in enumerate(specs):
        key = spec.get("key") if isinstance(spec, dict) else None
        if not isinstance(key, str) or key not in members or key in (CONFIG_KEY, DIGEST_KEY):
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
            declared, width = declared_weights(cls, cfg, width, stored[pos:])
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
    with zf.fp, zf:  # a ZipFile given an open file never closes it: close both
        members = _read_headers(path, zf)
        for key in (CONFIG_KEY, DIGEST_KEY):
            if key not in members:
                raise BundleError(f"{path!r} is not a numpy-rnn bundle: it has no {key!r} array "
                                  f"(arrays: {sorted(members)})")
        head = members[CONFIG_KEY]
        if head.dtype != np.uint8 or len(head.shape) != 1:
            raise BundleError(f"{path!r}: the config must be a 1-D uint8 array; found "
                              f"{head.dtype} {head.shape}")
        if head.nbytes > _limits.MAX_JSON_BYTES:
            raise BundleError(f"{path!r}: the config holds {head.nbytes} bytes, more than the "
                              f"limit of {_limits.MAX_JSON_BYTES} bytes")
        config = _parse_config(path, _read_data(path, zf, CONFIG_KEY, head))
        _check_config(path, config)
        specs = _weight_specs(path, config, members)
        graph = None
        if is_graph_config(config):  # rebuilt symbolically: no weight drawn yet
            graph = rebuild(path, config.get("model"))
            check_graph_shapes(path, graph, specs, [members[s["key"]].shape for s in specs])
        else:
            _check_declared_shapes(path, config, specs, members)
        arrays = _read_arrays(path, zf, members)
    stored = arrays.pop(DIGEST_KEY).tobytes()
    actual = bundle_digest(arrays)
    if stored != actual:
        raise BundleIntegrityError(
            f"{path!r} failed its integrity check: SHA-256 stored {stored.hex()[:16]}..., "
            f"computed {actual.hex()[:16]}...: the file was truncated, corrupted or edited "
            "after it was written")
    try:
        model = _build_model(path, config, arrays, graph)
    except BundleError:
        raise
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - the config is untrusted data: never a crash
        raise BundleError(f"{path!r}: malformed bundle config ({type(exc).__name__}: "
                          f"{exc})") from None
    vocabulary = model.vocabulary
    test = config.get("test") if isinstance(config.get("test"), dict) else {}
    if graph is not None:
        x = [arrays.get(k) for k in test.get("inputs") or []] or None
        y = [arrays.get(k) for k in test.get("outputs") or []] or None
        if x is not None and any(a is None for a in x) or y is not None and any(
                a is None for a in y):
            raise BundleError(f"{path!r}: the test vectors {test.get('inputs')} / "
                              f"{test.get('outputs')} are missing from the bundle")
    else:
        x = arrays.get(test.get("inputs", INPUTS_KEY))
        y = arrays.get(test.get("outputs", OUTPUTS_KEY))
    report = None
    if x is None or y is None:
        warnings.warn(f"{path!r} holds no test vectors: its outputs cannot be verified",
                      UserWarning, stacklevel=3)
    elif verify:
        try:
            report = (verify_graph if graph is not None else verify_model)(model, x, y, test)
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


def _build_model(path: str, config: dict, arrays: dict[str, np.ndarray],
                 graph: Any = None) -> Any:
    """The model of a bundle whose shapes and digest checked out (checked once more here);
    ``graph``: a functional model already rebuilt from the config."""
    specs = config["weights"]
    weights = [arrays[spec["key"]] for spec in specs]
    if graph is not None:
        try:
            graph.set_weights(weights)
        except (ValueError, TypeError) as exc:
            raise BundleError(f"{path!r}: the weights do not fit the model: {exc}") from None
        graph.vocabulary = _vocabulary(path, config)
        return graph
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
    model.vocabulary = _vocabulary(path, config)
    return model


def _vocabulary(path: str, config: dict) -> Vocabulary | None:
    if config.get("vocabulary") is None:
        return None
    try:
        return Vocabulary.from_json(config["vocabulary"])
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path!r}: the stored vocabulary cannot be read: {exc}") from None


def _shapes(layer: Any) -> list[tuple]:
    shapes = layer.weight_shapes()
    return [tuple(shapes[n]) for n in layer.weight_names()]





def load(path: str | os.PathLike, verify: bool = True) -> Sequential:
    """Load a bundle written by :func:`save`; the model (with ``.vocabulary``) is returned only
    after it reproduced the stored test outputs (``verify=False`` skips that, with a warning).

    See :func:`read_bundle` for the errors."""
    return read_bundle(path, verify=verify).model
