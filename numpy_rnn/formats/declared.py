"""The weights a layer config declares, for the readers' checks before anything is built: the
layer class's own ``declared_weights(config, input width, stored shapes)`` classmethod where it
has one (the layers whose weight shapes need more than the input width: EinsumDense, the
attention layers), else the table of ``numpy_rnn._limits.declared_weights``.
"""
from __future__ import annotations

from typing import Any

from .. import _limits
from ..model import LAYER_CLASSES

__all__ = ["declared_weights"]


def declared_weights(class_name: Any, cfg: Any, in_width: int | None,
                     stored: list | None = None) -> tuple[list[tuple[str, tuple]], int | None]:
    """``([(weight name, shape)], output width)``; ``_limits.LimitError`` for a config that
    declares no valid sizes (see ``_limits.declared_weights``)."""
    layer_cls = LAYER_CLASSES.get(class_name) if isinstance(class_name, str) else None
    own = getattr(layer_cls, "declared_weights", None)
    if own is not None:
        if not isinstance(cfg, dict):
            raise _limits.LimitError(f"{_limits.layer_label(class_name, cfg)}: the config is "
                                     "not a dict")
        return own(cfg, in_width, stored)
    return _limits.declared_weights(class_name, cfg, in_width, stored)
