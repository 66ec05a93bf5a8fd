"""Running one node of a functional model: its inputs' values and masks in, its outputs and
their masks out, with Keras's mask rules (``numpy_rnn.functional`` module docstring)."""
from __future__ import annotations

from typing import Any

from ..model import Sequential
from . import backward as _backward
from .symbolic import Node, SymbolicTensor, flatten, signature

__all__ = ["fill", "run_node"]



def _accepts(layer: Any, arg: str) -> bool:
    return arg in signature(type(layer).__call__).parameters


def _is_functional(layer: Any) -> bool:
    return hasattr(layer, "nodes") and hasattr(layer, "_run_graph")


def fill(structure: Any, table: dict) -> Any:
    """``structure`` with each symbolic tensor replaced by ``table[id(tensor)]``."""
    if isinstance(structure, SymbolicTensor):
        return table[id(structure)]
    if isinstance(structure, dict):
        return {k: fill(val, table) for k, val in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(fill(item, table) for item in structure)
    return structure


def _holds_tensor(value: Any) -> bool:
    return any(isinstance(t, SymbolicTensor) for t in flatten(value))


def run_node(node: Node, values: dict, mask_of: dict, training: bool) -> tuple[list, list]:
    """Call ``node.layer`` on the values of its inputs; ``(outputs, output masks)``, flat."""
    layer = node.layer
    first = node.args[0]
    x = fill(first, values)
    kwargs = {k: fill(val, values) for k, val in node.kwargs.items()}
    in_masks = fill(first, mask_of)
    explicit = kwargs.get("mask")
    if len(node.args) > 1:  # mha(query, value): each input positional, masks as a list
        xs = [fill(a, values) for a in node.args]
        masks_in = [fill(a, mask_of) for a in node.args]
        if explicit is None and _accepts(layer, "mask") and any(m is not None
                                                               for m in masks_in):
            kwargs["mask"] = masks_in
        if _accepts(layer, "training") and "training" not in kwargs:
            kwargs["training"] = training
        out = layer(*xs, **kwargs)
        outs = list(out) if not node.single_output else [out]
        masks: list = [None] * len(outs)
        if getattr(layer, "supports_masking", False):
            computed = layer.compute_mask(xs, explicit if explicit is not None else masks_in)
            flat = list(computed) if isinstance(computed, (list, tuple)) else [computed]
            masks = (flat + [None] * len(outs))[:len(outs)]
        return outs, masks
    if isinstance(layer, Sequential) or _is_functional(layer):
        return _run_nested(layer, x, explicit if explicit is not None else in_masks,
                           kwargs.get("training", training))
    if _accepts(layer, "training") and "training" not in kwargs:
        kwargs["training"] = training
    if explicit is None and _accepts(layer, "mask") and not any(
            _holds_tensor(val) for k, val in node.kwargs.items() if k != "mask"):
        if any(m is not None for m in flatten(in_masks)):
            kwargs["mask"] = in_masks  # Keras: the mask of the only tensor argument
    out = layer(x, **kwargs)
    outs = list(out) if not node.single_output else [out]
    previous = explicit if explicit is not None else in_masks
    masks: list = [None] * len(outs)
    if getattr(layer, "supports_masking", False):
        computed = layer.compute_mask(x, previous)
        flat = list(computed) if isinstance(computed, (list, tuple)) else [computed]
        masks = (flat + [None] * len(outs))[:len(outs)]
    return outs, masks


def _run_nested(model: Any, x: Any, masks: Any, training: bool) -> tuple[list, list]:
    """A nested Model or Sequential: its outputs and the masks its own layers made."""
    if isinstance(model, Sequential):
        xa = model._cast_model_input(x)
        y, m = model._run_masked(xa, masks, training)
        if training:
            model._record = [_backward.stash(layer) for layer in model.layers]
        return [y], [m]
    xs = model._standardize_inputs(x)
    flat_masks = masks if isinstance(masks, list) else [masks]
    return model._run_graph(xs, flat_masks if any(m is not None for m in flat_masks) else None,
                            training)
