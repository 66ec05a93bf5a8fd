"""The references ``numpy-rnn parity --reference`` compares against, and what each one needs.

| reference     | runs on                      | extra           | rows                          |
|---------------|------------------------------|-----------------|-------------------------------|
| `keras`       | Keras 3 on TensorFlow        | `[keras]`       | forward, gradients, training  |
| `keras-jax`   | Keras 3 on JAX               | `[jax]`         | forward, gradients, training  |
| `keras-torch` | Keras 3 on PyTorch           | `[torch]`       | forward, gradients, training  |
| `keras-numpy` | Keras 3 on its NumPy backend | `[keras-numpy]` | forward (no autodiff: skipped)|
| `tf_keras`    | Keras 2 (tf_keras) + Keras 3 on TensorFlow | `[legacy]` | as `keras`, plus the Keras 2 grid |

Keras picks its backend once per process, so a reference whose backend is not this process's
runs in its own worker processes (``parity.gate.jobs``, ``KERAS_BACKEND`` set before Keras is
imported there).  Nothing here imports a backend: :func:`missing` looks for the libraries.
"""
from __future__ import annotations

from typing import Any

from . import backend
from ._tf import REFERENCES, install_hint

__all__ = ["REFERENCES", "REFERENCE_BACKENDS", "INFERENCE_ONLY", "parse_references",
           "reference_backend", "missing", "reference_module", "reference_label"]

#: Reference -> the Keras 3 backend its process runs.
REFERENCE_BACKENDS: dict[str, str] = {"keras": "tensorflow", "keras-jax": "jax",
                                      "keras-torch": "torch", "keras-numpy": "numpy",
                                      "tf_keras": "tensorflow"}
#: References without automatic differentiation: their gradient and training rows are skipped.
INFERENCE_ONLY = ("keras-numpy",)


def _unknown(name: str) -> ValueError:
    return ValueError(f"--reference: expected one of {sorted(REFERENCES)} (or a comma list of "
                      f"them), received {name!r}")


def parse_references(text: str) -> list[str]:
    """``"keras,keras-jax"`` -> ``["keras", "keras-jax"]``, in the order given.

    Raises:
        ValueError: an empty list, an unknown name or a name given twice (naming it).
    """
    names = [n.strip() for n in str(text).split(",")]
    if not any(names) or not all(names):
        raise ValueError(f"--reference: expected a reference or a comma list of them (one of "
                         f"{sorted(REFERENCES)}), received {text!r}")
    for name in names:
        if name not in REFERENCES:
            raise _unknown(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"--reference: each reference once, received {repeated[0]!r} "
                         f"{names.count(repeated[0])} times in {text!r}")
    return names


def reference_backend(name: str) -> str:
    """The Keras 3 backend reference ``name``'s process runs."""
    if name not in REFERENCE_BACKENDS:
        raise _unknown(name)
    return REFERENCE_BACKENDS[name]


def missing(name: str) -> str | None:
    """Why reference ``name`` cannot run here (a library is not installed, with the extra to
    install), or None; imports nothing."""
    lib = backend.missing_library(reference_backend(name))
    if lib is None and name == "tf_keras" and not backend.module_installed("tf_keras"):
        lib = "tf_keras"
    if lib is None:
        return None
    return (f"--reference {name}: {lib} is not installed; install it with "
            f"{install_hint(REFERENCES[name])}")


def reference_label(name: str) -> str:
    """How a report names reference ``name``: ``keras on jax``."""
    if name == "tf_keras":
        return "tf_keras"
    return f"keras on {reference_backend(name)}"


def reference_module(name: str) -> Any:
    """The module whose ``layers`` build reference ``name``'s layers: ``keras`` (Keras 3, which
    must run on the reference's backend in this process) or ``tf_keras``.

    Raises:
        ValueError: ``name`` is not a reference, or ``keras`` is not Keras 3.
        ImportError: the library is not installed (the message names the extra).
        parity.bridge.backend.BackendMismatch: this process runs Keras on another backend.
    """
    wanted = reference_backend(name)
    problem = missing(name)
    if problem is not None:
        raise ImportError(problem)
    try:
        keras = backend.require(wanted)
    except ImportError as exc:
        raise ImportError(f"--reference {name}: {exc}") from None
    if name != "tf_keras":
        return keras
    import tf_keras

    return tf_keras
