"""The order of a graph, as Keras's ``map_graph`` (``keras/src/ops/function.py``).

A depth-first walk from the outputs numbers each layer when first met (pre-order) and lists the
nodes inputs-first; each node's depth is its longest distance to an output (a shared layer takes
the largest depth of its nodes); layers are ordered by decreasing depth, ties by the walk's
numbering.  That is ``keras_model.layers`` (``InputLayer``\\s included) and so the order of
``get_weights()``.  Nodes run by decreasing depth.
"""
from __future__ import annotations

from typing import Any

from .symbolic import Node, SymbolicTensor

__all__ = ["map_graph"]


def _build_map(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]):
    finished: set[int] = set()
    in_progress: set[int] = set()
    ordered: list[Node] = []
    layer_index: dict[int, int] = {}

    def visit(tensor: SymbolicTensor) -> None:
        node = tensor.node
        if node is None or id(node) in finished:
            return
        if not node.is_input and any(tensor is t for t in inputs):
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise ValueError(f"Tensor {tensor!r} from layer '{node.layer.name}' is part of a "
                             "cycle.")
        layer_index.setdefault(id(node.layer), len(layer_index))
        in_progress.add(id(node))
        if not node.is_input:
            for t in node.input_tensors:
                visit(t)
        finished.add(id(node))
        in_progress.discard(id(node))
        ordered.append(node)

    for out in outputs:
        visit(out)
    return ordered, layer_index


def map_graph(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]):
    """``(nodes, layers)``: the nodes in running order (decreasing depth) and the layers in
    Keras's ``model.layers`` order.  Raises ValueError for a graph whose outputs need a tensor
    the inputs do not reach ("Graph disconnected"), a cycle, or two layers with one name."""
    ordered, layer_index = _build_map(inputs, outputs)
    in_graph = {id(n) for n in ordered}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    layers_by_id: dict[int, Any] = {}
    nodes_by_id: dict[int, Node] = {}
    for node in reversed(ordered):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        layers_by_id[id(node.layer)] = node.layer
        node_depth[id(node)] = depth
        nodes_by_id[id(node)] = node
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:  # inputs that reach no output still belong to the model
        node = t.node
        if node is not None and node.is_input and id(node.layer) not in layer_depth:
            layer_depth[id(node.layer)] = 0
            layer_index[id(node.layer)] = -1
            layers_by_id[id(node.layer)] = node.layer
            node_depth[id(node)] = 0
            nodes_by_id[id(node)] = node
    layers = sorted(layers_by_id.values(),
                    key=lambda lay: (-layer_depth[id(lay)], layer_index[id(lay)]))
    # nodes by decreasing depth; within a depth in the order the depths were set (Keras's dict)
    by_depth: dict[int, list[Node]] = {}
    for nid, depth in node_depth.items():
        by_depth.setdefault(depth, []).append(nodes_by_id[nid])
    nodes = [n for depth in sorted(by_depth, reverse=True) for n in by_depth[depth]]
    computable = {id(t) for t in inputs}
    seen_layers: list[str] = []
    for node in nodes:
        if node.is_input:  # an Input the model was not given computes nothing
            continue
        for t in node.input_tensors:
            if id(t) not in computable:
                raise ValueError(
                    f"Graph disconnected: cannot find parent for tensor {t!r} at layer "
                    f"'{node.layer.name}'. The following previous layers were accessed without "
                    f"issue: {seen_layers}. Give every Input the outputs depend on in `inputs`."
                )
        seen_layers.append(node.layer.name)
        computable.update(id(t) for t in node.outputs)
    names = [lay.name for lay in layers]
    for name in names:
        if names.count(name) != 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the model. '
                             "All layer names should be unique.")
    return nodes, layers
