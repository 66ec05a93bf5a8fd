"""Issue 21: TensorFlow's start-up lines stay off the terminal, on any CPU.

The pattern list (``parity.bridge._tf.TF_NOISE_PATTERNS``) is proven on literal lines that
TensorFlow prints on CPUs this machine is not (the AVX-512 oneDNN notice, cuda, TensorRT); the
filter and the import hook are proven with a stand-in ``tensorflow`` package that writes such lines
to file descriptor 2 while it is imported, so no TensorFlow is needed here.  The end-to-end tests
with the real TensorFlow are in tests/parity/test_cli_gate.py.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from parity.bridge._tf import TF_NOISE_PATTERNS, is_tensorflow_noise

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Lines TensorFlow 2.16 to 2.21 print at start-up or at a first op, copied from real terminals.
NOISE = [
    # AVX-512 Xeon (issue 21), at a first op; absl's format and TensorFlow's older own
    "E0000 00:00:1754041945.403654    4242 util.cc:131] oneDNN supports DT_BOOL only on "
    "platforms with AVX-512. Falling back to the default Eigen-based implementation if present.",
    "2025-08-01 13:52:25.403654: E tensorflow/core/util/util.cc:131] oneDNN supports DT_BOOL only "
    "on platforms with AVX-512. Falling back to the default Eigen-based implementation if present.",
    "2025-03-11 22:30:58.742701: E tensorflow/core/util/util.cc:131] oneDNN supports DT_HALF only "
    "on platforms with AVX-512. Falling back to the default Eigen-based implementation if present.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796635104.662040   11079 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "2024-05-02 10:11:12.123456: I tensorflow/core/util/port.cc:113] oneDNN custom operations are "
    "on. You may see slightly different numerical results due to floating-point round-off errors "
    "from different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796635104.662487   11079 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used.",
    "E0000 00:00:1796635107.350690   11079 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "2025-01-08 14:55:54.925839: E external/local_xla/xla/stream_executor/cuda/cuda_driver.cc:152] "
    "failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "E0000 00:00:1733412263.123456   12345 cuda_dnn.cc:8310] Unable to register cuDNN factory: "
    "Attempting to register factory for plugin cuDNN when one has already been registered",
    "2024-03-09 19:35:07.911000: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:607] "
    "Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one "
    "has already been registered",
    "E0000 00:00:1733412263.130000   12345 cuda_blas.cc:1418] Unable to register cuBLAS factory: "
    "Attempting to register factory for plugin cuBLAS when one has already been registered",
    "W0000 00:00:1733412263.140000   12345 computation_placer.cc:177] computation placer already "
    "registered. Please check linkage and avoid linking the same target more than once.",
    "2024-03-09 19:35:09.120000: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT "
    "Warning: Could not find TensorRT",
    "I0000 00:00:1733412263.150000   12345 cpu_feature_guard.cc:210] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "2024-03-09 19:35:08.001000: I tensorflow/core/platform/cpu_feature_guard.cc:210] This "
    "TensorFlow binary is optimized to use available CPU instructions in performance-critical "
    "operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other "
    "operations, rebuild TensorFlow with the appropriate compiler flags.",
    "W0000 00:00:1733412263.160000   12345 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
    "I0000 00:00:1733412263.170000   12345 gpu_device.cc:2022] Created device "
    "/job:localhost/replica:0/task:0/device:GPU:0 with 13942 MB memory",
]

#: Lines that are not noise and must reach the terminal.
REAL = [
    "numpy-rnn parity: error: --only 'x': no case matches",
    "Traceback (most recent call last):",
    "ValueError: `units` must be a positive integer. Received: units=0",
    "/x/test_a.py:3: UserWarning: the weights are float16",
    "E0000 00:00:1796635107.350690   11079 some_kernel.cc:52] Out of memory while allocating",
    "To enable them, pass --all",
    "a line mentioning oneDNN and cuda in passing",
]


@pytest.mark.parametrize("line", NOISE, ids=range(len(NOISE)))
def test_every_known_startup_line_is_noise(line):
    assert is_tensorflow_noise(line), line
    assert is_tensorflow_noise(line + "\n")


@pytest.mark.parametrize("line", REAL)
def test_other_lines_are_not_noise(line):
    assert not is_tensorflow_noise(line)


def test_every_pattern_matches_a_sample():
    """No pattern is there without a line that shows what it is for."""
    import re

    assert all(any(re.search(p, line) for line in NOISE) for p in TF_NOISE_PATTERNS), \
        [p for p in TF_NOISE_PATTERNS if not any(re.search(p, line) for line in NOISE)]


# -- the filter and the import hook, with a stand-in TensorFlow ---------------------------------
def _fake_tensorflow(root: pathlib.Path) -> pathlib.Path:
    """A ``tensorflow`` package that writes every NOISE line and one real line to fd 2 (from "C",
    os.write) and one to sys.stderr while it is imported, as TensorFlow's C++ side does."""
    pkg = root / "fake" / "tensorflow"
    pkg.mkdir(parents=True)
    lines = "".join(f"{line}\n" for line in NOISE + ["a real C++ line"])
    (pkg / "__init__.py").write_text(textwrap.dedent(f"""
        import os, sys
        os.write(2, {lines.encode()!r})
        print("a real Python line", file=sys.stderr)
        class config:
            @staticmethod
            def list_physical_devices():
                os.write(2, {(NOISE[7] + chr(10)).encode()!r})
                return []
        """), encoding="utf-8")
    (root / "fake" / "fakekeras.py").write_text("import tensorflow\n", encoding="utf-8")
    return root / "fake"


def _run(args, tmp_path, **kw):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(_fake_tensorflow(tmp_path)), str(ROOT)])
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, **kw)


def _noise_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if is_tensorflow_noise(line)]


def test_the_stand_in_is_noisy_unquieted(tmp_path):
    proc = _run(["-c", "import tensorflow"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(_noise_in(proc.stderr)) == len(NOISE)


QUIETED_IMPORTS = {
    "hook": "_tf.quiet_tensorflow_logs()\nimport tensorflow",
    "import_tensorflow_quietly": "_tf.import_tensorflow_quietly()",
    "from another module": "_tf.quiet_tensorflow_logs()\nimport fakekeras",
    "numpy-rnn": ("import contextlib, io\nfrom parity.cli import main\n"
                  "with contextlib.redirect_stderr(io.StringIO()):\n"  # without TensorFlow
                  "    assert main(['check', 'no-such-bundle.npz']) == 2\n"
                  "import tensorflow"),
}


@pytest.mark.parametrize("how", sorted(QUIETED_IMPORTS))
def test_a_quieted_import_keeps_only_the_real_lines(tmp_path, how):
    """After quiet_tensorflow_logs (numpy-rnn calls it for every command), however TensorFlow is
    imported first (directly, through import_tensorflow_quietly, from inside another module as
    Keras does), its start-up lines are dropped and the other lines reach stderr, in order; the
    level is 3."""
    code = (f"import os\nfrom parity.bridge import _tf\n{QUIETED_IMPORTS[how]}\n"
            f"import tensorflow\nassert tensorflow.__file__.startswith({str(tmp_path)!r})\n"
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])\n")
    proc = _run(["-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3"
    assert not _noise_in(proc.stderr), proc.stderr
    assert proc.stderr.splitlines() == ["a real C++ line", "a real Python line"], proc.stderr


def test_a_log_level_the_user_set_is_kept(tmp_path):
    env_code = ("import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '1'\nfrom parity.bridge import _tf"
                "\n_tf.quiet_tensorflow_logs()\nprint(os.environ['TF_CPP_MIN_LOG_LEVEL'])\n")
    assert _run(["-c", env_code], tmp_path).stdout.strip() == "1"


def test_the_pytest_plugin_quiets_an_import_in_a_conftest(tmp_path):
    """The plugin quiets before the first conftest.py: one that imports TensorFlow, with pytest's
    output uncaptured (-s), prints none of its start-up lines."""
    (tmp_path / "conftest.py").write_text("import tensorflow\n", encoding="utf-8")
    (tmp_path / "test_it.py").write_text("import os\n\ndef test_level():\n"
                                         "    assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '3'\n",
                                         encoding="utf-8")
    proc = _run(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_it.py"],
                tmp_path)  # the plugin comes in by its pytest11 entry point
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not _noise_in(proc.stdout + proc.stderr), proc.stderr
    assert "a real C++ line" in proc.stderr
