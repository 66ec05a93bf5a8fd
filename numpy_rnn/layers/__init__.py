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
from .convolutional import Conv1D, Conv1DTranspose, DepthwiseConv1D, SeparableConv1D
from .pooling import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                      MaxPooling1D)

__all__ = ["Layer", "Embedding", "EmbeddingLayer", "TokenIdError", "LSTM",
           "GRU", "SimpleRNN", "Bidirectional", "Dense", "Dropout", "Masking", "RNNBase", "rnn_loop",
           "Conv1D", "Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D", "MaxPooling1D",
           "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D"]
