"""Train the original numpy-RNN next-word model in NumPy and in Keras, side by side, step by step.

The model is the original project's: Vocabulary -> Embedding -> LSTM -> Dense(softmax), on the
corpus shipped with the package (``numpy_rnn.datasets.load_corpus_lines()``), 10 ids in, the next
id out.  For each dtype (float64, then float32) a Keras model is built (under
``keras.config.set_floatx(dtype)``), its weights are copied into a NumPy twin
(``parity.from_keras``), both are compiled alike (RMSprop, as the original compiled its model
with ``'rmsprop'``, or Adam; sparse categorical cross-entropy in the same dtype) and both take
the same batches in the same order (``train_on_batch``; no shuffling).  Printed: every step's
loss on both sides and their difference, and the final weights' largest difference.  ``--plot
PATH`` writes both loss curves and their per-step difference as a PNG.

    python examples/train_side_by_side.py --steps 50 --plot "$(mktemp -d)/train-side-by-side.png"

(``docs/train-side-by-side.png``, the figure docs/training.md shows, was made this way.)

Exit status 0 when the float64 run agrees with Keras to ``--rtol`` (1e-12, relative) at every
step and in every final weight, 1 when it does not, 2 on a usage error.  float32 is shown, not
gated: Adam and RMSprop divide by the root of a running mean of squared gradients, so rounding
noise in a near-zero gradient component becomes a visible step and float32 trajectories of two
exact implementations drift apart (docs/training.md, "Side by side with Keras", says how far).
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from typing import Any, Sequence

import numpy as np

from parity.bridge.train import floatx  # Keras's floatx for a block, restored after

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DTYPES = ("float64", "float32")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=50, help="train_on_batch steps (default 50)")
    p.add_argument("--batch-size", type=int, default=64, help="windows per batch (default 64)")
    p.add_argument("--embedding-dim", type=int, default=50,
                   help="Embedding output size (default 50, the original's)")
    p.add_argument("--units", type=int, default=100,
                   help="LSTM units (default 100, the original's)")
    p.add_argument("--window", type=int, default=10,
                   help="ids in, before the next one (default 10)")
    p.add_argument("--optimizer", choices=("rmsprop", "adam"), default="rmsprop")
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--dtype", choices=DTYPES + ("both",), default="both")
    p.add_argument("--max-windows", type=int, default=None,
                   help="use only the first N windows of the corpus (tests)")
    p.add_argument("--seed", type=int, default=0, help="Keras's initial weights")
    p.add_argument("--rtol", type=float, default=1e-12,
                   help="float64 gate: largest relative difference allowed (default 1e-12)")
    p.add_argument("--every", type=int, default=1, help="print every N-th step (default 1)")
    p.add_argument("--plot", metavar="PATH", default=None, help="write the loss curves as PNG")
    args = p.parse_args(argv)
    for name in ("steps", "batch_size", "embedding_dim", "units", "window", "every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args




def corpus_windows(window: int, max_windows: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """``(x (N, window) int32, y (N,) int32, vocabulary size)`` from the shipped corpus."""
    import numpy_rnn
    vocab = numpy_rnn.Vocabulary()
    windows = vocab.tokenize(numpy_rnn.datasets.load_corpus_lines(), window + 1)  # (N, window+1)
    if max_windows is not None:
        windows = windows[:max_windows]
    return windows[:, :-1].astype("int32"), windows[:, -1].astype("int32"), vocab.size


def build_pair(args: argparse.Namespace, vocab_size: int, dtype: str,
               start: list | None = None) -> tuple[Any, Any]:
    """A Keras model built and compiled under floatx ``dtype`` and its NumPy twin: same weights
    (Keras's initial weights, or ``start`` rounded to ``dtype``, copied into NumPy), same
    optimizer and hyper-parameters, same loss in the same dtype."""
    import keras

    import parity
    from numpy_rnn import losses, optimizers

    keras.utils.set_random_seed(args.seed)
    with floatx(dtype):
        # dtype on every layer: floatx alone does not do it once Keras has created any layer
        # (the first one caches a global dtype policy from the floatx of that moment)
        km = keras.Sequential([
            keras.Input((args.window,), dtype="int32"),
            keras.layers.Embedding(vocab_size, args.embedding_dim, mask_zero=True, dtype=dtype),
            keras.layers.LSTM(args.units, dtype=dtype),
            keras.layers.Dense(vocab_size, activation="softmax", dtype=dtype),
        ])
        k_opt = {"rmsprop": keras.optimizers.RMSprop,
                 "adam": keras.optimizers.Adam}[args.optimizer](args.learning_rate)
        km.compile(optimizer=k_opt,
                   loss=keras.losses.SparseCategoricalCrossentropy(dtype=dtype))
    if start is not None:
        km.set_weights([np.asarray(w).astype(dtype) for w in start])
    nm = parity.from_keras(km)  # NumPy layers in `dtype`, Keras's weights
    got = {w.dtype.name for w in km.get_weights()} | {w.dtype.name for w in nm.get_weights()}
    if got != {dtype}:
        raise RuntimeError(f"the {dtype} run built weights of dtype {sorted(got)}")
    # Keras keeps the learning rate in a variable of the floatx current at construction.
    n_opt = {"rmsprop": optimizers.RMSprop,
             "adam": optimizers.Adam}[args.optimizer](args.learning_rate, floatx=dtype)
    nm.compile(optimizer=n_opt, loss=losses.SparseCategoricalCrossentropy(dtype=dtype))
    return km, nm


def batches(n: int, batch_size: int, steps: int) -> list[slice]:
    """``steps`` batches in order, epoch after epoch, the last of each epoch partial (as
    ``fit(shuffle=False)`` takes them)."""
    epoch = [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    return [epoch[k % len(epoch)] for k in range(steps)]


def rel(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| over max |expected| (1 where expected is all zero)."""
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return float(np.max(np.abs(a - e))) / (float(np.max(np.abs(e))) or 1.0)


def run(args: argparse.Namespace, x: np.ndarray, y: np.ndarray, vocab_size: int,
        dtype: str, start: list | None = None) -> dict:
    """Train both sides ``args.steps`` steps (from ``start`` when given); the per-step losses,
    the final weight differences and the starting weights."""
    with floatx(dtype):
        km, nm = build_pair(args, vocab_size, dtype, start)
        names = [f"{type(layer).__name__}/{n}"
                 for layer in nm.layers for n in layer.weight_names()]
        initial = [w.copy() for w in nm.get_weights()]
        start64 = [w.astype(np.float64) for w in initial]
        k_losses, n_losses, weight_rel = [], [], []
        for sl in batches(len(x), args.batch_size, args.steps):
            k_losses.append(float(km.train_on_batch(x[sl], y[sl])))
            n_losses.append(float(nm.train_on_batch(x[sl], y[sl])))
            k_w, n_w = km.get_weights(), nm.get_weights()
            weight_rel.append(max(rel(nw, kw) for nw, kw in zip(n_w, k_w)))
    weights = []
    for name, nw, kw, s in zip(names, n_w, k_w, start64):
        weights.append({"name": name, "shape": tuple(kw.shape), "rel": rel(nw, kw),
                        "change_rel": rel(np.asarray(nw, np.float64) - s,
                                          np.asarray(kw, np.float64) - s)})
    k_arr, n_arr = np.array(k_losses), np.array(n_losses)
    loss_rel = np.abs(n_arr - k_arr) / np.abs(k_arr)
    return {"dtype": dtype, "keras": k_losses, "numpy": n_losses, "loss_rel": loss_rel.tolist(),
            "weight_rel": weight_rel, "weights": weights, "start": initial,
            "final": {"keras": k_w, "numpy": n_w}}


def print_report(args: argparse.Namespace, results: list[dict], n: int, vocab_size: int) -> None:
    print(f"next-word model: Embedding({vocab_size}, {args.embedding_dim}, mask_zero=True) -> "
          f"LSTM({args.units}) -> Dense({vocab_size}, softmax); {n} windows of "
          f"{args.window} ids from the shipped corpus, batches of {args.batch_size} in order; "
          f"{args.optimizer} lr={args.learning_rate}; sparse categorical cross-entropy")
    head = "step"
    for r in results:
        d = r["dtype"]
        head += f" | {d:7s} keras loss  numpy loss         |diff|/keras weights"
    print(head)
    for k in range(args.steps):
        if k % args.every and k != args.steps - 1:
            continue
        line = f"{k + 1:4d}"
        for r in results:
            line += (f" | {r['keras'][k]:.15f} {r['numpy'][k]:.15f} {r['loss_rel'][k]:7.1e}"
                     f"      {r['weight_rel'][k]:7.1e}")
        print(line)
    for r in results:
        worst = max(r["weights"], key=lambda w: w["rel"])
        worst_change = max(r["weights"], key=lambda w: w["change_rel"])
        print(f"{r['dtype']}: loss max |diff|/keras over {args.steps} steps "
              f"{max(r['loss_rel']):.1e}; final weights max |diff|/max|keras| "
              f"{worst['rel']:.1e} ({worst['name']}), relative to the change since the start "
              f"{worst_change['change_rel']:.1e} ({worst_change['name']})")
    by_dtype = {r["dtype"]: r for r in results}
    if set(by_dtype) == set(DTYPES):  # same start: how far each float32 run strays from float64
        ref = np.array(by_dtype["float64"]["keras"])
        strays = {side: float(np.max(np.abs(np.array(by_dtype["float32"][side]) - ref) / ref))
                  for side in ("keras", "numpy")}
        ref_w = by_dtype["float64"]["final"]["keras"]
        w_strays = {side: max(rel(w, r) for w, r in zip(by_dtype["float32"]["final"][side], ref_w))
                    for side in ("keras", "numpy")}
        print(f"float32 runs against the float64 Keras run (same start): losses max |diff|/float64"
              f" Keras {strays['keras']:.1e}, numpy {strays['numpy']:.1e}; final weights Keras "
              f"{w_strays['keras']:.1e}, numpy {w_strays['numpy']:.1e}")
    print("(|diff|/keras: the step's loss; weights: after the step, the largest "
          "max|numpy - keras| / max|keras| over the weight arrays)")


def plot(results: list[dict], path: str, title: str) -> None:
    """Both loss curves (left) and their per-step relative difference (right, log scale), one
    row per dtype; matplotlib's object-oriented API, Agg canvas (as ``numpy-rnn parity --plot``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.6 * len(results)), dpi=80)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.1, hspace=0.45, wspace=0.25)
    axes = fig.subplots(len(results), 2, squeeze=False)
    for (left, right), r in zip(axes, results):
        steps = np.arange(1, len(r["keras"]) + 1)
        left.plot(steps, r["keras"], color="tab:orange", linewidth=3.0, alpha=0.6,
                  label="Keras train_on_batch")
        left.plot(steps, r["numpy"], color="tab:blue", linewidth=1.2, marker="o", markersize=2.5,
                  label="numpy_rnn train_on_batch")
        left.set_xlabel("step")
        left.set_ylabel("batch loss")
        left.set_title(f"{r['dtype']}: loss per step", fontsize=11)
        left.grid(True, alpha=0.4)
        left.legend(fontsize=8, frameon=False)
        curves = [(np.asarray(r["loss_rel"], np.float64), "loss: |numpy - keras| / keras",
                   "tab:red", "o"),
                  (np.asarray(r["weight_rel"], np.float64),
                   "weights after the step: max |numpy - keras| / max |keras|", "tab:purple", "s")]
        positive = np.concatenate([c[0][c[0] > 0] for c in curves])
        zero_at = float(positive.min()) / 10 if positive.size else 1e-17
        for values, label, color, marker in curves:
            right.plot(steps, np.where(values > 0, values, zero_at), color=color, linewidth=1.2,
                       marker=marker, markersize=2.5, label=label)
        if not all(np.all(c[0] > 0) for c in curves):
            right.axhline(zero_at, color="grey", linestyle=":", linewidth=0.8,
                          label=f"exact 0 drawn at {zero_at:.0e}")
        right.set_yscale("log")
        right.set_xlabel("step")
        right.set_ylabel("relative difference")
        right.set_title(f"{r['dtype']}: numpy - keras, step by step", fontsize=11)
        right.grid(True, which="major", alpha=0.4)
        top = max(float(np.max(c[0])) for c in curves)
        right.set_ylim(top=(top if top > 0 else 1e-16) * 1e3)  # room for the legend above
        right.legend(fontsize=7.5, loc="upper left", frameon=False)
    fig.suptitle(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    buffer.seek(0)
    from PIL import Image  # a matplotlib dependency: a 128-colour palette keeps the PNG small
    Image.open(buffer).convert("RGB").quantize(colors=128).save(path, format="PNG", optimize=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    except ImportError as exc:
        print(f"needs TensorFlow and Keras 3 for the Keras side ({exc}); "
              "pip install -e '.[keras]' from a checkout", file=sys.stderr)
        return 2
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            print(f"--plot needs matplotlib ({exc}); pip install -e '.[plot]' from a checkout",
                  file=sys.stderr)
            return 2
    x, y, vocab_size = corpus_windows(args.window, args.max_windows)
    dtypes = DTYPES if args.dtype == "both" else (args.dtype,)
    results: list[dict] = []
    for d in dtypes:  # float32 starts from float64's starting weights, rounded
        results.append(run(args, x, y, vocab_size, d, results[0]["start"] if results else None))
    print_report(args, results, len(x), vocab_size)
    if args.plot:
        plot(results, args.plot, f"next-word model, {args.optimizer} lr={args.learning_rate}, "
                                 f"batch {args.batch_size}: numpy_rnn vs Keras, same start, "
                                 "same batches")
        print(f"wrote {args.plot}")
    failed = [r for r in results if r["dtype"] == "float64" and
              (max(r["loss_rel"]) > args.rtol or max(w["rel"] for w in r["weights"]) > args.rtol
               or max(w["change_rel"] for w in r["weights"]) > args.rtol)]
    if failed:
        print(f"float64: NumPy and Keras differ by more than --rtol {args.rtol:g}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
