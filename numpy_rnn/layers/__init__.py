"""One short module per layer."""
from .base import Layer
from .core import Dense, EinsumDense, Embedding, EmbeddingLayer, Masking, TokenIdError
from .rnn import GRU, LSTM, Bidirectional, RNNBase, SimpleRNN, rnn_loop
from .merging import Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply, Subtract
from .normalization import (BatchNormalization, GroupNormalization, LayerNormalization,
                            RMSNormalization, UnitNormalization)
from .activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .regularization import (ActivityRegularization, AlphaDropout, Dropout, GaussianDropout,
                             GaussianNoise, SpatialDropout1D)
from .convolutional import Conv1D, Conv1DTranspose, DepthwiseConv1D, SeparableConv1D
from .pooling import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                      MaxPooling1D)
from .reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape, TimeDistributed,
                        UpSampling1D, ZeroPadding1D)
from .attention import AdditiveAttention, Attention, MultiHeadAttention
from .preprocessing import TextVectorizationLayer
from . import _old_paths

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

_old_paths.register(__name__)  # numpy_rnn.layers.lstm & co., the paths of before the family move
