"""The weights of a ``.keras`` file (``model.weights.h5``): every declared shape checked against
the HDF5 datasets' metadata before any array is read or any layer built.  h5py is imported
here only.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from .. import _limits
from ..layers import Bidirectional, TimeDistributed
from ..layers.recurrent import RNNBase
from ..model import Sequential
from .declared import declared_weights
from .errors import KerasFileError
from .keras_convert import Deferred, LayerPlan, ModelPlan

def import_h5py(what: str = "the weights of a .keras file"):
    """h5py, or an ImportError saying that reading ``what`` needs it and how to install it."""
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            f"Reading {what} needs h5py, the numpy-rnn[h5] extra "
            "(from a checkout: pip install -e '.[h5]'; or pip install h5py) "
            f"(import failed: {exc})"
        ) from None
    return h5py


def h5_group(h5py: Any, root: Any, path: str, where: str):
    """The group at ``path``, following hard links only (no external or soft links)."""
    node = root
    for part in [p for p in path.split("/") if p]:
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise KerasFileError(f"{where}: '{path}' goes through a {type(link).__name__}; "
                                 "links are refused (they can point outside the file)")
        node = node[part]
        if not isinstance(node, h5py.Group):
            raise KerasFileError(f"{where}: '{path}' is not a group")
    return node


def checked_dataset(h5py: Any, group: Any, key: str, where: str):
    """``group[key]`` when it is a hard-linked dataset of float32/float64 numbers stored in the
    file (nothing read), else KerasFileError."""
    link = group.get(key, getlink=True)
    if link is None:
        raise KerasFileError(f"{where}/{key} does not exist")
    if not isinstance(link, h5py.HardLink):
        raise KerasFileError(f"{where}/{key} is a {type(link).__name__}; links are refused")
    ds = group[key]
    if not isinstance(ds, h5py.Dataset):
        raise KerasFileError(f"{where}/{key} is not a dataset")
    if ds.is_virtual or ds.external:
        raise KerasFileError(f"{where}/{key} stores its data outside the file; refused")
    if ds.dtype.kind != "f" or ds.dtype.itemsize not in (4, 8) or "dtype" in ds.attrs:
        raise KerasFileError(f"{where}/{key} has dtype {ds.dtype} "
                             f"{dict(ds.attrs) or ''}; numpy_rnn reads float32/float64 "
                             "weights".rstrip())
    return ds


def _h5_datasets(h5py: Any, group: Any, where: str) -> list:
    """The datasets ``0, 1, ...`` of a ``vars`` group, in order, checked to be plain numbers."""
    keys = list(group.keys())
    expected = [str(i) for i in range(len(keys))]
    if sorted(keys, key=lambda k: (len(k), k)) != expected:
        raise KerasFileError(f"{where}: expected variables named {expected}, found {keys}")
    return [checked_dataset(h5py, group, key, where) for key in expected]


def _weight_groups(layer: Any) -> list[tuple[str, str, Any]]:
    """``(group path below the layer's group, numpy layer class, its owner)`` for each group
    of weights: a Bidirectional has two (forward then backward), a TimeDistributed those of
    its wrapped layer (below ``layer/``), other layers one."""
    if isinstance(layer, TimeDistributed):
        return [(f"layer/{sub}", cls, owner) for sub, cls, owner in _weight_groups(layer.layer)]
    if isinstance(layer, Bidirectional):
        return [("forward_layer/cell/vars", type(layer.forward_layer).__name__,
                 layer.forward_layer),
                ("backward_layer/cell/vars", type(layer.backward_layer).__name__,
                 layer.backward_layer)]
    if isinstance(layer, Deferred):
        return [("vars", layer.np_class, layer)]
    groups = getattr(layer, "keras_weight_groups", None)
    if groups is not None:  # a layer made of sublayers (MultiHeadAttention), each with its own
        return [(f"{path}/vars", type(sub).__name__, sub) for path, sub in groups()]
    if isinstance(layer, RNNBase):
        return [("cell/vars", type(layer).__name__, layer)]
    return [("vars", type(layer).__name__, layer)]


def _class_and_config(layer: Any) -> tuple[str, dict]:
    if isinstance(layer, Deferred):
        return layer.np_class, layer.get_config()
    return type(layer).__name__, layer.get_config()


def _find_layer_group(h5py: Any, root: Any, lp: LayerPlan, by_name: dict, where: str):
    group = h5_group(h5py, root, lp.h5_path, where) if lp.h5_path else None
    vars_group = h5_group(h5py, group, "vars", where) if group is not None else None
    stored = vars_group.attrs.get("name") if vars_group is not None else None
    if isinstance(stored, bytes):
        stored = stored.decode()
    if group is not None and stored in (None, lp.name):
        return group
    if lp.name in by_name:
        return h5_group(h5py, root, by_name[lp.name], where)
    return group


def _stored_bytes(ds: Any) -> int | None:
    try:
        return int(ds.id.get_storage_size())
    except Exception:  # noqa: BLE001 - no figure: the declared shapes are still bounded
        return None


@dataclasses.dataclass
class Found:
    """One group of a layer's weights as the file holds it: where, the numpy_rnn layer that
    takes them (``owner``), the datasets in order (None: the file has no such group) and,
    optionally, each dataset's name for messages."""

    where: str
    owner: Any
    datasets: list | None
    labels: list | None = None
    #: the datasets could not be taken (the reason is already in the errors): skip the checks.
    failed: bool = False


def _check_weights(h5py: Any, h5: Any, plan: ModelPlan, where: str) -> list:
    """The ``.keras`` layout: find each layer's ``vars`` groups, then :func:`check_found`."""
    layer_root = h5_group(h5py, h5, "layers", where)
    by_name: dict[str, str] = {}
    if layer_root is not None:
        for key in layer_root.keys():
            link = layer_root.get(key, getlink=True)
            if isinstance(link, h5py.HardLink) and isinstance(layer_root[key], h5py.Group) \
                    and "vars" in layer_root[key]:
                stored = layer_root[key]["vars"].attrs.get("name")
                if isinstance(stored, bytes):
                    stored = stored.decode()
                if isinstance(stored, str):
                    by_name[stored] = f"layers/{key}"
    errors: list[str] = []
    found_by_layer: list[list[Found]] = []
    for lp in plan.layers:
        label = f"layer '{lp.name}' ({lp.class_name})"
        group = _find_layer_group(h5py, h5, lp, by_name, where)
        found: list[Found] = []
        for sub, _, owner in _weight_groups(lp.layer):
            vars_group = h5_group(h5py, group, sub, where) if group is not None else None
            datasets = None
            if vars_group is not None:
                try:
                    datasets = _h5_datasets(h5py, vars_group, f"{lp.h5_path}/{sub}")
                except KerasFileError as exc:
                    errors.append(f"{label}: {exc}")
                    datasets = []
            found.append(Found(f"{lp.h5_path}/{sub}", owner, datasets))
        found_by_layer.append(found)
    return check_found(plan, found_by_layer, where, errors)


def weight_owners(layer: Any) -> list[Any]:
    """The layers that take a layer's weights, in the file's order (a Bidirectional: forward
    then backward; others: the layer itself)."""
    return [owner for _, _, owner in _weight_groups(layer)]


def _directional(cls: str, cfg: Any) -> bool:
    """Whether the declared weight names of a layer carry a ``forward_`` / ``backward_`` prefix
    (a Bidirectional, also wrapped in TimeDistributed)."""
    while cls == "TimeDistributed" and isinstance(cfg, dict) and isinstance(cfg.get("layer"), dict):
        cls, cfg = cfg["layer"].get("class_name"), cfg["layer"].get("config")
    return cls == "Bidirectional"


def check_found(plan: ModelPlan, found_by_layer: list[list[Found]], where: str,
                errors: list[str]) -> list:
    """Every weight the config declares (pure arithmetic, no layer built), against the shapes
    of the datasets found (metadata only, no data read) and the size limits.

    Returns ``[(layer index, group owner, datasets)]`` for the weights to set; raises one
    :class:`KerasFileError` listing every problem (``errors`` found before included)."""
    pending: list[tuple[int, Any, list]] = []
    width = plan.input_shape[-1] if plan.input_shape else None
    total = 0
    for index, (lp, found) in enumerate(zip(plan.layers, found_by_layer)):
        label = f"layer '{lp.name}' ({lp.class_name})"
        cls, cfg = _class_and_config(lp.layer)
        if index == 0 and cls == "Embedding":
            width = None
        stored = [tuple(ds.shape) for f in found for ds in (f.datasets or [])]
        try:
            declared, width = declared_weights(cls, cfg, width, stored)
        except _limits.LimitError as exc:
            errors.append(f"{label}: {exc}" if not str(exc).startswith("layer ") else str(exc))
            width = None
            continue
        total += sum(_limits.element_count(shape) for _, shape in declared)
        start = 0
        for f in found:
            count = len(f.owner.weight_names()) if not isinstance(f.owner, Deferred) else 1
            mine = [(n.split("_", 1)[1] if _directional(cls, cfg) else n, shape)
                    for n, shape in declared[start:start + count]]
            start += count
            names = [n for n, _ in mine]
            if f.failed:
                continue
            if f.datasets is None:
                if names:
                    errors.append(f"{label}: weights file has no group '{f.where}' "
                                  f"for its weights {names}")
                continue
            if len(f.datasets) != len(names):
                errors.append(f"{label}: expected {len(names)} weights {names} at "
                              f"'{f.where}', found {len(f.datasets)}")
                continue

            def at(i: int, f: Found = f) -> str:
                return f.labels[i] if f.labels else f"{f.where}/{i}"

            problems = _limits.compare_shapes(label, mine, [tuple(ds.shape) for ds in f.datasets],
                                              at)
            for i, ((wname, shape), ds) in enumerate(zip(mine, f.datasets)):
                nbytes = _limits.element_count(shape) * ds.dtype.itemsize
                kept = _stored_bytes(ds)
                if not problems and kept is not None and nbytes > \
                        _limits.MAX_COMPRESSION_RATIO * kept + _limits.COMPRESSION_SLACK_BYTES:
                    problems.append(f"{label}: weight `{wname}` ({at(i)}) "
                                    f"declares {nbytes} bytes but the file stores {kept}; "
                                    "refusing a potential decompression bomb")
            errors += problems
            if not problems and names:
                pending.append((index, f.owner, f.datasets))
    if not errors:
        try:
            _limits.check_total(total, where)
        except _limits.LimitError as exc:
            errors.append(str(exc))
    if errors:
        hint = ("\n(a model saved before it was built holds no weights: build or train it, "
                "then save it again)" if any("found 0" in e for e in errors) else "")
        raise KerasFileError(f"{where}: the weights do not match the model config:\n"
                             + "\n".join(f"  - {e}" for e in errors) + hint)
    return pending


def load_weights(h5py: Any, h5: Any, plan: ModelPlan, where: str) -> Sequential:
    """Check every declared weight first (:func:`_check_weights`), then build the model and
    set the weights."""
    return build_checked(plan, _check_weights(h5py, h5, plan, where))


def build_checked(plan: ModelPlan, pending: list) -> Sequential:
    """Build the model of ``plan`` and set the weights :func:`check_found` accepted."""
    deferred = {id(lp.layer): i for i, lp in enumerate(plan.layers)
                if isinstance(lp.layer, Deferred)}
    model = plan.build_model()
    if any(getattr(layer, "builds_from_shape", False) and not layer.built
           for layer in model.layers):
        try:  # a layer whose weights follow from its whole input shape (a Keras 2 file keeps
            model.build()  # no build shape per layer): the model's shapes, layer by layer
        except ValueError as exc:
            raise KerasFileError(f"the model cannot be built: {exc}") from None
    for index, owner, datasets in pending:
        if id(owner) in deferred:
            owner = model.layers[index]
        arrays = [np.asarray(ds[()]) for ds in datasets]
        if not owner.built:
            owner.build_from_weights(arrays)  # the input size the weights' shapes say
        owner.set_weights(arrays)
    for layer in model.layers:
        while isinstance(layer, TimeDistributed):
            layer = layer.layer
        if isinstance(layer, Bidirectional):
            layer.built = layer.forward_layer.built and layer.backward_layer.built
    return model
