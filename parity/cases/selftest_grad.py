"""The self-test's backward half: planted backward bugs that :func:`parity.compare_gradients`
must catch (rows of ``selftest/planted bugs are caught``).

On the self-test model (Embedding(mask_zero=True) -> LSTM(return_sequences), padded ids with a
fully padded row) the NumPy twin's gradients are compared with the backend's autodiff, once
honestly (``grad control``, must pass) and once per planted bug (each must FAIL):

* ``backward drops the cell-state carry``: the LSTM's ``step_backward`` returns a zero
  ``dc_prev`` (a dropped term: the gradient no longer flows through ``c`` along time);
* ``backward ignores the mask``: the LSTM's output is the masked one, but what ``backward``
  differentiates was recorded without the mask;
* ``d kernel gate blocks swapped i<->f``: the kernel's gradient with two gate blocks exchanged;
* ``forget-gate bias gradient dropped``: the ``f`` block of the bias gradient zeroed;
* ``gradient error ... on an exact 0`` (float32 and float64): the embedding gradient moved by
  :data:`GRAD_PROBES` x max|gradient| at the padding id's row, which Keras leaves exactly 0 (every
  padded step is masked), so only the table's relative ``atol`` decides.  It must be the only
  bad element.

And on a state output (:func:`state_grad_rows`): an LSTM(return_sequences, return_state) layer
given ``initial_state=[h0, c0]``, every output summed (the returned ``h`` and ``c`` included),
compared honestly (``grad state control``, must pass) and with

* ``backward drops the returned c's gradient``: what flows into the returned cell state is
  ignored (``grad_output[2]`` taken as zeros);
* ``initial c's gradient dropped``: ``d initial_state[1]`` zeroed.

Bugs are planted in subclasses of the library's layers (the library is never modified); a
planted run that crashes counts as not caught.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

import numpy_rnn

from ..bridge import from_keras
from ..bridge.grad import compare_gradients
from ..report import OutputDiff, ParityReport
from .weights import randomize

#: The planted gradient errors, as fractions of max|gradient|: fixed, 3x the table's ``"gradient"``
#: atol (float32 1e-6, float64 1e-12), so that a loosened table turns the row red.
GRAD_PROBES = {"float32": 3e-6, "float64": 3e-12}
GATES = {"i": 0, "f": 1, "c": 2, "o": 3}


class DroppedCarryLSTM(numpy_rnn.LSTM):
    """Planted: ``dc_prev`` is dropped from every step's backward."""

    def step_backward(self, cache, prev_states, d_out, d_states, acc):
        dz, (dh_prev, dc_prev) = super().step_backward(cache, prev_states, d_out, d_states, acc)
        return dz, [dh_prev, np.zeros_like(dc_prev)]


class MaskBlindBackwardLSTM(numpy_rnn.LSTM):
    """Planted: the masked output is returned, but the unmasked call is what gets recorded."""

    def forward(self, inputs: Any, initial_state: Any = None, mask: Any = None,
                training: bool = False, **kwargs: Any):
        if not training or mask is None:
            return super().forward(inputs, initial_state=initial_state, mask=mask,
                                   training=training, **kwargs)
        out = super().forward(inputs, initial_state=initial_state, mask=mask, **kwargs)
        super().forward(inputs, initial_state=initial_state, training=True, **kwargs)
        return out


class SwappedGateGradLSTM(numpy_rnn.LSTM):
    """Planted: the kernel gradient's i and f blocks exchanged."""

    def backward(self, grad_output: Any):
        dx = super().backward(grad_output)
        blocks = np.split(self.gradients[0], 4, axis=-1)
        blocks[GATES["i"]], blocks[GATES["f"]] = blocks[GATES["f"]], blocks[GATES["i"]]
        self.gradients[0] = np.concatenate(blocks, axis=-1)
        return dx


class NoForgetBiasGradLSTM(numpy_rnn.LSTM):
    """Planted: the forget gate's block of the bias gradient is dropped."""

    def backward(self, grad_output: Any):
        dx = super().backward(grad_output)
        H = self.units
        self.gradients[2] = self.gradients[2].copy()
        self.gradients[2][H:2 * H] = 0
        return dx


class DroppedStateGradLSTM(numpy_rnn.LSTM):
    """Planted: the gradient flowing into the returned cell state ``c`` is ignored."""

    def backward(self, grad_output: Any):
        if isinstance(grad_output, (list, tuple)) and len(grad_output) == 3:
            grad_output = [grad_output[0], grad_output[1], None]
        return super().backward(grad_output)


class NoInitialCGradLSTM(numpy_rnn.LSTM):
    """Planted: the initial cell state's gradient is zeroed."""

    def backward(self, grad_output: Any):
        dx = super().backward(grad_output)
        if self.state_gradients:
            self.state_gradients[1] = np.zeros_like(self.state_gradients[1])
        return dx


class ProbedEmbedding(numpy_rnn.Embedding):
    """Planted: ``delta`` added to the table gradient at ``index``."""

    index: tuple = (0, 0)
    delta: float = 0.0

    def backward(self, grad_output: Any):
        out = super().backward(grad_output)
        self.gradients[0] = self.gradients[0].copy()
        self.gradients[0][self.index] += self.gradients[0].dtype.type(self.delta)
        return out


def _rebuilt(layer: Any, cls: type) -> Any:
    """``layer`` rebuilt as ``cls`` (same config and weights)."""
    new = cls.from_config(layer.get_config())
    new.set_weights(layer.get_weights())
    return new


def _replace(twin: numpy_rnn.Sequential, position: int, cls: type) -> numpy_rnn.Sequential:
    """``twin`` with layer ``position`` rebuilt as ``cls`` (same config and weights)."""
    layers = list(twin.layers)
    old = layers[position]
    new = cls.from_config(old.get_config())
    new.set_weights(old.get_weights())
    layers[position] = new
    return numpy_rnn.Sequential(layers, name=f"{twin.name}_planted")


def _probed(model: Any, delta: float) -> numpy_rnn.Sequential:
    twin = _replace(from_keras(model), 0, ProbedEmbedding)
    twin.layers[0].delta = delta
    return twin


def _caught(report: ParityReport) -> tuple[bool, str]:
    bad = [o for o in report.outputs if not o.passed]
    if not bad:
        return False, f"NOT caught: every gradient passed (max|err| {report.max_abs_err:.3e})"
    if not all(np.isfinite(o.max_abs_err) for o in bad):
        return False, f"failed for another reason: {'; '.join(o.line() for o in bad)}"
    worst = max(bad, key=lambda o: o.max_abs_err / max(o.atol_scale or 1.0, 1e-300))
    return True, f"caught: {worst.name} off by {worst.max_abs_err:.3e}"


def _probe_judge(row: str, delta: float) -> Callable[[ParityReport], tuple[bool, str]]:
    def judge(report: ParityReport) -> tuple[bool, str]:
        bad = [o for o in report.outputs if not o.passed]
        if not bad:
            return False, (f"NOT caught: an error of {delta:.3e} passed; the gradient tolerance "
                           "is looser than the gate promises")
        (o,) = bad if len(bad) == 1 else (None,)
        if o is None or o.name != row or o.n_bad != 1 or tuple(o.worst_index) != (0, 0) or not (
                0.5 * delta <= o.max_abs_err <= 2 * delta):
            return False, ("failed for another reason: " + "; ".join(b.line() for b in bad))
        return True, f"caught: {o.max_abs_err:.3e} at [0, 0] of {row}"
    return judge


def _scale_of(model: Any, ids: np.ndarray) -> float:
    """max|embedding gradient| from the honest twin (NumPy only; the probe's unit)."""
    twin = from_keras(model)
    grad = np.ones_like(twin(ids, training=True))
    for layer in reversed(twin.layers):
        grad = layer.backward(grad)
    return float(np.max(np.abs(twin.layers[0].gradients[0])))


def grad_rows(model: Any, ids: np.ndarray, model64: Any, ids64: np.ndarray,
              verdict: Callable[[str, bool, str], OutputDiff], name: str) -> list[OutputDiff]:
    """The control rows and one verdict per planted backward bug."""
    rows = []
    both = [("grad control", model, ids)] + (
        [] if model64 is None else [("grad control float64", model64, ids64)])
    for label, m, x in both:
        control = compare_gradients(from_keras(m), m, x, case=f"{name}: {label}")
        if not control.outputs:
            rows.append(verdict(label, False, "the control comparison measured nothing"))
        rows += [dataclasses.replace(o, name=f"{label} {o.name}") for o in control.outputs]
    emb_row = f"d {model.layers[0].name}/embeddings"
    plants: list[tuple[str, Callable[[], Any], Any, np.ndarray, Callable]] = [
        ("backward drops the cell-state carry",
         lambda: _replace(from_keras(model), 1, DroppedCarryLSTM), model, ids, _caught),
        ("backward ignores the mask",
         lambda: _replace(from_keras(model), 1, MaskBlindBackwardLSTM), model, ids, _caught),
        ("d kernel gate blocks swapped i<->f",
         lambda: _replace(from_keras(model), 1, SwappedGateGradLSTM), model, ids, _caught),
        ("forget-gate bias gradient dropped",
         lambda: _replace(from_keras(model), 1, NoForgetBiasGradLSTM), model, ids, _caught),
    ]
    probes = [("float32", model, ids, emb_row)] + ([] if model64 is None else [
        ("float64", model64, ids64, f"d {model64.layers[0].name}/embeddings")])
    for dtype, m, x, row in probes:
        rel = GRAD_PROBES[dtype]
        delta = rel * _scale_of(m, x)
        plants.append((f"{dtype} gradient error {rel:g} x max on an exact 0",
                       lambda m=m, d=delta: _probed(m, d), m, x, _probe_judge(row, delta)))
    for bug, make, m, x, judge in plants:
        try:
            caught, note = judge(compare_gradients(make(), m, x, case=f"{name}: {bug}"))
        except Exception as exc:  # noqa: BLE001 - a crash is not the checker catching the bug
            caught, note = False, f"the planted run crashed: {type(exc).__name__}: {exc}"
        rows.append(verdict(f"catches {bug}", caught, note))
    return rows


def state_grad_rows(seed: int, verdict: Callable[[str, bool, str], OutputDiff],
                    name: str) -> list[OutputDiff]:
    """The state gradient control and one verdict per planted state-gradient bug."""
    import keras

    rng = np.random.default_rng(seed)
    k = keras.layers.LSTM(5, return_sequences=True, return_state=True)
    k.build((None, None, 3))
    randomize(k, 4, rng)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    states = [rng.normal(size=(4, 5)).astype("float32") * 0.5 for _ in range(2)]
    control = compare_gradients(from_keras(k), k, x, initial_state=states,
                                case=f"{name}: grad state control")
    rows = [dataclasses.replace(o, name=f"grad state control {o.name}") for o in control.outputs]
    if [o.name for o in control.outputs][-2:] != ["d initial_state[0]", "d initial_state[1]"]:
        rows.append(verdict("grad state control", False, "expected both initial states' rows"))
    for bug, cls in (("backward drops the returned c's gradient", DroppedStateGradLSTM),
                     ("initial c's gradient dropped", NoInitialCGradLSTM)):
        try:
            report = compare_gradients(_rebuilt(from_keras(k), cls), k, x, initial_state=states,
                                       case=f"{name}: {bug}")
            caught, note = _caught(report)
        except Exception as exc:  # noqa: BLE001 - a crash is not the checker catching the bug
            caught, note = False, f"the planted run crashed: {type(exc).__name__}: {exc}"
        rows.append(verdict(f"catches {bug}", caught, note))
    return rows
