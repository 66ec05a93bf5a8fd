"""The bundle format: its name and version, the array keys, and the SHA-256 digest over every
array (name, dtype, shape and bytes).  The digest detects accidents and edits, not a forger.
Also the check of the optional class labels both the writer and the reader apply.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from .. import _limits


FORMAT = "numpy-rnn-bundle"
#: The newest format version written and read: 1 for a ``Sequential``, 2 for a functional
#: ``Model`` (``bundle_graph``; a reader of version 1 refuses it by name).
FORMAT_VERSION = 2
SEQUENTIAL_FORMAT_VERSION = 1
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


def check_labels(labels: Any) -> list[str] | None:
    """``labels`` as a list of strings (None stays None); TypeError / ValueError otherwise."""
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
        raise TypeError(f"`labels` must be a list of strings. Received: {labels!r:.80}")
    out = list(labels)
    bad = [x for x in out if not isinstance(x, str)]
    if bad or not out:
        raise ValueError(f"`labels` must be a non-empty list of strings. Received: "
                         f"{out!r:.120}")
    if len(out) > _limits.MAX_LABELS or any(len(x) > _limits.MAX_LABEL_CHARS for x in out):
        raise ValueError(f"`labels` must hold at most {_limits.MAX_LABELS} labels of at most "
                         f"{_limits.MAX_LABEL_CHARS} characters. Received: {len(out)} labels")
    return out
