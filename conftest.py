"""Root pytest configuration: hypothesis profiles and the Keras requirement switch.

Profiles (select with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``):

* ``dev`` (default): few examples, for quick local loops.
* ``ci``: derandomized, no example database, no deadline; what ``.ci/run`` uses.
* ``thorough``: many examples, for a long soak before a release.

Tests that compare against tf.keras live in ``tests/parity`` and ``tests/property`` and start with
``pytest.importorskip("tensorflow")``.  Without TensorFlow they are skipped, unless ``NUMPY_RNN_REQUIRE_KERAS=1`` (set by ``.ci/run``), in which
case a missing TensorFlow is an error: a CI run must never go green by skipping every comparison.

Keras runs eagerly (``tf.config.run_functions_eagerly(True)``) in the modules that use the
``keras_eager`` fixture: there ``train_on_batch`` / ``fit`` on a freshly built model would
otherwise trace a ``tf.function`` first, which costs more than the few tiny steps the test then
runs (measured, CPU seconds: tests/parity/test_fit_parity.py 124 -> 43, test_compare_training.py
13 -> 4, test_examples.py 17 -> 7).  Not everywhere: a long ``fit`` (README's 12 epochs, the port
walkthrough's training) is 3x slower eagerly.  The ops and their order are the same (no XLA: on a
CPU-only machine Keras's ``jit_compile="auto"`` is off); ``NUMPY_RNN_KERAS_GRAPH=1`` keeps Keras's
graph mode everywhere, to compare against what ``fit`` runs by default.

``case_rng`` fixture: a NumPy generator seeded from the test's own id (its name and parameters),
made for that test alone.  Draw test inputs from it, never from a module-level generator: a shared
one hands a test different numbers depending on which tests ran before it in the same process, and
pytest-xdist orders tests differently on every machine (CI once failed on such an unlucky draw).
"""
from __future__ import annotations

import os
import sys
import zlib

import numpy as np
import pytest

# TensorFlow's start-up lines: the parity plugin quiets them before this file is imported
# (parity/pytest_plugin.py, pytest_load_initial_conftests).

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


@pytest.fixture
def keras_eager():
    """Keras runs eagerly during the test (``tf.config.run_functions_eagerly``), unless
    ``NUMPY_RNN_KERAS_GRAPH=1``.  For modules that train freshly built models a few steps (module
    docstring); a module opts in with ``pytestmark = pytest.mark.usefixtures("keras_eager")``."""
    tf = sys.modules.get("tensorflow")
    if tf is None or os.environ.get("NUMPY_RNN_KERAS_GRAPH") == "1":
        yield
        return
    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


@pytest.fixture
def case_rng(request):
    """A generator for this test alone, seeded from its node id (crc32: the same on every machine
    and every run, unlike ``hash``), so its draws do not depend on the order tests run in.
    ``NUMPY_RNN_CASE_SEED=S`` mixes ``S`` into every seed: other draws for every test, to check
    that no tolerance passes only by luck (unset: the fixed draws CI uses)."""
    salt = os.environ.get("NUMPY_RNN_CASE_SEED", "")
    return np.random.default_rng(zlib.crc32((salt + request.node.nodeid).encode()))
