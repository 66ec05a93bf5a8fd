"""``python -m parity.cli``: the same as the ``numpy-rnn`` command."""
import sys

from . import main

sys.exit(main())
