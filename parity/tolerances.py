"""The tolerance table: one home, ``numpy_rnn.testing`` (the bundle check uses it too).

Re-exported here for ``parity`` users; the measurements that justify each entry are in
``numpy_rnn.testing``'s docstring.  ``TABLE`` is the same dict object, so patching an entry here
patches it everywhere.
"""
from __future__ import annotations

from numpy_rnn.testing import TABLE, Tolerance, comparison_dtype, lookup

__all__ = ["TABLE", "Tolerance", "comparison_dtype", "lookup"]
