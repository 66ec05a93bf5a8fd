"""Root pytest configuration: hypothesis profiles and the Keras requirement switch.

Profiles (select with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``):

* ``dev`` (default): few examples, for quick local loops.
* ``ci``: derandomized, no example database, no deadline; what ``.ci/run`` uses.
* ``thorough``: many examples, for a long soak before a release.

Tests that compare against tf.keras live in ``tests/parity`` and ``tests/property`` and start with
``pytest.importorskip("tensorflow")``.  Without TensorFlow they are skipped, unless ``NUMPY_RNN_REQUIRE_KERAS=1`` (set by ``.ci/run``), in which
case a missing TensorFlow is an error: a CI run must never go green by skipping every comparison.
"""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ log lines drown the report

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the NumPy-only unit tests still run without hypothesis
    settings = None

if settings is not None:
    _common = dict(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.register_profile("dev", max_examples=15, deadline=None, **_common)
    settings.register_profile(
        "ci", max_examples=40, deadline=None, derandomize=True, database=None,
        print_blob=True, **_common,
    )
    settings.register_profile(
        "thorough", max_examples=500, deadline=None, database=None, **_common
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _keras_available() -> bool:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_configure(config):
    if os.environ.get("NUMPY_RNN_REQUIRE_KERAS") == "1" and not _keras_available():
        raise pytest.UsageError(
            "NUMPY_RNN_REQUIRE_KERAS=1 but tensorflow is not importable; "
            "install the test extra: pip install '.[test]'"
        )
