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
from .normalization import (BatchNormalization, GroupNormalization, LayerNormalization,
                            RMSNormalization, UnitNormalization)
from .activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .regularization import (ActivityRegularization, AlphaDropout, GaussianDropout,
                             GaussianNoise, SpatialDropout1D)
from .convolutional import Conv1D, Conv1DTranspose, DepthwiseConv1D, SeparableConv1D
from .pooling import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                      MaxPooling1D)
from .reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape, TimeDistributed,
                        UpSampling1D, ZeroPadding1D)
from .einsum_dense import EinsumDense
from .attention import AdditiveAttention, Attention, MultiHeadAttention
from .text_vectorization import TextVectorizationLayer

__all__ = ["Layer", "Embedding", "EmbeddingLayer", "TokenIdError", "LSTM",
           "GRU", "SimpleRNN", "Bidirectional", "Dense", "Dropout", "Masking", "RNNBase", "rnn_loop",
           "Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot",
           "BatchNormalization", "GroupNormalization", "LayerNormalization", "RMSNormalization",
           "UnitNormalization",
           "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "SpatialDropout1D",
           "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
           "Conv1D", "Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D", "MaxPooling1D",
           "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D",
           "Flatten", "Reshape", "Permute", "RepeatVector", "TimeDistributed", "Cropping1D",
           "ZeroPadding1D", "UpSampling1D",
           "EinsumDense", "MultiHeadAttention", "Attention", "AdditiveAttention",
           "TextVectorizationLayer"]
