"""Conv1D and MultiHeadAttention against ``tf.function``: the ratio table of docs/performance.md.

Runs ``bench_conv.py`` and ``bench_attention.py`` (each times numpy_rnn and the ``tf.function``
side by side, interleaved, on the same inputs and weights) ``--rounds`` times under each thread
setting, one fresh process per run, and prints the median of each ratio (numpy_rnn /
tf.function: below 1 means numpy_rnn is faster) over the rounds, in wall time and in the
process's CPU time, with the load average measured before each run:

* ``1 thread``: ``OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1`` in the environment
  (NumPy's BLAS on one thread, which numpy_rnn sees: Conv1D then copies its windows in
  L2-sized chunks) and ``--threads 1`` (TensorFlow's intra / inter-op pools of one thread);
* ``default``: each library as it starts (NumPy's BLAS and TensorFlow on every core).

On a shared machine the wall ratio moves with the neighbours; with one thread on each side the
CPU-time ratio is the steadier figure (a process's CPU time hardly grows when it waits for a
core).  Sizes are the issue's text classifier: Conv1D(128, 5, relu) on (64, 200, 128);
self-attention with 4 heads of 32 over 128 tokens, batch 64, width 128; float32.

    python benchmarks/bench_conv_attention.py
    python benchmarks/bench_conv_attention.py --rounds 5 --repeats 15 --settings 1
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHES = {"Conv1D": "bench_conv.py", "MultiHeadAttention": "bench_attention.py"}
ONE_THREAD = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_one(layer: str, setting: str, repeats: int) -> tuple[dict, float]:
    """``(ratios, 1-minute load average before the run)`` of one fresh benchmark process."""
    env = dict(os.environ)
    args = [sys.executable, os.path.join(HERE, BENCHES[layer]), "--repeats", str(repeats)]
    if setting == "1":
        env.update(ONE_THREAD)
        args += ["--threads", "1"]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ratios.json")
        load = os.getloadavg()[0]
        subprocess.run(args + ["--json", out], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(out, encoding="utf-8") as f:
            return json.load(f)["ratios"], load


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="fresh processes per cell")
    p.add_argument("--repeats", type=int, default=10, help="timed calls per process")
    p.add_argument("--settings", default="1,default",
                   help="comma-separated thread settings: 1 and/or default")
    p.add_argument("--layers", default="Conv1D,MultiHeadAttention")
    args = p.parse_args(argv)
    settings = [s.strip() for s in args.settings.split(",")]
    layers = [s.strip() for s in args.layers.split(",")]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; python {platform.python_version()}")
    print(f"{args.rounds} rounds x {args.repeats} interleaved repeats; ratio = numpy_rnn / "
          "tf.function, median over the rounds of each round's ratio of medians")
    print(f"{'layer':20s} {'threads':8s} {'forward wall':>12s} {'forward CPU':>12s} "
          f"{'step wall':>10s} {'step CPU':>9s}   load average (1 min) per round")
    for layer in layers:
        for setting in settings:
            runs = [run_one(layer, setting, args.repeats) for _ in range(args.rounds)]
            cells = []
            for part in ("forward", "training step"):
                for clock in ("wall", "cpu"):
                    cells.append(statistics.median(r[part][clock] for r, _ in runs))
            loads = " ".join(f"{load:.1f}" for _, load in runs)
            print(f"{layer:20s} {setting:8s} {cells[0]:12.2f} {cells[1]:12.2f} "
                  f"{cells[2]:10.2f} {cells[3]:9.2f}   {loads}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
