"""One short module per layer."""
from .base import Layer
from .embedding import Embedding, EmbeddingLayer, TokenIdError
from .lstm import LSTM
from .gru import GRU
from .simple_rnn import SimpleRNN
from .bidirectional import Bidirectional
from .dense import Dense
from .core import Dropout, Masking
from .recurrent import RNNBase, rnn_loop
from .merging import Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply, Subtract
from .text_vectorization import TextVectorizationLayer

__all__ = ["Layer", "Embedding", "EmbeddingLayer", "TokenIdError", "LSTM",
           "GRU", "SimpleRNN", "Bidirectional", "Dense", "Dropout", "Masking", "RNNBase", "rnn_loop",
           "Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "TextVectorizationLayer"]
