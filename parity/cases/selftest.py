"""The gate's self-test: ``numpy-rnn parity`` proves its own checker still has teeth.

One row, ``selftest/planted bugs are caught``.  A small Keras model (Embedding(mask_zero=True)
-> LSTM(return_sequences)) and its NumPy twin are compared with :func:`parity.compare`, the same
code every other row uses, once honestly (the *control*, which must pass) and once per planted
bug, each of which must FAIL:

* ``gate swap i<->f`` / ``gate swap c<->o``: the twin's LSTM weights with two gate blocks
  exchanged (the output a cell whose maths mixed up those gates would give);
* ``dropped mask (lstm ignores it)``: the twin's LSTM is a subclass that drops ``mask=``;
* ``dropped mask (mask_zero off)``: the twin's Embedding does not emit a mask;
* ``error 3e-06 on an exact 0`` (:data:`ATOL_PROBE`): one output element moved by a fixed
  absolute amount where Keras gives exactly 0 (a fully padded row), so only ``atol`` decides;
* ``relative error 4e-05 on the largest output`` (:data:`RTOL_PROBE`): one element moved by a
  fixed fraction of its value where ``|value|`` is largest, so ``rtol`` decides;
* on a float64 copy of the model (with its own control): ``float64 computed in float32`` (a
  twin that runs in float32 and casts its output to float64, as a load that lost precision
  would) and ``float64 error 3e-12 on an exact 0`` (:data:`ATOL_PROBE_FLOAT64`).

Then the backward half (``parity.cases.selftest_grad``): planted backward bugs (a dropped term,
the mask ignored in the backward, swapped gate blocks in the kernel gradient, the forget-gate bias
gradient dropped, a gradient probe on an exact 0, the returned cell state's gradient ignored, the
initial cell state's gradient dropped) run through :func:`parity.compare_gradients`, each of
which must fail, after gradient controls that must pass.  And (``parity.cases.selftest_reach``)
an LSTM's returned states: ``c`` returned as ``h``, and a probe on ``c``'s exact 0 at 3x the
``"state"`` atol, each of which must fail with ``c`` named; and :func:`parity.trace` must name
the layer a bug was planted in (gates swapped, a lost mask, and a bug downstream of a layer that
only inherits an amplified in-tolerance error).

The probes have fixed sizes, 3-4 times the entries of ``parity.tolerances.TABLE`` (float32
atol 1e-6, rtol 1e-5; float64 atol 1e-12), and must be flagged as the only bad element:
loosening the table (or a comparison that stops measuring) turns the row red.  The row passes
only when both controls pass and every planted bug is caught; a planted run that crashes counts
as *not* caught.  Bugs are planted in copies (subclasses, wrappers, perturbed copied weights):
library code is never modified.  Keras runs once per model (:class:`KerasOnce`); every
comparison reuses that output.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

import numpy_rnn

from ..bridge import NoAutodiff, backend, compare, deviations, from_keras, to_numpy
from ..report import OutputDiff, ParityReport
from .case import Case, register, verdict
from .selftest_grad import grad_rows, state_grad_rows
from .selftest_reach import state_rows, trace_rows
from .weights import randomize_model

BATCH, TIMESTEPS, VOCAB, EMBED, UNITS = 6, 9, 17, 4, 5
#: Absolute error planted on an output whose exact value is 0: must exceed the float32 atol.
ATOL_PROBE = 3e-6
#: Relative error planted on the largest output: must exceed the float32 rtol (+ atol).
RTOL_PROBE = 4e-5
#: Absolute error planted on an exact 0 of the float64 model: must exceed the float64 atol.
ATOL_PROBE_FLOAT64 = 3e-12
#: Gate blocks of an LSTM kernel (Keras order).
GATES = {"i": 0, "f": 1, "c": 2, "o": 3}


def _keras():
    return backend.require()  # Keras 3 on this process's backend


def selftest_model(seed: int, dtype: str = "float32"):
    """The Keras model and the ids every planted bug is run on."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    model = keras.Sequential([keras.Input((TIMESTEPS,), dtype="int32"),
                              keras.layers.Embedding(VOCAB, EMBED, mask_zero=True, dtype=dtype),
                              keras.layers.LSTM(UNITS, return_sequences=True, dtype=dtype)],
                             name=f"selftest_{dtype}")
    randomize_model(model, rng, dtype)
    ids = rng.integers(1, VOCAB, size=(BATCH, TIMESTEPS)).astype(np.int32)
    ids[1, :3] = 0          # left padding
    ids[2, 1::2] = 0        # holes
    ids[3, 6:] = 0          # right padding
    ids[-1] = 0             # a fully padded row: Keras outputs exact zeros there
    return model, ids


class KerasOnce:
    """The Keras model, run once on the self-test ids: every comparison of the row (control and
    plants) reuses that output, so the row costs one Keras call per model, not one per plant."""

    def __init__(self, model: Any, ids: np.ndarray) -> None:
        self.ids = np.asarray(ids)
        self.output = to_numpy(model(self.ids))

    def __call__(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        if kwargs or not np.array_equal(np.asarray(inputs), self.ids):
            raise ValueError("KerasOnce only answers the self-test ids, without call arguments")
        return self.output


class MaskBlindLSTM(numpy_rnn.LSTM):
    """Planted bug: an LSTM that drops the mask it is given."""

    def forward(self, *args: Any, mask: Any = None, **kwargs: Any):
        return super().forward(*args, **kwargs)


class LowPrecision:
    """Planted bug: a float64 twin that computes in float32 and casts its output back up (what
    a bundle or file read that lost precision would give; its output still says float64)."""

    def __init__(self, model: numpy_rnn.Sequential) -> None:
        layers = []
        for layer in model.layers:
            low = type(layer).from_config({**layer.get_config(), "dtype": "float32"})
            low.set_weights([w.astype(np.float32) for w in layer.get_weights()])
            layers.append(low)
        self.model = numpy_rnn.Sequential(layers, name=f"{model.name}_float32")

    def __call__(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        return np.asarray(self.model(inputs, **kwargs)).astype(np.float64)


class Perturbed:
    """Planted bug: the twin's output with ``delta`` added at ``index``."""

    def __init__(self, model: Any, index: tuple, delta: float) -> None:
        self.model, self.index, self.delta = model, index, delta

    def __call__(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        out = np.array(self.model(inputs, **kwargs), copy=True)
        out[self.index] += out.dtype.type(self.delta)
        return out


def _twin(model) -> numpy_rnn.Sequential:
    return from_keras(model)


def _swap_gates(model, a: str, b: str) -> numpy_rnn.Sequential:
    twin = _twin(model)
    lstm = twin.layers[1]
    swapped = []
    for w in lstm.get_weights():
        blocks = np.split(w, 4, axis=-1)
        blocks[GATES[a]], blocks[GATES[b]] = blocks[GATES[b]], blocks[GATES[a]]
        swapped.append(np.concatenate(blocks, axis=-1))
    lstm.set_weights(swapped)
    return twin


def _mask_blind(model) -> numpy_rnn.Sequential:
    twin = _twin(model)
    emb, lstm = twin.layers
    blind = MaskBlindLSTM.from_config(lstm.get_config())
    blind.set_weights(lstm.get_weights())
    return numpy_rnn.Sequential([emb, blind], name="selftest_mask_blind")


def _no_mask_zero(model) -> numpy_rnn.Sequential:
    twin = _twin(model)
    emb, lstm = twin.layers
    plain = numpy_rnn.Embedding(emb.input_dim, emb.output_dim, mask_zero=False)
    plain.set_weights(emb.get_weights())
    return numpy_rnn.Sequential([plain, lstm], name="selftest_no_mask")


def _wrong_result(report: ParityReport) -> tuple[bool, str]:
    """A planted functional bug is caught when the report fails with finite errors (a shape
    mismatch or a NaN would be a different failure from the one planted)."""
    bad = [o for o in report.outputs if not o.passed]
    if not bad:
        return False, f"NOT caught: the comparison passed (max|err| {report.max_abs_err:.3e})"
    if not all(np.isfinite(o.max_abs_err) for o in bad):
        return False, f"failed for another reason: {'; '.join(o.line() for o in bad)}"
    worst = max(bad, key=lambda o: o.max_abs_err)
    return True, f"caught: {worst.name} max|err| {worst.max_abs_err:.3e} > its tolerance"


def _probe_result(index: tuple, delta: float) -> Callable[[ParityReport], tuple[bool, str]]:
    """A tolerance probe is caught when exactly the planted element is out of tolerance and its
    measured error is the planted one."""
    def judge(report: ParityReport) -> tuple[bool, str]:
        (o,) = report.outputs
        measured = o.max_abs_err
        if o.passed:
            return False, (f"NOT caught: an error of {measured:.3e} passed at atol={o.atol:.0e}, "
                           f"rtol={o.rtol:.0e}; the tolerance table is looser than the gate "
                           f"promises")
        if o.n_bad != 1 or tuple(o.worst_index) != tuple(index) or not (
                0.5 * abs(delta) <= measured <= 2 * abs(delta)):
            return False, (f"failed for another reason: {o.n_bad} bad element(s), worst at "
                           f"{list(o.worst_index)} = {measured:.3e}; planted {delta:.3e} at "
                           f"{list(index)}")
        return True, f"caught: {measured:.3e} at {list(index)} > atol={o.atol:.0e}, " \
                     f"rtol={o.rtol:.0e}"
    return judge


def planted_bugs(model, ids: np.ndarray, expected: np.ndarray) -> list[
        tuple[str, Callable[[], Any], Callable[[ParityReport], tuple]]]:
    """``(name, make the planted twin, judge its report)`` for every planted bug; ``expected``
    is Keras's output on ``ids``."""
    flat = np.abs(expected)
    zero_at = tuple(int(i) for i in np.unravel_index(int(np.argmin(flat)), flat.shape))
    big_at = tuple(int(i) for i in np.unravel_index(int(np.argmax(flat)), flat.shape))
    if expected[zero_at] != 0 or flat[big_at] < 0.25:
        raise RuntimeError(f"self-test setup: expected an exact 0 and an output >= 0.25 in "
                           f"Keras's output, got {expected[zero_at]!r} and {flat[big_at]!r}")
    rel_delta = RTOL_PROBE * float(flat[big_at]) * float(np.sign(expected[big_at]))
    return [
        ("gate swap i<->f", lambda: _swap_gates(model, "i", "f"), _wrong_result),
        ("gate swap c<->o", lambda: _swap_gates(model, "c", "o"), _wrong_result),
        ("dropped mask (lstm ignores it)", lambda: _mask_blind(model), _wrong_result),
        ("dropped mask (mask_zero off)", lambda: _no_mask_zero(model), _wrong_result),
        (f"error {ATOL_PROBE:g} on an exact 0",
         lambda: Perturbed(_twin(model), zero_at, ATOL_PROBE), _probe_result(zero_at, ATOL_PROBE)),
        (f"relative error {RTOL_PROBE:g} on the largest output",
         lambda: Perturbed(_twin(model), big_at, rel_delta), _probe_result(big_at, rel_delta)),
    ]


def planted_float64_bugs(model, ids: np.ndarray, expected: np.ndarray) -> list[
        tuple[str, Callable[[], Any], Callable[[ParityReport], tuple]]]:
    """The float64 plants: precision lost behind a float64 output, and a fixed absolute error
    just above the float64 atol on an exact 0."""
    zero_at = tuple(int(i) for i in np.unravel_index(int(np.argmin(np.abs(expected))),
                                                     expected.shape))
    if expected[zero_at] != 0:
        raise RuntimeError(f"self-test setup: expected an exact 0 in Keras's float64 output, "
                           f"got {expected[zero_at]!r}")
    return [
        ("float64 computed in float32", lambda: LowPrecision(_twin(model)), _wrong_result),
        (f"float64 error {ATOL_PROBE_FLOAT64:g} on an exact 0",
         lambda: Perturbed(_twin(model), zero_at, ATOL_PROBE_FLOAT64),
         _probe_result(zero_at, ATOL_PROBE_FLOAT64)),
    ]


def _control(name: str, model, keras_once: KerasOnce, label: str) -> list[OutputDiff]:
    control = compare(_twin(model), keras_once, keras_once.ids, case=f"{name}: {label}")
    if not control.outputs:
        return [verdict(label, False, "the control comparison measured nothing")]
    return [dataclasses.replace(o, name=f"{label} {o.name}") for o in control.outputs]


def selftest_case(seed: int) -> ParityReport:
    name = "selftest/planted bugs are caught"
    model, ids = selftest_model(seed)
    k32 = KerasOnce(model, ids)
    outputs = _control(name, model, k32, "control")
    runs = [(bug, make, judge, k32) for bug, make, judge in planted_bugs(model, ids, k32.output)]
    no_float64 = deviations.float64_reason()  # this backend's Keras computes float64 in float32
    model64, ids64 = None, None
    if no_float64:
        outputs.append(verdict("float64 plants", True, f"not run: {no_float64}"))
    else:
        model64, ids64 = selftest_model(seed + 1, "float64")
        k64 = KerasOnce(model64, ids64)
        outputs += _control(name, model64, k64, "control float64")
        runs += [(bug, make, judge, k64)
                 for bug, make, judge in planted_float64_bugs(model64, ids64, k64.output)]
    for bug, make, judge, keras_once in runs:
        try:
            report = compare(make(), keras_once, keras_once.ids,
                                      case=f"{name}: {bug}")
            caught, note = judge(report)
        except Exception as exc:  # noqa: BLE001 - a crash is not the checker catching the bug
            caught, note = False, f"the planted run crashed: {type(exc).__name__}: {exc}"
        outputs.append(verdict(f"catches {bug}", caught, note))
    try:
        outputs += grad_rows(model, ids, model64, ids64, verdict, name)
    except NoAutodiff as exc:  # Keras's NumPy backend: the forward plants only
        outputs.append(verdict("gradient plants", True, f"not run: {exc}"))
    outputs += state_rows(seed, name)
    try:
        outputs += state_grad_rows(seed, verdict, name)
    except NoAutodiff as exc:
        outputs.append(verdict("state gradient plants", True, f"not run: {exc}"))
    outputs += trace_rows(seed, name)
    return ParityReport(name, outputs)


@register("selftest")
def selftest_cases(seed: int) -> list[Case]:
    return [Case("selftest/planted bugs are caught", lambda: selftest_case(seed))]
