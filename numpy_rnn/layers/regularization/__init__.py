"""Regularization layers, one module each, as ``keras/src/layers/regularization/``."""
from .activity_regularization import ActivityRegularization
from .alpha_dropout import AlphaDropout
from .gaussian_dropout import GaussianDropout
from .gaussian_noise import GaussianNoise
from .spatial_dropout1d import SpatialDropout1D

__all__ = ["ActivityRegularization", "AlphaDropout", "GaussianDropout", "GaussianNoise",
           "SpatialDropout1D"]
