"""Hostile bundles and .keras files: small files that claim huge layers or lie about their sizes
are refused with the reader's own error before anything big is allocated.

Every load of a hostile file runs in a child process (NumPy / h5py only) under
``RLIMIT_AS`` of 3 GiB, and reports its peak resident memory (``VmHWM``): a regression fails the
test (MemoryError, a foreign exception, or a peak far above the file's real size) instead of
eating the machine.  ``python tests/unit/test_hostile_files.py [PYTHONPATH]`` prints the table
(used to measure the code before the fix).
"""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import numpy_rnn  # noqa: E402
from numpy_rnn import LSTM, Dense, Embedding, Sequential  # noqa: E402
from numpy_rnn.formats import bundle_format, bundle_write  # noqa: E402

LIMIT_BYTES = 3 << 30
#: Peak resident memory a refused hostile load may reach (imports of numpy + h5py ~ 60 MB).
PEAK_LIMIT_MB = 150

CHILD = textwrap.dedent("""
    import json, os, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import numpy_rnn
    kind, path = sys.argv[1], sys.argv[2]
    result = {{}}
    try:
        if kind == "bundle":
            numpy_rnn.read_bundle(path)
        else:
            numpy_rnn.load_keras_model(path)
        result["error"] = None
    except BaseException as exc:
        result["error"] = type(exc).__name__
        result["mro"] = [c.__name__ for c in type(exc).__mro__]
        result["message"] = str(exc)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            result["peak_mb"] = int(line.split()[1]) / 1024
    print("RESULT " + json.dumps(result))
""").format(limit=LIMIT_BYTES)


def run_child(kind: str, path, pythonpath: str = ROOT) -> dict:
    env = {**os.environ, "PYTHONPATH": pythonpath, "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True,
                          text=True, timeout=120, env=env, cwd=pythonpath)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        return {"error": f"child died rc={proc.returncode}", "message": proc.stderr[-2000:],
                "mro": [], "peak_mb": float("nan")}
    return json.loads(lines[-1][len("RESULT "):])


# -- hostile bundles ----------------------------------------------------------------------------
def _small_model():
    return Sequential([Embedding(12, 4, seed=0, name="emb"), LSTM(5, seed=1, name="lstm"),
                       Dense(3, seed=2, name="out")], name="m", input_shape=(6,),
                      input_dtype="int32")


def _bundle_parts(tmp_path):
    path = tmp_path / "base.npz"
    numpy_rnn.save(_small_model(), path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    config = json.loads(arrays.pop("config").tobytes().decode())
    arrays.pop("sha256")
    return config, arrays


def _rewrite_bundle(tmp_path, name, mutate):
    config, arrays = _bundle_parts(tmp_path)
    mutate(config)
    path = tmp_path / name
    bundle_write.write_bundle(path, config, arrays)  # a valid digest: only the claim is hostile
    return path


def bundle_embedding_1e8(tmp_path):
    return _rewrite_bundle(tmp_path, "emb.npz", lambda c: c["model"]["layers"][0]["config"]
                           .update(input_dim=100_000_000))


def bundle_dense_1e8(tmp_path):
    def mutate(c):
        c["model"]["layers"][2]["config"].update(units=100_000_000, features=5)
    return _rewrite_bundle(tmp_path, "dense.npz", mutate)


def bundle_lstm_20000(tmp_path):
    def mutate(c):
        c["model"]["layers"][1]["config"].update(units=20000, features=4)
    return _rewrite_bundle(tmp_path, "lstm.npz", mutate)


def _patch_sizes(path, member, file_size=None, compress_size=None):
    """Rewrite ``member``'s sizes in its local header and the central directory."""
    data = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    local = info.header_offset
    assert data[local:local + 4] == b"PK\x03\x04"
    pos = central = 0  # the member's central directory entry
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        name_len = struct.unpack("<H", data[pos + 28:pos + 30])[0]
        if data[pos + 46:pos + 46 + name_len].decode() == member:
            central = pos
            break
        pos += 4
    for base, off in ((local, 18), (central, 20)):  # compress_size, then file_size
        if compress_size is not None:
            data[base + off:base + off + 4] = struct.pack("<I", compress_size)
        if file_size is not None:
            data[base + off + 4:base + off + 8] = struct.pack("<I", file_size)
    open(path, "wb").write(bytes(data))
    return path


def bundle_member_claims_3gb(tmp_path):
    """test_outputs' .npy header and zip entry claim 3e9 bytes; the file holds a few kB."""
    config, arrays = _bundle_parts(tmp_path)
    path = tmp_path / "claim.npz"
    bundle_write.write_bundle(path, config, arrays)
    n = 3_000_000_000
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (n,)})
    members["test_outputs.npy"] = header.getvalue() + b"\0" * 64
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    total = len(header.getvalue()) + n
    return _patch_sizes(path, "test_outputs.npy", file_size=total, compress_size=total)


def bundle_deep_config(tmp_path):
    path = tmp_path / "deep.npz"
    deep = ("[" * 200_000 + "]" * 200_000).encode()
    arrays = {"config": np.frombuffer(deep, np.uint8)}
    arrays["sha256"] = np.frombuffer(bundle_format.bundle_digest(arrays), np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


BUNDLES = {
    "bundle: Embedding input_dim=1e8": (bundle_embedding_1e8, r"layer 'emb' \(Embedding\).*"
                                        r"`emb/embeddings` has shape \(12, 4\).*\(100000000, 4\)"),
    "bundle: Dense units=1e8": (bundle_dense_1e8, r"layer 'out' \(Dense\).*`out/kernel` has "
                                r"shape \(5, 3\).*needs \(5, 100000000\)"),
    "bundle: LSTM units=20000": (bundle_lstm_20000, r"layer 'lstm' \(LSTM\).*`lstm/kernel` has "
                                 r"shape \(4, 20\).*needs \(4, 80000\)"),
    "bundle: npz member claims 3 GB": (bundle_member_claims_3gb, "beyond the end of the"),
    "bundle: config nested 200000 deep": (bundle_deep_config, "nests too deeply"),
}


@pytest.mark.parametrize("case", sorted(BUNDLES))
def test_hostile_bundle_is_refused_before_allocating(tmp_path, case):
    make, pattern = BUNDLES[case]
    path = make(tmp_path)
    assert os.path.getsize(path) < 1 << 20  # at most a few hundred kB claiming gigabytes
    result = run_child("bundle", path)
    assert "BundleError" in result["mro"], result
    assert "MemoryError" not in result["message"], result
    assert "ValueError" in result["mro"] and "\n" not in result["message"].strip(), result
    import re
    assert re.search(pattern, result["message"]), result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB, result


# -- hostile .keras files -----------------------------------------------------------------------
def _helpers():
    """The hand-built archive helpers of test_keras_file_unit (they need h5py)."""
    from tests.unit import test_keras_file_unit as k
    return k


def keras_embedding_1e8(tmp_path):
    k = _helpers()
    embedding, input_layer, sequential, write_archive = (k.embedding, k.input_layer,
                                                         k.sequential, k.write_archive)
    config = sequential([input_layer([6]), embedding("embedding", 100_000_000, 4)])
    return write_archive(tmp_path / "emb.keras", config,
                         {"layers/embedding": [np.zeros((10, 4), np.float32)]})


def keras_dense_1e8(tmp_path):
    k = _helpers()
    dense, input_layer, sequential, write_archive = (k.dense, k.input_layer, k.sequential,
                                                     k.write_archive)
    config = sequential([input_layer([3], "float32"), dense("dense", 100_000_000)])
    return write_archive(tmp_path / "dense.keras", config, {
        "layers/dense": [np.zeros((3, 5), np.float32), np.zeros(5, np.float32)]})


def keras_lstm_20000(tmp_path):
    k = _helpers()
    lstm, input_layer, sequential, write_archive = (k.lstm, k.input_layer, k.sequential,
                                                    k.write_archive)
    config = sequential([input_layer([6, 3], "float32"), lstm("lstm", 20000)])
    return write_archive(tmp_path / "lstm.keras", config, {
        "layers/lstm/cell": [np.zeros((3, 16), np.float32), np.zeros((4, 16), np.float32),
                             np.zeros(16, np.float32)]})


def keras_unallocated_dataset(tmp_path):
    """A dataset whose shape agrees with the config (2e7 x 50, 4 GB) but whose chunks were never
    written: the h5 file is a few kB."""
    import h5py
    k = _helpers()
    embedding, input_layer, sequential = k.embedding, k.input_layer, k.sequential
    config = sequential([input_layer([6]), embedding("embedding", 20_000_000, 50)])
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        g = f.create_group("layers/embedding/vars")
        g.attrs["name"] = "embedding"
        g.create_dataset("0", shape=(20_000_000, 50), dtype="f4", chunks=(1000, 50))
    path = tmp_path / "sparse.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", buf.getvalue())
    return path


def keras_member_lies_about_size(tmp_path):
    """config.json declares 100 bytes in the zip directory and inflates to 300 MB."""
    path = tmp_path / "lie.keras"
    body = b'{"class_name": "Sequential", "config": {"layers": []}}' + b" " * (300 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = comp.compress(body) + comp.flush()
    # the archive by hand: local headers, data, a central directory with a lying file_size
    crc = zlib.crc32(body)
    meta = b"{}"
    out = io.BytesIO()
    entries = []
    for name, raw, data, method in (("metadata.json", meta, meta, 0),
                                    ("config.json", body, deflated, 8)):
        offset = out.tell()
        c = zlib.crc32(raw) if name != "config.json" else crc
        size = len(raw) if name != "config.json" else 100
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0, c,
                              len(data), size, len(name), 0) + name.encode() + data)
        entries.append((name, c, len(data), size, method, offset))
    cd_start = out.tell()
    for name, c, csize, size, method, offset in entries:
        out.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0,
                              c, csize, size, len(name), 0, 0, 0, 0, 0, offset)
                  + name.encode())
    cd_size = out.tell() - cd_start
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                          cd_size, cd_start, 0))
    path.write_bytes(out.getvalue())
    return path


def keras_deep_config(tmp_path):
    path = tmp_path / "deep.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", "{}")
        zf.writestr("config.json", '{"a": ' * 200_000 + "1" + "}" * 200_000)
    return path


def keras_dir_with_dev_zero(tmp_path):
    """An unzipped .keras directory whose config.json is a link to /dev/zero."""
    path = tmp_path / "dir.keras"
    path.mkdir()
    (path / "config.json").symlink_to("/dev/zero")
    return path


KERAS = {
    "keras: Embedding input_dim=1e8": (keras_embedding_1e8, r"layer 'embedding' \(Embedding\): "
                                       r"weight `embeddings` \(layers/embedding/vars/0\) has shape"
                                       r" \(10, 4\) in the file but the config needs "
                                       r"\(100000000, 4\)"),
    "keras: Dense units=1e8": (keras_dense_1e8, r"weight `kernel` .* has shape \(3, 5\) in the "
                               r"file but the config needs \(3, 100000000\)"),
    "keras: LSTM units=20000": (keras_lstm_20000, r"weight `recurrent_kernel` .*has shape "
                                r"\(4, 16\) in the file but the config needs \(20000, 80000\)"),
    "keras: unwritten 4 GB dataset": (keras_unallocated_dataset, "decompression bomb"),
    "keras: member inflates past its size": (keras_member_lies_about_size, "config.json"),
    "keras: config nested 200000 deep": (keras_deep_config, "nests too deeply"),
    "keras: config.json -> /dev/zero": (keras_dir_with_dev_zero, "not a regular file"),
}


@pytest.mark.parametrize("case", sorted(KERAS))
def test_hostile_keras_file_is_refused_before_allocating(tmp_path, case):
    pytest.importorskip("h5py")
    make, pattern = KERAS[case]
    path = make(tmp_path)
    result = run_child("keras", path)
    assert "KerasFileError" in result["mro"], result
    assert "MemoryError" not in result["message"], result
    assert "ValueError" in result["mro"], result
    import re
    assert re.search(pattern, result["message"]), result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB, result


if __name__ == "__main__":  # the before/after table
    import tempfile
    from pathlib import Path
    pythonpath = sys.argv[1] if len(sys.argv) > 1 else ROOT
    for table, kind in ((BUNDLES, "bundle"), (KERAS, "keras")):
        for case in sorted(table):
            with tempfile.TemporaryDirectory() as tmp:
                path = table[case][0](Path(tmp))
                size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path)
                           for f in fs) if os.path.isdir(path) else os.path.getsize(path)
                r = run_child(kind, path, pythonpath)
                msg = (r.get("message") or "").strip().splitlines()
                print(f"{case:40s} {size:>9d} B  peak {r['peak_mb']:8.1f} MB  {r['error']}: "
                      f"{(msg[0] if msg else '')[:110]}")
