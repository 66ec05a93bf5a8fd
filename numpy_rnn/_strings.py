"""String model inputs (``numpy_rnn.Input(shape, dtype="string")``, read by a
``TextVectorization`` inside the model): what a model does with the strings it is given."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["string_input"]


def string_input(model_name: str, inputs: Any, dtype: Any = "object",
                 what: str = "inputs") -> np.ndarray:
    """``inputs`` as an object array of ``str`` (bytes decoded as UTF-8), as Keras takes a
    ``tf.string`` input; TypeError for anything but strings.  (``dtype``: the input's, always
    ``object``; the signature is ``cast_model_input``'s.)"""
    arr = np.array(inputs, dtype=object) if not isinstance(inputs, np.ndarray) else \
        inputs.astype(object)
    flat = arr.reshape(-1)
    for i, item in enumerate(flat):
        if isinstance(item, (bytes, np.bytes_)):
            flat[i] = bytes(item).decode("utf-8")
        elif not isinstance(item, str):
            raise TypeError(f"`{what}` of model '{model_name}' must hold strings (a string "
                            f"input). Received: {type(item).__name__} {item!r:.40}")
    return flat.reshape(arr.shape)
