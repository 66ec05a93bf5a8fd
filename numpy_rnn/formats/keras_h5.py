"""Read legacy HDF5 model files (``model.save("m.h5")`` in tf_keras / tf.keras / Keras 2, and
Keras 3's own legacy ``.h5``) and weights-only HDF5 files with a config given separately.

The layout (``tf_keras/src/saving/legacy/hdf5_format.py``):

* root attributes ``model_config`` (JSON, bytes or str), ``keras_version``, ``backend``;
* group ``model_weights`` (in a weights-only file from ``save_weights("w.h5")``: the root) with
  attribute ``layer_names`` -- split into ``layer_names0``, ``layer_names1``, ... when it is
  longer than an HDF5 object header holds (``save_attributes_to_hdf5_group``);
* one group per layer with attribute ``weight_names`` (split likewise): dataset paths below the
  layer's group, ``lstm/lstm_cell/kernel:0``; a Bidirectional lists ``forward_lstm/...`` and
  then ``backward_lstm/...``.

Weights are matched **by order**, as ``load_weights_from_hdf5_group`` does: the model's layers
that have weights, in order, against the file's layer names whose ``weight_names`` is not
empty, in order; inside a layer, ``weight_names`` order (a Bidirectional: the first half is the
forward layer's).  Names are never used to pair weights.

What a config means depends on who wrote it (``keras_version``): a Keras 2 config is read with
Keras 2's semantics (``numpy_rnn.formats.keras_layers.dialect_of``: ``hard_sigmoid`` is
``clip(0.2 x + 0.5, 0, 1)``, the writer's defaults for options the config lacks), a Keras 3 one
as Keras 3.  Keras 3's weights-only ``.weights.h5`` (``layers/<name>/vars/0``...) is read by
:mod:`keras_weights`, as inside a ``.keras`` archive.

The same rules as for ``.keras`` files: every declared weight shape is checked against the shape
derived from the config, from dataset metadata, before any data is read; sizes are bounded by
``numpy_rnn._limits``; only hard links and datasets stored in the file are followed; nothing is
executed (a Lambda layer is refused); one error lists every problem found.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from .. import _limits
from ..model import Sequential
from .errors import KerasFileError
from .keras_archive import HDF5_SIGNATURE
from .keras_convert import Deferred, ModelPlan, short
from .keras_layers import KERAS3, dialect_of
from .keras_graph import GraphPlan
from .keras_graph_weights import load_graph_by_order, load_graph_weights
from .keras_plan import plan_config
from .keras_weights import (Found, build_checked, check_found, checked_dataset, h5_group,
                            import_h5py, load_weights, weight_owners)

__all__ = ["H5Model", "is_hdf5", "read_h5"]


@dataclasses.dataclass
class H5Model:
    """What :func:`read_h5` found."""

    model: Any
    config: dict
    keras_version: str | None
    #: ``"keras2-h5"`` (a Keras 2 / tf_keras file), ``"keras3-h5"`` (Keras 3's legacy .h5) or
    #: ``"keras3-weights-h5"`` (a Keras 3 ``.weights.h5`` with a separate config).
    format: str
    kind: str
    backend: str | None = None


def is_hdf5(path: str | os.PathLike) -> bool:
    """True when ``path`` is a regular file that starts with the HDF5 signature."""
    where = os.fspath(path)
    if not os.path.isfile(where):
        return False
    with open(where, "rb") as fh:
        return fh.read(8) == HDF5_SIGNATURE


# -- attributes ------------------------------------------------------------------------------------
def _attr(h5py: Any, group: Any, name: str, where: str) -> Any:
    """Attribute ``name`` of ``group`` (None when absent), refused before it is read when it
    stores more than ``_limits.MAX_JSON_BYTES``."""
    if name not in group.attrs:
        return None
    try:
        size = group.attrs.get_id(name).get_storage_size()
    except Exception:  # noqa: BLE001 - no figure: the value is still checked after reading
        size = 0
    if size > _limits.MAX_JSON_BYTES:
        raise KerasFileError(f"{where}: attribute {name!r} stores {size} bytes, more than the "
                             f"limit of {_limits.MAX_JSON_BYTES} bytes")
    value = group.attrs[name]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and len(value) > _limits.MAX_JSON_BYTES:
        raise KerasFileError(f"{where}: attribute {name!r} is longer than the limit of "
                             f"{_limits.MAX_JSON_BYTES} bytes")
    return value


def _names(h5py: Any, group: Any, name: str, where: str) -> list[str]:
    """A list-of-names attribute, whole or split into ``name0``, ``name1``, ... (tf_keras's
    ``load_attributes_from_hdf5_group``); ``[]`` when absent."""
    if name in group.attrs:
        parts = [_attr(h5py, group, name, where)]
    else:
        parts, i = [], 0
        while f"{name}{i}" in group.attrs:
            parts.append(_attr(h5py, group, f"{name}{i}", where))
            i += 1
    out: list[str] = []
    for part in parts:
        items = part.tolist() if hasattr(part, "tolist") else part
        items = [items] if isinstance(items, (str, bytes)) else items
        if not isinstance(items, list):
            raise KerasFileError(f"{where}: attribute {name!r} is not a list of names "
                                 f"(received {short(items)})")
        for item in items:
            if isinstance(item, bytes):
                item = item.decode("utf-8", "replace")
            if not isinstance(item, str):
                raise KerasFileError(f"{where}: attribute {name!r} holds {short(item)}, not "
                                     "a name")
            out.append(item)
    return out


def _json(text: Any, what: str) -> Any:
    if not isinstance(text, str):
        raise KerasFileError(f"{what} is not JSON text (received {type(text).__name__})")
    if len(text) > _limits.MAX_JSON_BYTES:
        raise KerasFileError(f"{what} is longer than the limit of {_limits.MAX_JSON_BYTES} "
                             "bytes")
    try:
        return json.loads(text)
    except RecursionError:
        raise KerasFileError(f"{what} nests too deeply to be a Keras config") from None
    except ValueError as exc:
        raise KerasFileError(f"{what} is not valid JSON: {exc}") from None


def _config_argument(config: Any) -> Any:
    """The ``config=`` of a weights-only file: a dict, JSON text, or a path to a JSON file
    (``model.to_json()`` output, or a ``.keras`` archive's ``config.json``)."""
    if isinstance(config, dict):
        return config
    if isinstance(config, str) and config.lstrip().startswith("{"):
        return _json(config, "`config`")
    if isinstance(config, (str, os.PathLike)):
        try:
            raw = _limits.read_file(os.fspath(config), _limits.MAX_JSON_BYTES)
        except _limits.LimitError as exc:
            raise KerasFileError(f"`config` {os.fspath(config)!r}: {exc}") from None
        try:
            return _json(raw.decode("utf-8"), f"`config` file {os.fspath(config)!r}")
        except UnicodeDecodeError:
            raise KerasFileError(f"`config` file {os.fspath(config)!r} is not UTF-8 JSON "
                                 "text") from None
    raise TypeError("`config` must be a model config (dict), its JSON text or the path to a "
                    f"JSON file. Received: config of type {type(config).__name__}")


# -- reading ---------------------------------------------------------------------------------------
def read_h5(path: str | os.PathLike, config: Any = None) -> H5Model:
    """Read a legacy HDF5 model file, or a weights-only HDF5 file with ``config``.

    Args:
        path: the ``.h5`` file.
        config: only for a weights-only file: the model config (a dict such as
            ``json.loads(model.to_json())``, its JSON text, or a path to a JSON file); written
            by the same Keras as the weights (Keras 2 ``.h5`` weights or Keras 3
            ``.weights.h5``, told apart by their layout).

    Raises:
        UnsupportedModelError: layers/options numpy_rnn cannot reproduce (all listed).
        KerasFileError: not a Keras HDF5 file, corrupt, hostile, or weights that disagree
            with the config (all problems listed).
        ValueError: ``config`` given for a file that has its own.
        TypeError: ``config`` of another type.
    """
    where = os.fspath(path)
    h5py = import_h5py("a Keras HDF5 (.h5) file")
    try:
        h5 = h5py.File(where, "r")
    except (OSError, ValueError) as exc:
        raise KerasFileError(f"{where!r} is not a readable HDF5 file (truncated or corrupt): "
                             f"{exc}") from None
    with h5:
        try:
            return _read(h5py, h5, where, config)
        except (OSError, KeyError, RuntimeError) as exc:
            raise KerasFileError(f"{where!r}: cannot read the file: {exc}") from None
        except MemoryError:
            raise KerasFileError(f"{where!r}: not enough memory to load the weights") from None


def _read(h5py: Any, h5: Any, where: str, config: Any) -> H5Model:
    text = _attr(h5py, h5, "model_config", where)
    if text is not None and config is not None:
        raise ValueError(f"`config`: {where!r} is a whole model file with its own "
                         "model_config; pass config only with a weights-only file. Received: "
                         f"config={short(config)}")
    if text is None and config is None:
        what = ("a Keras 3 weights-only file (.weights.h5)" if "layers" in h5 else
                "a weights-only file (save_weights)" if "layer_names" in h5.attrs
                or "layer_names0" in h5.attrs else "not a Keras model file")
        raise KerasFileError(f"{where!r} has no model_config: {what}; give the model's config: "
                             "load_keras_model(path, config=...)")
    model_config = _json(text, f"{where!r}: model_config") if text is not None \
        else _config_argument(config)
    kind = model_config.get("class_name") if isinstance(model_config, dict) else None
    legacy_layout = "layer_names" in h5.attrs or "layer_names0" in h5.attrs
    if text is None and not legacy_layout:  # Keras 3's .weights.h5: the .keras layout
        plan = plan_config(model_config, where, defer=True)
        model = (load_graph_weights if isinstance(plan, GraphPlan) else load_weights)(
            h5py, h5, plan, where)
        return H5Model(model, model_config, None, "keras3-weights-h5", str(plan.kind))
    root = h5_group(h5py, h5, "model_weights", where) if text is not None else h5
    if root is None:
        raise KerasFileError(f"{where!r} has a model_config but no 'model_weights' group: a "
                             "model saved without weights")
    version = _attr(h5py, h5, "keras_version", where) or _attr(h5py, root, "keras_version",
                                                                 where)
    backend = _attr(h5py, h5, "backend", where) or _attr(h5py, root, "backend", where)
    dialect, why = dialect_of(version)
    if why:
        raise KerasFileError(f"{where!r}: {why}")
    if backend not in (None, "tensorflow", "jax", "torch", "numpy"):
        raise KerasFileError(f"{where!r} was written with the {backend!r} backend; numpy_rnn "
                             "reads files from the tensorflow, jax, torch and numpy backends")
    plan = plan_config(model_config, where, defer=True, dialect=dialect)
    if isinstance(plan, GraphPlan):
        errors: list[str] = []
        saved = _saved_layers(h5py, root, where, errors)

        def dataset_at(group: Any, wname: str, name: str) -> Any:
            return _dataset(h5py, group, wname, f"{root.name.strip('/')}/{name}".lstrip("/"))
        model = load_graph_by_order(h5py, root, plan, saved, where, errors, dataset_at)
    else:
        model = build_checked(plan, _check_by_order(h5py, root, plan, where))
    fmt = "keras3-h5" if dialect is KERAS3 else "keras2-h5"
    return H5Model(model, model_config, str(version), fmt, str(kind), backend)


def _dataset(h5py: Any, group: Any, path: str, where: str):
    """The dataset at ``path`` below ``group`` (hard links only, stored in the file)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise KerasFileError(f"{where}: empty weight name")
    parent = h5_group(h5py, group, "/".join(parts[:-1]), where) if len(parts) > 1 else group
    if parent is None:
        raise KerasFileError(f"{where}/{path} does not exist")
    return checked_dataset(h5py, parent, parts[-1], f"{where}/{'/'.join(parts[:-1])}".rstrip("/"))


def _weight_count(owner: Any) -> int:
    return 1 if isinstance(owner, Deferred) else len(owner.weight_names())


def _saved_layers(h5py: Any, root: Any, where: str, errors: list[str]) -> list:
    """``(name, group, weight names)`` of the file's layers that hold weights, in file order."""
    prefix = root.name.strip("/")
    saved: list[tuple[str, Any, list[str]]] = []
    for name in _names(h5py, root, "layer_names", where):
        try:
            group = h5_group(h5py, root, name, where)
        except KerasFileError as exc:
            errors.append(str(exc))
            continue
        if group is None:
            errors.append(f"layer_names lists '{name}' but the file has no group "
                          f"'{prefix}/{name}'".replace("'/", "'"))
            continue
        names = _names(h5py, group, "weight_names", f"{where}: group '{name}'")
        if names:
            saved.append((name, group, names))
    top = h5_group(h5py, root, "top_level_model_weights", where) if \
        "top_level_model_weights" in root else None
    if top is not None and _names(h5py, top, "weight_names", where):
        errors.append("the file holds top-level model weights (a subclassed model's own "
                      "variables); numpy_rnn runs layers only")
    return saved


def _check_by_order(h5py: Any, root: Any, plan: ModelPlan, where: str) -> list:
    """Pair the file's layers with the plan's by order (tf_keras's rule), then check every
    weight with :func:`check_found`."""
    errors: list[str] = []
    prefix = root.name.strip("/")
    saved = _saved_layers(h5py, root, where, errors)
    weighted = [lp for lp in plan.layers
                if sum(_weight_count(o) for o in weight_owners(lp.layer))]
    if len(saved) != len(weighted):
        errors.append(f"the config has {len(weighted)} layers with weights "
                      f"{[lp.name for lp in weighted]} but the file holds weights for "
                      f"{len(saved)} layers {[s[0] for s in saved]} (paired by order, as "
                      "tf_keras does)")
        raise KerasFileError(f"{where}: the weights do not match the model config:\n"
                             + "\n".join(f"  - {e}" for e in errors))
    pairs = dict(zip([id(lp) for lp in weighted], saved))
    found_by_layer: list[list[Found]] = []
    for lp in plan.layers:
        if id(lp) not in pairs:
            found_by_layer.append([])
            continue
        name, group, names = pairs[id(lp)]
        owners = weight_owners(lp.layer)
        counts = [_weight_count(o) for o in owners]
        label = f"layer '{lp.name}' ({lp.class_name})"
        if len(names) != sum(counts):
            errors.append(f"{label}: the file's group '{name}' holds {len(names)} weights "
                          f"{names}, the config needs {sum(counts)}")
            found_by_layer.append([Found(f"{prefix}/{name}", o, None, failed=True)
                                   for o in owners])
            continue
        found, start = [], 0
        for owner, count in zip(owners, counts):
            mine = names[start:start + count]
            start += count
            datasets, failed = [], False
            for wname in mine:
                try:
                    datasets.append(_dataset(h5py, group, wname, f"{prefix}/{name}".lstrip("/")))
                except KerasFileError as exc:
                    errors.append(f"{label}: {exc}")
                    failed = True
            found.append(Found(f"{prefix}/{name}".lstrip("/"), owner, datasets,
                               [f"{prefix}/{name}/{w}".lstrip("/") for w in mine], failed))
        found_by_layer.append(found)
    return check_found(plan, found_by_layer, where, errors)
