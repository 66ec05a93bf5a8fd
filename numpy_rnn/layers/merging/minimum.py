"""``Minimum``: the element-wise minimum, as ``keras.layers.Minimum`` (the same masked loop
as ``Maximum``; TensorFlow's gradient gives a tie to the first operand)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .maximum import _Extreme


class Minimum(_Extreme):
    """The element-wise minimum of the inputs."""

    _op: Callable = staticmethod(np.minimum)
    _select: Callable = staticmethod(np.less_equal)
