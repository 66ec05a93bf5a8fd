"""What the recurrent layers' backward passes share, besides the time loop's backward (which lives
beside the loop, in ``recurrent.py``): the recorded :class:`Tape`, the check of a ``grad_output``
that may be a list (``return_state``, ``merge_mode=None``; errors in Keras's voice, naming
``grad_output``), and small helpers of the cells' ``step_backward``.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from .. import _validation as v
from .. import activations


class Tape(NamedTuple):
    """What a training call records for :meth:`RNNBase.backward`: the inputs, the call's
    options, and one ``(prev_states, cache)`` per step (gates and states, nothing else)."""

    x: np.ndarray  # (batch, timesteps, features), the call's input (not copied)
    mask: np.ndarray | None  # (batch, timesteps) bool
    steps: list  # per processed step: (prev_states, cache)
    return_sequences: bool
    return_state: bool
    go_backwards: bool
    zero_output_for_mask: bool
    explicit_state: bool  # the call was given initial_state

    def nbytes(self) -> int:
        """Bytes held by the recorded arrays (each array counted once)."""
        seen: dict[int, int] = {}
        arrays = [self.x] + ([self.mask] if self.mask is not None else [])
        for prev_states, cache in self.steps:
            arrays += list(prev_states) + list(cache.values())
        for a in arrays:
            if isinstance(a, np.ndarray):
                base = a if a.base is None else a.base
                seen[id(base)] = base.nbytes
        return sum(seen.values())


def column_sum(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` for ``(rows, n)``; float32 accumulates in float64 (a bias gradient sums
    batch * timesteps terms: summed row after row in float32 it drifted to 2e-6 of its size at
    (500, 12, 20, 100), against 5e-7 for TensorFlow)."""
    if a.dtype == np.float32:
        return a.sum(axis=0, dtype=np.float64).astype(np.float32)
    return a.sum(axis=0)


def add_into(acc: dict, key: str, value: np.ndarray) -> None:
    """``acc[key] += value`` (the first value is stored as is)."""
    if key in acc:
        acc[key] += value
    else:
        acc[key] = value


#: ``activation_backward(fn, x, y, grad_y)``: ``grad_y * fn'(x)`` (``x`` may be None when
#: ``needs_input(fn)`` is False: training then records no pre-activations for ``fn``).
activation_backward = activations.backward


def needs_input(fn: Callable) -> bool:
    """Whether training records the input of ``fn`` for its backward.

    ``activations.needs_input``, plus selu: its backward from the output, ``g * (y + scale *
    alpha)`` for ``y < 0``, needs ``y + scale * alpha`` to be exactly 0 where selu saturates, as
    TensorFlow's output ``scale_alpha * (exp(x) - 1)`` makes it; ``activations.selu`` computes
    ``scale * (alpha * expm1(x))``, 1 ulp away, and the 2e-16 left over grew through an LSTM
    recurrence to gradients 1e3..1e57 times too large (measured: selu / log_sigmoid, 9 steps).
    From ``x``, the backward recomputes TensorFlow's output and matches it exactly.
    """
    return activations.needs_input(fn) or fn is activations.selu




def check_grad_output(name: str, grad_output: Any, shapes: Sequence[tuple],
                      labels: Sequence[str], dtype: np.dtype) -> list[np.ndarray | None]:
    """``grad_output`` as a list of arrays cast to ``dtype`` (None kept: it stands for zeros).

    Args:
        name: the layer's name, for messages.
        grad_output: one array when the call returned one (``len(shapes) == 1``), else a list
            with one entry per returned array.
        shapes: the shape of each returned array; labels: what each one is ("output", "h"...).

    Raises:
        ValueError: wrong count or shape. TypeError: not a float array (or None alone).
    """
    if len(shapes) == 1:
        if grad_output is None:
            raise TypeError(f"`grad_output` of layer '{name}' must be an array of shape "
                            f"{tuple(shapes[0])}, the shape of the call's output. Received: None")
        parts, where = [grad_output], ["grad_output"]
    else:
        if not isinstance(grad_output, (list, tuple)) or len(grad_output) != len(shapes):
            got = (f"{len(grad_output)} item(s)" if isinstance(grad_output, (list, tuple))
                   else v._show(grad_output))
            raise ValueError(
                f"`grad_output` of layer '{name}' must be a list of {len(shapes)} gradients "
                f"{list(labels)}, one per array the call returned (None stands for zeros). "
                f"Received: {got}")
        parts, where = list(grad_output), [f"grad_output[{i}]" for i in range(len(shapes))]
    out: list[np.ndarray | None] = []
    for part, arg, shape, label in zip(parts, where, shapes, labels):
        if part is None:
            out.append(None)
            continue
        arr = v.numeric_array(arg, part)
        if not np.issubdtype(arr.dtype, np.floating):  # as Layer._grad_output
            raise TypeError(f"`{arg}` of layer '{name}' must be a float array (a gradient). "
                            f"Received: {arg} with dtype {arr.dtype}")
        if arr.shape != tuple(shape):
            raise ValueError(f"`{arg}` of layer '{name}' must have shape {tuple(shape)}, the "
                             f"shape of the call's {label}. Received: shape {arr.shape}")
        out.append(arr.astype(dtype, copy=False))
    return out
