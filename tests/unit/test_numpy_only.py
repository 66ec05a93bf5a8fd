"""numpy_rnn must import and run with NumPy alone."""
from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent(
    """
    import sys, importlib.abc
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'h5py'):
                raise ImportError('blocked for this test: ' + name)
            return None
    sys.meta_path.insert(0, Block())
    """
)

USE = textwrap.dedent(
    """
    import numpy as np
    import numpy_rnn
    from numpy_rnn import Vocabulary, EmbeddingLayer
    from numpy_rnn.layers.rnn.lstm import LSTM
    vocab = Vocabulary()
    X = vocab.tokenize(numpy_rnn.datasets.load_corpus(), 26)
    emb = EmbeddingLayer(vocab_size=vocab.size, hidden_dim=8, seed=0)
    out = LSTM(units=5, features=8, seed=0).forward(emb.predict(X[:4, :-1]), return_sequences=True)
    assert out.shape == (4, 25, 5), out.shape
    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))
    print('LOADED', loaded)
    """
)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_loads_no_tensorflow_or_keras():
    proc = _run("import sys\n" + USE)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout, proc.stdout


def test_runs_when_tensorflow_cannot_be_imported():
    proc = _run(BLOCKER + USE)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout


def test_parity_import_is_cheap_and_names_the_extra():
    code = BLOCKER + textwrap.dedent(
        """
        import parity
        assert 'tensorflow' not in sys.modules
        try:
            parity.to_keras(object())
        except ImportError as exc:
            print('ERR', exc)
        """
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert "numpy-rnn[keras]" in proc.stdout
