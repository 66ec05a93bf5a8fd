"""Backpropagation through a functional model's graph.

A training forward (``Model._run_graph(..., training=True)``) keeps, after each node, what the
node's layer recorded for its backward (:func:`stash`: the layer's ``_record`` and those of the
layers inside it, e.g. a ``Bidirectional``'s two directions); a layer called at several places
has one stash per node.  :func:`backward_graph` walks the nodes in reverse running order:
the gradients reaching a tensor from every place that reads it are summed (fan-out); each node's
stash is put back on its layer before the layer's ``backward``; the layer's input gradients go
to the tensors it read (``initial_state`` tensors get its ``state_gradients``; integer inputs and
masks get none); a nested model or Sequential is walked the same way, inside.

Weight gradients are summed per weight array (:class:`Accumulator`): a shared layer's over its
nodes.  An Embedding's gradient stays an ``IndexedSlices`` (its slices concatenated over the
nodes, as TensorFlow aggregates a variable's IndexedSlices) for the optimizer.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..sparse import IndexedSlices
from .symbolic import SymbolicTensor, flatten

__all__ = ["stash", "restore", "Accumulator", "backward_graph"]


def _sublayers(layer: Any) -> list:
    """The layers whose own records a layer's backward reads (a wrapper's inner layers, a
    Sequential's layers); a functional model keeps its nodes' stashes in its own record."""
    if hasattr(layer, "nodes") and hasattr(layer, "_run_graph"):
        return []
    inner = getattr(layer, "layers", None)
    if isinstance(inner, list) and not hasattr(layer, "nodes"):
        return list(inner)
    return [val for val in vars(layer).values() if hasattr(val, "_record")
            and hasattr(val, "backward") and val is not layer]


def stash(layer: Any) -> tuple:
    """What ``layer`` (and the layers inside it) recorded in its last training call."""
    return (getattr(layer, "_record", None), [stash(sub) for sub in _sublayers(layer)])


def restore(layer: Any, stashed: tuple) -> None:
    """Put back what :func:`stash` took (before the node's backward)."""
    record, subs = stashed
    layer._record = record
    for sub, s in zip(_sublayers(layer), subs):
        restore(sub, s)


class Accumulator:
    """Gradients per weight array (keyed by identity): ``add(array, grad)`` sums (a shared
    layer's nodes), ``pairs(arrays)`` the ``(gradient, array)`` for the optimizer."""

    def __init__(self) -> None:
        self.parts: dict[int, tuple[np.ndarray, list]] = {}

    def add(self, array: np.ndarray, grad: Any) -> None:
        self.parts.setdefault(id(array), (array, []))[1].append(grad)

    def combined(self, array: np.ndarray) -> Any:
        """The summed gradient of ``array`` (IndexedSlices when every part is one), or None."""
        entry = self.parts.get(id(array))
        if entry is None:
            return None
        parts = entry[1]
        if all(isinstance(p, IndexedSlices) for p in parts):
            if len(parts) == 1:
                return parts[0]
            return IndexedSlices(np.concatenate([p.values for p in parts]),
                                 np.concatenate([p.indices for p in parts]),
                                 parts[0].dense_shape)
        dense = [p.dense() if isinstance(p, IndexedSlices) else p for p in parts]
        out = dense[0]
        for p in dense[1:]:
            out = out + p
        return out

    def dense_for(self, arrays: list) -> list[np.ndarray]:
        """One dense gradient per array of ``arrays`` (zeros where none reached it)."""
        out = []
        for a in arrays:
            g = self.combined(a)
            if isinstance(g, IndexedSlices):
                g = g.dense()
            out.append(np.zeros_like(a) if g is None else np.asarray(g, a.dtype))
        return out

    def pairs(self, arrays: list) -> list[tuple[Any, np.ndarray]]:
        """``(gradient, array)`` for each array of ``arrays`` a gradient reached, in order."""
        return [(g, a) for a in arrays if (g := self.combined(a)) is not None]


def _add_grad(grads: dict, tensor: SymbolicTensor, g: Any) -> None:
    if g is None or not isinstance(tensor, SymbolicTensor):
        return
    key = id(tensor)
    grads[key] = g if key not in grads else grads[key] + g  # fan-out: summed


def _layer_weight_grads(layer: Any, acc: Accumulator) -> None:
    """The layer's gradients of its trainable weights (``trainable_weight_names``: a
    BatchNormalization's moving statistics are moved by its training call, never by the
    optimizer) into ``acc``."""
    grads = getattr(layer, "sparse_gradients", None) or layer.gradients
    keep = set(layer.trainable_weight_names())
    for name, w, g in zip(layer.weight_names(), layer.weights, grads or []):
        if name in keep:
            acc.add(w, g)


def leaf_layers(model: Any) -> list:
    """Every layer of ``model`` that is not a model, nested models walked in place, each once
    (a shared layer once), in ``model.layers`` order."""
    out, seen = [], set()

    def walk(m: Any) -> None:
        for layer in m.layers:
            if layer is m or id(layer) in seen:
                continue
            seen.add(id(layer))
            if isinstance(getattr(layer, "layers", None), list):
                walk(layer)
            else:
                out.append(layer)
    walk(model)
    return out


def penalties(model: Any) -> list:
    """Keras's ``model.losses`` after a forward of a functional model: the activity penalties
    of every layer's last call, in layer order, then every regularized trainable weight's
    penalty (a shared layer's once)."""
    leaves = leaf_layers(model)
    activity = [p for layer in leaves for p in getattr(layer, "_activity_losses", ())]
    return activity + [p for layer in leaves for p in layer.weight_penalties()]


def add_weight_penalty_gradients(model: Any, acc: Accumulator) -> None:
    """Each regularized trainable weight's penalty gradient, once per weight (not per node)."""
    for layer in leaf_layers(model):
        if not (layer.trainable and layer.built):
            continue
        keep = set(layer.trainable_weight_names())
        for name, reg, w in zip(layer.weight_names(), layer.weight_regularizers(),
                                layer.weights):
            if reg is not None and name in keep:
                acc.add(w, reg.gradient(w))


def _backward_layer(layer: Any, grad_output: Any, acc: Accumulator, trainable: bool) -> Any:
    """One call's backward (its records already restored); weight gradients into ``acc``."""
    if hasattr(layer, "nodes") and hasattr(layer, "_run_graph"):  # a functional model
        dx = backward_graph(layer, layer._record, [grad_output] if len(layer.outputs) == 1
                            else list(grad_output), acc, trainable and layer.trainable)
        return dx[0] if len(layer.inputs) == 1 else dx
    if isinstance(getattr(layer, "layers", None), list):  # a Sequential
        g = grad_output
        for sub, stashed in zip(reversed(layer.layers), reversed(layer._record)):
            restore(sub, stashed)
            g = sub.backward(g)
            if trainable and sub.trainable and sub.trainable_weight_names():
                _layer_weight_grads(sub, acc)
            if g is None:
                break
        return g
    activity = layer._activity_gradient()  # its own activity penalty's gradient joins
    if activity is not None:                # the gradient of its output (Keras's tape)
        grad_output = grad_output + activity
    dx = layer.backward(grad_output)
    if trainable and layer.trainable and layer.trainable_weight_names():
        _layer_weight_grads(layer, acc)
    return dx


def backward_graph(model: Any, record: Any, out_grads: list, acc: Accumulator,
                   trainable: bool = True) -> list:
    """Backpropagate ``out_grads`` (one per output, None for none) through ``model``'s last
    training forward (``record``); returns one gradient per model input (None where none
    reaches it: integer inputs, unused inputs)."""
    if record is None:
        raise RuntimeError(f"Model '{model.name}' has no recorded call to differentiate: call "
                           "it with `training=True` before `backward`.")
    stashes, _ = record
    grads: dict[int, Any] = {}
    for t, g in zip(model.outputs, out_grads):
        _add_grad(grads, t, None if g is None else np.asarray(g))
    for node in reversed(model.nodes):
        if node.is_input:
            continue
        g_out = [grads.pop(id(t), None) for t in node.outputs]
        if all(g is None for g in g_out):
            continue  # nothing downstream depends on this call
        layer = node.layer
        restore(layer, stashes[node.id])
        if node.single_output:
            grad_output = g_out[0]
        else:
            grad_output = g_out
        dx = _backward_layer(layer, grad_output, acc, trainable)
        first = node.args[0]
        if len(node.args) > 1:  # mha(query, value(, key)): a gradient per positional input
            for t, g in zip(node.args, dx if isinstance(dx, (list, tuple)) else [dx]):
                _add_grad(grads, t, g)
        elif isinstance(first, SymbolicTensor):
            _add_grad(grads, first, dx)
        elif dx is not None:
            for t, g in zip(flatten(first), dx if isinstance(dx, (list, tuple)) else [dx]):
                _add_grad(grads, t, g)
        state = node.kwargs.get("initial_state")
        state_grads = getattr(layer, "state_gradients", None)
        if state is not None and state_grads is not None:
            for t, g in zip(flatten(state), state_grads):
                _add_grad(grads, t, g)
    return [grads.get(id(t)) for t in model.inputs]
