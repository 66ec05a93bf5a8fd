"""numpy_rnn: Keras-compatible recurrent layers and text preprocessing in pure NumPy.

This package depends on NumPy alone and never imports TensorFlow or Keras.
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import activations, datasets, initializers  # noqa: E402
from . import losses, optimizers, regularizers  # noqa: E402
from . import callbacks, metrics  # noqa: E402
from .layers import LSTM, Embedding, EmbeddingLayer, Layer, TokenIdError  # noqa: E402
from .layers import GRU, Bidirectional, Dense, Dropout, Masking, SimpleRNN  # noqa: E402
from .layers import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax  # noqa: E402
from .layers import (ActivityRegularization, AlphaDropout, GaussianDropout,  # noqa: E402
                     GaussianNoise, SpatialDropout1D)
from .layers import AdditiveAttention, Attention, EinsumDense, MultiHeadAttention  # noqa: E402
from .layers.recurrent import RNNBase, rnn_loop  # noqa: E402
from .layers import (BatchNormalization, GroupNormalization, LayerNormalization,  # noqa: E402
                     RMSNormalization, UnitNormalization)
from .layers import (AveragePooling1D, Conv1D, Conv1DTranspose, DepthwiseConv1D,  # noqa: E402
                     GlobalAveragePooling1D, GlobalMaxPooling1D, MaxPooling1D,
                     SeparableConv1D)
from .layers.reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape,  # noqa: E402
                               TimeDistributed, UpSampling1D, ZeroPadding1D)
from ._threads import get_num_threads, set_num_threads  # noqa: E402
from .text import (  # noqa: E402
    TextVectorization,
    Vocabulary,
    pad_sequences,
    text_to_word_sequence,
)
from .layers import (Add, Average, Concatenate, Dot, Maximum, Minimum,  # noqa: E402
                     Multiply, Subtract, TextVectorizationLayer)
from .model import Sequential  # noqa: E402
from .functional import Input, InputLayer, Model  # noqa: E402
from .registry import register_layer, registered_layers, unregister_layer  # noqa: E402
from .io import (  # noqa: E402
    BundleError,
    BundleIntegrityError,
    BundleVerificationError,
    BundleVersionError,
    load,
    read_bundle,
    save,
)
from .keras_file import (  # noqa: E402
    KerasFileError,
    UnsupportedModelError,
    load_keras_model,
    read_keras_file,
)

__all__ = [
    "__version__",
    "activations",
    "initializers",
    "datasets",
    "losses",
    "optimizers",
    "regularizers",
    "callbacks",
    "metrics",
    "Layer",
    "Embedding",
    "EmbeddingLayer",
    "TokenIdError",
    "LSTM",
    "GRU",
    "SimpleRNN",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Masking",
    "BatchNormalization",
    "LayerNormalization",
    "UnitNormalization",
    "GroupNormalization",
    "RMSNormalization",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softmax",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "TimeDistributed",
    "Cropping1D",
    "ZeroPadding1D",
    "UpSampling1D",
    "RNNBase",
    "rnn_loop",
    "Conv1D",
    "Conv1DTranspose",
    "DepthwiseConv1D",
    "SeparableConv1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling1D",
    "set_num_threads",
    "get_num_threads",
    "Vocabulary",
    "TextVectorization",
    "TextVectorizationLayer",
    "pad_sequences",
    "text_to_word_sequence",
    "Sequential",
    "Model",
    "Input",
    "InputLayer",
    "register_layer",
    "unregister_layer",
    "registered_layers",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "Dot",
    "save",
    "load",
    "read_bundle",
    "BundleError",
    "BundleIntegrityError",
    "BundleVersionError",
    "BundleVerificationError",
    "load_keras_model",
    "read_keras_file",
    "UnsupportedModelError",
    "KerasFileError",
    "EinsumDense",
    "MultiHeadAttention",
    "Attention",
    "AdditiveAttention",
]
