"""Gradients of LSTM, GRU (both reset_after), SimpleRNN and Bidirectional against tf.GradientTape.

Recipe (spec keras-semantics.md section 4): the Keras twin gets the same weights (parity.to_keras),
the loss is ``sum(output * W)`` over every output of the call with a random fixed weighting ``W``
(so every output element, and every returned state, matters), and the tape differentiates it with
respect to every weight, the input (``tape.watch``) and the initial states.  Each gradient must
agree to a tolerance relative to its largest Keras element (max|grad|): 1e-12 in float64, 1e-6 in
float32 (measured: float64 1e-16..4e-15, float32 1e-7..1e-6; the README of this part lists them).

The planted bugs at the end (teeth) must each make these comparisons fail.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn.layers import backprop  # noqa: E402
from numpy_rnn.layers.rnn import bidirectional as bidirectional_mod  # noqa: E402
from numpy_rnn.layers.rnn import gru as gru_mod  # noqa: E402
from numpy_rnn.layers.rnn import lstm as lstm_mod  # noqa: E402
from numpy_rnn.layers.rnn import recurrent  # noqa: E402
from numpy_rnn.layers.rnn import simple_rnn as simple_rnn_mod  # noqa: E402
from parity import strategies  # noqa: E402

#: Gradient tolerance relative to max|grad| of the Keras side, per dtype (measured, see above).
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}
LAYERS = ("LSTM", "GRU", "SimpleRNN")


# -- the two sides -------------------------------------------------------------------------------
def loss_weights(outputs: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """One fixed random weighting per output: ``loss = sum_i sum(outputs[i] * W[i])``."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=o.shape).astype(o.dtype) for o in outputs]


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def keras_gradients(k: Any, x: np.ndarray, weights: list[np.ndarray], mask=None,
                    initial_state=None) -> tuple[list, np.ndarray, list]:
    """``(weight gradients, dx, initial-state gradients)`` from tf.GradientTape."""
    x_t = tf.convert_to_tensor(x)
    init = None if initial_state is None else [tf.convert_to_tensor(s) for s in initial_state]
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        if init is not None:
            tape.watch(init)
        kwargs = {} if init is None else {"initial_state": init}
        if mask is not None:
            kwargs["mask"] = tf.constant(mask)
        outs = _as_list(k(x_t, **kwargs))
        loss = tf.add_n([tf.reduce_sum(o * tf.constant(w, o.dtype))
                         for o, w in zip(outs, weights)])
    sources = list(k.trainable_variables) + [x_t] + (init or [])
    grads = tape.gradient(loss, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    n = len(k.trainable_variables)
    return ([g.numpy() for g in grads[:n]], grads[n].numpy(), [g.numpy() for g in grads[n + 1:]])


def numpy_gradients(n: Any, x: np.ndarray, mask=None, initial_state=None, seed: int = 0):
    """``(weight gradients, dx, state gradients, loss weights)`` from one training call and
    ``backward``."""
    out = n(x, mask=mask, initial_state=initial_state, training=True)
    weights = loss_weights(_as_list(out), seed)
    dx = n.backward(weights if isinstance(out, list) else weights[0])
    return list(n.gradients), dx, list(n.state_gradients or []), weights


def gradient_rows(n: Any, x: np.ndarray, mask=None, initial_state=None, seed: int = 0,
                  keras_layer: Any = None) -> list[tuple[str, float, float]]:
    """``(name, max|numpy - keras| / max|keras|, max|keras|)`` for every weight, the input and
    every initial state.  ``keras_layer`` defaults to ``parity.to_keras(n)`` (taken before the
    NumPy call, so a stateful layer's stored states are copied first)."""
    k = parity.to_keras(n) if keras_layer is None else keras_layer
    g_w, g_x, g_s, weights = numpy_gradients(n, x, mask, initial_state, seed)
    k_w, k_x, k_s = keras_gradients(k, x, weights, mask, initial_state)
    names = (list(n.weight_names()) + ["inputs"]
             + [f"initial_state[{i}]" for i in range(len(k_s))])
    assert len(g_w) == len(k_w) and len(g_s) == len(k_s), (len(g_w), len(k_w), len(g_s), len(k_s))
    rows = []
    for name, a, b in zip(names, g_w + [g_x] + g_s, k_w + [k_x] + k_s):
        assert a.shape == b.shape, f"{name}: numpy shape {a.shape}, keras shape {b.shape}"
        scale = float(np.abs(b).max()) if b.size else 0.0
        err = float(np.abs(a.astype(np.float64) - b).max()) if b.size else 0.0
        rows.append((name, err / scale if scale else err, scale))
    return rows


def assert_gradients_match(n: Any, x: np.ndarray, mask=None, initial_state=None, seed: int = 0,
                           keras_layer: Any = None, tolerance: float | None = None):
    """Fail with one line per gradient that leaves the tolerance."""
    __tracebackhide__ = True
    dtype = np.dtype(getattr(n, "dtype")).name
    tol = TOLERANCE[dtype] if tolerance is None else tolerance
    rows = gradient_rows(n, x, mask, initial_state, seed, keras_layer)
    bad = [f"{name}: {err:.2e} of max|grad|={scale:.3g}" for name, err, scale in rows
           if not err <= tol]
    if bad:
        raise AssertionError(f"{type(n).__name__} ({dtype}) gradients differ from "
                             f"tf.GradientTape beyond {tol:g}: " + "; ".join(bad))
    return rows


# -- cases ---------------------------------------------------------------------------------------
SHAPE = strategies.Shape(5, 6, 3, 4)
_MAKE = {"LSTM": strategies.make_lstm_case, "GRU": strategies.make_gru_case,
         "SimpleRNN": strategies.make_simple_rnn_case}

#: (id, constructor options, mask kind, initial_state): together every option of the forward.
OPTIONS = [
    ("last", {}, "none", False),
    ("sequences-holes-state", {"return_sequences": True}, "holes", True),
    ("backwards-return_state-left", {"go_backwards": True, "return_state": True}, "left", True),
    ("all-options", {"return_sequences": True, "return_state": True, "go_backwards": True,
                     "zero_output_for_mask": True}, "some_fully_masked", True),
    ("sequences-right-no_bias", {"return_sequences": True, "use_bias": False}, "right", False),
    ("state-random-mask", {"return_state": True}, "random", False),
]


def make_layer(layer: str, dtype: str, options: dict, mask_kind: str = "none",
               initial_state: bool = False, seed: int = 7, shape=SHAPE, **extra: Any):
    """A NumPy layer with gate-distinct weights, its inputs, mask and initial state."""
    config = {"dtype": dtype, **options, **extra}
    case = _MAKE[layer](seed, shape, config, mask_kind=mask_kind, initial_state=initial_state)
    n = getattr(numpy_rnn, layer)(**case.config)
    n.set_weights(case.weights)
    return n, case.inputs, case.mask, case.initial_state


def make_bidirectional(layer: str, dtype: str, merge_mode, options: dict, mask_kind="none",
                       initial_state=False, seed: int = 11, shape=SHAPE):
    case = strategies.make_bidirectional_case(seed, shape, layer, {"dtype": dtype, **options},
                                              merge_mode, mask_kind=mask_kind,
                                              initial_state=initial_state)
    inner = getattr(numpy_rnn, layer)(**case.config["layer_config"])
    n = numpy_rnn.Bidirectional(inner, merge_mode=merge_mode, dtype=dtype)
    n.set_weights(case.weights)
    return n, case.inputs, case.mask, case.initial_state


VARIANTS = [("LSTM", {}), ("GRU", {"reset_after": True}), ("GRU", {"reset_after": False}),
            ("SimpleRNN", {})]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opt_id,options,mask_kind,init", OPTIONS, ids=[o[0] for o in OPTIONS])
@pytest.mark.parametrize("layer,extra", VARIANTS,
                         ids=["LSTM", "GRU-reset_after", "GRU-reset_before", "SimpleRNN"])
def test_gradients_match_tape(layer, extra, opt_id, options, mask_kind, init, dtype):
    n, x, mask, state = make_layer(layer, dtype, options, mask_kind, init, **extra)
    assert_gradients_match(n, x, mask, state)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("layer", LAYERS)
def test_bidirectional_gradients_match_tape(layer, merge_mode, dtype):
    options = {"return_sequences": True, "return_state": True}
    n, x, mask, state = make_bidirectional(layer, dtype, merge_mode, options, "holes", True)
    assert_gradients_match(n, x, mask, state)


@pytest.mark.parametrize("layer", LAYERS)
def test_bidirectional_last_output_no_state(layer):
    n, x, mask, _ = make_bidirectional(layer, "float64", "concat", {}, "left", False)
    assert_gradients_match(n, x, mask)


@pytest.mark.parametrize("activation,recurrent_activation", [
    ("relu", "hard_sigmoid"), ("softsign", "tanh"), ("elu", "sigmoid"), (None, "linear"),
    ("selu", "softsign"), ("swish", "sigmoid"), ("softplus", "hard_sigmoid"),
])
@pytest.mark.parametrize("layer", LAYERS)
def test_activations(layer, activation, recurrent_activation):
    extra = {"activation": activation}
    if layer != "SimpleRNN":
        extra["recurrent_activation"] = recurrent_activation
    n, x, mask, state = make_layer(layer, "float64", {"return_sequences": True}, "holes", True,
                                   **extra)
    assert_gradients_match(n, x, mask, state)


@pytest.mark.parametrize("layer", LAYERS)
def test_stateful_stored_states_are_the_initial_state(layer):
    """A stateful layer's stored states start the call (no gradient is kept for them, as for
    Keras's non-trainable state variables): weights and input gradients still match."""
    n, x, mask, _ = make_layer(layer, "float64", {"stateful": True, "return_sequences": True},
                               "holes")
    n(x)  # the stored states are now non-zero
    rows = assert_gradients_match(n, x, mask)
    assert n.state_gradients is None
    assert [r[0] for r in rows] == n.weight_names() + ["inputs"]


def test_seed_shape_float32_lstm():
    """The seed's scale (batch 64, 12 steps, 20 features, 100 units), float32, masked."""
    shape = strategies.Shape(64, 12, 20, 100)
    n, x, mask, state = make_layer("LSTM", "float32", {"return_sequences": True}, "right", True,
                                   shape=shape)
    assert_gradients_match(n, x, mask, state)


# -- teeth: planted backward bugs must fail the comparisons ----------------------------------
_real_lstm_step_backward = lstm_mod.LSTM.step_backward
_real_lstm_inputs = lstm_mod.LSTM._input_gradients
_real_gru_step_backward = gru_mod.GRU.step_backward
_real_gru_inputs = gru_mod.GRU._input_gradients
_real_srnn_step_backward = simple_rnn_mod.SimpleRNN.step_backward
_real_loop_backward = recurrent.rnn_loop_backward
_real_split = bidirectional_mod.Bidirectional._split_grad_output


def _lstm_no_forget_term(self, cache, prev_states, d_out, d_states, acc):
    dz, (dh_prev, dc_prev) = _real_lstm_step_backward(self, cache, prev_states, d_out, d_states,
                                                      acc)
    return dz, [dh_prev, np.zeros_like(dc_prev)]  # dc_prev = dc * f dropped


def _lstm_swapped_gate_blocks(self, x, d_projected, acc):
    dx, grads = _real_lstm_inputs(self, x, d_projected, acc)
    H = self.units
    k = grads[0].copy()
    k[:, H:2 * H], k[:, 2 * H:3 * H] = grads[0][:, 2 * H:3 * H], grads[0][:, H:2 * H]  # f <-> c
    return dx, [k] + grads[1:]


def _lstm_no_forget_bias(self, x, d_projected, acc):
    dx, grads = _real_lstm_inputs(self, x, d_projected, acc)
    if self.use_bias:
        grads[2] = grads[2].copy()
        grads[2][self.units:2 * self.units] = 0
    return dx, grads


def _gru_no_reset_term(self, cache, prev_states, d_out, d_states, acc):
    cache = {**cache, "r": np.zeros_like(cache["r"])} if not self.reset_after else cache
    d_xp, d_prev = _real_gru_step_backward(self, cache, prev_states, d_out, d_states, acc)
    if self.reset_after:
        d_xp = d_xp.copy()
        d_xp[:, self.units:2 * self.units] = 0  # the reset gate gets no gradient
    return d_xp, d_prev


def _gru_swapped_zr(self, x, d_projected, acc):
    dx, grads = _real_gru_inputs(self, x, d_projected, acc)
    H = self.units
    k = grads[0].copy()
    k[:, :H], k[:, H:2 * H] = grads[0][:, H:2 * H], grads[0][:, :H]
    return dx, [k] + grads[1:]


def _srnn_transposed_recurrent(self, cache, prev_states, d_out, d_states, acc):
    acc_local: dict = {}
    d_pre, d_prev = _real_srnn_step_backward(self, cache, prev_states, d_out, d_states, acc_local)
    backprop.add_into(acc, "recurrent_kernel", acc_local["recurrent_kernel"].T)
    return d_pre, d_prev


def _loop_mask_ignored(step_backward, tape, **kw):
    return _real_loop_backward(step_backward, tape, **{**kw, "mask": None})


def _loop_not_reversed(step_backward, tape, **kw):
    return _real_loop_backward(step_backward, tape, **{**kw, "go_backwards": False})


def _loop_no_carry(step_backward, tape, **kw):
    """The gradient of a repeated previous output is dropped (as zero_output_for_mask)."""
    return _real_loop_backward(step_backward, tape, **{**kw, "zero_output_for_mask": True})


def _loop_final_states_ignored(step_backward, tape, **kw):
    return _real_loop_backward(step_backward, tape, **{**kw, "grad_states": ()})


def _bidirectional_half_not_reversed(self, grad_output, tape):
    d_fw, d_bw, states = _real_split(self, grad_output, tape)
    if tape[3] and d_bw is not None:  # return_sequences: pre-flip, so backward() undoes its flip
        d_bw = d_bw[:, ::-1]
    return d_fw, d_bw, states


MUTANTS = {
    "LSTM forget-gate term dropped from dc_prev": (lstm_mod.LSTM, "step_backward",
                                                   _lstm_no_forget_term, "LSTM"),
    "LSTM kernel gradient f and c blocks swapped": (lstm_mod.LSTM, "_input_gradients",
                                                    _lstm_swapped_gate_blocks, "LSTM"),
    "LSTM forget-gate bias gradient dropped": (lstm_mod.LSTM, "_input_gradients",
                                               _lstm_no_forget_bias, "LSTM"),
    "GRU reset-gate gradient dropped": (gru_mod.GRU, "step_backward", _gru_no_reset_term, "GRU"),
    "GRU kernel gradient z and r blocks swapped": (gru_mod.GRU, "_input_gradients",
                                                   _gru_swapped_zr, "GRU"),
    "SimpleRNN recurrent kernel gradient transposed": (
        simple_rnn_mod.SimpleRNN, "step_backward", _srnn_transposed_recurrent, "SimpleRNN"),
    "mask ignored in the backward": (recurrent, "rnn_loop_backward", _loop_mask_ignored, None),
    "go_backwards gradient not reversed": (recurrent, "rnn_loop_backward", _loop_not_reversed,
                                           None),
    "repeated previous output gets no gradient": (recurrent, "rnn_loop_backward",
                                                  _loop_no_carry, None),
    "final-state gradients ignored": (recurrent, "rnn_loop_backward",
                                      _loop_final_states_ignored, None),
}


def _comparison_battery(layers: tuple, dtype: str = "float64") -> None:
    """The example comparisons above, on one dtype: raises AssertionError on the first miss."""
    for layer in layers:
        for extra in ([{"reset_after": True}, {"reset_after": False}] if layer == "GRU"
                      else [{}]):
            for _, options, mask_kind, init in OPTIONS:
                n, x, mask, state = make_layer(layer, dtype, options, mask_kind, init, **extra)
                assert_gradients_match(n, x, mask, state)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_teeth_planted_backward_bug_fails(name, monkeypatch):
    owner, attr, fn, layer = MUTANTS[name]
    monkeypatch.setattr(owner, attr, fn)
    for dtype in ("float64", "float32"):
        with pytest.raises(AssertionError):
            _comparison_battery((layer,) if layer else LAYERS, dtype)


@pytest.mark.parametrize("layer", LAYERS)
def test_teeth_bidirectional_backward_half_not_reversed(layer, monkeypatch):
    def battery():
        for merge_mode in ("concat", "sum", "mul", "ave", None):
            n, x, mask, state = make_bidirectional(layer, "float64", merge_mode,
                                                   {"return_sequences": True}, "holes", True)
            assert_gradients_match(n, x, mask, state)
    monkeypatch.setattr(bidirectional_mod.Bidirectional, "_split_grad_output",
                        _bidirectional_half_not_reversed)
    with pytest.raises(AssertionError):
        battery()
