"""Read Keras 3 ``.keras`` model files without TensorFlow.

A ``.keras`` file is a zip archive (``keras/src/saving/saving_lib.py``) holding

* ``metadata.json``: ``{"keras_version": ..., "date_saved": ...}``;
* ``config.json``: the model config (``Sequential`` or ``Functional``), each layer as
  ``{"module", "class_name", "config", "registered_name", ...}``;
* ``model.weights.h5``: one HDF5 group per layer, at ``layers/<snake_case class name>[_N]`` (the
  ``_N`` suffix counts repeats of a class in ``model.layers`` order; a Functional model counts its
  ``InputLayer``), with the variables as datasets ``vars/0``, ``vars/1`` ... in the layer's
  weight order; a recurrent layer keeps them under ``cell/vars``, a ``Bidirectional`` under
  ``forward_layer/cell/vars`` and ``backward_layer/cell/vars``.

Only JSON and numeric HDF5 datasets are read: nothing in the file is executed (no pickle, no
Lambda bytecode), links to other files are refused, and a model that uses a layer or an option
numpy_rnn cannot reproduce is refused with one :class:`UnsupportedModelError` that lists every
problem found.  ``h5py`` (the ``[h5]`` extra) is imported only to read the weights.
"""
from __future__ import annotations

import dataclasses
import io
import os

from .. import _limits
from ..model import Sequential
from .errors import KerasFileError
from .keras_archive import WEIGHTS_NAME, Archive, config_members
from .keras_plan import plan_config
from .keras_weights import import_h5py, load_weights

@dataclasses.dataclass
class KerasFile:
    """What ``read_keras_file`` found: the numpy model and where it came from."""

    model: Sequential
    path: str
    keras_version: str | None
    config: dict
    metadata: dict
    kind: str


def read_keras_file(path: str | os.PathLike) -> KerasFile:
    """Read a ``.keras`` file into a :class:`numpy_rnn.Sequential`, with its weights.

    Raises:
        UnsupportedModelError: the model uses layers/options numpy_rnn cannot reproduce (all
            of them listed).
        KerasFileError: not a Keras archive, corrupt, or weights that disagree with the config.
        ImportError: h5py (``pip install 'numpy-rnn[h5]'``) is needed to read the weights.
    """
    where = os.fspath(path)
    archive = Archive(path)
    try:
        config, metadata = config_members(archive)
        plan = plan_config(config, where, defer=True)
        if WEIGHTS_NAME not in archive.names:
            other = [n for n in archive.names if n.startswith("model.weights")]
            why = ("Keras's npz weights hold pickled objects, which numpy_rnn never loads; save "
                   "with the default h5 weights" if "model.weights.npz" in other else
                   "sharded weights are not supported" if other else "the model has no weights")
            raise KerasFileError(f"{where!r} has no {WEIGHTS_NAME}: {why} (members: "
                                 f"{archive.names})")
        h5py = import_h5py()
        raw = archive.read(WEIGHTS_NAME, _limits.MAX_MEMBER_BYTES)
    finally:
        archive.close()
    try:
        h5 = h5py.File(io.BytesIO(raw), "r")
    except (OSError, ValueError) as exc:
        raise KerasFileError(f"{where!r}: {WEIGHTS_NAME} is not a readable HDF5 file "
                             f"(truncated or corrupt): {exc}") from None
    with h5:
        try:
            model = load_weights(h5py, h5, plan, where)
        except (OSError, KeyError) as exc:
            raise KerasFileError(f"{where!r}: cannot read the weights: {exc}") from None
        except MemoryError:
            raise KerasFileError(f"{where!r}: not enough memory to load the weights") from None
    metadata = metadata if isinstance(metadata, dict) else {}
    return KerasFile(model=model, path=where, keras_version=metadata.get("keras_version"),
                     config=config, metadata=metadata, kind=plan.kind)


def load_keras_model(path: str | os.PathLike) -> Sequential:
    """A :class:`numpy_rnn.Sequential` equal to the Keras model saved in ``path`` (a ``.keras``
    file), read with NumPy and h5py alone.  See :func:`read_keras_file` for the errors."""
    return read_keras_file(path).model
