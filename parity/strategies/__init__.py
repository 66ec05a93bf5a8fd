"""Hypothesis strategies for parity tests: the project's own property tests use these, and users
can import them for theirs (``from parity import strategies; strategies.lstm_cases()``).

One namespace over four modules: ``lstm`` (LSTM examples), ``family`` (GRU, SimpleRNN,
Bidirectional, Dense, masks), ``text`` (hostile text, corpora, Tokenizer / TextVectorization /
pad_sequences options) and ``graphs`` (random functional DAGs built alike in Keras and numpy_rnn).  Arrays are built by NumPy from a drawn seed through ``parity.cases``
(the same weights and masks as the ``numpy-rnn parity`` sweep), so examples are cheap and
reproducible.
"""
from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without hypothesis
    raise ImportError("parity.strategies needs hypothesis: pip install 'numpy-rnn[keras]' "
                      "(from a checkout: pip install -e '.[keras]')") from exc

from . import family, graphs, lstm, text
from .family import *  # noqa: F401,F403
from .graphs import *  # noqa: F401,F403
from .lstm import *  # noqa: F401,F403
from .text import *  # noqa: F401,F403

__all__ = ["family", "graphs", "lstm", "text", *family.__all__, *graphs.__all__,
           *lstm.__all__, *text.__all__]
