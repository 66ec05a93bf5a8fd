"""Size limits and checks shared by the two file readers (bundles and ``.keras`` files).

Both readers follow one rule: **nothing is allocated for a weight before its declared shape has
been checked**.  The shape every weight must have follows from the model config alone (pure
arithmetic per layer type: :func:`declared_weights`); it is compared with the shape the file
stores (an ``.npy`` header or an HDF5 dataset's metadata, read without the data) before any
layer is built or any data is read, and the total is bounded by the constants below.  Zip members
are read with a bounded stream (:func:`read_member`): never more than the declared size, never
more than the limit, a chunk at a time, so a member that lies about its size cannot inflate.

The limits are module attributes read at each call; a caller with a legitimately larger model can
raise them (``numpy_rnn._limits.MAX_WEIGHT_ELEMENTS = ...``).
"""
from __future__ import annotations

import numbers
import os
import stat
import zipfile
from typing import Any, Callable

#: Most weight elements (all layers together) a file may declare: 2**30, 4 GiB in float32.
MAX_WEIGHT_ELEMENTS = 1 << 30
#: Largest zip member (an array of a bundle, the weights of a ``.keras`` file) read into memory.
MAX_MEMBER_BYTES = 4 << 30
#: Most bytes all the arrays of one bundle may declare together.
MAX_BUNDLE_BYTES = 8 << 30
#: Largest JSON document (a bundle's config, ``config.json``, ``metadata.json``) read.
MAX_JSON_BYTES = 64 << 20
#: A compressed member may inflate at most this many times its stored size (+ the slack below);
#: DEFLATE itself cannot exceed ~1032.
MAX_COMPRESSION_RATIO = 1100
COMPRESSION_SLACK_BYTES = 1 << 20
#: Bytes decompressed per read.
CHUNK_BYTES = 1 << 20
#: Most class labels a bundle may carry, and the longest label.
MAX_LABELS = 1 << 20
MAX_LABEL_CHARS = 1000

_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


class LimitError(ValueError):
    """Raised by the helpers here; each reader re-raises it as its own error class."""


# ------------------------------------------------------------------------------------------------
# Bounded reading
# ------------------------------------------------------------------------------------------------
def archive_size(zf: zipfile.ZipFile) -> int | None:
    try:
        return os.fstat(zf.fp.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None


def check_member(info: zipfile.ZipInfo, limit: int, archive_bytes: int | None = None) -> None:
    """Refuse a member before opening it: odd compression, too large, stored bytes the archive
    does not have, or a decompression bomb."""
    name = info.filename
    if info.compress_type not in _COMPRESSIONS:
        raise LimitError(f"member {name!r} uses compression method {info.compress_type}; only "
                         "stored and deflate members are read")
    if info.flag_bits & 0x1:
        raise LimitError(f"member {name!r} is encrypted")
    if info.file_size > limit:
        raise LimitError(f"member {name!r} declares {info.file_size} bytes, more than the "
                         f"limit of {limit} bytes")
    if archive_bytes is not None and info.header_offset + info.compress_size > archive_bytes:
        raise LimitError(f"member {name!r} claims {info.compress_size} stored bytes at offset "
                         f"{info.header_offset}, beyond the end of the {archive_bytes}-byte "
                         "archive (truncated or tampered)")
    if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) + \
            COMPRESSION_SLACK_BYTES:
        raise LimitError(f"member {name!r} declares {info.file_size} bytes but stores "
                         f"{info.compress_size}; refusing a potential decompression bomb")


def read_stream(stream: Any, n: int, what: str) -> bytearray:
    """Exactly ``n`` bytes from ``stream``, ``CHUNK_BYTES`` at a time (never more)."""
    buf = bytearray(n)
    view = memoryview(buf)
    pos = 0
    while pos < n:
        data = stream.read(min(CHUNK_BYTES, n - pos))
        if not data:
            raise LimitError(f"{what} ends after {pos} of its {n} bytes (truncated)")
        view[pos:pos + len(data)] = data
        pos += len(data)
    return buf


def read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The bytes of member ``name``: at most ``min(limit, declared size)``, read a chunk at a
    time, so a member that inflates to more than it declares is refused after one chunk."""
    info = zf.getinfo(name)
    check_member(info, limit, archive_size(zf))
    with zf.open(info) as stream:
        data = read_stream(stream, info.file_size, f"member {name!r}")
        if stream.read(1):  # zipfile stops at the declared size: never reached, but be sure
            raise LimitError(f"member {name!r} holds more than the {info.file_size} bytes it "
                             "declares")
    return bytes(data)


def read_file(path: str, limit: int) -> bytes:
    """The bytes of a regular file, at most ``limit`` (a FIFO or a device such as /dev/zero is
    refused; never more than the size the file reports, plus one byte to notice growth)."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise LimitError(f"{os.path.basename(path)!r} is not a regular file")
        if st.st_size > limit:
            raise LimitError(f"{os.path.basename(path)!r} holds {st.st_size} bytes, more than "
                             f"the limit of {limit} bytes")
        data = fh.read(st.st_size + 1)
    if len(data) > st.st_size:
        raise LimitError(f"{os.path.basename(path)!r} grew while it was read")
    return data


# ------------------------------------------------------------------------------------------------
# Declared weight shapes: pure arithmetic from a numpy_rnn layer config
# ------------------------------------------------------------------------------------------------
_RNN_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
_WEIGHTLESS = ("Masking", "Dropout")


def _count(label: str, cfg: dict, key: str, default: Any = None, optional: bool = False):
    value = cfg.get(key, default)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise LimitError(f"{label}: `{key}` must be a positive integer. Received: "
                         f"{key}={_show(value)}")
    return int(value)


def _flag(label: str, cfg: dict, key: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if not isinstance(value, bool):
        raise LimitError(f"{label}: `{key}` must be a bool (True or False). Received: "
                         f"{key}={_show(value)}")
    return value


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        text = f"<deeply nested {type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def layer_label(class_name: Any, cfg: Any) -> str:
    name = cfg.get("name") if isinstance(cfg, dict) else None
    return f"layer '{name if isinstance(name, str) else '?'}' ({class_name})"


def declared_weights(class_name: str, cfg: dict, in_width: int | None,
                     stored: list | None = None) -> tuple[list[tuple[str, tuple]], int | None]:
    """``([(weight name, shape), ...], output width)`` for one layer, from its config alone.

    ``cfg`` is a numpy_rnn layer config (``layer.get_config()``; a Bidirectional's ``layer`` /
    ``backward_layer`` serialized as ``{"class_name", "config"}``).  ``in_width`` is the width
    of the layer's input (the previous layer's output width; None when unknown); when the
    input width is unknown, the first stored weight's first axis stands in for it (``stored``:
    the stored shapes, in order) -- still bounded by what the file really holds.  Raises
    :class:`LimitError` for a config value that is not a size.
    """
    label = layer_label(class_name, cfg)
    if not isinstance(cfg, dict):
        raise LimitError(f"{label}: the config is not a dict")
    if class_name in _WEIGHTLESS:
        return [], in_width
    if class_name in ("Embedding", "EmbeddingLayer"):
        rows = _count(label, cfg, "input_dim", cfg.get("vocab_size"))
        cols = _count(label, cfg, "output_dim", cfg.get("hidden_dim"))
        return [("embeddings", (rows, cols))], cols

    def features() -> int:
        own = _count(label, cfg, "features", optional=True)
        if own is not None:
            return own
        if in_width is not None:
            return in_width
        first = stored[0] if stored else None
        if first is not None and len(first) == 2 and isinstance(first[0], numbers.Integral):
            return int(first[0])
        raise LimitError(f"{label}: its input size is unknown (no `features`, no input shape)")

    if class_name == "Dense":
        units = _count(label, cfg, "units")
        shapes = [("kernel", (features(), units))]
        if _flag(label, cfg, "use_bias", True):
            shapes.append(("bias", (units,)))
        return shapes, units
    if class_name in _RNN_GATES:
        units = _count(label, cfg, "units")
        g = _RNN_GATES[class_name] * units
        shapes = [("kernel", (features(), g)), ("recurrent_kernel", (units, g))]
        if _flag(label, cfg, "use_bias", True):
            reset_after = class_name == "GRU" and _flag(label, cfg, "reset_after", True)
            shapes.append(("bias", (2, g) if reset_after else (g,)))
        return shapes, units
    if class_name == "Bidirectional":
        merge = cfg.get("merge_mode", "concat")
        out: list[tuple[str, tuple]] = []
        widths = []
        rest = list(stored) if stored else None
        for prefix, key in (("forward_", "layer"), ("backward_", "backward_layer")):
            inner = cfg.get(key)
            if inner is None and key == "backward_layer":
                inner = cfg.get("layer")
            if not isinstance(inner, dict) or inner.get("class_name") not in _RNN_GATES:
                raise LimitError(f"{label}: `{key}` must be a serialized LSTM, GRU or SimpleRNN. "
                                 f"Received: {_show(inner)}")
            shapes, width = declared_weights(inner["class_name"], inner.get("config"),
                                             in_width, rest)
            rest = rest[len(shapes):] if rest else None
            out += [(prefix + n, s) for n, s in shapes]
            widths.append(width)
        return out, (2 * widths[0] if merge == "concat" else widths[0])
    raise LimitError(f"{label}: unknown layer class {class_name!r}")


def element_count(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def check_total(total_elements: int, where: str) -> None:
    if total_elements > MAX_WEIGHT_ELEMENTS:
        raise LimitError(f"{where}: the model declares {total_elements:,} weight elements, more "
                         f"than the limit of {MAX_WEIGHT_ELEMENTS:,} "
                         "(numpy_rnn._limits.MAX_WEIGHT_ELEMENTS)")


def compare_shapes(label: str, declared: list[tuple[str, tuple]], stored: list[tuple],
                   where: Callable[[int], str], *, where_first: bool = True) -> list[str]:
    """One line per stored weight whose shape differs from the declared one (same counts)."""
    problems = []
    for i, ((name, want), have) in enumerate(zip(declared, stored)):
        if tuple(have) != tuple(want):
            if where_first:
                problems.append(f"{label}: weight `{name}` ({where(i)}) has shape {tuple(have)} "
                                f"in the file but the config needs {tuple(want)}")
            else:
                problems.append(f"{label}: weight `{name}` has shape {tuple(have)} in the "
                                f"bundle ({where(i)}) but the model config needs {tuple(want)}")
    return problems
