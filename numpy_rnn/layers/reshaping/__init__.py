"""Reshaping layers, one short module each, as Keras's ``keras/src/layers/reshaping/`` (plus
``TimeDistributed``, which Keras files under ``rnn/``)."""
from .cropping1d import Cropping1D
from .flatten import Flatten
from .permute import Permute
from .repeat_vector import RepeatVector
from .reshape import Reshape
from .time_distributed import TimeDistributed
from .up_sampling1d import UpSampling1D
from .zero_padding1d import ZeroPadding1D

__all__ = ["Cropping1D", "Flatten", "Permute", "RepeatVector", "Reshape", "TimeDistributed",
           "UpSampling1D", "ZeroPadding1D"]
