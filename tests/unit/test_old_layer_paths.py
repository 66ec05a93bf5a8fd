"""The module paths of before the family move (issue 19 item 10) still import, and give the very
same objects as the new paths (numpy_rnn/layers/_old_paths.py)."""
from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import numpy_rnn
import numpy_rnn.layers as layers
from numpy_rnn.layers import _old_paths

#: old path -> (new path, names users imported from the old path)
MOVED = {
    "numpy_rnn.layers.lstm": ("numpy_rnn.layers.rnn.lstm", ["LSTM"]),
    "numpy_rnn.layers.gru": ("numpy_rnn.layers.rnn.gru", ["GRU"]),
    "numpy_rnn.layers.simple_rnn": ("numpy_rnn.layers.rnn.simple_rnn", ["SimpleRNN"]),
    "numpy_rnn.layers.recurrent": ("numpy_rnn.layers.rnn.recurrent",
                                   ["RNNBase", "rnn_loop", "in_time_order"]),
    "numpy_rnn.layers.bidirectional": ("numpy_rnn.layers.rnn.bidirectional", ["Bidirectional"]),
    "numpy_rnn.layers.dense": ("numpy_rnn.layers.core.dense", ["Dense"]),
    "numpy_rnn.layers.embedding": ("numpy_rnn.layers.core.embedding",
                                   ["Embedding", "EmbeddingLayer", "TokenIdError"]),
    "numpy_rnn.layers.einsum_dense": ("numpy_rnn.layers.core.einsum_dense",
                                      ["EinsumDense", "analyze_einsum_string", "einsum2"]),
    "numpy_rnn.layers.text_vectorization": ("numpy_rnn.layers.preprocessing.text_vectorization",
                                            ["TextVectorizationLayer", "vocabulary_from_asset"]),
}


def test_the_table_covers_every_moved_module():
    assert {f"numpy_rnn.layers.{old}" for old in _old_paths.OLD_PATHS} == set(MOVED)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_path_is_the_new_module(old):
    new, names = MOVED[old]
    old_mod, new_mod = importlib.import_module(old), importlib.import_module(new)
    assert old_mod is new_mod
    assert getattr(layers, old.rpartition(".")[2]) is new_mod  # from numpy_rnn.layers import lstm
    for name in names:
        assert getattr(old_mod, name) is getattr(new_mod, name)
    for name, obj in vars(new_mod).items():  # every class defined there, public or not
        if inspect.isclass(obj) and obj.__module__ == new:
            assert getattr(old_mod, name) is obj


def test_old_core_module_names():
    from numpy_rnn.layers.core import Dropout, Masking
    assert Masking is numpy_rnn.layers.Masking
    assert Dropout is numpy_rnn.layers.Dropout
    assert Masking.__module__ == "numpy_rnn.layers.core.masking"
    assert Dropout.__module__ == "numpy_rnn.layers.regularization.dropout"


def test_from_import_statements_in_a_fresh_interpreter():
    """The old imports as users wrote them, before anything else imported numpy_rnn."""
    code = ("from numpy_rnn.layers.lstm import LSTM\n"
            "from numpy_rnn.layers.core import Dropout, Masking\n"
            "import numpy_rnn.layers.recurrent as r\n"
            "from numpy_rnn.layers.text_vectorization import TextVectorizationLayer\n"
            "import numpy_rnn\n"
            "assert LSTM is numpy_rnn.LSTM and r.rnn_loop is numpy_rnn.rnn_loop\n"
            "assert Dropout is numpy_rnn.layers.Dropout and Masking is numpy_rnn.layers.Masking\n"
            "assert TextVectorizationLayer is numpy_rnn.layers.TextVectorizationLayer\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_layer_config_names_the_class_not_the_module():
    """Bundles and configs store ``class_name`` only, so files written before the move load."""
    model = numpy_rnn.Sequential([numpy_rnn.layers.LSTM(3), numpy_rnn.layers.Dense(2)])
    model.build((None, 4, 5))
    config = model.get_config()
    assert "numpy_rnn.layers" not in repr(config)
    assert [item["class_name"] for item in config["layers"]] == ["LSTM", "Dense"]
