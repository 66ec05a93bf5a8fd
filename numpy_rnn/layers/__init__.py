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
from .reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape, TimeDistributed,
                        UpSampling1D, ZeroPadding1D)

__all__ = ["Layer", "Embedding", "EmbeddingLayer", "TokenIdError", "LSTM",
           "GRU", "SimpleRNN", "Bidirectional", "Dense", "Dropout", "Masking", "RNNBase",
           "rnn_loop",
           "Flatten", "Reshape", "Permute", "RepeatVector", "TimeDistributed", "Cropping1D",
           "ZeroPadding1D", "UpSampling1D"]
