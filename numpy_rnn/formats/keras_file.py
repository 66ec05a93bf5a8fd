"""Read Keras 3 ``.keras`` model files without TensorFlow (and dispatch HDF5 files, Keras 2 /
tf_keras ``.h5`` models and weights-only files, to :mod:`numpy_rnn.formats.keras_h5`).

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
from typing import Any

from .. import _limits
from ..model import Sequential
from .errors import KerasFileError
from .keras_archive import WEIGHTS_NAME, Archive, config_members
from .keras_graph import GraphPlan
from .keras_graph_weights import load_graph_weights, read_assets
from .keras_h5 import is_hdf5, read_h5
from .keras_plan import plan_config
from .keras_weights import import_h5py, load_weights

@dataclasses.dataclass
class KerasFile:
    """What ``read_keras_file`` found: the numpy model (a ``Sequential``, or a ``Model`` for a
    functional graph) and where it came from."""

    model: Any
    path: str
    keras_version: str | None
    config: dict
    metadata: dict
    kind: str
    #: ``"keras"`` (a Keras 3 ``.keras`` archive), ``"keras2-h5"`` (a Keras 2 / tf_keras
    #: ``.h5`` file, read with Keras 2's semantics), ``"keras3-h5"`` (Keras 3's legacy ``.h5``)
    #: or ``"keras3-weights-h5"`` (a ``.weights.h5`` with a separate config).
    format: str = "keras"


def read_keras_file(path: str | os.PathLike, config: Any = None) -> KerasFile:
    """Read a Keras model file into a :class:`numpy_rnn.Sequential`, with its weights.

    ``path``: a Keras 3 ``.keras`` archive, a legacy HDF5 model file (``model.save("m.h5")``
    in Keras 2 / tf_keras, read with Keras 2's semantics; or Keras 3's legacy ``.h5``), or a
    weights-only HDF5 file (Keras 2 ``save_weights("w.h5")`` or Keras 3 ``.weights.h5``) with
    ``config``: the model config as a dict (``json.loads(model.to_json())``), JSON text or a
    path to a JSON file.  See :mod:`numpy_rnn.formats.keras_h5`.

    Raises:
        UnsupportedModelError: the model uses layers/options numpy_rnn cannot reproduce (all
            of them listed).
        KerasFileError: not a Keras archive, corrupt, or weights that disagree with the config.
        ImportError: h5py (the ``numpy-rnn[h5]`` extra) is needed to read the weights.
        ValueError: ``config`` given for a file that holds its own.
    """
    where = os.fspath(path)
    if is_hdf5(where):
        found = read_h5(where, config)
        return KerasFile(model=found.model, path=where, keras_version=found.keras_version,
                         config=found.config, metadata={"keras_version": found.keras_version,
                                                        "backend": found.backend},
                         kind=found.kind, format=found.format)
    if config is not None:
        raise ValueError(f"`config`: {where!r} is a .keras archive with its own config.json; "
                         "pass config only with a weights-only .h5 file")
    archive = Archive(path)
    try:
        config, metadata = config_members(archive)
        plan = plan_config(config, where, defer=True)
        if isinstance(plan, GraphPlan):
            read_assets(archive, plan, where)
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
            model = (load_graph_weights if isinstance(plan, GraphPlan) else load_weights)(
                h5py, h5, plan, where)
        except (OSError, KeyError) as exc:
            raise KerasFileError(f"{where!r}: cannot read the weights: {exc}") from None
        except MemoryError:
            raise KerasFileError(f"{where!r}: not enough memory to load the weights") from None
    metadata = metadata if isinstance(metadata, dict) else {}
    return KerasFile(model=model, path=where, keras_version=metadata.get("keras_version"),
                     config=config, metadata=metadata, kind=plan.kind)


def load_keras_model(path: str | os.PathLike, config: Any = None) -> Any:
    """A :class:`numpy_rnn.Sequential` (a :class:`numpy_rnn.Model` for a functional model that
    is not a single chain) equal to the Keras model saved in ``path`` (a ``.keras``
    file, a Keras 2 / tf_keras ``.h5`` model file, or a weights-only ``.h5`` with ``config``),
    read with NumPy and h5py alone.  See :func:`read_keras_file` for the formats and errors."""
    return read_keras_file(path, config).model
