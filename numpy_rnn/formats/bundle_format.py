"""The bundle format: its name and version, the array keys, and the SHA-256 digest over every
array (name, dtype, shape and bytes).  The digest detects accidents and edits, not a forger.
"""
from __future__ import annotations

import hashlib

import numpy as np


FORMAT = "numpy-rnn-bundle"
FORMAT_VERSION = 1
CONFIG_KEY = "config"
DIGEST_KEY = "sha256"
INPUTS_KEY = "test_inputs"
OUTPUTS_KEY = "test_outputs"


def bundle_digest(arrays: dict[str, np.ndarray]) -> bytes:
    h = hashlib.sha256(FORMAT.encode() + b"\0")
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + b"\0" + arr.dtype.str.encode() + b"\0"
                 + repr(tuple(arr.shape)).encode() + b"\0")
        h.update(arr.reshape(-1).view(np.uint8) if arr.size else b"")
    return h.digest()
