"""The CI regression gate behind ``numpy-rnn parity``.

What the command line needs beyond the fixed grid of ``parity.cases``: the reference library
(``keras`` = Keras 3, the default, or ``tf_keras`` = Keras 2), random LSTM sweeps that are
reproducible from a seed, one ``Outcome`` per case, the versions in play, and the documented,
versioned JSON report with a schema and a small validator (no ``jsonschema`` dependency).

Nothing here imports TensorFlow at import time.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
import importlib.metadata
import os
import platform
import re
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .cases import Case, gate_weights
from .compare import ParityReport, json_safe

#: The libraries ``--reference`` can compare against: name -> the extra that installs it.
REFERENCES: dict[str, str] = {"keras": "keras", "tf_keras": "legacy"}
#: Case statuses, as written in the table, the JSON report and the JUnit file.
STATUSES = ("pass", "FAIL", "ERROR", "skip", "REGRESSED")
#: Statuses that make the gate exit 1.
FAILING = ("FAIL", "ERROR", "REGRESSED")
REPORT_SCHEMA_ID = "numpy-rnn-parity-report/1"


def install_hint(extra: str) -> str:
    """How to install numpy-rnn's ``extra``, from an index and from a source checkout."""
    return f"pip install 'numpy-rnn[{extra}]' (from a checkout: pip install -e '.[{extra}]')"


class GateError(Exception):
    """A usage or environment error: the command line prints the message and exits 2."""


# -- versions ---------------------------------------------------------------------------------
_DISTS = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tf-nightly", "tensorflow-macos"),
          "keras": ("keras",), "tf_keras": ("tf-keras", "tf_keras")}


def versions() -> dict[str, str | None]:
    """Python, NumPy, numpy-rnn, TensorFlow, Keras and tf_keras versions (None: not installed).

    A module already imported reports its ``__version__``; otherwise the installed distribution's
    metadata is read, so this never imports TensorFlow.
    """
    import numpy_rnn

    out: dict[str, str | None] = {"python": platform.python_version(), "numpy": np.__version__,
                                  "numpy_rnn": getattr(numpy_rnn, "__version__", None)}
    for mod, dists in _DISTS.items():
        version = getattr(sys.modules.get(mod), "__version__", None)
        for dist in dists if version is None else ():
            try:
                version = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        out[mod] = version
    return out


# -- TensorFlow's start-up noise ---------------------------------------------------------------
#: Lines TensorFlow's C++ side writes straight to file descriptor 2 while it is imported and
#: while it first looks for devices (measured with TensorFlow 2.21 on CPU):
#: ``TF_CPP_MIN_LOG_LEVEL=2`` drops the oneDNN and CPU-feature notices but not absl's pre-init
#: lines (``cudart_stub``, ``cuInit``), which ignore it, so those are filtered out here.
TF_STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|cudart_stub\.cc|cuda_platform\.cc|cuInit|"
    r"cpu_feature_guard\.cc|oneDNN custom operations are on|TF_ENABLE_ONEDNN_OPTS|"
    r"To enable the following instructions:|Unable to register cu(DNN|FFT|BLAS) factory|"
    r"computation_placer\.cc|Could not find cuda drivers")


def quiet_tensorflow_logs() -> None:
    """Set ``TF_CPP_MIN_LOG_LEVEL=2`` (INFO and WARNING off) unless the user set it; it only
    acts when set before TensorFlow is imported.  It changes no result (it is a log level)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow_quietly() -> Any:
    """``import tensorflow`` (and its first device look-up) without its start-up log lines.

    File descriptor 2 goes to a temporary file for the duration; afterwards every line that is
    not known start-up noise (``TF_STARTUP_NOISE``) is written to stderr, so a real message is
    kept.  ImportError propagates as usual.
    """
    quiet_tensorflow_logs()
    if sys.modules.get("tensorflow") is not None:
        return sys.modules["tensorflow"]
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2: import plainly
        import tensorflow

        return tensorflow
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices()  # where cuInit reports
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [line for line in tmp.read().decode("utf-8", "replace").splitlines(True)
                    if not TF_STARTUP_NOISE.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
    return tensorflow


# -- the reference library --------------------------------------------------------------------
def check_reference(name: str) -> Any:
    """Import and return the reference library ``name`` ("keras" or "tf_keras").

    Raises:
        GateError: ``name`` is not a known reference, or it is not installed.
    """
    if name not in REFERENCES:
        raise GateError(f"--reference: expected one of {sorted(REFERENCES)}, received {name!r}")
    try:
        module = importlib.import_module(name)
        if name == "keras" and not str(getattr(module, "__version__", "3")).startswith("3"):
            raise GateError(f"--reference keras: expected Keras 3, received keras "
                            f"{module.__version__}; install it with "
                            f"{install_hint(REFERENCES[name])}")
    except ImportError as exc:
        raise GateError(f"--reference {name}: {name} is not installed ({exc}); install it with "
                        f"{install_hint(REFERENCES[name])}") from None
    return module


@dataclasses.dataclass
class GateCase(Case):
    """A case the gate adds to the fixed grid; ``params`` says how to rebuild it."""

    params: dict | None = None


# -- random LSTM sweeps ------------------------------------------------------------------------
#: Activations whose meaning is the same in Keras 3, tf_keras and numpy_rnn.
RANDOM_ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear", "softsign", "elu", "selu", "softplus",
                      "swish")
#: Bounded gate activations (a linear/relu gate makes the cell state grow without bound).
#: ``hard_sigmoid`` is Keras 3's ``clip(x/6 + 0.5)``, which numpy_rnn follows; tf_keras's is
#: Keras 2's ``clip(0.2x + 0.5)``, so it is only drawn against Keras 3.
RANDOM_GATE_ACTIVATIONS = {"keras": ("sigmoid", "hard_sigmoid", "tanh", "softsign"),
                           "tf_keras": ("sigmoid", "tanh", "softsign")}
#: Activations that keep h bounded.  With any other, h feeds back unbounded, and with gates
#: that can be negative (tanh, softsign) the recurrence amplifies rounding chaotically: two
#: correct float32 implementations then differ from a float64 reference by 1e-3 after 8 steps
#: (measured on linear/tanh and selu/tanh draws).  So an unbounded activation is drawn with
#: sigmoid-type gates only, inputs scaled at most 1, and at most ``UNBOUNDED_MAX_TIMESTEPS``.
BOUNDED_ACTIVATIONS = ("tanh", "sigmoid", "softsign")
POSITIVE_GATES = ("sigmoid", "hard_sigmoid")
UNBOUNDED_MAX_TIMESTEPS = 8
RANDOM_MASKS = ("none", "none", "right", "left", "holes", "some_fully_masked", "random")
#: Bounds of the random shapes: batch, timesteps, features, units (inclusive).
RANDOM_BOUNDS = {"batch": (1, 8), "timesteps": (1, 32), "features": (1, 16), "units": (1, 16)}


@dataclasses.dataclass(frozen=True)
class RandomLSTMSpec:
    """Everything that defines random example ``index`` of a sweep with seed ``seed``."""

    index: int
    case_seed: int
    shape: tuple  # parity.strategies.Shape(batch, timesteps, features, units)
    config: dict
    mask_kind: str
    initial_state: bool
    input_scale: float

    def params(self) -> dict:
        return {"index": self.index, "case_seed": self.case_seed,
                "shape": dict(zip(("batch", "timesteps", "features", "units"), self.shape)),
                "config": dict(self.config), "mask": self.mask_kind,
                "initial_state": self.initial_state, "input_scale": self.input_scale}


def draw_random_lstm(seed: int, index: int, reference: str = "keras") -> RandomLSTMSpec:
    """Draw example ``index`` of the sweep ``seed``: the same pair always gives the same case,
    and adding examples never changes the earlier ones."""
    rng = np.random.default_rng([int(seed), int(index), 0x9A7E])  # seed, index >= 0

    def bounded(key: str) -> int:
        lo, hi = RANDOM_BOUNDS[key]
        return int(rng.integers(lo, hi + 1))

    shape = (bounded("batch"), bounded("timesteps"), bounded("features"), bounded("units"))
    config = {
        "return_sequences": bool(rng.random() < 0.7),
        "return_state": bool(rng.random() < 0.5),
        "go_backwards": bool(rng.random() < 0.3),
        "use_bias": bool(rng.random() < 0.8),
        "unit_forget_bias": bool(rng.random() < 0.8),
        "activation": str(rng.choice(RANDOM_ACTIVATIONS)),
        "recurrent_activation": str(rng.choice(RANDOM_GATE_ACTIVATIONS[reference])),
        "dtype": str(rng.choice(["float32", "float32", "float64"])),
    }
    case_seed = int(rng.integers(0, 2**32 - 1))
    mask_kind = str(rng.choice(RANDOM_MASKS))
    initial_state = bool(rng.random() < 0.3)
    input_scale = float(rng.choice([0.1, 1.0, 3.0]))
    if config["activation"] not in BOUNDED_ACTIVATIONS:
        shape = (shape[0], min(shape[1], UNBOUNDED_MAX_TIMESTEPS), shape[2], shape[3])
        gates = [g for g in RANDOM_GATE_ACTIVATIONS[reference] if g in POSITIVE_GATES]
        if config["recurrent_activation"] not in gates:
            config["recurrent_activation"] = gates[index % len(gates)]
        input_scale = min(input_scale, 1.0)
    return RandomLSTMSpec(index=index, case_seed=case_seed, shape=shape, config=config,
                          mask_kind=mask_kind, initial_state=initial_state,
                          input_scale=input_scale)


def run_random_lstm(spec: RandomLSTMSpec, reference: str, name: str) -> ParityReport:
    """Build the reference LSTM for ``spec``, copy its weights with ``from_keras``, compare."""
    from .bridge import from_keras
    from .compare import compare
    from .strategies import Shape, call_kwargs, make_lstm_case

    ref = check_reference(reference)
    case = make_lstm_case(spec.case_seed, Shape(*spec.shape), spec.config,
                          mask_kind=spec.mask_kind, initial_state=spec.initial_state,
                          input_scale=spec.input_scale)
    config = dict(case.config)
    units = config.pop("units")
    layer = ref.layers.LSTM(units, **config)
    layer.build((None, None, spec.shape[2]))
    layer.set_weights(case.weights)
    return compare(from_keras(layer), layer, case.inputs, case=name, **call_kwargs(case))


def random_cases(seed: int, n: int, reference: str = "keras") -> list[GateCase]:
    """``n`` random LSTM cases (group ``random``) drawn from ``seed``, compared with ``reference``."""
    out = []
    for i in range(n):
        spec = draw_random_lstm(seed, i, reference)
        name = f"random/lstm-{i:03d} [{reference}]"
        out.append(GateCase(name, lambda s=spec, nm=name: run_random_lstm(s, reference, nm),
                            group="random", params=spec.params()))
    return out


# -- the option grid on tf_keras ----------------------------------------------------------------
def _reference_grid_case(option: str, seed: int, reference: str, name: str) -> ParityReport:
    """``parity.cases_core``'s LSTM option at the original example's shapes, built with ``reference``."""
    from .bridge import from_keras
    from .cases_core import LSTM_GRID, LSTM_SHAPE
    from .compare import compare
    from .strategies import make_mask

    kwargs, extras = LSTM_GRID[option]
    if reference == "tf_keras" and "hard_sigmoid" in kwargs.values():
        return ParityReport(name, [], skipped="tf_keras's hard_sigmoid is Keras 2's "
                                              "clip(0.2x + 0.5); numpy_rnn follows Keras 3")
    ref = check_reference(reference)
    batch, timesteps, features, units = LSTM_SHAPE
    rng = np.random.default_rng(seed)
    dtype = kwargs.get("dtype", "float32")
    x = rng.normal(size=(batch, timesteps, features)).astype(dtype)
    call: dict[str, Any] = {}
    if extras.get("initial_state"):
        call["initial_state"] = [rng.normal(size=(batch, units)).astype(dtype) * 0.5
                                 for _ in range(2)]
    if "mask" in extras:
        call["mask"] = make_mask(extras["mask"], batch, timesteps, rng)
    layer = ref.layers.LSTM(units, **kwargs)
    layer.build((None, None, features))
    layer.set_weights(gate_weights([tuple(w.shape) for w in layer.weights], 4, rng, dtype))
    return compare(from_keras(layer), layer, x, case=name, **call)


def _reference_embedding_case(seed: int, reference: str, name: str) -> ParityReport:
    """The original example's Embedding (corpus windows, 50 dims) built with ``reference``."""
    import numpy_rnn

    from .bridge import from_keras
    from .compare import compare

    ref = check_reference(reference)
    vocab = numpy_rnn.Vocabulary()
    windows = vocab.tokenize(numpy_rnn.datasets.load_corpus_lines(), 26)
    layer = ref.layers.Embedding(vocab.size, 50)
    layer.build((None, None))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=(vocab.size, 50)).astype("float32")])
    return compare(from_keras(layer), layer, windows[:, :-1], case=name)


def reference_cases(seed: int, reference: str) -> list[GateCase]:
    """Cases rebuilt on ``reference`` when it is not the fixed grid's Keras 3 (else none)."""
    if reference == "keras":
        return []
    from .cases_core import LSTM_GRID

    out = [GateCase(f"{reference}/embedding",
                    lambda: _reference_embedding_case(seed, reference, f"{reference}/embedding"),
                    group=reference, params={"reference": reference})]
    for option in LSTM_GRID:
        name = f"{reference}/lstm {option}"
        out.append(GateCase(name, lambda o=option, n=name: _reference_grid_case(o, seed,
                                                                                  reference, n),
                            group=reference, params={"reference": reference, "option": option}))
    return out


# -- selecting and running ---------------------------------------------------------------------
def matches(name: str, only: str | None) -> bool:
    """Whether ``name`` matches one of the comma-separated glob / substring patterns of
    ``--only`` (everything matches when ``only`` is empty)."""
    import fnmatch

    patterns = [p.strip() for p in (only or "").split(",") if p.strip()]
    return not patterns or any(fnmatch.fnmatch(name, p) or p in name for p in patterns)


def select(cases: Sequence[Case], only: str | None) -> list[Case]:
    """The cases whose name matches ``--only`` (see :func:`matches`)."""
    return [c for c in cases if matches(c.name, only)]


@dataclasses.dataclass
class Outcome:
    """What happened to one case: the status the gate acts on, and the measurements."""

    case: str
    group: str
    status: str
    seconds: float
    report: ParityReport | None = None
    error: str | None = None
    skipped: str | None = None
    traceback: str | None = None
    params: dict | None = None
    #: Filled by ``baseline.compare_to_baseline``: how the errors moved since the baseline.
    baseline: dict | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def text(self) -> str:
        """The human-readable report (for a failure message, a JUnit body, a log)."""
        parts = []
        if self.report is not None and self.report.outputs:
            parts.append(str(self.report))
        if self.error:
            parts.append(f"error: {self.error}")
        if self.traceback:
            parts.append(self.traceback.rstrip())
        if self.skipped:
            parts.append(f"skipped: {self.skipped}")
        if self.baseline and self.baseline.get("regressed"):
            parts.append(self.baseline.get("message", "error grew past the baseline"))
        if self.params:
            parts.append(f"params: {self.params}")
        return "\n".join(parts) or f"{self.case}: {self.status}"

    def to_dict(self) -> dict:
        return {"case": self.case, "group": self.group, "status": self.status,
                "seconds": round(self.seconds, 4), "error": self.error, "skipped": self.skipped,
                "params": self.params,
                "report": self.report.to_dict() if self.report is not None else None,
                "baseline": self.baseline}


def run_case(case: Case) -> Outcome:
    """Run one case; a crash is an ``ERROR`` outcome, never an exception."""
    t0 = time.perf_counter()
    report, error, tb = None, None, None
    try:
        report = case.run()
    except Exception as exc:  # noqa: BLE001 - a crashing case is a failing case
        error, tb = f"{type(exc).__name__}: {exc}", traceback.format_exc()
    seconds = time.perf_counter() - t0
    skipped = getattr(report, "skipped", None) if report is not None else None
    if error:
        status = "ERROR"
    elif skipped:
        status = "skip"
    else:
        status = "pass" if report.passed else "FAIL"
    return Outcome(case.name, case.group or "parity", status, seconds, report, error,
                   skipped, tb, getattr(case, "params", None))


def run_cases(cases: Iterable[Case], on_start: Callable[[int, Case], None] | None = None,
              on_done: Callable[[int, Outcome], None] | None = None) -> list[Outcome]:
    """Run every case in order, calling ``on_start(i, case)`` / ``on_done(i, outcome)``."""
    out = []
    for i, case in enumerate(cases):
        if on_start:
            on_start(i, case)
        outcome = run_case(case)
        out.append(outcome)
        if on_done:
            on_done(i, outcome)
    return out


def counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """How many outcomes have each status."""
    return {s: sum(o.status == s for o in outcomes) for s in STATUSES}


# -- the JSON report ---------------------------------------------------------------------------
def build_report(outcomes: Sequence[Outcome], *, seed: int, examples: int, reference: str,
                 only: str | None, seconds: float, versions_: dict | None = None,
                 baseline: dict | None = None, extra_failures: Sequence[str] = ()) -> dict:
    """The ``--json`` payload (schema ``REPORT_SCHEMA``), strict-JSON safe.

    ``extra_failures``: reasons the gate fails beyond case statuses (e.g. missing cases).
    """
    c = counts(outcomes)
    n_failed = sum(c[s] for s in FAILING)
    payload = {
        "schema": REPORT_SCHEMA_ID,
        "tool": "numpy-rnn parity",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": int(seed), "examples": int(examples), "reference": reference, "only": only,
        "versions": versions_ if versions_ is not None else versions(),
        "passed": n_failed == 0 and not extra_failures,
        "n_cases": len(outcomes), "n_passed": c["pass"], "n_failed": n_failed,
        "n_errors": c["ERROR"], "n_regressed": c["REGRESSED"], "n_skipped": c["skip"],
        "failures": list(extra_failures),
        "seconds": round(seconds, 3),
        "cases": [o.to_dict() for o in outcomes],
        "baseline": baseline,
    }
    return json_safe(payload)


_NUM = {"type": ["number", "string"], "enum_strings": ["inf", "-inf", "nan"]}
_NUM_OR_NULL = {"type": ["number", "string", "null"], "enum_strings": ["inf", "-inf", "nan"]}
_VERSION = {"type": ["string", "null"]}

OUTPUT_SCHEMA: dict = {
    "type": "object",
    "required": ["name", "shape", "dtype", "max_abs_err", "max_rel_err", "max_ulp",
                 "worst_index", "actual_at_worst", "expected_at_worst", "rtol", "atol", "passed",
                 "n_bad", "first_bad_timestep", "error_by_timestep", "error_growth",
                 "error_slope", "mean_abs_err", "note"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "dtype": {"type": "string"},
        "max_abs_err": _NUM, "max_rel_err": _NUM, "max_ulp": _NUM,
        "worst_index": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "actual_at_worst": _NUM, "expected_at_worst": _NUM,
        "rtol": {"type": "number", "minimum": 0}, "atol": {"type": "number", "minimum": 0},
        "passed": {"type": "boolean"},
        "n_bad": {"type": "integer", "minimum": 0},
        "first_bad_timestep": {"type": ["integer", "null"], "minimum": 0},
        "error_by_timestep": {"type": ["array", "null"], "items": _NUM},
        "error_growth": _NUM_OR_NULL, "error_slope": _NUM_OR_NULL, "mean_abs_err": _NUM_OR_NULL,
        "ulp_at_worst": _NUM_OR_NULL,
        "note": {"type": "string"},
    },
}

#: The ``--json`` report, as a JSON Schema (draft 2020-12 keywords; ``enum_strings`` is ours:
#: the strings allowed where a number is expected, for non-finite figures).
REPORT_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": REPORT_SCHEMA_ID,
    "type": "object",
    "required": ["schema", "tool", "created", "seed", "examples", "reference", "only", "versions",
                 "passed", "n_cases", "n_passed", "n_failed", "n_errors", "n_regressed",
                 "n_skipped", "failures", "seconds", "cases", "baseline"],
    "properties": {
        "schema": {"type": "string", "const": REPORT_SCHEMA_ID},
        "tool": {"type": "string", "const": "numpy-rnn parity"},
        "created": {"type": "string"},
        "seed": {"type": "integer"},
        "examples": {"type": "integer", "minimum": 0},
        "reference": {"type": "string", "enum": sorted(REFERENCES)},
        "only": {"type": ["string", "null"]},
        "versions": {"type": "object",
                     "required": ["python", "numpy", "numpy_rnn", "tensorflow", "keras",
                                  "tf_keras"],
                     "properties": {k: _VERSION for k in ("python", "numpy", "numpy_rnn",
                                                          "tensorflow", "keras", "tf_keras")}},
        "passed": {"type": "boolean"},
        **{k: {"type": "integer", "minimum": 0}
           for k in ("n_cases", "n_passed", "n_failed", "n_errors", "n_regressed", "n_skipped")},
        "failures": {"type": "array", "items": {"type": "string"}},
        "seconds": {"type": "number", "minimum": 0},
        "cases": {"type": "array", "items": {
            "type": "object",
            "required": ["case", "group", "status", "seconds", "error", "skipped", "params",
                         "report", "baseline"],
            "properties": {
                "case": {"type": "string"},
                "group": {"type": "string"},
                "status": {"type": "string", "enum": list(STATUSES)},
                "seconds": {"type": "number", "minimum": 0},
                "error": {"type": ["string", "null"]},
                "skipped": {"type": ["string", "null"]},
                "params": {"type": ["object", "null"]},
                "report": {"type": ["object", "null"],
                           "required": ["case", "passed", "skipped", "max_abs_err",
                                        "max_rel_err", "max_ulp", "outputs"],
                           "properties": {"case": {"type": "string"},
                                          "passed": {"type": "boolean"},
                                          "skipped": {"type": ["string", "null"]},
                                          "max_abs_err": _NUM, "max_rel_err": _NUM,
                                          "max_ulp": _NUM,
                                          "outputs": {"type": "array", "items": OUTPUT_SCHEMA}}},
                "baseline": {"type": ["object", "null"],
                             "required": ["status", "regressed", "growth", "ratio",
                                          "outputs"],
                             "properties": {
                                 "status": {"type": "string",
                                            "enum": ["compared", "new", "not compared"]},
                                 "regressed": {"type": "boolean"},
                                 "growth": _NUM_OR_NULL,
                                 "ratio": _NUM_OR_NULL,
                                 "message": {"type": "string"},
                                 "outputs": {"type": "array", "items": {
                                     "type": "object",
                                     "required": ["name", "baseline", "now", "floor",
                                                  "allowed", "growth", "ratio", "regressed"],
                                     "properties": {"name": {"type": "string"},
                                                    "baseline": _NUM, "now": _NUM,
                                                    "floor": _NUM, "allowed": _NUM,
                                                    "growth": _NUM, "ratio": _NUM,
                                                    "regressed": {"type": "boolean"}}}}}},
            }}},
        "baseline": {"type": ["object", "null"],
                     "required": ["path", "created", "growth_factor", "floor_fraction",
                                  "versions", "versions_changed", "new_cases", "missing_cases",
                                  "regressions"],
                     "properties": {
                         "path": {"type": "string"},
                         "created": {"type": ["string", "null"]},
                         "growth_factor": {"type": "number"},
                         "floor_fraction": {"type": "number"},
                         "versions": {"type": "object"},
                         "versions_changed": {"type": "object"},
                         "new_cases": {"type": "array", "items": {"type": "string"}},
                         "missing_cases": {"type": "array", "items": {"type": "string"}},
                         "regressions": {"type": "array", "items": {"type": "string"}}}},
    },
}

_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def validate(instance: Any, schema: dict, path: str = "$") -> list[str]:
    """Check ``instance`` against the subset of JSON Schema used here.

    Supports ``type`` (one or a list), ``enum``, ``const``, ``required``, ``properties``,
    ``items``, ``minimum`` and our ``enum_strings``.  Returns one message per violation, each
    naming the JSON path, what was expected and what was received; ``[]`` means valid.
    """
    errors: list[str] = []
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else list(types)
        if not any(_JSON_TYPES[t](instance) for t in types):
            return [f"{path}: expected {' or '.join(types)}, received "
                    f"{type(instance).__name__} {instance!r:.80}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}, received {instance!r:.80}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: expected one of {schema['enum']}, received {instance!r:.80}")
    if isinstance(instance, str) and "enum_strings" in schema and instance not in schema[
            "enum_strings"]:
        errors.append(f"{path}: expected a number or one of {schema['enum_strings']}, "
                      f"received {instance!r:.80}")
    if "minimum" in schema and _JSON_TYPES["number"](instance) and instance < schema["minimum"]:
        errors.append(f"{path}: expected >= {schema['minimum']}, received {instance!r}")
    if isinstance(instance, dict):
        for key in schema.get("required", ()):
            if key not in instance:
                errors.append(f"{path}: expected key {key!r}, received keys {sorted(instance)}")
        for key, sub in schema.get("properties", {}).items():
            if key in instance:
                errors.extend(validate(instance[key], sub, f"{path}.{key}"))
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            errors.extend(validate(item, schema["items"], f"{path}[{i}]"))
    return errors
