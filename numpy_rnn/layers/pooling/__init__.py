"""1-D pooling layers, as ``keras/src/layers/pooling``."""
from .average_pooling1d import AveragePooling1D
from .base_global_pooling import BaseGlobalPooling
from .base_pooling import BasePooling
from .global_average_pooling1d import GlobalAveragePooling1D
from .global_max_pooling1d import GlobalMaxPooling1D
from .max_pooling1d import MaxPooling1D

__all__ = ["AveragePooling1D", "BaseGlobalPooling", "BasePooling", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D", "MaxPooling1D"]
