"""The module paths of before the family move (issue 19 item 10), kept importing.

Until December 2026 ``numpy_rnn/layers/`` was flat.  The code moved to one package per family,
as Keras's ``keras/src/layers/``; each old path is now an alias of the module that holds the code:

=====================================  ===============================================
old path                               the code now lives in
=====================================  ===============================================
``numpy_rnn.layers.lstm``              ``numpy_rnn.layers.rnn.lstm``
``numpy_rnn.layers.gru``               ``numpy_rnn.layers.rnn.gru``
``numpy_rnn.layers.simple_rnn``        ``numpy_rnn.layers.rnn.simple_rnn``
``numpy_rnn.layers.recurrent``         ``numpy_rnn.layers.rnn.recurrent``
``numpy_rnn.layers.bidirectional``     ``numpy_rnn.layers.rnn.bidirectional``
``numpy_rnn.layers.dense``             ``numpy_rnn.layers.core.dense``
``numpy_rnn.layers.embedding``         ``numpy_rnn.layers.core.embedding``
``numpy_rnn.layers.einsum_dense``      ``numpy_rnn.layers.core.einsum_dense``
``numpy_rnn.layers.text_vectorization``  ``numpy_rnn.layers.preprocessing.text_vectorization``
``numpy_rnn.layers.core``              the package ``numpy_rnn.layers.core`` itself
                                       (``Masking``; ``Dropout`` re-exported from
                                       ``numpy_rnn.layers.regularization.dropout``)
=====================================  ===============================================

:func:`register` (called once by ``numpy_rnn/layers/__init__.py``) puts each old name in
``sys.modules`` and on the package, so ``import numpy_rnn.layers.lstm``,
``from numpy_rnn.layers.lstm import LSTM`` and ``from numpy_rnn.layers import lstm`` give the very
same module, classes and helpers as the new path (``monkeypatch`` on either path patches both).

Why aliases and not shim files at the old paths: a file left at ``numpy_rnn/layers/lstm.py`` keeps
git from seeing the move as a rename, so every branch that edited the old file would conflict with
the shim instead of following the code to its new place.  Bundles and configs store class names
only (``class_name``), never module paths, so old files load whatever the paths.
"""
from __future__ import annotations

import sys
from types import ModuleType

from .core import dense, einsum_dense, embedding
from .preprocessing import text_vectorization
from .rnn import bidirectional, gru, lstm, recurrent, simple_rnn

#: old module name (under ``numpy_rnn.layers``) -> the module that now holds its code
OLD_PATHS: dict[str, ModuleType] = {
    "lstm": lstm, "gru": gru, "simple_rnn": simple_rnn, "recurrent": recurrent,
    "bidirectional": bidirectional, "dense": dense, "embedding": embedding,
    "einsum_dense": einsum_dense, "text_vectorization": text_vectorization,
}


def register(package_name: str) -> None:
    """Makes every :data:`OLD_PATHS` name importable under ``package_name`` (idempotent)."""
    package = sys.modules[package_name]
    for old, module in OLD_PATHS.items():
        sys.modules.setdefault(f"{package_name}.{old}", module)
        setattr(package, old, module)
