"""EinsumDense: ``activation(einsum(equation, inputs, kernel) + bias)``, as
``keras.layers.EinsumDense`` (keras/src/layers/core/einsum_dense.py, Keras 3.15).

The equation parser is Keras's ``_analyze_einsum_string`` (same regular expressions, same
shapes, same errors); the kernel's default initializer takes its fans from the einsum's input and
output axes, as Keras's ``VarianceScaling`` does for this layer.  The einsum helpers at the bottom
(``explicit_specs``, ``einsum2``, ``einsum_grad``) are shared with the attention layers.
"""
from __future__ import annotations

import re
import string
from typing import Any

import numpy as np

from .. import _limits
from .. import _validation as v
from .. import activations, initializers
from .base import Layer

__all__ = ["EinsumDense", "analyze_einsum_string", "explicit_specs", "einsum2", "einsum_grad"]

_FORMS = (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", None),
          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", "left"),
          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", "right"))
#: numpy_rnn initializers Keras implements as ``VarianceScaling`` (fans from the einsum axes).
_VARIANCE_SCALING = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                     "lecun_uniform", "lecun_normal")


def _split(equation: str) -> tuple[str, str, str, str | None]:
    """``(input spec, weight spec, output spec, elided side)`` by Keras's three patterns."""
    dotted = re.sub(r"\.\.\.", "0", equation)
    for pattern, side in _FORMS:
        match = re.match(pattern, dotted)
        if match:
            return match.group(1), match.group(2), match.group(3), side
    raise ValueError(
        f"Invalid einsum equation '{equation}'. Equations must be in the form "
        "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]...."
    )


def analyze_einsum_string(equation: str, bias_axes: str | None, input_shape: Any,
                          output_shape: Any) -> tuple[list, list | None, list, list, list]:
    """Keras's ``_analyze_einsum_string``: ``(kernel shape, bias shape or None, full output
    shape, kernel input axes, kernel output axes)`` for ``input_shape`` (batch first) and the
    partial ``output_shape`` (no batch axis, none of the elided axes)."""
    input_spec, weight_spec, output_spec, side = _split(equation)
    input_shape = list(input_shape)
    elided = len(input_shape) - len(input_spec)
    output_shape = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    output_shape.insert(0, input_shape[0])
    if elided > 0 and side == "left":
        for i in range(1, elided):
            output_shape.insert(1, input_shape[i])
    elif elided > 0:
        for i in range(len(input_shape) - elided, len(input_shape)):
            output_shape.append(input_shape[i])
    if side == "left":
        input_dim_map = {dim: (i + elided) - len(input_shape) for i, dim in enumerate(input_spec)}
        output_dim_map = {dim: i + elided for i, dim in enumerate(output_spec)}
    else:
        input_dim_map = {dim: i for i, dim in enumerate(input_spec)}
        output_dim_map = {dim: i for i, dim in enumerate(output_spec)}
    for dim in input_spec:
        have = input_shape[input_dim_map[dim]]
        if dim in output_dim_map:
            want = output_shape[output_dim_map[dim]]
            if want is not None and want != have:
                raise ValueError(
                    f"Input shape and output shape do not match at shared dimension '{dim}'. "
                    f"Input shape is {have}, and output shape is {want}."
                )
    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise ValueError(
                f"Dimension '{dim}' was specified in the output '{output_spec}' but has no "
                f"corresponding dim in the input spec '{input_spec}' or weight spec "
                f"'{output_spec}'"
            )
    weight_shape, input_axes, output_axes = [], [], []
    for i, dim in enumerate(weight_spec):
        if dim in output_dim_map:
            weight_shape.append(output_shape[output_dim_map[dim]])
            output_axes.append(i)
        elif dim in input_dim_map:
            weight_shape.append(input_shape[input_dim_map[dim]])
            input_axes.append(i)
        else:
            raise ValueError(
                f"Weight dimension '{dim}' did not have a match in either the input spec "
                f"'{input_spec}' or the output spec '{output_spec}'. For this layer, the weight "
                "must be fully specified."
            )
    bias_shape = None
    if bias_axes is not None:
        left = elided if side == "left" else 0
        idx_map = {char: output_shape[i + left] for i, char in enumerate(output_spec)}
        for char in bias_axes:
            if char not in output_spec:
                raise ValueError(f"Bias dimension '{char}' was requested, but is not part of "
                                 f"the output spec '{output_spec}'")
        first = min(output_spec.find(char) for char in bias_axes)
        bias_shape = [idx_map[char] if char in bias_axes else 1
                      for char in output_spec[first:]]
        if side != "left":
            bias_shape += [1] * max(elided, 0)
    return weight_shape, bias_shape, output_shape, input_axes, output_axes


def explicit_specs(equation: str, rank: int) -> tuple[str, str, str]:
    """The equation's ``(input, weight, output)`` subscripts for an input of ``rank``, the
    ellipsis spelled out with letters the equation does not use (numpy then never has to
    broadcast an ellipsis, and every backward einsum is plain)."""
    input_spec, weight_spec, output_spec, side = _split(equation)
    elided = rank - len(input_spec)
    if elided < 0 or (side is None and elided):
        raise ValueError(f"The einsum equation '{equation}' takes inputs of rank "
                         f"{len(input_spec)}{' or more' if side else ''}. Received: an input "
                         f"of rank {rank}")
    free = [c for c in string.ascii_letters if c not in input_spec + weight_spec + output_spec]
    extra = "".join(free[:elided])
    if side == "left":
        return extra + input_spec, weight_spec, extra + output_spec
    if side == "right":
        return input_spec + extra, weight_spec, output_spec + extra
    return input_spec, weight_spec, output_spec


def einsum2(spec_a: str, a: np.ndarray, spec_b: str, b: np.ndarray, spec_out: str) -> np.ndarray:
    """``numpy.einsum(f"{spec_a},{spec_b}->{spec_out}", a, b)`` as one batched matrix product
    (as TensorFlow computes an einsum): the operands transposed to ``(batch, free, contracted)``
    and ``(batch, contracted, free)``, ``numpy.matmul``, the result transposed back.  An axis
    found in one operand only and not in the output is summed first.  NumPy's own einsum takes
    a generic loop for some of these (measured: 0.37 s per product of MultiHeadAttention's
    backward at batch 64, 128 tokens, 4 heads of 32, against milliseconds for this).  The result is
    C-contiguous."""
    for spec, arr, other, which in ((spec_a, a, spec_b, 0), (spec_b, b, spec_a, 1)):
        alone = [c for c in spec if c not in other and c not in spec_out]
        if alone:
            arr = arr.sum(axis=tuple(spec.index(c) for c in alone))
            spec = "".join(c for c in spec if c not in alone)
            if which == 0:
                spec_a, a = spec, arr
            else:
                spec_b, b = spec, arr
    dims = dict(zip(spec_a, a.shape))
    dims.update(zip(spec_b, b.shape))
    batch = [c for c in spec_out if c in spec_a and c in spec_b]
    contracted = [c for c in spec_a if c in spec_b and c not in spec_out]
    free_a = [c for c in spec_a if c not in spec_b]
    free_b = [c for c in spec_b if c not in spec_a]

    def size(letters: list) -> int:
        return int(np.prod([dims[c] for c in letters], dtype=np.int64))

    order = batch + free_a + free_b
    if not batch:  # one matrix product: a transposed operand is a BLAS flag, not a copy
        r = _as_matrix(a, spec_a, free_a, contracted, size) @ _as_matrix(
            b, spec_b, contracted, free_b, size)
        r = r.reshape([dims[c] for c in order])
        return np.ascontiguousarray(r.transpose([order.index(c) for c in spec_out]))
    # C-contiguous operands and result: numpy.matmul leaves BLAS for a generic loop on some
    # strided stacks (measured 2.9 s against 69 ms for the same product of C-ordered copies)
    a3 = np.ascontiguousarray(a.transpose([spec_a.index(c) for c in batch + free_a + contracted])
                              ).reshape(size(batch), size(free_a), size(contracted))
    b3 = np.ascontiguousarray(b.transpose([spec_b.index(c) for c in batch + contracted + free_b])
                              ).reshape(size(batch), size(contracted), size(free_b))
    r = np.matmul(a3, b3).reshape([dims[c] for c in order])
    return np.ascontiguousarray(r.transpose([order.index(c) for c in spec_out]))


def _as_matrix(arr: np.ndarray, spec: str, rows: list, cols: list, size: Any) -> np.ndarray:
    """``arr`` as the matrix ``(rows, cols)`` of its axes: a reshape when they are already in
    that order, the transposed view of a reshape when in the other, else a reordered copy."""
    arr = np.ascontiguousarray(arr)
    axes = [spec.index(c) for c in rows + cols]
    if axes == sorted(axes):
        return arr.reshape(size(rows), size(cols))
    flipped = [spec.index(c) for c in cols + rows]
    if flipped == sorted(flipped):
        return arr.reshape(size(cols), size(rows)).T
    return np.ascontiguousarray(arr.transpose(axes)).reshape(size(rows), size(cols))


def einsum_grad(grad_spec: str, grad: np.ndarray, other_spec: str, other: np.ndarray,
                want_spec: str, want_shape: tuple) -> np.ndarray:
    """dL/d(operand ``want_spec``) of ``out = einsum(want, other -> grad_spec)`` given
    ``grad`` = dL/dout: ``einsum(grad, other -> want)``; an axis of the operand that appears in
    neither (summed away by the forward einsum) gets the same gradient at every index."""
    present = "".join(c for c in want_spec if c in grad_spec or c in other_spec)
    r = einsum2(grad_spec, grad, other_spec, other, present)
    if present != want_spec:
        shape = [want_shape[i] if c in present else 1 for i, c in enumerate(want_spec)]
        r = np.broadcast_to(r.reshape(shape), want_shape)
    return r


def _repeated(spec: str) -> bool:
    return len(set(spec)) != len(spec)


class EinsumDense(Layer):
    """A dense layer of any rank: ``einsum(equation, inputs, kernel) (+ bias)``, then
    ``activation``.

    Args:
        equation: ``"ab,bc->ac"``, ``"...ab,bc->...ac"`` or ``"ab...,bc->ac..."`` (Keras's three
            forms).
        output_shape: the output shape without the batch axis and the elided axes (an int for
            one axis; ``None`` for an axis taken from the input).
        activation: Keras name; ``None`` is linear.
        bias_axes: the output axes (letters) that get a bias, or None.
        kernel_initializer / bias_initializer: numpy_rnn initializer names (defaults as Keras).
        build_input_shape: the full input shape (batch first) to build for now (kept in
            ``get_config()``, so a config rebuilds the same weights' shapes).
        dtype, seed, name, trainable: as every layer.

    Weights: ``kernel`` (shape from the equation), ``bias`` when ``bias_axes`` is given.
    """

    builds_from_shape = True

    def __init__(self, equation: str, output_shape: Any, activation: Any = None,
                 bias_axes: str | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", build_input_shape: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise TypeError(f"`equation` must be a string. Received: equation={equation!r}")
        specs = _split(equation)
        if any(_repeated(s) for s in specs[:3]):
            raise ValueError(f"`equation` must not repeat an axis letter within one operand "
                             f"(diagonals are not supported). Received: equation={equation!r}")
        self.equation = equation
        self.partial_output_shape = self._output_shape(output_shape)
        if bias_axes is not None and (not isinstance(bias_axes, str) or not bias_axes):
            raise ValueError("`bias_axes` must be None or a non-empty string of output axes. "
                             f"Received: bias_axes={bias_axes!r}")
        self.bias_axes = bias_axes
        # Shape-free checks (Keras makes them when building): fail at construction.
        analyze_einsum_string(equation, bias_axes, [None] * (len(specs[0]) + (1 if specs[3]
                                                                              else 0)),
                              [None] * len(self.partial_output_shape))
        self.activation = activations.get(activation, "activation")
        self._init_names = {"kernel_initializer": kernel_initializer,
                            "bias_initializer": bias_initializer}
        self._inits = {k: initializers.get(val, k) for k, val in self._init_names.items()}
        self.features = None
        self._shapes: dict[str, tuple] = {}
        if build_input_shape is not None:
            self.build(build_input_shape)

    @staticmethod
    def _output_shape(output_shape: Any) -> tuple:
        dims = (output_shape,) if isinstance(output_shape, (int, np.integer)) and not \
            isinstance(output_shape, bool) else output_shape
        try:
            dims = tuple(dims)
        except TypeError:
            raise ValueError("`output_shape` must be an integer or a tuple of integers / None. "
                             f"Received: output_shape={output_shape!r}") from None
        for d in dims:
            if d is not None:
                v.positive_int("output_shape", d)
        return tuple(None if d is None else int(d) for d in dims)

    # -- weights ---------------------------------------------------------------------------
    def weight_names(self) -> list[str]:
        return ["kernel", "bias"] if self.bias_axes is not None else ["kernel"]

    def weight_shapes(self) -> dict[str, tuple]:
        return dict(self._shapes)

    def _shapes_for(self, features: Any) -> dict[str, tuple]:
        return dict(self._shapes)

    def _analyze(self, input_shape: tuple) -> tuple:
        """The analysis for ``input_shape``; ValueError naming the layer when a weight axis is
        unknown."""
        kernel, bias, out, in_axes, out_axes = analyze_einsum_string(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        for what, shape in (("kernel", kernel), ("bias", bias)):
            if shape is not None and any(d is None for d in shape):
                raise ValueError(
                    f"Layer '{self.name}': the {what} shape {tuple(shape)} of equation "
                    f"'{self.equation}' has an unknown axis for input shape "
                    f"{tuple(input_shape)}; give that axis in `output_shape` or the input shape.")
        return kernel, bias, out, in_axes, out_axes

    def build(self, input_shape: Any) -> None:
        """Build for ``input_shape`` (the full shape, batch first; None for unknown sizes)."""
        try:
            shape = tuple(None if d is None else int(d) for d in input_shape)
        except (TypeError, ValueError):
            raise ValueError("`input_shape` must be a tuple of integers or None (batch first). "
                             f"Received: input_shape={input_shape!r}") from None
        specs = explicit_specs(self.equation, len(shape))
        kernel, bias, _, in_axes, out_axes = self._analyze(shape)
        self._specs = specs
        self._kernel_axes = (tuple(in_axes), tuple(out_axes))
        self._shapes = {"kernel": tuple(kernel)}
        if bias is not None:
            self._shapes["bias"] = tuple(bias)
        self.build_input_shape = shape
        self.built = True
        self._drop_weights()

    def _initial_weights(self, features: Any) -> dict[str, np.ndarray]:
        shape = self._shapes["kernel"]
        init = self._inits["kernel_initializer"]
        if initializers.serialize(init) in _VARIANCE_SCALING:
            # Keras gives its VarianceScaling the einsum's input / output axes as the fans.
            in_axes, out_axes = self._kernel_axes
            fan_in = int(np.prod([shape[a] for a in in_axes], dtype=np.int64))
            fan_out = int(np.prod([shape[a] for a in out_axes], dtype=np.int64))
            kernel = init((fan_in, fan_out), self.dtype, self._rng).reshape(shape)
        else:
            kernel = init(shape, self.dtype, self._rng)
        out = {"kernel": kernel}
        if "bias" in self._shapes:
            out["bias"] = self._inits["bias_initializer"](self._shapes["bias"], self.dtype,
                                                          self._rng)
        return out

    # -- call ------------------------------------------------------------------------------
    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``inputs`` of the equation's rank -> the einsum's output (layer dtype).  ``mask`` is
        ignored (Keras's EinsumDense does not support masking).  ``training=True`` keeps what
        ``backward`` needs."""
        x = self._cast_input("inputs", inputs)
        if not self.built:
            snapshot = self._snapshot()
            try:
                self.build(x.shape)
                return self._apply(x, training)
            except BaseException:  # a call that raises leaves the layer unbuilt
                self._restore(snapshot)
                raise
        if x.ndim != len(self.build_input_shape):
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                f"ndim={len(self.build_input_shape)}, found ndim={x.ndim}. Full shape "
                f"received: {x.shape}")
        kernel_shape = tuple(self._analyze(x.shape)[0])
        if kernel_shape != self._shapes["kernel"]:
            raise ValueError(
                f"Layer '{self.name}' was built for inputs of shape {self.build_input_shape} "
                f"(kernel shape {self._shapes['kernel']}), but `inputs` has shape {x.shape}, "
                f"which needs a kernel of shape {kernel_shape}.")
        return self._apply(x, training)

    def _apply(self, x: np.ndarray, training: bool) -> np.ndarray:
        in_spec, w_spec, out_spec = self._specs if x.ndim == len(self._specs[0]) else \
            explicit_specs(self.equation, x.ndim)
        kernel = self.kernel
        z = einsum2(in_spec, x, w_spec, kernel, out_spec)
        if self.bias_axes is not None:
            z = z + self.bias
        y = self.activation(z)
        if training:
            keep_z = self.activation is not activations.linear and activations.needs_input(
                self.activation)
            self._record = (x, kernel, (in_spec, w_spec, out_spec), z if keep_z else None, y)
        else:
            self._record = None
        return y

    def _backward(self, record: tuple, grad_output: Any) -> np.ndarray:
        """``grad_output`` (the output's shape) -> dL/dinputs; sets ``gradients`` =
        [d kernel, d bias when ``bias_axes``]."""
        x, kernel, (in_spec, w_spec, out_spec), z, y = record
        g = self._grad_output(grad_output, y.shape)
        dz = g if self.activation is activations.linear else activations.backward(
            self.activation, z, y, g)
        d_kernel = einsum_grad(out_spec, dz, in_spec, x, w_spec, kernel.shape)
        grads = [np.ascontiguousarray(d_kernel, dtype=self.dtype)]
        if self.bias_axes is not None:
            bias_shape = self._shapes["bias"]
            lead = dz.ndim - len(bias_shape)
            axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(bias_shape)
                                              if d == 1 and dz.shape[lead + i] != 1)
            # float64 accumulation, as Dense's bias gradient (a sum over many rows)
            d_bias = dz.sum(axis=axes, dtype=np.float64, keepdims=True)
            grads.append(d_bias.reshape(bias_shape).astype(self.dtype))
        self.gradients = grads
        dx = einsum_grad(out_spec, dz, w_spec, kernel, in_spec, x.shape)
        return np.ascontiguousarray(dx, dtype=self.dtype)

    # -- shapes, masks, config ---------------------------------------------------------------
    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(analyze_einsum_string(self.equation, self.bias_axes, tuple(input_shape),
                                           self.partial_output_shape)[2])

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict:
        inits = {k: (val if isinstance(val, str) else initializers.serialize(self._inits[k]))
                 for k, val in self._init_names.items()}
        return {"equation": self.equation, "output_shape": list(self.partial_output_shape),
                "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes, **inits,
                "build_input_shape": (None if self.build_input_shape is None
                                      else list(self.build_input_shape)),
                **self._base_config()}

    @classmethod
    def declared_weights(cls, cfg: dict, in_width: int | None = None,
                         stored: Any = None) -> tuple[list[tuple[str, tuple]], int | None]:
        """``([(weight name, shape)], output width)`` from a config alone (the bundle and
        ``.keras`` readers check stored arrays against it before building anything); raises
        ``numpy_rnn._limits.LimitError`` for a config that declares no valid shapes."""
        label = _limits.layer_label("EinsumDense", cfg)
        try:
            equation = cfg["equation"]
            partial = cls._output_shape(cfg["output_shape"])
            shape = cfg.get("build_input_shape")
            if shape is None:
                rank = len(_split(equation)[0])
                shape = [None] * (rank - 1) + [in_width]
            kernel, bias, out, _, _ = analyze_einsum_string(equation, cfg.get("bias_axes"),
                                                            list(shape), partial)
        except (KeyError, TypeError, ValueError) as exc:
            raise _limits.LimitError(f"{label}: its config declares no weight shapes: "
                                     f"{exc}") from None
        declared = [("kernel", tuple(kernel))] + ([("bias", tuple(bias))] if bias is not None
                                                   else [])
        for name, dims in declared:
            if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
                raise _limits.LimitError(f"{label}: weight `{name}` has shape {dims}; its input "
                                         "size is unknown or not a positive integer")
        width = out[-1] if out and isinstance(out[-1], int) else None
        return declared, width
