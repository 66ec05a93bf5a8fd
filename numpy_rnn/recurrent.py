"""Old home of the shared time loop, kept so ``numpy_rnn.recurrent`` imports keep working.

The loop and the recurrent base class live in :mod:`numpy_rnn.layers.rnn.recurrent`.
"""
from __future__ import annotations

from .layers.rnn.recurrent import RNNBase, rnn_loop

__all__ = ["RNNBase", "rnn_loop"]
