"""examples/train_side_by_side.py, run through its own command line at tiny sizes: NumPy and Keras
train the next-word model side by side, float64 within 1e-12 at every step, the plot written;
and planted bugs (a learning rate off by 1e-10, the Embedding's gradient handed to RMSprop
dense instead of as slices) make it exit 1."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager")]  # conftest.py

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_side_by_side.py"
TINY = ["--steps", "4", "--batch-size", "8", "--embedding-dim", "4", "--units", "5",
        "--max-windows", "40", "--seed", "1"]


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("train_side_by_side", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def float64_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("float64: loss"))


def test_side_by_side_tiny_both_dtypes(example, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    assert example.main(TINY + ["--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "float64 keras loss" in out and "float32 keras loss" in out
    steps = [line for line in out.splitlines() if line[:4].strip().isdigit()]
    assert [int(line.split("|")[0]) for line in steps] == [1, 2, 3, 4]
    assert "final weights max |diff|/max|keras|" in float64_line(out)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 100_000


def test_side_by_side_adam_float64(example, capsys):
    assert example.main(TINY + ["--optimizer", "adam", "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert "float32 keras loss" not in out and "adam" in out


def test_run_numbers_are_within_float64_tolerance(example):
    args = example.parse_args(TINY)
    x, y, vocab = example.corpus_windows(args.window, args.max_windows)
    r = example.run(args, x, y, vocab, "float64")
    assert len(r["keras"]) == len(r["numpy"]) == 4
    assert max(r["loss_rel"]) <= 1e-12 and max(r["weight_rel"]) <= 1e-12
    assert max(w["change_rel"] for w in r["weights"]) <= 1e-12
    assert [w["name"].split("/")[1] for w in r["weights"]] == [
        "embeddings", "kernel", "recurrent_kernel", "bias", "kernel", "bias"]


def test_batches_follow_fit_without_shuffle(example):
    assert example.batches(10, 4, 5) == [slice(0, 4), slice(4, 8), slice(8, 10), slice(0, 4),
                                         slice(4, 8)]


# -- teeth: the float64 gate fails on planted bugs ------------------------------------------------
def test_teeth_learning_rate_off_by_1e_10(example, monkeypatch, capsys):
    from numpy_rnn import optimizers
    original = optimizers.RMSprop.update_step

    def update_step(self, gradient, variable, lr, slots):
        return original(self, gradient, variable, lr * (1 + 1e-10), slots)
    monkeypatch.setattr(optimizers.RMSprop, "update_step", update_step)
    assert example.main(TINY + ["--dtype", "float64"]) == 1
    assert "differ by more than --rtol" in capsys.readouterr().err


def test_teeth_dense_embedding_gradient(example, monkeypatch, capsys):
    """Keras hands RMSprop the Embedding's gradient as slices (squared one by one); the summed
    dense gradient gives another velocity wherever an id repeats in a batch."""
    from numpy_rnn.layers.core.embedding import Embedding
    original = Embedding._backward

    def dense_only(self, record, grad_output):
        result = original(self, record, grad_output)
        self.sparse_gradients = None
        return result
    monkeypatch.setattr(Embedding, "_backward", dense_only)
    assert example.main(TINY + ["--dtype", "float64"]) == 1
    capsys.readouterr()


def test_usage_error(example):
    with pytest.raises(SystemExit) as info:
        example.main(["--steps", "0"])
    assert info.value.code == 2


def test_float64_run_after_keras_cached_a_float32_policy(example):
    """Keras's first layer caches a global dtype policy from the floatx of that moment; a later
    set_floatx("float64") alone would then build float32 layers. The example sets each layer's
    dtype, so its float64 run stays float64 whatever ran before it in the process."""
    import keras
    keras.layers.Dense(1)  # caches the float32 policy (if nothing did before)
    args = example.parse_args(TINY)
    x, y, vocab = example.corpus_windows(args.window, args.max_windows)
    r = example.run(args, x, y, vocab, "float64")
    assert {w.dtype.name for w in r["start"]} == {"float64"}
    assert {w.dtype.name for w in r["final"]["keras"]} == {"float64"}
    assert max(r["loss_rel"]) <= 1e-12 and max(r["weight_rel"]) <= 1e-12


def test_float32_starts_from_float64_start_rounded(example):
    args = example.parse_args(TINY)
    x, y, vocab = example.corpus_windows(args.window, args.max_windows)
    r64 = example.run(args, x, y, vocab, "float64")
    r32 = example.run(args, x, y, vocab, "float32", r64["start"])
    assert {w.dtype.name for w in r32["final"]["keras"] + r32["final"]["numpy"]} == {"float32"}
    for w32, w64 in zip(r32["start"], r64["start"]):
        np.testing.assert_array_equal(w32, w64.astype(np.float32))
    assert max(r32["loss_rel"]) <= 1e-5  # float32 agreement, measured ~1e-7 at these sizes
