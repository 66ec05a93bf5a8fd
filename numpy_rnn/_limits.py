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
_WEIGHTLESS = ("Masking", "Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
               "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
               "ActivityRegularization")
_CONV = ("Conv1D", "Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D")
_POOL = ("MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D")


def _reshaped_width(class_name: str, cfg: dict, in_width: int | None) -> int | None:
    """The last-axis width after a weightless reshaping layer (None: not known from the
    config and the input width alone)."""
    if class_name in ("RepeatVector", "Cropping1D", "UpSampling1D"):
        return in_width
    if class_name == "ZeroPadding1D":
        return in_width if cfg.get("data_format") in (None, "channels_last") else None
    if class_name == "Reshape":
        target = cfg.get("target_shape")
        last = target[-1] if isinstance(target, (list, tuple)) and target else None
        ok = isinstance(last, numbers.Integral) and not isinstance(last, bool) and last > 0
        return int(last) if ok else None
    if class_name == "Permute":
        dims = cfg.get("dims")
        keeps = isinstance(dims, (list, tuple)) and dims and dims[-1] == len(dims)
        return in_width if keeps else None
    return None  # Flatten: the product of every axis but the batch


_RESHAPING = ("Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D", "ZeroPadding1D",
              "UpSampling1D")


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
    if class_name in _POOL or class_name in _CONV:
        return _conv_weights(label, class_name, cfg, in_width, stored)
    if class_name in _RESHAPING:
        return [], _reshaped_width(class_name, cfg, in_width)
    if class_name == "TimeDistributed":
        inner = cfg.get("layer")
        if not isinstance(inner, dict) or not isinstance(inner.get("class_name"), str):
            raise LimitError(f"{label}: `layer` must be a serialized layer. Received: "
                             f"{_show(inner)}")
        return declared_weights(inner["class_name"], inner.get("config"), in_width, stored)
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

    if class_name == "PReLU":
        return [("alpha", _prelu_alpha(label, cfg, in_width, stored))], in_width
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
    if class_name in _NORMALIZATION:
        return _normalization_weights(label, class_name, cfg, in_width, stored), in_width
    raise LimitError(f"{label}: unknown layer class {class_name!r}")


#: Normalization layers: their weights have the shape of the normalized axes of their input.
_NORMALIZATION = ("BatchNormalization", "LayerNormalization", "UnitNormalization",
                  "GroupNormalization", "RMSNormalization")


def _normalization_names(label: str, class_name: str, cfg: dict) -> list[str]:
    if class_name == "UnitNormalization":
        return []
    if class_name == "RMSNormalization":
        return ["scale"]
    scale, center = _flag(label, cfg, "scale", True), _flag(label, cfg, "center", True)
    if class_name == "LayerNormalization" and _flag(label, cfg, "rms_scaling", False):
        return ["gamma"]
    names = (["gamma"] if scale else []) + (["beta"] if center else [])
    return names + (["moving_mean", "moving_variance"] if class_name == "BatchNormalization"
                    else [])


def _normalization_weights(label: str, class_name: str, cfg: dict, in_width: int | None,
                           stored: list | None) -> list[tuple[str, tuple]]:
    """The weights of a normalization layer: the input's sizes at ``axis`` (sorted, as Keras
    sorts a list), from the ``build_input_shape`` its config records; without one, the input
    width for ``axis=-1``, else the first stored weight's shape (bounded by the file)."""
    names = _normalization_names(label, class_name, cfg)
    if not names:
        return []
    axis = cfg.get("axis", -1)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
        raise LimitError(f"{label}: `axis` must be an int or a list of ints. Received: "
                         f"axis={_show(axis)}")
    axes = sorted(int(a) for a in axes)
    built = cfg.get("build_input_shape")
    if built is not None:
        if not isinstance(built, (list, tuple)) or any(
                d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral))
                for d in built):
            raise LimitError(f"{label}: `build_input_shape` must be a list of ints or None. "
                             f"Received: build_input_shape={_show(built)}")
        rank = len(built)
        if any(a >= rank or a < -rank for a in axes):
            raise LimitError(f"{label}: `axis` {axis} does not fit build_input_shape "
                             f"{_show(built)}")
        shape = tuple(built[a] for a in axes)
        if any(d is None or d < 1 for d in shape):
            raise LimitError(f"{label}: the normalized axes of build_input_shape "
                             f"{_show(built)} must have positive sizes")
    elif axes == [-1] and in_width is not None:
        shape = (in_width,)
    elif stored:
        shape = tuple(stored[0])
    else:
        raise LimitError(f"{label}: its input shape is unknown (no `build_input_shape`, no "
                         "input width)")
    return [(name, shape) for name in names]


def _prelu_alpha(label: str, cfg: dict, in_width: int | None, stored: list | None) -> tuple:
    """PReLU's ``alpha`` is the input shape without the batch axis (1 along ``shared_axes``):
    the config alone does not give the sizes of the middle axes, so the stored shape stands in
    for them, checked against what the config does fix (1 along the shared axes, the input
    width on the last axis unless shared)."""
    shared = cfg.get("shared_axes")
    shared = [] if shared is None else (list(shared) if isinstance(shared, (list, tuple))
                                        else [shared])
    if any(isinstance(a, bool) or not isinstance(a, numbers.Integral) or a < 1 for a in shared):
        raise LimitError(f"{label}: `shared_axes` must be axes >= 1. Received: "
                         f"shared_axes={_show(cfg.get('shared_axes'))}")
    shape = cfg.get("build_input_shape")
    if isinstance(shape, (list, tuple)) and len(shape) >= 2 and all(
            d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1)
            for d in shape):
        dims = [1 if i in shared else d for i, d in enumerate(shape) if i > 0]
        if all(d is not None for d in dims) and all(a < len(shape) for a in shared):
            return tuple(int(d) for d in dims)  # built: the config fixes every size
    first = tuple(stored[0]) if stored else None
    if first is None or not first or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in first):
        raise LimitError(f"{label}: its weight `alpha` is missing or has no valid shape "
                         f"(stored: {_show(first)})")
    want = list(first)
    for a in shared:
        if a <= len(want):
            want[a - 1] = 1
    if in_width is not None and len(want) not in shared:
        want[-1] = in_width
    return tuple(int(d) for d in want)


def _conv_weights(label: str, class_name: str, cfg: dict, in_width: int | None,
                  stored: list | None) -> tuple[list[tuple[str, tuple]], int | None]:
    """:func:`declared_weights` of the convolution and pooling layers.  ``in_width`` (the last
    axis) is the channel count only for channels_last; otherwise the kernel the file stores
    stands in for it, and the output width is unknown (the last axis is then the steps)."""
    last = cfg.get("data_format", "channels_last") in (None, "channels_last")
    if class_name in _POOL:  # channels_first: the channels are not the last axis
        return [], (in_width if last else None)
    size = cfg.get("kernel_size")
    if isinstance(size, (list, tuple)) and len(size) == 1:
        size = size[0]
    k = _count(label, {"kernel_size": size}, "kernel_size")
    first = stored[0] if stored else None
    stored_dim = (lambda i: int(first[i]) if first is not None and len(first) == 3
                  and isinstance(first[i], numbers.Integral) else None)
    bias = _flag(label, cfg, "use_bias", True)
    own = _count(label, cfg, "features", optional=True)  # a numpy_rnn config's input channels
    known = own if own is not None else (in_width if last else None)
    if class_name == "Conv1D":
        filters, groups = _count(label, cfg, "filters"), _count(label, cfg, "groups", 1)
        cin = known if known is not None else (
            None if stored_dim(1) is None else stored_dim(1) * groups)
        if cin is None or cin % groups:
            raise LimitError(f"{label}: its input channels are unknown or not divisible by "
                             f"groups={groups}")
        shapes = [("kernel", (k, cin // groups, filters))]
        out = filters
    elif class_name == "Conv1DTranspose":
        filters = _count(label, cfg, "filters")
        cin = known if known is not None else stored_dim(2)
        shapes, out = [("kernel", (k, filters, _needed(label, cin)))], filters
    else:
        dm = _count(label, cfg, "depth_multiplier", 1)
        cin = _needed(label, known if known is not None else stored_dim(1))
        if class_name == "DepthwiseConv1D":
            shapes, out = [("kernel", (k, cin, dm))], cin * dm
        else:
            out = _count(label, cfg, "filters")
            shapes = [("depthwise_kernel", (k, cin, dm)), ("pointwise_kernel", (1, cin * dm, out))]
    if bias:
        shapes.append(("bias", (out,)))
    return shapes, (out if last else None)


def _needed(label: str, channels: int | None) -> int:
    if channels is None:
        raise LimitError(f"{label}: its input channels are unknown (no input shape)")
    return channels


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
