"""Hypothesis: gradients of LSTM, GRU, SimpleRNN and Bidirectional equal tf.GradientTape's over the
shapes x options x mask patterns x initial states of the forward property tests (the strategies of
``parity.strategies``), in float32 and float64.

Tolerance: 1e-12 in float64 and 1e-6 in float32 (tests/parity/test_grad_rnn.py), relative to the
largest Keras gradient element of the call (all weights, the input, the states): the example tests
scale each gradient by its own max, but random examples saturate (tanh near +-1) or cancel, leaving
one gradient 1e-5..1e-11 of the others, and rounding follows the call's largest values, not that
gradient's (measured: a Bidirectional SimpleRNN whose forward half's kernel gradient peaked at
7.6e-6 beside 0.45 for the backward half; float32 rounding 3.4e-7 on both sides, NumPy's and Keras's
alike, i.e. 7.6e-7 of the call's scale).  A float32 example outside it is refereed against the exact
answer, Keras run on the same example in float64 (float32 weights and inputs, upcast).  It passes
when either

* NumPy's float32 gradient is within the tolerance of exact plus twice Keras's own float32
  distance from exact (the forward suite's rule, ``parity.referee``), or
* the gap is the float32 *forward's* rounding, not the backward's: the backward redone in float64
  over the float32-recorded forward agrees with NumPy's float32 gradient to the same allowance
  (tolerance plus twice Keras's own float32 distance from exact: on an ill-conditioned example
  the backward's own float32 rounding grows like Keras's), and the float64 twin (forward and
  backward) agrees with exact to 1e-12.

Why the second rule: on ill-conditioned examples (a linear recurrent activation, inputs x3) the
gradient amplifies forward rounding.  Measured (Bidirectional LSTM, recurrent_activation="linear",
7 steps): NumPy float32 4.9e-5 from exact, Keras float32 6.0e-6, a 1-ulp perturbation of the
float64 inputs alone 4.2e-6; the same float32 forward with a float64 backward 1.2e-5, a float64
forward with a float32 backward 2.3e-6: the backward adds nothing, the forward's rounding (NumPy's
and TensorFlow's tanh and matmuls round differently) does, and which side lands closer is chance
(over 80 such examples NumPy was the closer one in 52).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from hypothesis import assume, given, note, reject, settings  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity import strategies  # noqa: E402
from tests.parity.test_grad_rnn import TOLERANCE, keras_gradients, numpy_gradients  # noqa: E402


def _float64_twin(n: Any) -> Any:
    """The same layer in float64 with the float32 weights upcast (exact)."""
    if isinstance(n, numpy_rnn.Bidirectional):
        inner = type(n.forward_layer).from_config(
            {**n.forward_layer.get_config(), "dtype": "float64", "go_backwards": False})
        twin = numpy_rnn.Bidirectional(inner, merge_mode=n.merge_mode, dtype="float64")
    else:
        twin = type(n).from_config({**n.get_config(), "dtype": "float64"})
    twin.set_weights([w.astype(np.float64) for w in n.get_weights()])
    return twin


#: The forward suite's bound (parity.referee.MAX_MAGNITUDE): beyond outputs of 1e7 the recurrence
#: has grown exponentially and float32 parity is not defined (gradients then reach 1e46 and
#: overflow float32 on both sides).
MAX_MAGNITUDE = 1e7


#: Activations whose float32 derivative in ``numpy_rnn.activations`` is not TensorFlow's to float32
#: precision: silu / swish and mish differentiate through NumPy's tanh-form sigmoid (0.5 * tanh(x/2)
#: + 0.5), which keeps absolute but not relative precision for x << 0, where TensorFlow's logistic
#: keeps both (measured, float32 derivative vs float64: silu 3.6e-3 relative at x = -11.8, mish
#: 2.5e-5; a 1-unit LSTM with a swish candidate then differs from Keras by 1.6e-4 of max|grad|
#: while its float64 twin agrees to 1e-17).  That is the activation's precision, not the time
#: loop's: float32 examples with them are left out here (float64 examples keep them).
FLOAT32_IMPRECISE = frozenset({"swish", "silu", "mish"})


def _activation_names(n: Any) -> set:
    layers = [n.forward_layer, n.backward_layer] if isinstance(n, numpy_rnn.Bidirectional) else [n]
    names = set()
    for layer in layers:
        cfg = layer.get_config()
        names |= {cfg.get("activation"), cfg.get("recurrent_activation")}
    return names


#: A float64 example whose *forward* outputs already differ from Keras's by more than this (relative
#: to max|output|) cannot hold its gradients to 1e-12: the gap comes from how an activation is
#: computed (measured: LSTM swish with relu / hard_silu gates, 9 steps, inputs x3: forward 1e-11 /
#: 8e-9 from Keras, as NumPy's tanh-form sigmoid inside silu loses relative precision for x << 0;
#: gradients then 6e-9 / 1.5e-8).  Forward parity is the forward suite's to judge; such examples
#: are rejected here.  tanh / sigmoid / relu / linear ... forwards agree to 1e-15.
FORWARD_GAP_FLOAT64 = 1e-13


def _forward_gap(n: Any, k: Any, x: np.ndarray, mask, initial_state) -> float:
    kw = {} if initial_state is None else {"initial_state": [tf.constant(s) for s in initial_state]}
    if mask is not None:
        kw["mask"] = tf.constant(mask)
    ours = _as_list(n(x, mask=mask, initial_state=initial_state))
    theirs = [np.asarray(o) for o in _as_list(k(tf.constant(x), **kw))]
    return max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)) if b.size else 0.0
               for a, b in zip(ours, theirs))


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _upcast(a: Any) -> Any:
    return a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a


def _copy_tape_upcast(dst: Any, src: Any) -> None:
    """Give the float64 twin ``dst`` the forward that ``src`` recorded in float32."""
    if isinstance(src, numpy_rnn.Bidirectional):
        _copy_tape_upcast(dst.forward_layer, src.forward_layer)
        _copy_tape_upcast(dst.backward_layer, src.backward_layer)
        shape, kept, *rest = src._record
        dst._record = (shape, None if kept is None else tuple(map(_upcast, kept)), *rest)
        return
    tape = src._record
    steps = [([_upcast(s) for s in prev], {k: _upcast(v) for k, v in cache.items()})
             for prev, cache in tape.steps]
    dst._record = tape._replace(x=_upcast(tape.x), steps=steps)


def _gradients(n: Any, grad_output: list, as_list: bool) -> list:
    dx = n.backward(grad_output if as_list else grad_output[0])
    return list(n.gradients) + [dx] + list(n.state_gradients or [])


def _errors(ours: list, theirs: list) -> list[tuple[float, float]]:
    """``(max|a - b|, max|b|)`` per gradient."""
    out = []
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        out.append((float(np.abs(a.astype(np.float64) - b).max()) if b.size else 0.0,
                    float(np.abs(b).max()) if b.size else 0.0))
    return out


def assert_refereed_gradients(n: Any, x: np.ndarray, mask=None, initial_state=None) -> None:
    __tracebackhide__ = True
    dtype = n.dtype.name
    tol = TOLERANCE[dtype]
    assume(dtype == "float64" or not _activation_names(n) & FLOAT32_IMPRECISE)
    k = parity.to_keras(n)
    g_w, g_x, g_s, weights = numpy_gradients(n, x, mask, initial_state)
    k_w, k_x, k_s = keras_gradients(k, x, weights, mask, initial_state)
    ours, theirs = g_w + [g_x] + g_s, k_w + [k_x] + k_s
    names = n.weight_names() + ["inputs"] + [f"initial_state[{i}]" for i in range(len(k_s))]
    assert len(ours) == len(theirs) == len(names)
    if not all(np.all(np.isfinite(g)) for g in theirs):
        reject()  # Keras's own gradients overflow (all-linear cells over 9 steps): no parity
    errors = _errors(ours, theirs)
    scale = max(s for _, s in errors)  # the call's largest gradient element (module doc)
    bad = [i for i, (e, _) in enumerate(errors) if not e <= tol * scale]
    if not bad:
        return
    detail = "; ".join(f"{names[i]}: {errors[i][0] / scale:.2e} of the call's max|grad|="
                       f"{scale:.3g}" for i in bad)
    if dtype == "float64":
        forward_gap = _forward_gap(n, k, x, mask, initial_state)
        if forward_gap > FORWARD_GAP_FLOAT64:
            note(f"float64 forward already {forward_gap:.2e} from Keras: {detail}")
            reject()  # the forward's own disagreement (activation implementations), see above
        raise AssertionError(f"float64 gradients differ from tf.GradientTape beyond {tol:g}: "
                             f"{detail}")
    # Referee: the float64 Keras answer on the same (upcast) example.
    note(f"refereed float32 example: {detail}")
    up = (lambda a: None if a is None else [s.astype(np.float64) for s in a])
    twin = _float64_twin(n)
    exact_out = twin(x.astype(np.float64), mask=mask, initial_state=up(initial_state))
    if not all(np.all(np.abs(o) <= MAX_MAGNITUDE) for o in _as_list(exact_out)):
        reject()  # outside float32's domain, as in the forward suite (parity.referee)
    t_w, t_x, t_s = keras_gradients(parity.to_keras(twin), x.astype(np.float64), up(weights),
                                    mask, up(initial_state))
    truth = t_w + [t_x] + t_s
    ours_err, keras_err = _errors(ours, truth), _errors(theirs, truth)
    as_list = len(weights) > 1
    if all(ours_err[i][0] <= tol * scale + 2 * keras_err[i][0] for i in bad):
        return
    # Is the gap the float32 forward's rounding? The backward in float64 over that forward:
    _copy_tape_upcast(twin, n)
    backward64 = _gradients(twin, up(weights), as_list)
    arithmetic = _errors(ours, backward64)
    twin(x.astype(np.float64), mask=mask, initial_state=up(initial_state), training=True)
    exact64 = _errors(_gradients(twin, up(weights), as_list), truth)
    lost = [f"{names[i]}: numpy {ours_err[i][0]:.3g} vs keras {keras_err[i][0]:.3g} from exact, "
            f"{arithmetic[i][0]:.3g} from the float64 backward of the same forward, float64 twin "
            f"{exact64[i][0]:.3g} (the call's max|grad| {scale:.3g})"
            for i in range(len(names))
            if not (arithmetic[i][0] <= tol * scale + 2 * keras_err[i][0]
                    and exact64[i][0] <= TOLERANCE["float64"] * scale)]
    if lost:
        raise AssertionError(f"float32 gradients differ from tf.GradientTape beyond {tol:g} "
                             f"({detail}), farther from the float64 answer than Keras's, and not "
                             "by the forward's rounding alone: " + "; ".join(lost))


#: The other half of each layer family's examples is drawn by tests/property/test_grad_property.py
#: (its ``HALF_OF_THE_PROFILE``).  The teeth below keep their own 40.
HALF_OF_THE_PROFILE = settings(max_examples=max(settings.default.max_examples // 2, 1))


def _rnn(cls_name: str, case: Any) -> Any:
    n = getattr(numpy_rnn, cls_name)(**case.config)
    n.set_weights(case.weights)
    return n


@HALF_OF_THE_PROFILE
@given(case=strategies.lstm_cases(masks=strategies.MASK_KINDS))
def test_lstm_gradients(case):
    assert_refereed_gradients(_rnn("LSTM", case), case.inputs, case.mask, case.initial_state)


@HALF_OF_THE_PROFILE
@given(case=strategies.gru_cases())
def test_gru_gradients(case):
    assert_refereed_gradients(_rnn("GRU", case), case.inputs, case.mask, case.initial_state)


@HALF_OF_THE_PROFILE
@given(case=strategies.simple_rnn_cases())
def test_simple_rnn_gradients(case):
    assert_refereed_gradients(_rnn("SimpleRNN", case), case.inputs, case.mask,
                              case.initial_state)


@HALF_OF_THE_PROFILE
@given(case=strategies.bidirectional_cases())
def test_bidirectional_gradients(case):
    cfg = case.config
    inner = getattr(numpy_rnn, cfg["layer"])(**cfg["layer_config"])
    n = numpy_rnn.Bidirectional(inner, merge_mode=cfg["merge_mode"], dtype=cfg["dtype"])
    n.set_weights(case.weights)
    assert_refereed_gradients(n, case.inputs, case.mask, case.initial_state)


# -- teeth: the planted backward bugs of tests/parity/test_grad_rnn.py must fail these too ------
from hypothesis import Phase, example, settings  # noqa: E402

from tests.parity.test_grad_rnn import (  # noqa: E402
    MUTANTS, _bidirectional_half_not_reversed, bidirectional_mod)

_NO_SHRINK = settings(max_examples=40, phases=[Phase.explicit, Phase.generate])
_PROPERTIES = {
    "LSTM": test_lstm_gradients.hypothesis.inner_test,
    "GRU": test_gru_gradients.hypothesis.inner_test,
    "SimpleRNN": test_simple_rnn_gradients.hypothesis.inner_test,
}

#: One explicit example per layer that every planted loop bug changes, run before the drawn
#: ones.  Without it the teeth depended on luck: "repeated previous output gets no gradient"
#: needs return_sequences, zero_output_for_mask=False and a masked step after a valid one, which
#: the strategies draw in 1..10 of 40 examples (measured: GRU 1 of 40 in two of three runs), and a
#: drawn hit may still be rejected (imprecise float32 activation, forward gap); under the
#: non-derandomized dev profile a run with no usable hit let the mutant through.  float64,
#: default activations, a right-padded mask and initial states, once forwards and once
#: with go_backwards: every loop mutant of MUTANTS shows (test below).
_EXPLICIT_CONFIG = {"return_sequences": True, "return_state": True, "go_backwards": False,
                    "use_bias": True, "zero_output_for_mask": False, "activation": "tanh",
                    "dtype": "float64"}
_MAKE = {"LSTM": (strategies.make_lstm_case,
                  {"recurrent_activation": "sigmoid", "unit_forget_bias": True}),
         "GRU": (strategies.make_gru_case, {"recurrent_activation": "sigmoid", "reset_after": True}),
         "SimpleRNN": (strategies.make_simple_rnn_case, {})}
#: Per layer: forwards (the repeated output's gradient, masks, final states) and go_backwards.
_EXPLICIT = {
    layer: [make(11 + k, strategies.Shape(3, 6, 3, 4),
                 {**_EXPLICIT_CONFIG, **extra, "go_backwards": backwards}, mask_kind="right",
                 initial_state=True) for k, backwards in enumerate((False, True))]
    for layer, (make, extra) in _MAKE.items()
}


def _run(prop, strategy, explicit=(), generate: bool = True) -> None:
    """``prop`` under hypothesis: the ``explicit`` cases first, then (``generate``) 40 drawn, no
    shrinking (a fresh wrapper, so the real property test's own settings are untouched)."""
    def run(case):
        prop(case)
    run = _NO_SHRINK(run) if generate else settings(phases=[Phase.explicit])(run)
    for case in explicit:
        run = example(case=case)(run)
    given(case=strategy)(run)()


_STRATEGIES = {"LSTM": strategies.lstm_cases(masks=strategies.MASK_KINDS),
               "GRU": strategies.gru_cases(), "SimpleRNN": strategies.simple_rnn_cases()}


@pytest.mark.parametrize("target", sorted(_EXPLICIT))
def test_explicit_teeth_example_alone_catches_every_loop_mutant(target, monkeypatch):
    """Each explicit case passes unbroken and, run alone (no drawn examples), fails under every
    planted bug of the time loop's backward: the teeth no longer depend on the draw."""
    _run(_PROPERTIES[target], _STRATEGIES[target], _EXPLICIT[target], generate=False)
    for name, (owner, attr, fn, layer) in MUTANTS.items():
        if layer is None:
            with monkeypatch.context() as m:
                m.setattr(owner, attr, fn)
                with pytest.raises(AssertionError):
                    _run(_PROPERTIES[target], _STRATEGIES[target], _EXPLICIT[target],
                         generate=False)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_teeth_property_suite_catches_planted_backward_bug(name, monkeypatch):
    owner, attr, fn, layer = MUTANTS[name]
    monkeypatch.setattr(owner, attr, fn)
    for target in ([layer] if layer else ["LSTM", "GRU", "SimpleRNN"]):
        with pytest.raises(AssertionError):
            _run(_PROPERTIES[target], _STRATEGIES[target], _EXPLICIT[target])


def test_teeth_property_suite_catches_bidirectional_half_not_reversed(monkeypatch):
    monkeypatch.setattr(bidirectional_mod.Bidirectional, "_split_grad_output",
                        _bidirectional_half_not_reversed)
    prop = test_bidirectional_gradients.hypothesis.inner_test
    with pytest.raises(AssertionError):
        _run(prop, strategies.bidirectional_cases(masks=("none", "holes")).filter(
            lambda c: c.config["layer_config"]["return_sequences"]))
