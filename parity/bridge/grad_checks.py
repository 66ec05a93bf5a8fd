"""What ``compare_gradients`` / ``compare_training`` check of their arguments before running
either side (NumPy alone): layers that draw at random while training, and a graph's targets."""
from __future__ import annotations

from typing import Any

import numpy_rnn

__all__ = ["random_layers", "graph_targets"]


def random_layers(np_obj: Any) -> list[str]:
    """The names of the layers of a layer or model (nested graphs included) that draw at
    random while training: Dropout with rate > 0, GaussianNoise / AlphaDropout ..., a layer
    with ``dropout`` or ``recurrent_dropout`` (MultiHeadAttention, the recurrent layers)."""
    layers = list(np_obj.layers) if isinstance(np_obj, (numpy_rnn.Sequential, numpy_rnn.Model)) \
        else [np_obj]
    found = []
    while layers:  # a graph's layers, and those of the models nested in it
        layer = layers.pop(0)
        if isinstance(layer, (numpy_rnn.Sequential, numpy_rnn.Model)):
            layers[:0] = list(layer.layers)
            continue
        inner = [layer.forward_layer, layer.backward_layer] if isinstance(
            layer, numpy_rnn.Bidirectional) else [layer]
        for lay in inner:
            if isinstance(lay, numpy_rnn.Dropout) and lay.rate > 0:
                found.append(lay.name)
            elif getattr(lay, "random_in_training", False):  # GaussianNoise, AlphaDropout ...
                found.append(lay.name)
            elif getattr(lay, "dropout", 0) or getattr(lay, "recurrent_dropout", 0):
                found.append(lay.name)
    return found


def graph_targets(targets: Any, n_outputs: int) -> list:
    """A graph's targets, one per output: the array itself for one output; for several, a
    list with an entry per output (None: that output adds no loss; the loss is their sum)."""
    if n_outputs == 1:
        return [targets]
    if not isinstance(targets, (list, tuple)) or len(targets) != n_outputs or all(
            y is None for y in targets):
        raise ValueError(f"compare_gradients: the model returns {n_outputs} outputs; `targets` "
                         f"must be a list of {n_outputs} (None for an output without a loss, "
                         "the loss is their sum). Received: targets of type "
                         f"{type(targets).__name__}")
    return list(targets)
