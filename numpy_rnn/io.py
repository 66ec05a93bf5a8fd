"""Old home of the bundle code, kept so ``numpy_rnn.io`` imports keep working.

Bundles live in :mod:`numpy_rnn.formats`, split by job: ``bundle_format`` (name, version, keys,
digest), ``bundle_write`` (``save``), ``bundle_read`` (``read_bundle`` / ``load``) and
``bundle_verify`` (test vectors checked with :mod:`numpy_rnn.testing`).
"""
from __future__ import annotations

from .formats.bundle_format import FORMAT, FORMAT_VERSION
from .formats.bundle_read import Bundle, load, read_bundle
from .formats.bundle_graph import make_test_inputs, verify_model
from .formats.bundle_verify import TOLERANCES, VerificationReport, compare_outputs
from .formats.bundle_write import save
from .formats.errors import (BundleError, BundleIntegrityError, BundleVerificationError,
                             BundleVersionError)

__all__ = ["save", "load", "read_bundle", "Bundle", "BundleError", "BundleIntegrityError",
           "BundleVersionError", "BundleVerificationError", "VerificationReport",
           "make_test_inputs", "verify_model", "compare_outputs", "TOLERANCES", "FORMAT",
           "FORMAT_VERSION"]
