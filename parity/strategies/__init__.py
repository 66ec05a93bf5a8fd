"""Hypothesis strategies for parity tests: the project's own property tests use these, and users
can import them for theirs (``from parity import strategies; strategies.lstm_cases()``).

One namespace over four modules: ``lstm`` (LSTM examples), ``family`` (GRU, SimpleRNN,
Bidirectional, Dense, masks), ``attention`` (MultiHeadAttention, Attention,
AdditiveAttention), ``normalization`` (the normalization layers), ``activation``
(ReLU, LeakyReLU, ELU, PReLU, Softmax), ``convolutional`` (convolution and pooling layers), ``reshaping``
(Flatten ... TimeDistributed), ``graphs`` (random functional DAGs built alike in Keras and
numpy_rnn) and ``text`` (hostile text, corpora, Tokenizer /
TextVectorization / pad_sequences options).  Arrays are built by NumPy from a drawn seed
through ``parity.cases`` (the same weights and masks as the ``numpy-rnn parity`` sweep), so
examples are cheap and reproducible.
"""
from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without hypothesis
    raise ImportError("parity.strategies needs hypothesis, the numpy-rnn[keras] extra "
                      "(from a checkout: pip install -e '.[keras]')") from exc

from . import (activation, attention, convolutional, family, graphs, lstm, normalization,
               reshaping, text)
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .convolutional import *  # noqa: F401,F403
from .graphs import *  # noqa: F401,F403
from .family import *  # noqa: F401,F403
from .graphs import *  # noqa: F401,F403
from .lstm import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .reshaping import *  # noqa: F401,F403
from .text import *  # noqa: F401,F403

__all__ = ["activation", "attention", "convolutional", "family", "graphs", "lstm", "normalization",
           "reshaping", "text", *activation.__all__, *attention.__all__, *convolutional.__all__,
           *family.__all__, *graphs.__all__, *lstm.__all__, *normalization.__all__, *reshaping.__all__,
           *text.__all__]
