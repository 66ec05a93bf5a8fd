"""Recurrent layers, one module each, as Keras's ``keras/src/layers/rnn/``: ``recurrent``
(``rnn_loop``, the one time loop every cell runs in, and ``RNNBase``), ``lstm``, ``gru``,
``simple_rnn`` (the cell maths) and ``bidirectional`` (the wrapper)."""
from .bidirectional import Bidirectional
from .gru import GRU
from .lstm import LSTM
from .recurrent import RNNBase, rnn_loop
from .simple_rnn import SimpleRNN

__all__ = ["RNNBase", "rnn_loop", "LSTM", "GRU", "SimpleRNN", "Bidirectional"]
