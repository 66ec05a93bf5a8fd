"""Activation layers, one module each, as ``keras/src/layers/activations/``."""
from .activation import Activation, ElementwiseLayer
from .elu import ELU
from .leaky_relu import LeakyReLU
from .prelu import PReLU
from .relu import ReLU
from .softmax import Softmax

__all__ = ["Activation", "ELU", "ElementwiseLayer", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
