"""The ``.keras`` zip archive: members read with a bounded stream, JSON members parsed with
depth and size limits.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any

from .. import _limits
from .errors import KerasFileError

CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.h5"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

# ------------------------------------------------------------------------------------------------
# Reading the archive
# ------------------------------------------------------------------------------------------------
class Archive:
    """The members of a ``.keras`` zip archive, or of a directory saved with ``zipped=False``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self.zip: zipfile.ZipFile | None = None
        if os.path.isdir(self.path):
            self.names = sorted(os.listdir(self.path))
            return
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"No such Keras model file: {self.path!r}")
        with open(self.path, "rb") as fh:
            head = fh.read(8)
        if head == HDF5_SIGNATURE:
            raise KerasFileError(
                f"{self.path!r} is an HDF5 ('.h5') file, not a '.keras' archive: read it with "
                "numpy_rnn.load_keras_model / read_keras_file (legacy .h5 reader)"
            )
        if self.path.lower().endswith((".h5", ".hdf5")):
            raise KerasFileError(
                f"{self.path!r} is named like a Keras HDF5 (.h5) file but is not an HDF5 file: "
                f"it does not start with the HDF5 signature (it starts with {head!r}); a Keras "
                ".h5 file comes from model.save('model.h5') or save_weights")
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise KerasFileError(f"{self.path!r} is not a Keras '.keras' archive (a zip file) nor "
                                 f"a Keras HDF5 (.h5) file: {exc}") from None
        self.names = self.zip.namelist()

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of member ``name``, never more than ``limit`` nor than it declares (read a
        chunk at a time: a member that lies about its size is refused after one chunk)."""
        if name not in self.names:
            raise KerasFileError(f"{self.path!r} has no {name!r} (members: {self.names})")
        try:
            if self.zip is None:
                return _limits.read_file(os.path.join(self.path, name), limit)
            return _limits.read_member(self.zip, name, limit)
        except _limits.LimitError as exc:
            raise KerasFileError(f"{self.path!r}: {exc}") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise KerasFileError(f"{self.path!r}: cannot read member {name!r} (truncated or "
                                 f"corrupt archive): {exc}") from None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def json_member(archive: Archive, name: str) -> Any:
    raw = archive.read(name, _limits.MAX_JSON_BYTES)  # read at each call: patchable
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise KerasFileError(f"{archive.path!r}: {name} nests too deeply to be a Keras "
                             "config") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise KerasFileError(f"{archive.path!r}: {name} is not valid JSON: {exc}") from None


def config_members(archive: Archive) -> tuple[Any, Any]:
    """``(config.json, metadata.json or {})`` of an open archive; KerasFileError when it has no
    config.json (not a Keras model archive)."""
    if CONFIG_NAME not in archive.names:
        raise KerasFileError(f"{archive.path!r} is not a Keras model archive: it has no "
                             f"{CONFIG_NAME} (members: {archive.names})")
    config = json_member(archive, CONFIG_NAME)
    metadata = json_member(archive, METADATA_NAME) if METADATA_NAME in archive.names else {}
    return config, metadata


def read_keras_config(path: str | os.PathLike) -> tuple[dict, dict]:
    """``(config.json, metadata.json)`` of a ``.keras`` file, as dicts (no h5py needed)."""
    archive = Archive(path)
    try:
        config, metadata = config_members(archive)
    finally:
        archive.close()
    return config, metadata if isinstance(metadata, dict) else {}
