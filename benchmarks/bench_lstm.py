"""Recurrent forward speed: numpy_rnn against tf.keras (eager and tf.function), onnxruntime and a
plain textbook NumPy loop, side by side.

For each (batch, timesteps, features, units) of the grid, in float32, return_sequences=False, on
the same inputs and weights, every contender is timed in turn, round after round (``--rounds``),
so a noisy neighbour slows all of them alike; each ratio is taken within a round and reported as
min / median / max over the rounds.  Contenders:

* ``numpy``: numpy_rnn.LSTM.forward (thread settings below)
* ``plain``: a textbook NumPy LSTM loop (``x_t @ K + h @ R + b``, split, sigmoid/tanh, per step)
* ``eager``: keras.layers.LSTM called eagerly; ``tf.fn``: the same layer in a traced tf.function
* ``ort``: onnxruntime's LSTM operator (when ``onnx`` and ``onnxruntime`` are installed)

Then GRU and SimpleRNN rows (numpy_rnn vs tf.function), the batch-1 per-step figure (total / T,
numpy_rnn and onnxruntime), the thread settings (NumPy's BLAS via threadpoolctl, numpy_rnn's
pool, TensorFlow's intra/inter op threads, onnxruntime's intra op threads), and a markdown
table for README's Speed section.  It also checks every contender computes the same outputs.

    python benchmarks/bench_lstm.py                       # full grid, 5 rounds
    python benchmarks/bench_lstm.py --rounds 3 --quick    # faster
    python benchmarks/bench_lstm.py --threads 2 --blas-threads 1   # numpy_rnn blocks on 2 threads
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import numpy_rnn  # noqa: E402
from numpy_rnn import _threads  # noqa: E402

GRID = [(500, 12, 20, 100), (32, 100, 128, 256), (1, 200, 50, 100), (256, 50, 300, 512)]


def best_of(fn, calls: int) -> float:
    """Median seconds of ``calls`` calls (after the round's warm-up of every contender)."""
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_gflops(n: int = 2048, reps: int = 5) -> float:
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    return 2 * n**3 / best_of(lambda: a @ a, reps) / 1e9


def lstm_flops(batch: int, timesteps: int, features: int, units: int) -> float:
    """Multiply-adds of the two matmuls (x @ K and h @ R) per step, as FLOPs."""
    return 2.0 * batch * timesteps * (features + units) * 4 * units


def plain_lstm(kernel, recurrent_kernel, bias):
    """The textbook loop: what numpy_rnn must beat to have bought anything."""
    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    def run(x):
        h = np.zeros((x.shape[0], recurrent_kernel.shape[0]), x.dtype)
        c = np.zeros_like(h)
        for t in range(x.shape[1]):
            z = x[:, t] @ kernel + h @ recurrent_kernel + bias
            i, f, g, o = np.split(z, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        return h
    return run


def onnx_session(kernel, recurrent_kernel, bias, threads: int):
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    H = recurrent_kernel.shape[0]

    def iofc(w):  # Keras i, f, c, o -> ONNX i, o, f, c along the gate axis (last)
        i, f, c, o = np.split(w, 4, axis=-1)
        return np.concatenate([i, o, f, c], axis=-1)

    W = iofc(kernel).T[None]                      # (1, 4H, F)
    R = iofc(recurrent_kernel).T[None]            # (1, 4H, H)
    B = np.concatenate([iofc(bias), np.zeros(4 * H, np.float32)])[None]  # (1, 8H)
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["", "Y_h"], hidden_size=H)
    graph = helper.make_graph(
        [node], "lstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "B", kernel.shape[0]])],
        [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(W.astype(np.float32), "W"),
                     numpy_helper.from_array(R.astype(np.float32), "R"),
                     numpy_helper.from_array(B.astype(np.float32), "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def thread_settings(args) -> str:
    import tensorflow as tf
    parts = [f"cpu_count={os.cpu_count()}", f"numpy_rnn threads={_threads.get_num_threads()}"]
    try:
        from threadpoolctl import threadpool_info
        parts += [f"{p.get('internal_api')} {p.get('version')} threads={p.get('num_threads')}"
                  for p in threadpool_info()]
    except ImportError:
        parts.append("threadpoolctl not installed: BLAS threads unknown")
    parts.append(f"tensorflow intra_op={tf.config.threading.get_intra_op_parallelism_threads() or 'auto'}"
                 f" inter_op={tf.config.threading.get_inter_op_parallelism_threads() or 'auto'}")
    parts.append(f"onnxruntime intra_op={args.ort_threads}")
    parts += [f"{v}={os.environ[v]}" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                "MKL_NUM_THREADS", "NUMPY_RNN_THREADS")
              if os.environ.get(v)]
    return "; ".join(parts)


def side_by_side(contenders: dict, rounds: int, calls: int) -> dict[str, list[float]]:
    """Seconds per contender per round, contenders timed in turn within each round."""
    for fn in contenders.values():
        fn()  # warm-up (tf.function traces, onnxruntime plans)
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            times[name].append(best_of(fn, 1 if name == "eager" else calls))
    return times


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """``min-median-max`` of the values."""
    return "–".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def ratios(times: dict, num: str, den: str) -> list[float]:
    return [a / b for a, b in zip(times[num], times[den])]


def run(args) -> int:
    import keras
    import tensorflow as tf

    peak = matmul_gflops()
    print(f"numpy {np.__version__}, tensorflow {tf.__version__}, keras {keras.__version__}; "
          f"float32 matmul rate (2048^3, NumPy BLAS): {peak:.0f} GFLOP/s")
    print("threads: " + thread_settings(args))
    print(f"{args.rounds} rounds, side by side; each figure min–median–max over the rounds\n")
    lines = ["| shape (B,T,F,H) | numpy ms | plain loop ms | tf.function ms | onnxruntime ms | "
             "eager/np | tf.fn/np | plain/np | np/ort | % of matmul rate |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    per_step = None
    for shape in args.grid:
        B, T, F, H = shape
        x = np.random.default_rng(0).standard_normal((B, T, F), dtype=np.float32)
        k = keras.layers.LSTM(H)
        k.build((None, T, F))
        n = numpy_rnn.LSTM(H, F)
        n.set_weights(k.get_weights())
        xt = tf.constant(x)
        fn = tf.function(lambda inp: k(inp))
        contenders = {"numpy": lambda: n.forward(x), "plain": lambda: plain(x),
                      "tf.fn": lambda: fn(xt)}
        plain = plain_lstm(*n.get_weights())
        if not args.no_eager:
            contenders["eager"] = lambda: k(xt)
        sess = onnx_session(*n.get_weights(), args.ort_threads)
        xo = np.ascontiguousarray(x.transpose(1, 0, 2))
        if sess is not None:
            contenders["ort"] = lambda: sess.run(None, {"X": xo})
        out = n.forward(x)
        diffs = [np.abs(np.asarray(fn(xt)) - out).max(), np.abs(plain(x) - out).max()]
        if sess is not None:
            diffs.append(np.abs(sess.run(None, {"X": xo})[0][0] - out).max())
        calls = args.calls if B * T * H < 2_000_000 else 1
        t = side_by_side(contenders, args.rounds, calls)
        ms = {name: [1e3 * s for s in v] for name, v in t.items()}
        gf = [lstm_flops(*shape) / s / 1e9 for s in t["numpy"]]
        nan = [float("nan")]
        row = [str(shape), spread(ms["numpy"], "{:.1f}"), spread(ms["plain"], "{:.1f}"),
               spread(ms["tf.fn"], "{:.1f}"), spread(ms.get("ort", nan), "{:.1f}"),
               spread(ratios(t, "eager", "numpy") if "eager" in t else nan, "{:.1f}"),
               spread(ratios(t, "tf.fn", "numpy")), spread(ratios(t, "plain", "numpy")),
               spread(ratios(t, "numpy", "ort") if "ort" in t else nan),
               f"{100 * statistics.median(gf) / peak:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
        print(f"LSTM {shape}: numpy {row[1]} ms, plain {row[2]}, tf.fn {row[3]}, ort {row[4]}; "
              f"eager/np {row[5]}, tf.fn/np {row[6]}, plain/np {row[7]}, np/ort {row[8]}; "
              f"max|diff| {max(diffs):.1e}", flush=True)
        if B == 1:
            per_step = (T, [1e6 * s / T for s in t["numpy"]],
                        [1e6 * s / T for s in t["ort"]] if "ort" in t else nan)
    lines.append("")
    lines.append("| layer, shape (B,T,F,H) | numpy ms | tf.function ms | tf.fn/np |")
    lines.append("|---|---|---|---|")
    for cls in ("GRU", "SimpleRNN"):
        for shape in args.grid:
            B, T, F, H = shape
            x = np.random.default_rng(0).standard_normal((B, T, F), dtype=np.float32)
            k = getattr(keras.layers, cls)(H)
            k.build((None, T, F))
            n = getattr(numpy_rnn, cls)(H, F)
            n.set_weights(k.get_weights())
            xt = tf.constant(x)
            fn = tf.function(lambda inp, k=k: k(inp))
            d = np.abs(np.asarray(fn(xt)) - n.forward(x)).max()
            calls = args.calls if B * T * H < 2_000_000 else 1
            t = side_by_side({"numpy": lambda: n.forward(x), "tf.fn": lambda: fn(xt)},
                             args.rounds, calls)
            row = [f"{cls} {shape}", spread([1e3 * s for s in t["numpy"]], "{:.1f}"),
                   spread([1e3 * s for s in t["tf.fn"]], "{:.1f}"),
                   spread(ratios(t, "tf.fn", "numpy"))]
            lines.append("| " + " | ".join(row) + " |")
            print(f"{row[0]}: numpy {row[1]} ms, tf.fn {row[2]}, tf.fn/np {row[3]}; "
                  f"max|diff| {d:.1e}", flush=True)
    if per_step is not None:
        T, np_us, ort_us = per_step
        lines.append("")
        lines.append(f"Batch 1, T={T}, per step (total / T): numpy_rnn {spread(np_us, '{:.1f}')} µs, "
                     f"onnxruntime {spread(ort_us, '{:.1f}')} µs.")
    print("\nratios > 1 in eager/np, tf.fn/np and plain/np mean numpy_rnn is faster; "
          "np/ort = how many times onnxruntime's time numpy_rnn takes.\n")
    print("\n".join(lines))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="side-by-side rounds (min/median/max)")
    p.add_argument("--calls", type=int, default=5, help="calls per contender per round (median)")
    p.add_argument("--quick", action="store_true", help="2 calls per round, no eager Keras")
    p.add_argument("--no-eager", action="store_true", help="leave eager Keras out")
    p.add_argument("--threads", type=int, default=None,
                   help="numpy_rnn's threads (numpy_rnn.set_num_threads); default: its own")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="limit NumPy's BLAS threads with threadpoolctl for the whole run")
    p.add_argument("--ort-threads", type=int, default=os.cpu_count() or 1,
                   help="onnxruntime intra_op_num_threads")
    p.add_argument("--shape", action="append", default=None, metavar="B,T,F,H",
                   help="benchmark this shape instead of the grid (repeatable)")
    args = p.parse_args(argv)
    if args.quick:
        args.calls, args.no_eager = 2, True
    args.grid = ([tuple(int(v) for v in s.split(",")) for s in args.shape] if args.shape
                 else GRID)
    if args.threads is not None:
        numpy_rnn.set_num_threads(args.threads)
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(args.blas_threads):
            return run(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
