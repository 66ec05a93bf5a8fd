"""The one interface to the Keras 3 backend a comparison runs on (TensorFlow, JAX, PyTorch or
NumPy): which one this process runs, importing it, tensors in and out, differentiating through
it, and its versions.  Everything else in ``parity`` is backend-neutral and goes through here.

* :func:`configured` -- the backend Keras picks (or picked) in this process, without importing
  Keras: ``KERAS_BACKEND``, else ``keras.json``'s ``"backend"``, else ``"tensorflow"`` (Keras's
  own rule, ``keras/src/backend/config.py``); Keras picks it once, at its import.
* :func:`require` -- Keras 3 on that backend, imported (TensorFlow quietly); with ``backend=``
  a process that runs another backend raises :class:`BackendMismatch`, never switches.
* :func:`to_numpy`, :func:`convert` -- tensors out and in (``keras.ops``).
* :func:`gradients` -- d scalar / d inputs through the backend's own autodiff:
  ``tf.GradientTape``, ``jax.grad``, ``torch.autograd.grad``.  Keras's NumPy backend has none
  (:class:`NoAutodiff`).
* :func:`versions` -- the backend and its library's version, without importing it.

JAX computes in float32 only unless its x64 mode is on (a float64 Keras layer is silently
truncated to float32 without it, measured: ``LSTM(dtype="float64")`` gives float32 outputs and
a warning).  :func:`require` turns x64 on in a JAX process before the first comparison, so a
float64 reference (the grid's float64 rows, the float64 referees) is float64.  Keras gives every
tensor it makes an explicit dtype, so float32 layers still compute in float32.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
from typing import Any, Callable, Sequence

import numpy as np

from ._tf import import_tensorflow_quietly, install_hint

__all__ = ["BACKENDS", "BackendMismatch", "BackendUnsupported", "NoAutodiff", "configured", "installed", "module_installed",
           "missing_library", "require", "current", "is_tf_keras", "check_weight_dtypes", "to_numpy", "convert",
           "tensor_for", "keras_mask", "set_keras_mask", "gradients", "versions", "library_version"]

#: Keras 3 backends: name -> (the library it needs, besides keras; the extra that installs it).
BACKENDS: dict[str, tuple[str | None, str]] = {
    "tensorflow": ("tensorflow", "keras"),
    "jax": ("jax", "jax"),
    "torch": ("torch", "torch"),
    "numpy": (None, "keras-numpy"),
}
#: Distributions whose version names each backend's library (the first installed one is used).
_DISTS = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tf-nightly", "tensorflow-macos"),
          "jax": ("jax",), "torch": ("torch",), "numpy": ("numpy",)}


class BackendMismatch(RuntimeError):
    """The process runs Keras on one backend and a comparison asked for another.  Keras picks
    its backend once per process (at import): set ``KERAS_BACKEND`` before Python starts, or let
    ``numpy-rnn parity --reference`` run that reference in its own worker process."""


class BackendUnsupported(NotImplementedError):
    """A comparison this backend cannot run (the gate counts such a case as skipped, with this
    message as the reason)."""


class NoAutodiff(BackendUnsupported):
    """The backend has no automatic differentiation (Keras's NumPy backend): inference only."""


def _keras_json_backend() -> str | None:
    base = os.environ.get("KERAS_HOME")
    if not base:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    try:
        with open(os.path.join(base, "keras.json"), encoding="utf-8") as fh:
            value = json.load(fh).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def configured() -> str:
    """The backend Keras runs in this process (when Keras is imported) or will run when it is:
    ``KERAS_BACKEND``, else ``keras.json``, else ``"tensorflow"``.  Imports nothing."""
    keras = sys.modules.get("keras")
    backend = getattr(keras, "backend", None)
    if backend is not None and hasattr(backend, "backend"):
        return str(backend.backend())
    return os.environ.get("KERAS_BACKEND") or _keras_json_backend() or "tensorflow"


def _check_name(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {sorted(BACKENDS)}. Received: "
                         f"backend={backend!r}")


def missing_library(backend: str) -> str | None:
    """The library ``backend`` needs that is not installed (``keras`` or the backend's own),
    found without importing anything; None when everything is there."""
    _check_name(backend)
    library = BACKENDS[backend][0]
    for name in ("keras", library):
        if name is not None and not module_installed(name):
            return name
    return None


def module_installed(name: str) -> bool:
    """Whether ``name`` can be imported (a ``sys.modules`` entry of None, the way tests block
    an import, counts as not installed); imports nothing."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def installed(backend: str) -> bool:
    """Whether Keras and ``backend``'s library are installed (nothing is imported)."""
    return missing_library(backend) is None


def _mismatch(actual: str, wanted: str) -> BackendMismatch:
    return BackendMismatch(
        f"this process runs Keras on the {actual!r} backend, but {wanted!r} was asked for; Keras "
        f"picks its backend once per process, so parity never switches it: start Python with "
        f"KERAS_BACKEND={wanted} (or run `numpy-rnn parity --reference "
        f"{'keras' if wanted == 'tensorflow' else 'keras-' + wanted}`, which runs each "
        "reference in its own worker process)")


def _enable_x64() -> None:
    import jax

    if not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)


def require(backend: str | None = None) -> Any:
    """Keras 3 on this process's backend (``backend``, when given, must be that backend).

    Raises:
        BackendMismatch: the process runs (or will run) Keras on another backend.
        ImportError: Keras or the backend's library is not installed; the message names the
            extra to install.
        ValueError: ``backend`` is not a Keras backend, or ``keras`` is not Keras 3.
    """
    if backend is not None:
        _check_name(backend)
    planned = configured()
    if backend is not None and planned != backend:
        raise _mismatch(planned, backend)
    library, extra = BACKENDS.get(planned, (planned, planned))
    try:
        if library == "tensorflow":
            import_tensorflow_quietly()
        elif library is not None:
            importlib.import_module(library)
        import keras
    except ImportError as exc:
        raise ImportError(f"parity on Keras's {planned!r} backend needs "
                          f"{library or 'keras'}: {install_hint(extra)} (import failed: "
                          f"{exc})") from None
    if not str(getattr(keras, "__version__", "3")).startswith("3"):
        raise ValueError(f"parity needs Keras 3, received keras {keras.__version__}; install "
                         f"it with {install_hint(extra)}")
    actual = keras.backend.backend()
    if backend is not None and actual != backend:
        raise _mismatch(actual, backend)
    if actual == "jax":
        _enable_x64()
    return keras


def current() -> str:
    """The backend of the Keras this process runs (Keras imported through :func:`require`)."""
    return str(require().backend.backend())


def is_tf_keras(obj: Any) -> bool:
    """Whether ``obj`` is a tf_keras (Keras 2) object: it runs on TensorFlow only."""
    return type(obj).__module__.split(".")[0] == "tf_keras"


def check_weight_dtypes(layer: Any, weights: Sequence[np.ndarray], dtype: str) -> None:
    """Raise ValueError when a Keras layer's float weights are not in its ``dtype``: Keras on
    JAX without x64 mode truncates a float64 layer's weights to float32 (with a warning only)."""
    found = sorted({np.asarray(w).dtype.name for w in weights
                    if np.asarray(w).dtype.kind == "f" and np.asarray(w).dtype != np.dtype(dtype)})
    if not found:
        return
    what = f"layer '{getattr(layer, 'name', '?')}' ({type(layer).__name__}) computes in {dtype} " \
           f"but its weights are {found}"
    if configured() == "jax":
        raise ValueError(f"{what}: on the JAX backend, a float64 layer made before JAX's x64 mode "
                         "was on is silently float32; set JAX_ENABLE_X64=1 (or call "
                         "parity.bridge.backend.require() before building the layer: it turns "
                         "x64 on)")
    raise BackendUnsupported(f"{what}: Keras's {configured()!r} backend makes float64 weights "
                             "float32 (its type promotion maps float64 to float32: the "
                             "'float64-promotion' deviation, docs/backends.md)")


def to_numpy(x: Any) -> Any:
    """A tensor of any backend (or a list / tuple / dict of them) as NumPy; None stays None."""
    if x is None or isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        return [to_numpy(i) for i in x]
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if type(x).__module__.split(".")[0] == "tensorflow" and callable(getattr(x, "numpy", None)):
        return np.asarray(x.numpy())  # (NumPy 2 warns on np.array of an EagerTensor)
    keras = sys.modules.get("keras")
    ops = getattr(keras, "ops", None)
    if ops is not None and not isinstance(x, (np.generic, int, float, bool)):
        try:
            return np.asarray(ops.convert_to_numpy(x))
        except Exception:  # noqa: BLE001 - a tensor of another library (a tf_keras one)
            pass
    return np.asarray(x)


def convert(x: Any, dtype: str | None = None) -> Any:
    """NumPy data (or a list of it) as a tensor of this process's backend; None stays None."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [convert(i, dtype) for i in x]
    keras = require()
    arr = np.asarray(x)
    if arr.dtype.kind in "USO":  # strings (a TextVectorization's input): TensorFlow's only
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return tf.convert_to_tensor(arr)
        return arr
    return keras.ops.convert_to_tensor(arr, dtype=dtype)


def tensor_for(keras_obj: Any, x: Any) -> Any:
    """NumPy data (or a list of it) as the tensors ``keras_obj`` takes: TensorFlow tensors for a
    tf_keras (Keras 2) object, else this process's backend's (:func:`convert`)."""
    if not is_tf_keras(keras_obj):
        return convert(x)
    import tensorflow as tf

    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [tensor_for(keras_obj, i) for i in x]
    return tf.convert_to_tensor(np.asarray(x))


def keras_mask(tensor: Any) -> Any:
    """The Keras mask attached to ``tensor`` (Keras 3 keeps it aside for tensors that take no
    attribute, as JAX arrays), as NumPy booleans; None when there is none."""
    mask = getattr(tensor, "_keras_mask", None)
    if mask is None and not hasattr(tensor, "_keras_mask") and "keras" in sys.modules:
        from keras.src.backend.common.masking import get_keras_mask

        mask = get_keras_mask(tensor)
    return None if mask is None else np.asarray(to_numpy(mask)).astype(bool)


def set_keras_mask(tensor: Any, mask: Any) -> Any:
    """Attach ``mask`` (NumPy booleans) to ``tensor`` as Keras does between layers; returns
    ``tensor``."""
    from keras.src.backend.common.masking import set_keras_mask as _set

    _set(tensor, convert(np.asarray(mask, bool)))
    return tensor


def gradients(fn: Callable[[list], Any], wrt: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``d fn / d wrt``: ``fn(tensors)`` returns a scalar tensor; ``wrt`` are the NumPy values to
    differentiate at (floats).  Runs the backend's own autodiff; an input ``fn`` does not use
    gets a zero gradient (TensorFlow's ``UnconnectedGradients.ZERO``).

    Raises:
        NoAutodiff: on Keras's NumPy backend.
    """
    backend = current()
    arrays = [np.asarray(a) for a in wrt]
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.convert_to_tensor(a) for a in arrays]
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            value = fn(tensors)
        grads = tape.gradient(value, tensors, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return [np.asarray(tf.convert_to_tensor(g)) for g in grads]  # IndexedSlices: dense
    if backend == "jax":
        import jax

        grads = jax.grad(lambda ts: fn(list(ts)))(tuple(jax.numpy.asarray(a) for a in arrays))
        return [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        value = fn(tensors)
        grads = torch.autograd.grad(value, tensors, allow_unused=True)
        return [np.zeros_like(a) if g is None else g.detach().cpu().numpy()
                for a, g in zip(arrays, grads)]
    raise NoAutodiff(f"Keras's {backend!r} backend has no automatic differentiation, so "
                     "gradients and training steps cannot be compared on it (inference only)")


def library_version(backend: str) -> str | None:
    """The installed version of ``backend``'s library (metadata only; None: not installed)."""
    module = sys.modules.get(BACKENDS.get(backend, (backend,))[0] or "numpy")
    version = getattr(module, "__version__", None)
    for dist in _DISTS.get(backend, ()) if version is None else ():
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None if version is None else str(version)


def versions(backend: str | None = None) -> dict[str, str | None]:
    """``{"backend": name, "backend_version": its library's version}`` for ``backend``
    (default: :func:`configured`), read without importing it."""
    name = backend or configured()
    return {"backend": name, "backend_version": library_version(name)}
