"""Training-step speed: numpy_rnn against Keras ``train_on_batch`` and a compiled GradientTape step.

One training step = forward + backward + optimizer update, of an LSTM-only model compiled like
the original numpy-RNN seed (``compile('rmsprop', 'mse')``: RMSprop with Keras's defaults, mean
squared error on the last output), float32, timed side by side in one process on the same inputs
and the same starting weights:

* numpy_rnn: ``Sequential([LSTM]).train_on_batch(x, y)`` (weights copied from Keras with
  ``parity.from_keras``)
* Keras: ``model.train_on_batch(x, y)`` (Keras's own compiled train function; no XLA on CPU:
  ``jit_compile="auto"`` turns it off there)
* tf.function: ``tf.GradientTape`` forward + ``tape.gradient`` + ``optimizer.apply_gradients``
  inside one ``tf.function`` (traced before timing), on a clone of the Keras model with the same
  weights

Shapes (batch, timesteps, features, units): the seed's (500, 12, 20, 100) and the largest of the
forward grid, (256, 50, 300, 512).  The three contenders are timed in turn, repeat after repeat,
so a noisy neighbour slows them alike; printed: min / median / max per contender, the ratios of
the medians, the thread settings (threadpoolctl when installed), the first step's loss on each
side (they must agree: same work), and what numpy_rnn's training call keeps for the backward
(the LSTM's recorded tape) against the BPTT minimum (per step: the input, the four gate
activations and the two previous states).  ``--profile`` adds cProfile's top entries of the
NumPy step.

    python benchmarks/bench_train.py                 # both shapes
    python benchmarks/bench_train.py --profile       # and where the NumPy step spends its time
    python benchmarks/bench_train.py --shapes 500,12,20,100 --repeats 5
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

SHAPES = [(500, 12, 20, 100), (256, 50, 300, 512)]
#: default repeats per shape (the largest step takes seconds)
REPEATS = {(500, 12, 20, 100): 15, (256, 50, 300, 512): 5}


def thread_settings() -> str:
    """One line: cores, NumPy's BLAS thread pools (threadpoolctl), TensorFlow's thread pools."""
    parts = [f"cpu_count={os.cpu_count()}"]
    if hasattr(os, "sched_getaffinity"):
        parts.append(f"affinity={len(os.sched_getaffinity(0))}")
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            parts.append(f"{pool.get('internal_api')} {pool.get('version')} "
                         f"threads={pool.get('num_threads')}")
    except ImportError:
        parts.append("threadpoolctl not installed (pip install threadpoolctl): "
                     "BLAS threads unknown")
    import tensorflow as tf
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    parts.append(f"tensorflow intra_op={intra or 'auto'} inter_op={inter or 'auto'}")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var):
            parts.append(f"{var}={os.environ[var]}")
    return "; ".join(parts)


def contenders(shape: tuple[int, int, int, int], seed: int = 0):
    """``(x, y, {name: step function returning the loss}, numpy model)`` for one shape."""
    import keras
    import tensorflow as tf

    import parity
    from numpy_rnn import losses, optimizers

    batch, timesteps, features, units = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, timesteps, features)).astype(np.float32)
    y = rng.standard_normal((batch, units)).astype(np.float32)

    keras.utils.set_random_seed(seed)
    km = keras.Sequential([keras.Input((timesteps, features)), keras.layers.LSTM(units)])
    km.compile(optimizer=keras.optimizers.RMSprop(), loss="mse")  # the seed's compile

    nm = parity.from_keras(km)  # same starting weights
    nm.compile(optimizer=optimizers.RMSprop(), loss=losses.MeanSquaredError())

    tm = keras.models.clone_model(km)
    tm.set_weights(km.get_weights())
    t_opt = keras.optimizers.RMSprop()
    t_loss = keras.losses.MeanSquaredError()

    @tf.function
    def tape_step(xb, yb):
        with tf.GradientTape() as tape:
            loss = t_loss(yb, tm(xb, training=True))
        grads = tape.gradient(loss, tm.trainable_variables)
        t_opt.apply_gradients(zip(grads, tm.trainable_variables))
        return loss

    xt, yt = tf.constant(x), tf.constant(y)
    steps = {
        "numpy": lambda: nm.train_on_batch(x, y),
        "keras train_on_batch": lambda: float(km.train_on_batch(x, y)),
        "tf.function tape": lambda: float(tape_step(xt, yt)),
    }
    return x, y, steps, nm


def time_round_robin(steps: dict[str, Callable[[], float]], repeats: int) -> dict[str, list]:
    """Each step once as warm-up (tracing), then ``repeats`` rounds, every contender once per
    round; per contender the list of seconds."""
    times: dict[str, list] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def tape_bytes(nm) -> tuple[int, int]:
    """(bytes numpy_rnn's LSTM keeps after a training step, the BPTT minimum)."""
    layer = nm.layers[0]
    tape = layer._record  # the Tape of the last training call (Layer.backward protocol)
    kept = tape.nbytes() if tape is not None and hasattr(tape, "nbytes") else -1
    batch, timesteps, features = tape.x.shape if tape is not None else (0, 0, 0)
    units = layer.units
    itemsize = np.dtype(layer.dtype).itemsize
    # per step: x_t (B, F), the activated gates i, f, c~, o (B, 4H), h_{t-1} and c_{t-1} (B, 2H)
    minimum = timesteps * batch * (features + 4 * units + 2 * units) * itemsize
    return kept, minimum


def profile_numpy(step: Callable[[], float], top: int) -> str:
    """cProfile of 3 NumPy steps: the ``top`` entries by own time."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(3):
        step()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    return "\n".join(["    " + total] + ["    " + line for line in lines[start:]])


def floors(shape: tuple[int, int, int, int], repeats: int = 5) -> dict[str, float]:
    """Best seconds of the building blocks of one LSTM training step, timed alone on arrays of
    the step's shapes, in NumPy and in TensorFlow (one ``tf.function``, every product on its own
    inputs so that no common subexpression is merged):

    * ``gemm``: the forward's ``x @ K`` and T x ``h @ R``, the backward's ``dx = dz @ K.T``,
      ``dK = x.T @ dz`` and T x (``dz @ R.T``, ``h.T @ dz``);
    * ``tanh``: T x tanh of a ``(B, 4H)`` block (the forward's gates, candidate and cell:
      the sigmoid gates are ``0.5 * tanh(x / 2) + 0.5`` in numpy_rnn)."""
    import tensorflow as tf

    batch, timesteps, features, units = shape
    rng = np.random.default_rng(0)
    f32 = np.float32
    x2 = rng.standard_normal((batch * timesteps, features), dtype=f32)  # (B*T, F)
    dz2 = rng.standard_normal((batch * timesteps, 4 * units), dtype=f32)  # (B*T, 4H)
    k = rng.standard_normal((features, 4 * units), dtype=f32)  # (F, 4H)
    r = rng.standard_normal((units, 4 * units), dtype=f32)  # (H, 4H)
    hs = rng.standard_normal((timesteps, batch, units), dtype=f32)  # (T, B, H)
    dzs = rng.standard_normal((timesteps, batch, 4 * units), dtype=f32)  # (T, B, 4H)
    zs = rng.standard_normal((timesteps, batch, 4 * units), dtype=f32)  # (T, B, 4H)

    def np_gemm() -> None:
        x2 @ k, dz2 @ k.T, x2.T @ dz2
        for t in range(timesteps):
            hs[t] @ r, dzs[t] @ r.T, hs[t].T @ dzs[t]

    def np_tanh() -> None:
        for t in range(timesteps):
            np.tanh(zs[t])

    @tf.function
    def tf_gemm(x2, dz2, k, r, hs, dzs):
        out = [tf.matmul(x2, k), tf.matmul(dz2, k, transpose_b=True),
               tf.matmul(x2, dz2, transpose_a=True)]
        for t in range(timesteps):
            out += [tf.matmul(hs[t], r), tf.matmul(dzs[t], r, transpose_b=True),
                    tf.matmul(hs[t], dzs[t], transpose_a=True)]
        return [o[0, 0] for o in out]  # every product is computed, little is returned

    @tf.function
    def tf_tanh(zs):
        return [tf.tanh(zs[t])[0, 0] for t in range(timesteps)]

    gemm_args = [tf.constant(a) for a in (x2, dz2, k, r, hs, dzs)]
    zs_t = tf.constant(zs)

    def best(fn: Callable[[], object]) -> float:
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)
    return {"numpy gemm": best(np_gemm), "numpy tanh": best(np_tanh),
            "tf gemm": best(lambda: tf_gemm(*gemm_args)), "tf tanh": best(lambda: tf_tanh(zs_t))}


def parse_shape(text: str) -> tuple[int, int, int, int]:
    parts = tuple(int(p) for p in text.split(","))
    if len(parts) != 4 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"a shape is B,T,F,H (4 positive ints), got {text!r}")
    return parts  # type: ignore[return-value]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", type=parse_shape, nargs="+", default=SHAPES, metavar="B,T,F,H")
    p.add_argument("--repeats", type=int, default=None, help="rounds per shape (default 15 / 5)")
    p.add_argument("--profile", action="store_true", help="cProfile the NumPy step")
    p.add_argument("--top", type=int, default=12, help="profile entries shown (default 12)")
    p.add_argument("--threads", type=int, default=None,
                   help="limit NumPy's BLAS (threadpoolctl) and TensorFlow's intra/inter-op "
                        "pools to N threads each (default: each library's own choice)")
    args = p.parse_args(argv)
    try:
        import tensorflow as tf
    except ImportError as exc:
        print(f"needs TensorFlow ({exc})", file=sys.stderr)
        return 2
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            print("--threads needs threadpoolctl (pip install threadpoolctl)", file=sys.stderr)
            return 2
        threadpool_limits(args.threads)  # kept for the whole process
    print(f"numpy {np.__version__}, tensorflow {tf.__version__}, python {sys.version.split()[0]}")
    print("threads: " + thread_settings())
    print("step = forward + backward + RMSprop update, LSTM only, mse on the last output, float32;"
          " seconds over rounds, contenders in turn")
    rows = []
    for shape in args.shapes:
        repeats = args.repeats or REPEATS.get(tuple(shape), 5)
        x, y, steps, nm = contenders(tuple(shape))
        first = {name: fn() for name, fn in steps.items()}  # warm-up: traces the tf.functions
        times = time_round_robin(steps, repeats)
        kept, minimum = tape_bytes(nm)
        med = {name: statistics.median(t) for name, t in times.items()}
        print(f"\n(B,T,F,H)={tuple(shape)}, {repeats} rounds; first-step losses: "
              + ", ".join(f"{n} {v:.7f}" for n, v in first.items()))
        for name, t in times.items():
            print(f"  {name:22s} min {min(t) * 1e3:9.1f} ms  median {med[name] * 1e3:9.1f} ms  "
                  f"max {max(t) * 1e3:9.1f} ms")
        k, tf_ = med["keras train_on_batch"] / med["numpy"], med["tf.function tape"] / med["numpy"]
        print(f"  keras/numpy {k:.2f}  tf.function/numpy {tf_:.2f}  "
              f"(> 1: numpy faster)")
        print(f"  numpy's LSTM keeps {kept / 2**20:.1f} MiB for the backward; BPTT minimum "
              f"(x_t, 4 gates, h_(t-1), c_(t-1) per step) {minimum / 2**20:.1f} MiB "
              f"(x{kept / minimum:.2f})")
        if args.profile:
            fl = floors(tuple(shape))
            for side, name in (("numpy", "numpy"), ("tf", "tf.function tape")):
                best = min(times[name])
                gemm, tanh = fl[f"{side} gemm"], fl[f"{side} tanh"]
                print(f"  {name}: best step {best * 1e3:.1f} ms = the step's matrix products "
                      f"alone {gemm * 1e3:.1f} ms + T tanh of (B, 4H) alone {tanh * 1e3:.1f} ms "
                      f"+ the rest (other elementwise work, loop, Python) "
                      f"{(best - gemm - tanh) * 1e3:.1f} ms")
            print("  cProfile of the numpy step (3 steps, by own time):")
            print(profile_numpy(steps["numpy"], args.top))
        rows.append((tuple(shape), med, kept, minimum))
    print("\n| shape (B,T,F,H) | numpy ms | Keras train_on_batch ms | tf.function tape ms "
          "| keras/np | tf.fn/np | kept / BPTT minimum MiB |")
    print("|---|---|---|---|---|---|---|")
    for shape, med, kept, minimum in rows:
        print(f"| {shape} | {med['numpy'] * 1e3:.1f} | {med['keras train_on_batch'] * 1e3:.1f} | "
              f"{med['tf.function tape'] * 1e3:.1f} | "
              f"{med['keras train_on_batch'] / med['numpy']:.2f} | "
              f"{med['tf.function tape'] / med['numpy']:.2f} | "
              f"{kept / 2**20:.1f} / {minimum / 2**20:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
