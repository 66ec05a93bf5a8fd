"""What the 1-D convolution and pooling layers share: Keras's argument checks (in Keras's voice),
the padding / stride / dilation arithmetic of TensorFlow's ``VALID`` / ``SAME`` and Keras's
``causal``, and the window copy (im2col) and its adjoint (overlap-add).

Everything works on channels-last arrays ``(batch, steps, channels)``; a layer with
``data_format="channels_first"`` transposes at its edges.  The arithmetic follows
``keras/src/ops/operation_utils.py`` (``compute_conv_output_shape``,
``compute_pooling_output_shape``), ``keras/src/backend/common/backend_utils.py``
(``_get_output_shape_given_tf_padding``) and TensorFlow's ``SAME`` rule: the total padding is
``max((out - 1) * stride + (kernel - 1) * dilation + 1 - length, 0)``, the smaller half before.

The windows are one strided view of the input copied once (im2col, ``windows``), so a
convolution is one matmul over ``(rows * out_steps, taps * channels)``, a chunk of batch rows at a
time (``batch_chunks``).
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ... import _threads

__all__ = ["standardize_size", "standardize_padding", "standardize_data_format",
           "effective_kernel", "conv_output_length", "same_padding", "padding_amounts",
           "transpose_output_length", "to_channels_last", "from_channels_last", "windows",
           "window_view", "overlap_add", "check_rank3", "channels_of", "batch_chunks", "CHUNK_BYTES",
           "SINGLE_THREAD_CHUNK_BYTES", "chunk_bytes"]


def standardize_size(name: str, value: Any, *, allow_zero: bool = False) -> int:
    """A 1-D size given as an int or a tuple / list of one int (Keras's ``standardize_tuple``
    with ``n=1``), checked to be > 0 (>= 0 with ``allow_zero``); ValueError in Keras's words."""
    msg = f"The `{name}` argument must be a tuple of 1 integers. Received {name}={value!r}"
    if isinstance(value, bool):
        raise ValueError(msg)
    if isinstance(value, numbers.Integral):
        n = int(value)
    else:
        try:
            items = tuple(value)
        except TypeError:
            raise ValueError(msg) from None
        if len(items) != 1 or isinstance(items[0], bool) or \
                not isinstance(items[0], numbers.Integral):
            raise ValueError(msg)
        n = int(items[0])
    if n < 0 or (n == 0 and not allow_zero):
        raise ValueError(f"{msg}, including values {{{n}}} that do not satisfy "
                         f"`value {'>= 0' if allow_zero else '> 0'}`")
    return n


def standardize_padding(value: Any, *, allow_causal: bool = False) -> str:
    """``"valid"`` / ``"same"`` (and ``"causal"`` for Conv1D), case-insensitive, as Keras's
    ``standardize_padding``."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"The `padding` argument must be one of {set(allowed)}. "
                         f"Received: padding={value!r}")
    return padding


def standardize_data_format(value: Any) -> str:
    """``None`` means ``"channels_last"`` (Keras's default ``image_data_format``)."""
    if value is None:
        return "channels_last"
    data_format = str(value).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={value!r}")
    return data_format


def effective_kernel(kernel_size: int, dilation_rate: int = 1) -> int:
    """The span of a dilated kernel: ``(kernel_size - 1) * dilation_rate + 1``."""
    return (kernel_size - 1) * dilation_rate + 1


def conv_output_length(length: int | None, kernel_size: int, stride: int, padding: str,
                       dilation_rate: int = 1) -> int | None:
    """Output steps of a convolution / pooling (None stays None); may be <= 0 for ``valid``
    (the caller raises)."""
    if length is None:
        return None
    if padding == "valid":
        return (length - effective_kernel(kernel_size, dilation_rate)) // stride + 1
    return (length - 1) // stride + 1  # same, causal: ceil(length / stride)


def same_padding(length: int, kernel_size: int, stride: int,
                 dilation_rate: int = 1, out_length: int | None = None) -> tuple[int, int]:
    """TensorFlow's ``SAME`` padding ``(before, after)``: the smaller half before."""
    out = (length - 1) // stride + 1 if out_length is None else out_length
    total = max((out - 1) * stride + effective_kernel(kernel_size, dilation_rate) - length, 0)
    return total // 2, total - total // 2


def padding_amounts(length: int, kernel_size: int, stride: int, padding: str,
                    dilation_rate: int = 1) -> tuple[int, int]:
    """``(before, after)`` zero (or -inf) steps a forward window pass adds; ``causal`` puts
    the whole ``(kernel_size - 1) * dilation_rate`` before (Keras's ``_compute_causal_padding``)."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return effective_kernel(kernel_size, dilation_rate) - 1, 0
    return same_padding(length, kernel_size, stride, dilation_rate)


def transpose_output_length(length: int | None, kernel_size: int, stride: int, padding: str,
                            output_padding: int | None, dilation_rate: int = 1) -> int | None:
    """Keras's ``_get_output_shape_given_tf_padding``: the steps of a transposed convolution."""
    if length is None:
        return None
    k = effective_kernel(kernel_size, dilation_rate)
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        return (length - 1) * stride + k + extra
    if output_padding is None:
        return length * stride
    return (length - 1) * stride + k % 2 + output_padding


def check_rank3(layer: Any, x: np.ndarray) -> None:
    """Keras's ``InputSpec(ndim=3)`` / ``min_ndim=3`` for the 1-D layers, in its words."""
    if x.ndim != 3:
        raise ValueError(
            f"Input 0 of layer \"{layer.name}\" is incompatible with the layer: expected "
            f"ndim=3, found ndim={x.ndim}. Full shape received: {tuple(x.shape)}")


def channels_of(input_shape: Any, data_format: str) -> Any:
    """The channels axis of a full (batch first) shape."""
    return input_shape[-1] if data_format == "channels_last" else input_shape[1]


def to_channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    """``(batch, channels, steps)`` -> ``(batch, steps, channels)`` for channels_first (a view)."""
    return x if data_format == "channels_last" else x.transpose(0, 2, 1)


def from_channels_last(y: np.ndarray, data_format: str) -> np.ndarray:
    """The inverse of :func:`to_channels_last` (a view)."""
    return y if data_format == "channels_last" else y.transpose(0, 2, 1)


def pad_steps(x: np.ndarray, before: int, after: int, value: float = 0.0) -> np.ndarray:
    """``x (batch, steps, channels)`` with ``before`` / ``after`` steps of ``value`` added."""
    if before == 0 and after == 0:
        return x
    out = np.full((x.shape[0], x.shape[1] + before + after, x.shape[2]), value, x.dtype)
    out[:, before:before + x.shape[1]] = x
    return out


#: Bytes of im2col windows copied at a time (``batch_chunks``) while NumPy's BLAS may run on
#: several threads: at most this much of windows (``kernel_size`` times the input) is alive at
#: once, and a training call keeps only the padded input (backward copies the windows again).
#: Measured on the 2-core machine (Conv1D(128, 5) on (64, 200, 128) float32, 15 interleaved
#: repeats, noisy neighbours): 8 MB chunks as fast as the whole batch at once (forward median 109
#: vs 105 ms, training step 430 vs 442 ms); 2 MB chunks slower (283 / 1020 ms: BLAS's threads
#: spin between the short matmuls and the copies).
CHUNK_BYTES = 8 << 20
#: The chunk when NumPy's BLAS is told to use one thread (``OPENBLAS_NUM_THREADS``,
#: ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` = 1, read at each call): a chunk of windows that
#: stays in a core's L2 cache between the copy and the matmul.  Measured (same layer, one BLAS
#: thread, CPU time, medians of 9): 256 KB 24.2 / 72.6 ms (forward / training step), 512 KB
#: 22.2 / 70.2, 1 MB 22.7 / 70.9, 2 MB 24.5 / 76.2, 8 MB 28.0 / 89.5, whole batch 27.3 / 107.0.
SINGLE_THREAD_CHUNK_BYTES = 512 << 10
def chunk_bytes() -> int:
    """``SINGLE_THREAD_CHUNK_BYTES`` when NumPy's BLAS runs on one thread (the environment, or
    numpy_rnn's own limit: ``_threads.blas_on_one_thread``), else ``CHUNK_BYTES`` (a limit the
    user sets at run time with threadpoolctl is not seen)."""
    if _threads.blas_on_one_thread():
        return SINGLE_THREAD_CHUNK_BYTES
    return CHUNK_BYTES


def batch_chunks(batch: int, row_bytes: int) -> list[slice]:
    """Batch rows ``0..batch`` in consecutive slices of about ``chunk_bytes()`` (``row_bytes``:
    the windows of one row); at least one row per slice."""
    per = max(1, chunk_bytes() // max(1, row_bytes))
    return [slice(i, min(i + per, batch)) for i in range(0, batch, per)] or [slice(0, 0)]


def tap(xp: np.ndarray, k: int, dilation_rate: int, stride: int, out_steps: int) -> np.ndarray:
    """The view of ``xp (batch, steps, channels)`` that kernel tap ``k`` reads for each of the
    ``out_steps`` outputs: steps ``t * stride + k * dilation_rate``."""
    start = k * dilation_rate
    return xp[:, start:start + (out_steps - 1) * stride + 1:stride]


def window_view(xp: np.ndarray, kernel_size: int, dilation_rate: int, stride: int,
                out_steps: int) -> np.ndarray:
    """The windows of ``xp (batch, steps, channels)`` as a read-only strided view
    ``(batch, out_steps, kernel_size, channels)``: element ``[b, t, k, c]`` is
    ``xp[b, t * stride + k * dilation_rate, c]`` (no copy; ``np.lib.stride_tricks``)."""
    b, _, c = xp.shape
    sb, ss, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, shape=(b, out_steps, kernel_size, c),
        strides=(sb, ss * stride, ss * dilation_rate, sc), writeable=False)


def windows(xp: np.ndarray, kernel_size: int, dilation_rate: int, stride: int,
            out_steps: int) -> np.ndarray:
    """im2col: ``(batch, out_steps, kernel_size, channels)``, a contiguous copy of the windows
    of the (padded) ``xp (batch, steps, channels)``: one copy of :func:`window_view`.  With
    ``dilation_rate == 1`` a window is one contiguous run of ``xp`` that NumPy copies whole
    (measured, (64, 200, 128) float32, kernel 5, one thread: 1.6 ms against 8.2 ms for the
    former copy tap by tap into a strided destination)."""
    cols = np.empty((xp.shape[0], out_steps, kernel_size, xp.shape[2]), xp.dtype)
    np.copyto(cols, window_view(xp, kernel_size, dilation_rate, stride, out_steps))
    return cols


def overlap_add(cols: np.ndarray, steps: int, dilation_rate: int, stride: int,
                out: np.ndarray | None = None) -> np.ndarray:
    """The adjoint of :func:`windows`: ``cols (batch, out_steps, kernel_size, channels)``
    summed back into ``(batch, steps, channels)`` at the steps each tap read (added into
    ``out`` when given)."""
    b, out_steps, kernel_size, c = cols.shape
    if out is None:
        out = np.zeros((b, steps, c), cols.dtype)
    for k in range(kernel_size):
        tap(out, k, dilation_rate, stride, out_steps)[...] += cols[:, :, k]
    return out
