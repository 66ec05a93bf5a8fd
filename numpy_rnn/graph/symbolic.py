"""Symbolic tensors and nodes: what ``layer(x)`` records when ``x`` comes from ``Input``.

As Keras's ``KerasTensor`` / ``Node`` (``keras/src/backend/common/keras_tensor.py``,
``keras/src/ops/node.py``), smaller: a :class:`SymbolicTensor` knows its shape (batch first,
``None`` for unknown sizes), its dtype and the :class:`Node` that made it; a node knows the
layer, the call's arguments (symbolic tensors in place of arrays) and its output tensors.

A leaf: this module imports nothing of the layers.  ``Layer`` sends a call whose first argument
is symbolic here (:func:`call_layer`): the layer is checked against the input shapes, built from
them (as Keras builds at graph construction), asked for its output shapes
(``compute_output_shape``), and the node is recorded.  Running a graph is
``numpy_rnn.functional.Model``'s job.
"""
from __future__ import annotations

import inspect
import itertools
from typing import Any, Callable

import numpy as np

__all__ = ["SymbolicTensor", "Node", "is_symbolic", "call_layer", "flatten"]

_tensor_counter = itertools.count()
_node_counter = itertools.count()


class SymbolicTensor:
    """A placeholder for an array in a graph (Keras's ``KerasTensor``).

    Attributes:
        shape: tuple, batch first, ``None`` for sizes not known until the call.
        dtype: NumPy dtype name (``"float32"``, ``"int32"``...).
        node: the :class:`Node` whose output this is; ``index``: its place in
            ``node.outputs``.
        name: a unique name (an input's is its ``Input`` name).
    """

    __slots__ = ("shape", "dtype", "node", "index", "name")

    def __init__(self, shape: tuple, dtype: Any, node: "Node | None" = None, index: int = 0,
                 name: str | None = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype).name
        self.node = node
        self.index = index
        self.name = name or f"symbolic_tensor_{next(_tensor_counter)}"

    @property
    def layer(self) -> Any:
        """The layer that produced this tensor (an ``InputLayer`` for a model input)."""
        return None if self.node is None else self.node.layer

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        layer = self.layer
        made = f", from={layer.name!r}" if layer is not None else ""
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name!r}{made}>"

    def __array__(self, *args: Any, **kwargs: Any):
        raise TypeError(
            f"A symbolic tensor ({self.name}, shape {self.shape}) has no values: it only "
            "describes a model's graph. Build a numpy_rnn.Model(inputs, outputs) and call it on "
            "arrays."
        )

    def __bool__(self) -> bool:
        raise TypeError(f"A symbolic tensor ({self.name}) has no truth value.")

    def __len__(self) -> int:
        raise TypeError(f"A symbolic tensor ({self.name}) has no length: it is one tensor of "
                        f"shape {self.shape}.")

    def __iter__(self):
        raise TypeError(f"A symbolic tensor ({self.name}) is not iterable: a layer with several "
                        "outputs returns a list of tensors.")


def flatten(structure: Any) -> list:
    """The leaves of nested lists / tuples / dicts (dicts by sorted key, as Keras's
    ``tree.flatten``); anything else is a leaf."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_like(structure: Any, flat: list) -> Any:
    """``flat`` put back into the shape of ``structure`` (inverse of :func:`flatten`)."""
    it = iter(flat)

    def rebuild(s: Any) -> Any:
        if isinstance(s, dict):
            built = {key: rebuild(s[key]) for key in sorted(s)}
            return {key: built[key] for key in s}
        if isinstance(s, (list, tuple)):
            return type(s)(rebuild(item) for item in s)
        return next(it)
    return rebuild(structure)


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    return pack_like(structure, [fn(leaf) for leaf in flatten(structure)])


def is_symbolic(x: Any) -> bool:
    """True for a symbolic tensor, or a list / tuple holding one (merge layers' inputs)."""
    if isinstance(x, SymbolicTensor):
        return True
    return isinstance(x, (list, tuple)) and any(isinstance(t, SymbolicTensor) for t in x)


class Node:
    """One call of a layer on symbolic tensors (Keras's ``Node``).

    Attributes:
        layer: the layer (or nested model) called.
        args: the positional arguments (symbolic tensors in place of arrays).
        kwargs: the keyword arguments as given (``mask=``, ``initial_state=[h, c]``,
            ``training=``; symbolic tensors in place of arrays).
        outputs: the output tensors, flat (one, or several for ``return_state`` / a list).
        single_output: True when the call returned one tensor rather than a list.
        id: creation order (a shared layer's nodes are ordered by it).
    """

    def __init__(self, layer: Any, args: tuple = (), kwargs: dict | None = None,
                 outputs: list | None = None, single_output: bool = True) -> None:
        self.layer = layer
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.outputs: list[SymbolicTensor] = list(outputs or [])
        self.single_output = single_output
        self.id = next(_node_counter)

    @property
    def is_input(self) -> bool:
        """True for the node of an ``InputLayer`` (no inputs)."""
        return not self.args and not self.kwargs

    @property
    def input_tensors(self) -> list[SymbolicTensor]:
        """Every symbolic tensor the call reads, flat: the positional arguments, then the
        keyword arguments in the order given."""
        leaves = flatten(list(self.args)) + flatten(list(self.kwargs.values()))
        return [t for t in leaves if isinstance(t, SymbolicTensor)]

    @property
    def inbound(self) -> list[SymbolicTensor]:
        """The tensors of the positional arguments (the layer's inputs: one, a merge's list,
        or MultiHeadAttention's ``query, value(, key)``)."""
        return [t for t in flatten(list(self.args)) if isinstance(t, SymbolicTensor)]

    @property
    def positional(self) -> bool:
        """True when the call gave its inputs as several positional tensors
        (``mha(query, value)``): the layer is called, built and differentiated with each."""
        return len(self.args) > 1

    @property
    def call_kwargs(self) -> dict:
        """The keyword arguments of the call (``mask``, ``initial_state``, ``training``...)."""
        return dict(self.kwargs)

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.input_tensors]

    def output_structure(self) -> Any:
        return self.outputs[0] if self.single_output else list(self.outputs)

    def __repr__(self) -> str:
        return (f"<Node layer={getattr(self.layer, 'name', self.layer)!r} "
                f"inputs={[t.name for t in self.input_tensors]} "
                f"outputs={[t.name for t in self.outputs]}>")


_SIGNATURES: dict[Any, inspect.Signature] = {}


def signature(call: Callable) -> inspect.Signature:
    """The (cached) signature of a layer's ``__call__``."""
    sig = _SIGNATURES.get(call)
    if sig is None:
        sig = _SIGNATURES[call] = inspect.signature(inspect.unwrap(call))
    return sig


def _shape_of(structure: Any) -> Any:
    return map_structure(lambda t: t.shape, structure)


def call_layer(layer: Any, call: Callable, args: tuple, kwargs: dict) -> Any:
    """Record ``layer(*args, **kwargs)`` on symbolic tensors; return the output tensor(s).

    The arguments are bound against ``call``'s signature (a wrong keyword fails now, as it
    would on arrays); the first argument must be symbolic throughout (a merge's list too), and
    so must any other array argument (``initial_state``, ``mask``).  The layer is built from
    the input shape when it is not built yet, and its ``compute_output_shape`` gives the
    output shapes."""
    try:
        bound = signature(call).bind(layer, *args, **kwargs)
    except TypeError as err:
        raise TypeError(f"Layer '{layer.name}' cannot be called with these arguments: {err}") \
            from None
    names = list(bound.arguments)
    first_name = names[1]
    first = bound.arguments[first_name]
    for leaf in flatten(first):
        if not isinstance(leaf, SymbolicTensor):
            raise TypeError(
                f"Layer '{layer.name}' was called on a mix of symbolic tensors and other values: "
                f"every input must come from numpy_rnn.Input or another layer's output. "
                f"Received: {first_name}={first!r}"
            )
    for key, value in list(bound.arguments.items())[2:]:
        leaves = flatten(value)
        if any(isinstance(t, SymbolicTensor) for t in leaves) and not all(
                isinstance(t, SymbolicTensor) or t is None for t in leaves):
            raise TypeError(
                f"Layer '{layer.name}': `{key}` mixes symbolic tensors and arrays. In a graph, "
                f"give `{key}` as symbolic tensors only. Received: {key}={value!r}"
            )
    # Several positional tensors (``mha(query, value)``, as Keras calls MultiHeadAttention):
    # each is an input; the layer is built and asked for its output shape with one shape each.
    extra = []
    for arg in args[1:]:
        if not isinstance(arg, SymbolicTensor):
            break
        extra.append(arg)
    input_shape = _shape_of(first)
    if extra:
        shapes_in = [input_shape] + [t.shape for t in extra]
        if not layer.built and all(_known(s) for s in shapes_in):
            layer.build(*shapes_in)
        shapes = layer.compute_output_shape(*shapes_in)
    else:
        _check_features(layer, input_shape)
        if not layer.built and _known(input_shape):
            getattr(layer, "_build_for_graph", layer.build)(input_shape)
        shapes = layer.compute_output_shape(input_shape)
    single = not (isinstance(shapes, list) or (isinstance(shapes, tuple) and shapes
                                               and isinstance(shapes[0], (tuple, list))))
    shapes = [shapes] if single else list(shapes)
    dtypes = _output_dtypes(layer, len(shapes))
    params = [p.name for p in signature(call).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]
    skip = 1 + len(extra)  # the positional inputs are the node's args, not keywords
    given = dict(zip(params[skip:], args[skip:]))  # what the caller gave: defaults stay unsaid
    given.update({k: val for k, val in kwargs.items() if k != first_name})
    node = Node(layer, (first, *extra), given, single_output=single)
    node.outputs = [SymbolicTensor(shape, dtype, node, i)
                    for i, (shape, dtype) in enumerate(zip(shapes, dtypes))]
    return node.output_structure()


def _known(input_shape: Any) -> bool:
    """Whether the last axis of every input is known (what building a layer needs)."""
    return all(s and s[-1] is not None for s in flatten_shapes(input_shape))


def flatten_shapes(input_shape: Any) -> list[tuple]:
    """A shape or a (nested) list of shapes as a flat list of shapes."""
    if isinstance(input_shape, tuple) and (not input_shape or not isinstance(
            input_shape[0], (tuple, list))):
        return [input_shape]
    return [s for item in input_shape for s in flatten_shapes(tuple(item) if isinstance(
        item, list) and (not item or not isinstance(item[0], (tuple, list))) else item)]


def _check_features(layer: Any, input_shape: Any) -> None:
    """A layer built for ``features`` inputs refuses an input with another last axis now, as
    Keras refuses it at graph construction."""
    features = getattr(layer, "features", None) if layer.built else None
    if not isinstance(features, (int, np.integer)) or not isinstance(input_shape, tuple):
        return
    last = input_shape[-1] if input_shape else None
    if last is not None and last != features:
        raise ValueError(
            f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected the last "
            f"axis to be {features} (the layer is built for {features} features), found "
            f"shape={input_shape}"
        )


def _output_dtypes(layer: Any, count: int) -> list[str]:
    own = getattr(layer, "output_dtypes", None)
    if callable(own):
        return list(own())
    dtype = getattr(layer, "dtype", None)
    return [np.dtype(dtype or "float32").name] * count
