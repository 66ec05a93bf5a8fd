"""TensorFlow and the reference libraries: importing them (quietly), and what to install.

Every function that needs TensorFlow or Keras calls :func:`require_tf` (or
:func:`reference_module`), which imports it then, so that ``import parity`` stays cheap and works
without TensorFlow; a missing library is an ``ImportError`` naming the extra to install.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
from typing import Any

__all__ = ["REFERENCES", "install_hint", "require_tf", "reference_module", "TF_STARTUP_NOISE",
           "quiet_tensorflow_logs", "import_tensorflow_quietly"]

#: The libraries parity can compare against: name -> the extra that installs it.
REFERENCES: dict[str, str] = {"keras": "keras", "tf_keras": "legacy"}


def install_hint(extra: str) -> str:
    """How to install numpy-rnn's ``extra``, from an index and from a source checkout."""
    return f"pip install 'numpy-rnn[{extra}]' (from a checkout: pip install -e '.[{extra}]')"


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


def reference_module(name: str) -> Any:
    """Import and return the reference library ``name`` ("keras" = Keras 3, or "tf_keras").

    Raises:
        ValueError: ``name`` is not one of :data:`REFERENCES`, or ``keras`` is not Keras 3.
        ImportError: the library is not installed (the message names the extra).
    """
    if name not in REFERENCES:
        raise ValueError(f"--reference: expected one of {sorted(REFERENCES)}, received {name!r}")
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"--reference {name}: {name} is not installed ({exc}); install it with "
                          f"{install_hint(REFERENCES[name])}") from None
    if name == "keras" and not str(getattr(module, "__version__", "3")).startswith("3"):
        raise ValueError(f"--reference keras: expected Keras 3, received keras "
                         f"{module.__version__}; install it with "
                         f"{install_hint(REFERENCES[name])}")
    return module


# -- TensorFlow's start-up noise ---------------------------------------------------------------
#: Lines TensorFlow's C++ side writes straight to file descriptor 2 while it is imported and
#: while it first looks for devices (measured with TensorFlow 2.21 on CPU):
#: ``TF_CPP_MIN_LOG_LEVEL=2`` drops the oneDNN and CPU-feature notices but not absl's pre-init
#: lines (``cudart_stub``, ``cuInit``), which ignore it, so those are filtered out here.
TF_STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|cudart_stub\.cc|cuda_platform\.cc|cuInit|"
    r"cpu_feature_guard\.cc|oneDNN custom operations are on|TF_ENABLE_ONEDNN_OPTS|"
    r"To enable the following instructions:|Unable to register cu(DNN|FFT|BLAS) factory|"
    r"computation_placer\.cc|Could not find cuda drivers")


def quiet_tensorflow_logs() -> None:
    """Set ``TF_CPP_MIN_LOG_LEVEL=2`` (INFO and WARNING off) unless the user set it; it only
    acts when set before TensorFlow is imported.  It changes no result (it is a log level)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow_quietly() -> Any:
    """``import tensorflow`` (and its first device look-up) without its start-up log lines.

    File descriptor 2 goes to a temporary file for the duration; afterwards every line that is
    not known start-up noise (``TF_STARTUP_NOISE``) is written to stderr, so a real message is
    kept.  ImportError propagates as usual.
    """
    quiet_tensorflow_logs()
    if sys.modules.get("tensorflow") is not None:
        return sys.modules["tensorflow"]
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2: import plainly
        import tensorflow

        return tensorflow
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices()  # where cuInit reports
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [line for line in tmp.read().decode("utf-8", "replace").splitlines(True)
                    if not TF_STARTUP_NOISE.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
    return tensorflow
