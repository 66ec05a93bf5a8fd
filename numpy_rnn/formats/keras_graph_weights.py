"""The weights of a functional graph (:class:`~numpy_rnn.formats.keras_graph.GraphPlan`), from a
``.keras`` file's ``model.weights.h5`` (by path, nested models in their own groups) or from a
legacy ``.h5`` (by order, as tf_keras pairs them: a nested model is one entry whose
``weight_names`` hold all its weights).

The graph was built symbolically, so every layer knows its weight shapes and none holds any
weights yet; every shape is checked against the HDF5 datasets' metadata, and the total against
``numpy_rnn._limits``, before any data is read.  One :class:`KerasFileError` lists every
problem.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _limits
from .. import registry as _registry
from ..functional import Model
from ..model import Sequential
from ..layers.text_vectorization import TextVectorizationLayer, vocabulary_from_asset
from .errors import KerasFileError
from .keras_graph import GraphLayer, GraphPlan
from .keras_weights import _stored_bytes, _weight_groups, checked_dataset, h5_group

__all__ = ["load_graph_weights", "load_graph_by_order", "expected_shapes", "read_assets"]


def expected_shapes(layer: Any) -> list:
    """The shape of each entry of ``layer.get_weights()`` (None where the layer is not built
    yet), without drawing any weight: a nested model's in its own order."""
    if isinstance(layer, Model):
        return [s for inner in layer._weight_layers() for s in expected_shapes(inner)]
    if isinstance(layer, Sequential):
        return [s for inner in layer.layers for s in expected_shapes(inner)]
    names = layer.weight_names()
    if not names:
        return []
    if not layer.built:
        return [None] * len(names)
    shapes = layer.weight_shapes()
    return [tuple(shapes[n]) if n in shapes else None for n in names]


def _name_key(name: str) -> str:
    """Keras's save order of attributes: private ones last (``saving_lib._name_key``)."""
    return f"~{name}" if name.startswith("_") else name


def _walk(h5py: Any, group: Any, path: str, where: str) -> list[str]:
    """Dataset paths below ``group`` in Keras's save order: the group's own ``vars/0, 1...``,
    then each sub-group (not ``vars``) by attribute name, depth first."""
    out: list[str] = []
    if "vars" in group:
        vars_group = h5_group(h5py, group, "vars", where)
        keys = sorted(vars_group.keys(), key=lambda k: (len(k), k))
        out += [f"{path}/vars/{k}" for k in keys]
    for key in sorted((k for k in group.keys() if k != "vars"), key=_name_key):
        sub = h5_group(h5py, group, key, where)
        if sub is not None:
            out += _walk(h5py, sub, f"{path}/{key}", where)
    return out


def _vars(h5py: Any, root: Any, path: str, where: str) -> list[str] | None:
    group = h5_group(h5py, root, path, where)
    if group is None:
        return None
    keys = sorted(group.keys(), key=lambda k: (len(k), k))
    expected = [str(i) for i in range(len(keys))]
    if keys != expected:
        raise KerasFileError(f"{where}: {path}: expected variables named {expected}, found "
                             f"{keys}")
    return [f"{path}/{k}" for k in keys]


def _layer_paths(h5py: Any, root: Any, path: str, layer: Any, entry: dict | None,
                 where: str) -> list[str] | None:
    """The dataset paths of one layer's weights, in its weight order (None: no group): a
    registered twin's ``weight_paths``, else the groups the ``.keras`` reader uses for a table
    layer (``keras_weights._weight_groups``: ``cell/vars``, a Bidirectional's two halves, a
    wrapper's or a layer's sub-layers), else (a registered twin without paths, a nested model
    made by a factory) the group walked in Keras's save order."""
    group = h5_group(h5py, root, path, where)
    if group is None:
        return None
    reg = _registry.lookup(entry.get("class_name"), entry.get("registered_name")) \
        if entry else None
    if reg is not None and reg.weight_paths is not None:
        return [f"{path}/{p.strip('/')}" for p in reg.weight_paths]
    if reg is not None or isinstance(layer, (Model, Sequential)):
        return _walk(h5py, group, path, where)
    out: list[str] = []
    for sub, _, _ in _weight_groups(layer):
        found = _vars(h5py, root, f"{path}/{sub}", where)
        if found is None:
            return None
        out += found
    return out


def _group_name(h5py: Any, root: Any, path: str, where: str) -> str | None:
    group = h5_group(h5py, root, f"{path}/vars", where)
    name = group.attrs.get("name") if group is not None else None
    return name.decode() if isinstance(name, bytes) else name


def _find(h5py: Any, root: Any, path: str, name: str, where: str) -> str:
    """``path``, or the sibling group whose ``vars`` says it holds layer ``name`` (a file
    whose group numbering differs from ours)."""
    stored = _group_name(h5py, root, path, where)
    if stored in (None, name) and h5_group(h5py, root, path, where) is not None:
        return path
    parent_path = path.rsplit("/", 1)[0]
    parent = h5_group(h5py, root, parent_path, where)
    if parent is not None:
        for key in parent.keys():
            if _group_name(h5py, root, f"{parent_path}/{key}", where) == name:
                return f"{parent_path}/{key}"
    return path


def _leaves(plan: Any, model: Any) -> list[tuple[str, Any, dict | None, str]]:
    """``(label, numpy layer, Keras entry, weights group path)`` for every layer that keeps
    weights in its own group, nested models walked."""
    out = []
    if isinstance(plan, GraphPlan):
        for g in plan.layers:
            if g.is_input:
                continue
            layer = model.get_layer(g.name)
            if g.nested is not None:
                out += _leaves(g.nested, layer)
            elif layer.weight_names():
                out.append((_label(g), layer, g.entry, g.h5_path))
        return out
    for lp, layer in zip(plan.layers, model.layers):  # a nested Sequential's plan
        if layer.weight_names():
            out.append((f"layer '{lp.name}' ({lp.class_name})", layer, None, lp.h5_path))
    return out


def _label(g: GraphLayer) -> str:
    return f"layer '{g.name}' ({g.class_name})"


def _check(h5py: Any, root: Any, items: list, where: str, errors: list[str]) -> list:
    """Each ``(label, layer, paths, labels)`` against the datasets' metadata; returns
    ``[(layer, datasets)]`` to set."""
    pending, total = [], 0
    for label, layer, paths, labels in items:
        want = expected_shapes(layer)
        if paths is None:
            errors.append(f"{label}: the weights file has no group for its weights "
                          f"({len(want)} expected)")
            continue
        if len(paths) != len(want):
            errors.append(f"{label}: expected {len(want)} weights, the file holds "
                          f"{len(paths)} ({labels[0].rsplit('/', 1)[0] if labels else '-'})")
            continue
        datasets, ok = [], True
        for p, shape, at in zip(paths, want, labels):
            try:
                ds = checked_dataset(h5py, *_split(h5py, root, p, where))
            except KerasFileError as exc:
                errors.append(f"{label}: {exc}")
                ok = False
                continue
            if shape is not None and tuple(ds.shape) != tuple(shape):
                errors.append(f"{label}: weight {at} has shape {tuple(ds.shape)} in the file "
                              f"but the config needs {tuple(shape)}")
                ok = False
                continue
            nbytes = _limits.element_count(tuple(ds.shape)) * ds.dtype.itemsize
            kept = _stored_bytes(ds)
            if kept is not None and nbytes > _limits.MAX_COMPRESSION_RATIO * kept + \
                    _limits.COMPRESSION_SLACK_BYTES:
                errors.append(f"{label}: weight {at} declares {nbytes} bytes but the file "
                              f"stores {kept}; refusing a potential decompression bomb")
                ok = False
                continue
            total += _limits.element_count(tuple(ds.shape))
            datasets.append(ds)
        if ok:
            pending.append((layer, datasets))
    try:
        _limits.check_total(total, where)
    except _limits.LimitError as exc:
        errors.append(str(exc))
    return pending


def _split(h5py: Any, root: Any, path: str, where: str) -> tuple:
    parent, _, key = path.rpartition("/")
    group = h5_group(h5py, root, parent, where) if parent else root
    if group is None:
        raise KerasFileError(f"{where}: {path} does not exist")
    return group, key, f"{where}: {parent}"


def _set(pending: list, where: str, errors: list[str]) -> None:
    """Read the data (only now), check every layer's share, then install all of it."""
    ready = []
    for layer, datasets in pending:
        arrays = [np.asarray(ds[()]) for ds in datasets]
        try:
            ready.append((layer, layer._prepare_weights(arrays), arrays))
        except (ValueError, TypeError) as exc:
            errors.append(f"layer '{layer.name}': {exc}")
    if errors:
        _raise(where, errors)
    for layer, prepared, _ in ready:
        layer._commit_weights(prepared)


def _raise(where: str, errors: list[str]) -> None:
    raise KerasFileError(f"{where}: the weights do not match the model config:\n"
                         + "\n".join(f"  - {e}" for e in errors))


def load_graph_weights(h5py: Any, h5: Any, plan: GraphPlan, where: str) -> Model:
    """The ``.keras`` layout: each layer's weights at its group (``layers/<snake_case>``,
    nested models' layers below their own group)."""
    model = plan.model if plan.model is not None else plan.build_model()
    errors: list[str] = []
    items = []
    for label, layer, entry, path in _leaves(plan, model):
        try:
            found = _find(h5py, h5, path, layer.name, where)
            paths = _layer_paths(h5py, h5, found, layer, entry, where)
        except KerasFileError as exc:
            errors.append(f"{label}: {exc}")
            continue
        items.append((label, layer, paths, paths or []))
    pending = _check(h5py, h5, items, where, errors)
    if errors:
        _raise(where, errors)
    _set(pending, where, errors)
    return model


def load_graph_by_order(h5py: Any, root: Any, plan: GraphPlan, saved: list, where: str,
                        errors: list[str], dataset_at: Any) -> Model:
    """The legacy layout: the file's layers that hold weights (``saved``: ``(name, group,
    weight names)`` in file order) paired by order with the model's top-level layers that
    have weights; a nested model takes all its weights from one entry.  ``dataset_at(group,
    weight name, where)`` finds a dataset."""
    model = plan.model if plan.model is not None else plan.build_model()
    weighted = [(g, model.get_layer(g.name)) for g in plan.layers
                if not g.is_input and expected_shapes(model.get_layer(g.name))]
    if len(saved) != len(weighted):
        errors.append(f"the config has {len(weighted)} layers with weights "
                      f"{[g.name for g, _ in weighted]} but the file holds weights for "
                      f"{len(saved)} layers {[s[0] for s in saved]} (paired by order, as "
                      "tf_keras does)")
        _raise(where, errors)
    items = []
    for (g, layer), (name, group, names) in zip(weighted, saved):
        labels = [f"{name}/{w}" for w in names]
        paths = []
        for w in names:
            try:
                ds = dataset_at(group, w, name)
                paths.append(ds.name)
            except KerasFileError as exc:
                errors.append(f"{_label(g)}: {exc}")
        if len(paths) == len(names):  # else the missing datasets are already in `errors`
            items.append((_label(g), layer, paths, labels))
    pending = _check(h5py, root.file, items, where, errors)
    if errors:
        _raise(where, errors)
    _set(pending, where, errors)
    return model


def read_assets(archive: Any, plan: GraphPlan, where: str) -> None:
    """Each TextVectorization's vocabulary from the archive's assets
    (``assets/<the layer's group>/vocabulary.txt``, one token a line, as Keras 3 writes it)
    when its config holds none; KerasFileError when the archive lacks it."""
    for g in plan.layers:
        if isinstance(g.nested, GraphPlan):
            read_assets(archive, g.nested, where)
        layer = g.layer
        if not isinstance(layer, TextVectorizationLayer) or len(layer.get_vocabulary()) > 2:
            continue
        name = f"assets/{g.h5_path}/vocabulary.txt"
        if name not in archive.names:
            raise KerasFileError(f"{where}: layer '{g.name}' (TextVectorization) has no "
                                 f"vocabulary in its config and the archive has no {name!r}")
        tokens = vocabulary_from_asset(archive.read(name, _limits.MAX_JSON_BYTES))
        try:
            layer.vectorizer.set_vocabulary(np.array(tokens, dtype=object))
        except (ValueError, TypeError) as exc:
            raise KerasFileError(f"{where}: layer '{g.name}' (TextVectorization): its "
                                 f"vocabulary {name!r} is refused: {exc}") from None
