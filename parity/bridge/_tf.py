"""TensorFlow and the reference libraries: importing them (quietly), and what to install.

Every function that needs TensorFlow calls :func:`require_tf` (Keras 3 on any backend:
``parity.bridge.backend.require``), which imports it then, so that ``import parity`` stays cheap and works
without TensorFlow; a missing library is an ``ImportError`` naming the extra to install.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from typing import Any, Iterator

import numpy_rnn

__all__ = ["REFERENCES", "install_hint", "require_tf", "TF_NOISE_PATTERNS",
           "TF_STARTUP_NOISE", "is_tensorflow_noise", "quiet_tensorflow_logs",
           "import_tensorflow_quietly"]

#: The references parity can compare against: name -> the extra that installs it.  ``keras`` is
#: Keras 3 on TensorFlow, ``keras-jax`` / ``keras-torch`` / ``keras-numpy`` Keras 3 on JAX /
#: PyTorch / its NumPy backend (``parity.bridge.references``), ``tf_keras`` Keras 2.
REFERENCES: dict[str, str] = {"keras": "keras", "keras-jax": "jax", "keras-torch": "torch",
                              "keras-numpy": "keras-numpy", "tf_keras": "legacy"}


def install_hint(extra: str) -> str:
    """How to install numpy-rnn's ``extra``: from a source checkout, or from a wheel built there
    (numpy-rnn is not published on a package index, so ``pip install numpy-rnn`` cannot work)."""
    return (f"the numpy-rnn[{extra}] extra (from a checkout: pip install -e '.[{extra}]'; from a "
            f"built wheel: pip install 'numpy_rnn-{numpy_rnn.__version__}-py3-none-any.whl[{extra}]')")


def require_tf() -> Any:
    """``tensorflow`` (with Keras 3 importable), or an ImportError naming the extra."""
    try:
        import tensorflow as tf  # noqa: F401
        import keras  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised without TF
        raise ImportError(
            f"parity needs TensorFlow with Keras 3: {install_hint('keras')} "
            f"(import failed: {exc})"
        ) from None
    return tf


# -- TensorFlow's start-up noise ---------------------------------------------------------------
#: TensorFlow's start-up lines, one pattern each (searched line by line; the one place that knows
#: them: the filter below and the tests read this).  Two mechanisms keep them off the terminal
#: (``quiet_tensorflow_logs``): while TensorFlow is imported, file descriptor 2 is filtered with
#: these patterns, because absl writes its lines before logging is initialised whatever the log
#: level (measured with TensorFlow 2.21: ``TF_CPP_MIN_LOG_LEVEL=3`` leaves the I0000 oneDNN and
#: cuda lines); after the import, ``TF_CPP_MIN_LOG_LEVEL=3`` silences the C++ log lines, as the
#: ERROR-level oneDNN ``DT_BOOL`` notice that comes at a first op on some CPUs.
TF_NOISE_PATTERNS: tuple[str, ...] = (
    # absl's notice, then any INFO or WARNING line of TensorFlow's C++ side, in absl's format
    # ("I0000 00:00:1796635104.662040   11079 port.cc:153] ...") and in TensorFlow's older own
    # ("2025-03-11 22:30:58.742701: I tensorflow/core/platform/cpu_feature_guard.cc:210] ...")
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"^[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] ",  # seconds: since 1970 before init
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] [\w./-]+:\d+\] ",
    # by name, at any level (cuInit and the DT_BOOL notice are ERROR lines)
    r"oneDNN custom operations are on", r"TF_ENABLE_ONEDNN_OPTS",
    r"oneDNN supports DT_\w+ only on platforms with AVX-512",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler",
    r"cpu_feature_guard\.cc",
    r"Unable to register cu(DNN|FFT|BLAS) factory", r"Attempting to register factory for plugin",
    r"Could not find cuda drivers", r"cudart_stub\.cc", r"failed call to cuInit",
    r"cuda_(platform|driver|executor|diagnostics)\.cc", r"computation_placer\.cc",
    r"TF-TRT Warning", r"Could not find TensorRT",
)
TF_STARTUP_NOISE = re.compile("|".join(f"(?:{p})" for p in TF_NOISE_PATTERNS))


def is_tensorflow_noise(line: str) -> bool:
    """Whether ``line`` (one line of stderr) is one of TensorFlow's start-up lines."""
    return TF_STARTUP_NOISE.search(line) is not None


@contextlib.contextmanager
def _stderr_without_tensorflow_noise() -> Iterator[None]:
    """File descriptor 2 goes to a temporary file for the duration; afterwards every line that
    is not TensorFlow noise is written to stderr, so a real message is kept."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2: nothing to filter
        saved = None
    if saved is None:
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [line for line in tmp.read().decode("utf-8", "replace").splitlines(True)
                    if not is_tensorflow_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _QuietLoader:
    """TensorFlow's own loader, its module run with stderr filtered; anything else delegated."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        _uninstall_import_hook()  # TensorFlow is being imported: the hook's work is done
        with _stderr_without_tensorflow_noise():
            self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """On ``sys.meta_path`` until TensorFlow is imported, which it makes quiet.  A look-up that
    imports nothing (``importlib.util.find_spec("tensorflow")``, as PyTorch's ``torch._dynamo``
    makes to learn what is installed) leaves it in place for the import that follows."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "tensorflow":
            return None
        _uninstall_import_hook()  # find_spec below must not come back here
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            if sys.modules.get("tensorflow") is None:  # not imported (yet): keep watching
                sys.meta_path.insert(0, self)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec


def _uninstall_import_hook() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietTensorFlowImport)]


def quiet_tensorflow_logs() -> None:
    """Keep TensorFlow's start-up lines (``TF_NOISE_PATTERNS``) off the terminal, wherever
    TensorFlow is imported from afterwards: ``TF_CPP_MIN_LOG_LEVEL=3`` unless the user set a
    level (TensorFlow's errors reach Python as exceptions; its C++ log lines are notices), and a
    one-shot import hook that runs ``import tensorflow`` with stderr filtered.  Acts only before
    TensorFlow is imported; changes no result (a log level, and what reaches the terminal)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if sys.modules.get("tensorflow") is None and not any(
            isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


def import_tensorflow_quietly() -> Any:
    """``import tensorflow`` (and its first device look-up, where ``cuInit`` reports) without
    its start-up lines; any other line is still written to stderr.  ImportError propagates."""
    quiet_tensorflow_logs()
    if sys.modules.get("tensorflow") is not None:
        return sys.modules["tensorflow"]
    with _stderr_without_tensorflow_noise():
        import tensorflow

        tensorflow.config.list_physical_devices()
    return tensorflow
