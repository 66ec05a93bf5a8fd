"""The self-test's rows for a recurrent layer's *state* outputs and for :func:`parity.trace`
(rows of ``selftest/planted bugs are caught``).

State outputs.  An LSTM(return_sequences, return_state) layer, float32, a mask with a fully
masked row (where Keras's ``h`` and ``c`` are exactly 0), is compared with
:func:`parity.compare` honestly (``state control``, must pass) and with planted bugs, each of
which must FAIL with the state output named:

* ``returned c is h``: the twin returns ``[sequence, h, h]`` (a mixed-up state list);
* ``error 6e-06 on c's exact 0`` (:data:`STATE_PROBE`): ``c`` moved by a fixed amount, 3x the
  table's float32 ``"state"`` atol, where Keras's ``c`` is exactly 0: the only bad element.

Trace.  :func:`parity.trace` must name the layer a bug was planted in:

* ``trace names the lstm with gates i<->f swapped`` in Embedding -> LSTM -> Dense (the Dense,
  fed a wrong input, must read ``inherits``, not ``DIVERGES``);
* ``trace names the embedding that lost its mask`` (values right, mask wrong);
* ``trace names the first of two planted layers``: gates swapped in the LSTM and the Dense's
  bias moved, both diverge given Keras's input: the LSTM, the first, is named;
* ``trace blames the planted layer, not one that inherits``: in Dense -> Dense -> Dense the
  first layer is off by 8e-7 (inside tolerance), the second amplifies that past tolerance
  (its chained output fails, its isolated one passes) and the third has its bias moved by 0.01:
  the third is to blame (the first *isolated* failure), not the second (the first *chained*
  failure).

Bugs are planted in copies (wrappers, copied weights); a planted run that crashes counts as not
caught.  Keras runs once for the state rows (:class:`parity.cases.reach_compare.Recorded`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

import numpy_rnn

from ..bridge import compare, from_keras, trace
from ..report import OutputDiff, ParityReport
from .case import verdict
from .reach import small_ids, small_stack
from .reach_compare import Recorded
from .weights import GATES, randomize

BATCH, TIMESTEPS, FEATURES, UNITS = 4, 6, 3, 5
#: Absolute error planted on a cell state whose exact value is 0: 3x the float32 "state" atol.
STATE_PROBE = 6e-6
#: The trace's blame plant: inside tolerance upstream, amplified by a cancelling kernel.
IN_TOLERANCE, AMPLIFY, BIAS_BUG = 8e-7, 100.0, 0.01


def _keras():
    import keras

    return keras


class StatesAs:
    """Planted: the twin's outputs with output ``target`` replaced by output ``source``."""

    def __init__(self, layer: Any, target: int, source: int) -> None:
        self.layer, self.target, self.source = layer, target, source

    def __call__(self, inputs: Any, **kwargs: Any) -> list:
        out = list(self.layer(inputs, **kwargs))
        out[self.target] = out[self.source]
        return out


class Probed:
    """Planted: ``delta`` added to output ``which`` at ``index``."""

    def __init__(self, layer: Any, which: int, index: tuple, delta: float) -> None:
        self.layer, self.which, self.index, self.delta = layer, which, index, delta

    def __call__(self, inputs: Any, **kwargs: Any) -> list:
        out = [np.array(o, copy=True) for o in self.layer(inputs, **kwargs)]
        out[self.which][self.index] += out[self.which].dtype.type(self.delta)
        return out


def _only_c_wrong(report: ParityReport) -> tuple[bool, str]:
    bad = [o for o in report.outputs if not o.passed]
    if [o.name for o in bad] != ["c"] or not np.isfinite(bad[0].max_abs_err):
        return False, ("NOT caught as a state bug: failing outputs "
                       f"{[o.line() for o in bad] or 'none'}")
    return True, f"caught: c max|err| {bad[0].max_abs_err:.3e} > its tolerance"


def _probe_judge(index: tuple, delta: float) -> Callable[[ParityReport], tuple[bool, str]]:
    def judge(report: ParityReport) -> tuple[bool, str]:
        bad = [o for o in report.outputs if not o.passed]
        if not bad:
            return False, (f"NOT caught: an error of {delta:.1e} on c passed; the state "
                           "tolerance is looser than the gate promises")
        o = bad[0]
        if (len(bad) != 1 or o.name != "c" or o.n_bad != 1 or tuple(o.worst_index) != index
                or not 0.5 * delta <= o.max_abs_err <= 2 * delta):
            return False, "failed for another reason: " + "; ".join(b.line() for b in bad)
        return True, f"caught: {o.max_abs_err:.3e} at {list(index)} of c > atol={o.atol:.0e}"
    return judge


def state_rows(seed: int, name: str) -> list[OutputDiff]:
    """The state control and one verdict per planted state bug."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    k = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True)
    k.build((None, None, FEATURES))
    randomize(k, GATES["LSTM"], rng)
    x = rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype("float32")
    mask = np.ones((BATCH, TIMESTEPS), bool)
    mask[-1] = False  # a fully masked row: Keras's h and c are exactly 0 there
    mask[1, :2] = False
    keras_once = Recorded([np.asarray(o) for o in k(x, mask=mask)], x, mask=mask)
    zero_at = (BATCH - 1, 0)
    if keras_once.outputs[2][zero_at] != 0:
        raise RuntimeError(f"self-test setup: expected Keras's c to be exactly 0 at {zero_at}, "
                           f"got {keras_once.outputs[2][zero_at]!r}")
    control = compare(from_keras(k), keras_once, x, mask=mask, case=f"{name}: state control")
    rows = [dataclasses.replace(o, name=f"state control {o.name}") for o in control.outputs]
    if len(control.outputs) != 3:
        rows.append(verdict("state control", False, "expected sequence, h and c"))
    plants = [("returned c is h", lambda: StatesAs(from_keras(k), 2, 1), _only_c_wrong),
              (f"error {STATE_PROBE:g} on c's exact 0",
               lambda: Probed(from_keras(k), 2, zero_at, STATE_PROBE),
               _probe_judge(zero_at, STATE_PROBE))]
    for bug, make, judge in plants:
        try:
            caught, note = judge(compare(make(), keras_once, x, mask=mask,
                                         case=f"{name}: {bug}"))
        except Exception as exc:  # noqa: BLE001 - a crash is not the checker catching the bug
            caught, note = False, f"the planted run crashed: {type(exc).__name__}: {exc}"
        rows.append(verdict(f"catches {bug}", caught, note))
    return rows


# -- trace -------------------------------------------------------------------------------------
def _gates_swapped(model: Any) -> Any:
    twin = from_keras(model)
    lstm = twin.layers[1]
    swapped = []
    for w in lstm.get_weights():
        blocks = np.split(w, 4, axis=-1)
        blocks[0], blocks[1] = blocks[1], blocks[0]
        swapped.append(np.concatenate(blocks, axis=-1))
    lstm.set_weights(swapped)
    return twin


def _two_bugs(model: Any) -> Any:
    """Gates swapped in the LSTM and the Dense's bias moved: two layers diverge on their own."""
    twin = _gates_swapped(model)
    dense = twin.layers[2]
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + np.float32(BIAS_BUG)])
    return twin


def _mask_lost(model: Any) -> Any:
    twin = from_keras(model)
    emb = twin.layers[0]
    plain = numpy_rnn.Embedding(emb.input_dim, emb.output_dim, mask_zero=False, name=emb.name)
    plain.set_weights(emb.get_weights())
    return numpy_rnn.Sequential([plain, *twin.layers[1:]], name=f"{twin.name}_mask_lost")


def amplifier_model():
    """Dense -> Dense -> Dense whose middle kernel (+-:data:`AMPLIFY` per input) cancels the
    first layer's equal outputs (exactly 1.0) to 0.5 exactly, and so magnifies an alternating
    error of those outputs 4 x AMPLIFY times against outputs of 0.5."""
    keras = _keras()
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(4, name="in_tolerance"),
                              keras.layers.Dense(3, name="amplifier"),
                              keras.layers.Dense(2, name="planted")], name="selftest_blame")
    signs = np.array([1.0, -1.0, 1.0, -1.0], np.float32)
    model.layers[0].set_weights([np.zeros((4, 4), np.float32), np.ones(4, np.float32)])
    model.layers[1].set_weights([np.repeat(np.float32(AMPLIFY) * signs[:, None], 3, axis=1),
                                 np.full(3, 0.5, np.float32)])
    model.layers[2].set_weights([np.array([[0.3, -0.2], [0.5, 0.1], [-0.4, 0.6]], np.float32),
                                 np.array([0.2, -0.1], np.float32)])
    return model


def _blame_planted(model: Any) -> Any:
    twin = from_keras(model)
    first, _, last = twin.layers
    kernel, bias = first.get_weights()
    first.set_weights([kernel, bias + np.float32(IN_TOLERANCE) * np.array([1, -1, 1, -1],
                                                                         np.float32)])
    kernel, bias = last.get_weights()
    last.set_weights([kernel, bias + np.float32(BIAS_BUG)])
    return twin


def _names(layer: str, inherits: tuple[str, ...] = ()) -> Callable[[Any], tuple[bool, str]]:
    """The trace must name ``layer`` (blame ``"layer"``), the layers in ``inherits`` must read
    ``inherits`` (wrong only because their input was)."""
    def judge(result: Any) -> tuple[bool, str]:
        status = {r.layer: r.status for r in result.rows}
        ok = (result.first_divergent == layer and result.blame == "layer"
              and all(status.get(n) == "inherits" for n in inherits))
        return ok, (f"{'caught' if ok else 'NOT caught'}: {result.summary()}; statuses {status}")
    return judge


def trace_rows(seed: int, name: str) -> list[OutputDiff]:
    """One verdict per planted layer bug that :func:`parity.trace` must name."""
    rng = np.random.default_rng(seed)
    stack, ids = small_stack(rng), small_ids(rng)
    emb, lstm, dense = (lay.name for lay in stack.layers)
    blame = amplifier_model()
    x = rng.normal(size=(3, 4)).astype("float32")
    plants = [
        (f"trace names the {lstm} with gates i<->f swapped", lambda: _gates_swapped(stack),
         stack, ids, _names(lstm, (dense,))),
        (f"trace names the {emb} that lost its mask", lambda: _mask_lost(stack), stack, ids,
         _names(emb)),
        (f"trace names the first of two planted layers ({lstm}, {dense})",
         lambda: _two_bugs(stack), stack, ids, _names(lstm)),
        ("trace blames the planted layer, not one that inherits", lambda: _blame_planted(blame),
         blame, x, _names("planted", ("amplifier",))),
    ]
    rows = []
    for bug, make, model, inputs, judge in plants:
        try:
            caught, note = judge(trace(make(), model, inputs, case=f"{name}: {bug}"))
        except Exception as exc:  # noqa: BLE001 - a crash is not the trace naming the layer
            caught, note = False, f"the planted run crashed: {type(exc).__name__}: {exc}"
        rows.append(verdict(f"catches {bug}", caught, note))
    return rows
