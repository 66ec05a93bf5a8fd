"""LSTM forward speed: numpy_rnn against tf.keras (eager and tf.function) and onnxruntime.

Runs, in one process, side by side on the same inputs and weights, for each (batch, timesteps,
features, units) of the grid, in float32, with and without return_sequences:

* numpy_rnn.LSTM.forward
* keras.layers.LSTM called eagerly
* the same layer inside a tf.function (traced once before timing)
* onnxruntime's LSTM operator (when the optional `onnxruntime` and `onnx` packages are installed)

It prints medians and ratios, and the achieved GFLOP/s against the machine's own float32 matrix
multiply rate (NumPy's BLAS, measured in the same run), the physical limit for large shapes.
It also checks that every implementation computes the same outputs (max abs difference).

    python benchmarks/bench_lstm.py            # full grid
    python benchmarks/bench_lstm.py --quick    # fewer repetitions
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

GRID = [(500, 12, 20, 100), (32, 100, 128, 256), (1, 200, 50, 100), (256, 50, 300, 512)]


def median_time(fn, reps: int, min_time: float = 0.0) -> float:
    fn()  # warm-up
    times = []
    while len(times) < reps or (sum(times) < min_time and len(times) < 50):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_gflops(n: int = 2048, reps: int = 5) -> float:
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    t = median_time(lambda: a @ b, reps)
    return 2 * n**3 / t / 1e9


def lstm_flops(batch: int, timesteps: int, features: int, units: int) -> float:
    """Multiply-adds of the two matmuls (x @ K and h @ R) per step, as FLOPs."""
    return 2.0 * batch * timesteps * (features + units) * 4 * units


def onnx_session(kernel, recurrent_kernel, bias, return_sequences: bool):
    try:
        import onnx
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
    outputs = ["Y", "Y_h"] if return_sequences else ["", "Y_h"]
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], outputs, hidden_size=H)
    graph = helper.make_graph(
        [node], "lstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "B", kernel.shape[0]])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs if n],
        initializer=[numpy_helper.from_array(W.astype(np.float32), "W"),
                     numpy_helper.from_array(R.astype(np.float32), "R"),
                     numpy_helper.from_array(B.astype(np.float32), "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess


def run(args) -> int:
    import tensorflow as tf
    import keras

    peak = matmul_gflops()
    print(f"numpy {np.__version__}, tensorflow {tf.__version__}, keras {keras.__version__}, "
          f"{os.cpu_count()} CPUs; float32 matmul rate (2048^3, NumPy BLAS): {peak:.1f} GFLOP/s")
    header = (f"{'shape (B,T,F,H)':<22}{'seq':<5}{'numpy ms':>10}{'eager ms':>10}{'tf.fn ms':>10}"
              f"{'ort ms':>9}{'eager/np':>10}{'tf.fn/np':>10}{'np/ort':>8}{'GFLOP/s':>9}"
              f"{'%peak':>7}{'max|diff|':>11}")
    print(header)
    print("-" * len(header))
    rows = []
    for shape in args.grid:
        B, T, F, H = shape
        rng = np.random.default_rng(0)
        x = rng.standard_normal((B, T, F), dtype=np.float32)
        for rs in (False, True):
            k = keras.layers.LSTM(H, return_sequences=rs)
            k.build((None, T, F))
            n = numpy_rnn.LSTM(H, F, return_sequences=rs)
            n.set_weights(k.get_weights())
            xt = tf.constant(x)
            fn = tf.function(lambda inp: k(inp))
            fn(xt)
            reps = args.reps if B * T * H < 2_000_000 else max(3, args.reps // 2)
            t_np = median_time(lambda: n.forward(x), reps, args.min_time)
            t_eager = median_time(lambda: k(xt), reps, args.min_time)
            t_fn = median_time(lambda: fn(xt), reps, args.min_time)
            sess = onnx_session(*n.get_weights(), rs)
            t_ort = float("nan")
            out_np = n.forward(x)
            diffs = [np.abs(np.asarray(fn(xt)) - out_np).max()]
            if sess is not None:
                xo = np.ascontiguousarray(x.transpose(1, 0, 2))
                t_ort = median_time(lambda: sess.run(None, {"X": xo}), reps, args.min_time)
                res = sess.run(None, {"X": xo})
                o = res[0][:, 0].transpose(1, 0, 2) if rs else res[-1][0]
                diffs.append(np.abs(o - out_np).max())
            gflops = lstm_flops(*shape) / t_np / 1e9
            rows.append((shape, rs, t_np, t_eager, t_fn, t_ort))
            print(f"{str(shape):<22}{'yes' if rs else 'no':<5}{t_np*1e3:>10.2f}{t_eager*1e3:>10.2f}"
                  f"{t_fn*1e3:>10.2f}{t_ort*1e3:>9.2f}{t_eager/t_np:>10.2f}{t_fn/t_np:>10.2f}"
                  f"{t_np/t_ort:>8.2f}{gflops:>9.1f}{100*gflops/peak:>7.0f}{max(diffs):>11.1e}",
                  flush=True)
    print("-" * len(header))
    print("ratios > 1 in eager/np and tf.fn/np mean numpy_rnn is faster; np/ort < 1.5 is the "
          "onnxruntime target; %peak = achieved GFLOP/s over the matmul rate.")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=7, help="repetitions per timing (median)")
    p.add_argument("--min-time", type=float, default=0.5, help="keep repeating up to this many s")
    p.add_argument("--quick", action="store_true", help="3 repetitions, no minimum time")
    p.add_argument("--shape", action="append", default=None, metavar="B,T,F,H",
                   help="benchmark this shape instead of the grid (repeatable)")
    args = p.parse_args(argv)
    if args.quick:
        args.reps, args.min_time = 3, 0.0
    args.grid = ([tuple(int(v) for v in s.split(",")) for s in args.shape] if args.shape
                 else GRID)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
