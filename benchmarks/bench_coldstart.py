"""Deployment: time from process start to the first prediction, and that process's peak memory,
for a ported bundle loaded with numpy_rnn against the same model loaded with Keras.

The model is the next-word model of docs/porting.md (Embedding(mask_zero) -> LSTM -> Dense softmax
over the vocabulary of the shipped corpus), trained briefly in Keras, saved as .keras and ported
with `numpy-rnn port` into a temporary directory. Each measurement is a fresh Python process:

    numpy:  import numpy_rnn; numpy_rnn.load("m.npz") (verifies its test vectors); predict
    keras:  import keras; keras.saving.load_model("m.keras"); model(x)  (and model.predict(x))

    python benchmarks/bench_coldstart.py [--reps 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CHILD = r"""
import time, resource, sys, json
import numpy as np
x = np.array([[0, 0, 0, 5, 8, 13, 2, 21, 3, 34]], dtype=np.int32)
{body}
out = np.asarray(out)
t = time.time()
# VmHWM: this process's peak resident memory (ru_maxrss would include the parent's, across exec)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
mb = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"t_first": t, "argmax": int(out[0].argmax()), "maxrss_mb": mb}}))
"""

BODIES = {
    "numpy_rnn (load + verify + predict)":
        "import numpy_rnn\nm = numpy_rnn.load(sys.argv[1])\nout = m.predict(x)",
    "keras model(x)":
        "import keras\nm = keras.saving.load_model(sys.argv[1])\nout = m(x)",
    "keras model.predict(x)":
        "import keras\nm = keras.saving.load_model(sys.argv[1])\nout = m.predict(x, verbose=0)",
}


def build_model(workdir: str) -> tuple[str, str]:
    import keras
    import numpy_rnn
    from parity.cli import main as cli_main

    vocab = numpy_rnn.Vocabulary()
    windows = vocab.tokenize(numpy_rnn.datasets.load_corpus_lines(), 11)
    x, y = windows[:, :-1], windows[:, -1]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((10,), dtype="int32"),
        keras.layers.Embedding(vocab.size, 24, mask_zero=True),
        keras.layers.LSTM(48),
        keras.layers.Dense(vocab.size, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    kpath = os.path.join(workdir, "next_word.keras")
    npath = os.path.join(workdir, "next_word.npz")
    tpath = os.path.join(workdir, "tokenizer.json")
    model.save(kpath)
    with open(tpath, "w", encoding="utf-8") as fh:
        fh.write(vocab.to_json())
    rc = cli_main(["port", kpath, "-o", npath, "--vocabulary", tpath])
    if rc != 0:
        raise SystemExit(f"numpy-rnn port failed with exit code {rc}")
    return kpath, npath


def measure(body: str, path: str) -> dict:
    code = CHILD.format(body=body)
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["seconds"] = res["t_first"] - t0
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--build", metavar="DIR", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.build:
        build_model(args.build)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        # Build in a child process so this one stays small (and never imports TensorFlow).
        subprocess.run([sys.executable, __file__, "--build", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        kpath = os.path.join(tmp, "next_word.keras")
        npath = os.path.join(tmp, "next_word.npz")
        print(f"bundle {os.path.getsize(npath)/1e3:.0f} kB, .keras {os.path.getsize(kpath)/1e3:.0f} kB; "
              f"{args.reps} fresh processes each, medians")
        results = {}
        for name, body in BODIES.items():
            path = npath if name.startswith("numpy") else kpath
            runs = [measure(body, path) for _ in range(args.reps)]
            results[name] = runs
        base = statistics.median(r["seconds"] for r in results["numpy_rnn (load + verify + predict)"])
        base_mem = statistics.median(r["maxrss_mb"] for r in results["numpy_rnn (load + verify + predict)"])
        print(f"{'':<38}{'start->first prediction':>24}{'peak RSS':>12}{'time ratio':>12}{'mem ratio':>11}")
        argmaxes = set()
        for name, runs in results.items():
            s = statistics.median(r["seconds"] for r in runs)
            m = statistics.median(r["maxrss_mb"] for r in runs)
            argmaxes |= {r["argmax"] for r in runs}
            print(f"{name:<38}{s:>22.3f} s{m:>9.0f} MB{s/base:>11.1f}x{m/base_mem:>10.1f}x")
        print("same top prediction in every process:", len(argmaxes) == 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
