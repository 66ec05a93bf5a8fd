"""1-D convolution layers, as ``keras/src/layers/convolutional``."""
from .base_conv_layer import BaseConv
from .conv1d import Conv1D
from .conv1d_transpose import Conv1DTranspose
from .depthwise_conv1d import DepthwiseConv1D
from .separable_conv1d import SeparableConv1D

__all__ = ["BaseConv", "Conv1D", "Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D"]
