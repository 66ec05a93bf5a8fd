"""Conv1D speed: numpy_rnn against a ``tf.function`` of the same Keras layer, side by side in one
process, at a text classifier's size (batch 64, 200 steps, 128 channels in, 128 filters,
kernel 5, relu), float32.

* forward: ``layer(x)`` against ``tf.function(lambda x: keras_layer(x))``;
* training step (forward + backward): ``layer(x, training=True); layer.backward(g)`` (d kernel,
  d bias, d inputs) against one ``tf.function`` running ``tf.GradientTape`` over
  ``sum(keras_layer(x) * g)`` and ``tape.gradient`` for the kernel, the bias and the input.

Both tf.functions are traced before timing; the contenders are timed in turn, repeat after
repeat (a noisy neighbour slows them alike).  Printed: min / median per contender, the ratio of
the medians (numpy_rnn / tf.function: below 1 means numpy_rnn is faster), the thread settings,
and a check that both sides computed the same thing (max |difference| of outputs and gradients).
A third line times the forward's FLOPs as one plain matmul in each library (NumPy's BLAS
against TensorFlow's), to tell the BLAS's share of a ratio from the convolution's.

    python benchmarks/bench_conv.py
    python benchmarks/bench_conv.py --padding same --repeats 30 --shape 64,200,128,128,5
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def thread_settings() -> str:
    parts = [f"cpu_count={os.cpu_count()}"]
    if hasattr(os, "sched_getaffinity"):
        parts.append(f"affinity={len(os.sched_getaffinity(0))}")
    try:
        from threadpoolctl import threadpool_info
        parts += [f"{p.get('internal_api')} {p.get('version')} threads={p.get('num_threads')}"
                  for p in threadpool_info()]
    except ImportError:
        parts.append("threadpoolctl not installed: BLAS threads unknown")
    import tensorflow as tf
    parts.append(f"tf intra={tf.config.threading.get_intra_op_parallelism_threads()} "
                 f"inter={tf.config.threading.get_inter_op_parallelism_threads()} (0 = all)")
    return ", ".join(parts)


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():  # warm up (first-call allocations, tracing already done)
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="64,200,128,128,5",
                   help="batch,steps,channels,filters,kernel_size (default: %(default)s)")
    p.add_argument("--padding", default="valid", choices=["valid", "same", "causal"])
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    batch, steps, channels, filters, kernel = (int(v) for v in args.shape.split(","))

    import keras
    import tensorflow as tf

    import parity

    rng = np.random.default_rng(0)
    k = keras.layers.Conv1D(filters, kernel, padding=args.padding, activation="relu")
    k.build((None, steps, channels))
    k.set_weights([rng.normal(scale=0.1, size=w.shape).astype("float32") for w in k.weights])
    n = parity.from_keras(k)
    x = rng.normal(size=(batch, steps, channels)).astype("float32")
    g = rng.normal(size=k.compute_output_shape(x.shape)).astype("float32")
    xt, gt = tf.constant(x), tf.constant(g)

    tf_forward = tf.function(lambda v: k(v))

    @tf.function
    def tf_step(v, w):
        with tf.GradientTape() as tape:
            tape.watch(v)
            loss = tf.reduce_sum(k(v) * w)
        return tape.gradient(loss, [k.kernel, k.bias, v])

    tf_forward(xt)  # trace
    tf_step(xt, gt)

    def np_step():
        n(x, training=True)
        return n.backward(g)

    # Same work on both sides.
    y_np, y_tf = n(x), tf_forward(xt).numpy()
    dx = np_step()
    grads = [t.numpy() for t in tf_step(xt, gt)]
    diffs = [float(np.max(np.abs(a - b))) for a, b in
             zip([y_np] + n.gradients + [dx], [y_tf] + grads)]

    print(f"Conv1D({filters}, {kernel}, padding={args.padding!r}, activation='relu') on "
          f"({batch}, {steps}, {channels}) float32, {args.repeats} repeats, interleaved")
    print(f"threads: {thread_settings()}")
    print("same work: max|numpy - tf| output, d kernel, d bias, d inputs = "
          + ", ".join(f"{d:.1e}" for d in diffs))
    # The forward's FLOPs as one matmul (the im2col product) in each library: where numpy_rnn's
    # ratio is about this one, the gap is the BLAS, not the convolution around it.
    rows = batch * k.compute_output_shape(x.shape)[1]
    a = rng.normal(size=(rows, kernel * channels)).astype("float32")
    b = rng.normal(size=(kernel * channels, filters)).astype("float32")
    at, bt = tf.constant(a), tf.constant(b)
    tf_mm = tf.function(lambda u, v: tf.matmul(u, v))
    tf_mm(at, bt)
    for label, fns in (("forward", {"numpy_rnn": lambda: n(x),
                                    "tf.function": lambda: tf_forward(xt).numpy()}),
                       ("training step (forward + backward)",
                        {"numpy_rnn": np_step,
                         "tf.function": lambda: [t.numpy() for t in tf_step(xt, gt)]}),
                       (f"reference: one ({rows} x {kernel * channels}) @ ({kernel * channels} x "
                        f"{filters}) matmul", {"numpy_rnn": lambda: a @ b,
                                              "tf.function": lambda: tf_mm(at, bt).numpy()})):
        times = interleaved(fns, args.repeats)
        med = {name: statistics.median(ts) for name, ts in times.items()}
        print(f"\n{label}")
        for name, ts in times.items():
            print(f"  {name:12s} min {min(ts) * 1e3:8.2f} ms   median {med[name] * 1e3:8.2f} ms")
        print(f"  ratio numpy_rnn / tf.function (medians): "
              f"{med['numpy_rnn'] / med['tf.function']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
