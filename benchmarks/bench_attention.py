"""MultiHeadAttention speed: numpy_rnn against a ``tf.function`` of the same Keras layer.

Self-attention ``layer(x, x)`` with 4 heads of 32 over 128 tokens, batch 64, model width 128,
float32, timed side by side in one process on the same inputs and weights (copied from Keras
with ``parity.from_keras``):

* forward: ``numpy_rnn.MultiHeadAttention(x, x)`` against ``tf.function(lambda x: layer(x, x))``
  (traced before timing);
* training step: forward with ``training=True`` + ``backward`` of ``d loss / d output`` (the mean
  squared error against random targets) + an SGD update of every weight, against one
  ``tf.function`` holding ``tf.GradientTape``, the same loss, ``tape.gradient`` and the same SGD
  update.

The contenders are timed in turn, repeat after repeat (a noisy neighbour slows them alike);
printed: min / median / max per contender and the ratio of the medians (numpy / tf.function),
the thread settings, and the first step's loss on each side (they must agree: same work).

    python benchmarks/bench_attention.py
    python benchmarks/bench_attention.py --repeats 10 --batch 32
    python benchmarks/bench_attention.py --threads 1   # one thread each side
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

HEADS, KEY_DIM, TOKENS, BATCH, WIDTH = 4, 32, 128, 64, 128
LEARNING_RATE = 0.01


def thread_settings() -> str:
    parts = [f"cpu_count={os.cpu_count()}"]
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            parts.append(f"{pool.get('internal_api')} threads={pool.get('num_threads')}")
    except ImportError:
        parts.append("threadpoolctl not installed")
    import tensorflow as tf

    parts.append(f"tf intra={tf.config.threading.get_intra_op_parallelism_threads()} "
                 f"inter={tf.config.threading.get_inter_op_parallelism_threads()}")
    return ", ".join(parts)


def contenders(batch: int, seed: int = 0) -> tuple[dict, dict, tuple[float, float]]:
    """``({name: forward fn}, {name: training step fn -> loss}, (first losses))``."""
    import keras
    import tensorflow as tf

    import parity

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, TOKENS, WIDTH)).astype("float32")
    y = rng.normal(size=(batch, TOKENS, WIDTH)).astype("float32")
    k = keras.layers.MultiHeadAttention(HEADS, KEY_DIM)
    k(x, x)
    n = parity.from_keras(k)
    xt, yt = tf.constant(x), tf.constant(y)
    lr = np.float32(LEARNING_RATE)

    @tf.function
    def tf_forward(xb):
        return k(xb, xb)

    @tf.function
    def tf_step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(k(xb, xb, training=True) - yb))
        grads = tape.gradient(loss, k.trainable_variables)
        for var, g in zip(k.trainable_variables, grads):
            var.assign_sub(LEARNING_RATE * g)
        return loss

    def np_step() -> float:
        out = n(x, x, training=True)
        diff = out - y
        loss = float(np.mean(np.square(diff)))
        n.backward(diff * np.float32(2.0 / diff.size))
        weights = n.get_weights()
        n.set_weights([w - lr * g for w, g in zip(weights, n.gradients)])
        return loss

    tf_forward(xt)  # trace
    first = (np_step(), float(tf_step(xt, yt)))  # trace; the first step's loss on both sides
    forward = {"numpy_rnn": lambda: n(x, x), "tf.function": lambda: tf_forward(xt).numpy()}
    steps = {"numpy_rnn": np_step, "tf.function": lambda: float(tf_step(xt, yt))}
    return forward, steps, first


def time_round_robin(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list]:
    times: dict[str, list] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def report(title: str, times: dict[str, list]) -> None:
    print(f"{title}:")
    med = {}
    for name, t in times.items():
        med[name] = statistics.median(t)
        print(f"  {name:12s} min {min(t) * 1e3:8.2f} ms  median {med[name] * 1e3:8.2f} ms  "
              f"max {max(t) * 1e3:8.2f} ms")
    print(f"  ratio numpy_rnn / tf.function (medians): {med['numpy_rnn'] / med['tf.function']:.2f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--batch", type=int, default=BATCH)
    p.add_argument("--threads", type=int, default=None,
                   help="limit NumPy's BLAS (threadpoolctl) and TensorFlow's intra/inter-op "
                        "pools to this many threads (on a busy machine a multithreaded BLAS "
                        "spins against its neighbours: 1 gives steadier figures)")
    args = p.parse_args(argv)
    if args.threads is not None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        try:
            from threadpoolctl import threadpool_limits
            threadpool_limits(args.threads)
        except ImportError:
            print("threadpoolctl not installed: NumPy's BLAS threads not limited "
                  "(set OPENBLAS_NUM_THREADS instead)")
    forward, steps, (np_loss, tf_loss) = contenders(args.batch)
    print(f"MultiHeadAttention({HEADS} heads of {KEY_DIM}) self-attention, batch {args.batch}, "
          f"{TOKENS} tokens, width {WIDTH}, float32")
    print(f"threads: {thread_settings()}")
    print(f"first step loss: numpy_rnn {np_loss:.6f}  tf.function {tf_loss:.6f}")
    report("forward", time_round_robin(forward, args.repeats))
    report("training step (forward + backward + SGD)", time_round_robin(steps, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
