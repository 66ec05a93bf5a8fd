"""Backward through time for LSTM, GRU, SimpleRNN and Bidirectional, checked without TensorFlow:
float64 central finite differences for every cell and option, masks (exact zeros, states carried
through), recording, and bad input.  Planted backward bugs must fail the finite-difference check.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn.layers.rnn import bidirectional as bidirectional_mod
from numpy_rnn.layers.rnn import gru as gru_mod
from numpy_rnn.layers.rnn import lstm as lstm_mod
from numpy_rnn.layers.rnn import recurrent

LAYERS = ("LSTM", "GRU", "SimpleRNN")
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
#: Central differences of a float64 loss with eps = 1e-6 are good to ~1e-9 (relative to the
#: gradient's scale when it exceeds 1); measured worst 2e-9.
FD_TOL = 1e-7
B, T, F, H = 3, 5, 4, 3
MASK = np.array([[1, 1, 0, 1, 1], [0, 0, 1, 1, 0], [0, 0, 0, 0, 0]], bool)


def _weights(layer: Any, rng: np.random.Generator) -> list[np.ndarray]:
    """Gate blocks of different scales and non-zero biases, so gate-order bugs show."""
    out = []
    for w in layer.get_weights():
        blocks = w.shape[-1] // layer.units
        scale = np.repeat(rng.uniform(0.3, 1.2, blocks), layer.units)
        out.append(rng.normal(size=w.shape) * scale)
    return out


def make(layer: str, seed: int = 0, dtype: str = "float64", **options: Any):
    rng = np.random.default_rng(seed)
    n = getattr(numpy_rnn, layer)(H, F, dtype=dtype, seed=seed, **options)
    n.set_weights(_weights(n, rng))
    x = rng.normal(size=(B, T, F)).astype(dtype)
    state = [(rng.normal(size=(B, H)) * 0.5).astype(dtype) for _ in n.state_size]
    return n, x, state


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _numeric_grad(f, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(arr)
    for i in np.ndindex(arr.shape):
        old = arr[i]
        arr[i] = old + eps
        up = f()
        arr[i] = old - eps
        down = f()
        arr[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def check_finite_differences(n: Any, x: np.ndarray, mask=None, initial_state=None,
                             seed: int = 1, before=lambda: None) -> dict:
    """Compare ``backward`` with central differences of ``sum(outputs * W)`` for every weight,
    the input and the initial states; returns the worst error per name.  ``before()`` runs
    before every call (a stateful layer puts its stored states back)."""
    __tracebackhide__ = True
    before()
    out = n(x, mask=mask, initial_state=initial_state, training=True)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=o.shape) for o in _as_list(out)]
    dx = n.backward(weights if isinstance(out, list) else weights[0])
    analytic = {"inputs": dx}
    analytic.update({f"w{i}": g for i, g in enumerate(n.gradients)})
    for i, g in enumerate(n.state_gradients or []):
        analytic[f"s{i}"] = g
    params = n.get_weights()

    def loss() -> float:
        n.set_weights(params)
        before()
        o = _as_list(n(x, mask=mask, initial_state=initial_state))
        return float(sum((a * w).sum() for a, w in zip(o, weights)))

    arrays = {"inputs": x, **{f"w{i}": p for i, p in enumerate(params)},
              **{f"s{i}": s for i, s in enumerate(initial_state or [])}}
    errors = {}
    for name, arr in arrays.items():
        numeric = _numeric_grad(loss, arr)
        scale = max(1.0, float(np.abs(numeric).max()))  # relative for large gradients
        errors[name] = float(np.abs(numeric - analytic[name]).max()) / scale
    n.set_weights(params)
    bad = {k: e for k, e in errors.items() if not e <= FD_TOL}
    assert not bad, f"{type(n).__name__}: backward differs from finite differences: {bad}"
    return errors


# -- finite differences, every option -----------------------------------------------------------
OPTIONS = [
    {},
    {"return_sequences": True},
    {"return_state": True},
    {"go_backwards": True, "return_sequences": True},
    {"go_backwards": True, "return_state": True},
    {"return_sequences": True, "return_state": True, "zero_output_for_mask": True},
    {"return_sequences": True, "use_bias": False},
]
VARIANTS = [("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}), ("SimpleRNN", {})]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(o) or "last")
@pytest.mark.parametrize("layer,extra", VARIANTS,
                         ids=["LSTM", "GRU", "GRU-reset_before", "SimpleRNN"])
@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
def test_finite_differences(layer, extra, options, masked):
    n, x, state = make(layer, **extra, **options)
    check_finite_differences(n, x, MASK if masked else None, state)


@pytest.mark.parametrize("activation,recurrent_activation", [
    ("relu", "hard_sigmoid"), ("softsign", "tanh"), ("elu", "softsign"), (None, "linear"),
    ("swish", "sigmoid"), ("gelu", "log_sigmoid"),
])
@pytest.mark.parametrize("layer", LAYERS)
def test_finite_differences_activations(layer, activation, recurrent_activation):
    extra = {"activation": activation}
    if layer != "SimpleRNN":
        extra["recurrent_activation"] = recurrent_activation
    n, x, state = make(layer, return_sequences=True, return_state=True, **extra)
    check_finite_differences(n, x, MASK, state)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("options", [{}, {"return_sequences": True, "return_state": True}],
                         ids=["last", "sequences-state"])
def test_finite_differences_bidirectional(layer, merge_mode, options):
    rng = np.random.default_rng(3)
    inner = getattr(numpy_rnn, layer)(H, F, dtype="float64", **options)
    n = numpy_rnn.Bidirectional(inner, merge_mode=merge_mode, dtype="float64")
    n.set_weights(_weights(n.forward_layer, rng) + _weights(n.backward_layer, rng))
    x = rng.normal(size=(B, T, F))
    state = [rng.normal(size=(B, H)) * 0.5 for _ in range(2 * len(inner.state_size))]
    check_finite_differences(n, x, MASK, state if options else None)
    assert (n.state_gradients is None) == (not options)


@pytest.mark.parametrize("layer", LAYERS)
def test_stateful_stored_states_start_the_call_and_get_no_gradient(layer):
    n, x, state = make(layer, stateful=True, return_sequences=True)
    n(x)  # stored states now non-zero; they are the initial state of the next call
    stored = [s.copy() for s in n.states]
    assert np.abs(stored[0]).max() > 0.1
    errors = check_finite_differences(n, x, MASK, before=lambda: n.reset_state(stored))
    assert "s0" not in errors  # no gradient is kept for the stored states
    n.reset_state(stored)
    n(x, training=True)
    n.backward(np.ones((B, T, H)))
    assert n.state_gradients is None
    # An explicit initial_state on a stateful layer is differentiated like any other.
    n.reset_state(stored)
    n(x, initial_state=state, training=True)
    n.backward(np.ones((B, T, H)))
    assert [g.shape for g in n.state_gradients] == [(B, H)] * len(n.state_size)


# -- masks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_steps_get_exactly_zero_input_gradient(layer, go_backwards):
    n, x, state = make(layer, return_sequences=True, return_state=True,
                       go_backwards=go_backwards)
    n(x, mask=MASK, initial_state=state, training=True)
    dx = n.backward([np.ones((B, T, H))] + [np.ones((B, H))] * len(n.state_size))
    assert np.all(dx[~MASK] == 0)
    assert np.all(np.abs(dx[MASK]).sum(axis=-1) > 0)


@pytest.mark.parametrize("layer", LAYERS)
def test_fully_masked_row_carries_state_gradients_unchanged(layer):
    """Row 2 is masked at every step: its final states are its initial states, so their
    gradients arrive at the initial states bit for bit, and its output gets no gradient."""
    n, x, state = make(layer, return_state=True)
    n(x, mask=MASK, initial_state=state, training=True)
    d_states = [np.random.default_rng(i).normal(size=(B, H)) for i in range(len(n.state_size))]
    dx = n.backward([np.ones((B, H))] + d_states)
    for got, sent in zip(n.state_gradients, d_states):
        np.testing.assert_array_equal(got[2], sent[2])
    assert np.all(dx[2] == 0)


@pytest.mark.parametrize("layer", LAYERS)
def test_repeated_previous_output_sends_its_gradient_to_the_step_that_made_it(layer):
    """Step 2 of row 0 is masked: its output repeats step 1's, so a gradient on output 2 alone
    equals the same gradient on output 1 (and with zero_output_for_mask, vanishes)."""
    grads = []
    for k in (1, 2):
        n, x, _ = make(layer, return_sequences=True)
        n(x, mask=MASK, training=True)
        g = np.zeros((B, T, H))
        g[0, k] = 1.0
        grads.append(n.backward(g))
    np.testing.assert_array_equal(grads[0], grads[1])
    n, x, _ = make(layer, return_sequences=True, zero_output_for_mask=True)
    n(x, mask=MASK, training=True)
    g = np.zeros((B, T, H))
    g[0, 2] = 1.0
    assert np.all(n.backward(g) == 0) and all(np.all(w == 0) for w in n.gradients)


# -- recording -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_call_equals_inference_bit_for_bit(layer, dtype):
    n, x, state = make(layer, dtype=dtype, return_sequences=True, return_state=True,
                       activation="relu")
    a = n(x, mask=MASK, initial_state=state)
    b = n(x, mask=MASK, initial_state=state, training=True)
    for u, w in zip(a, b):
        np.testing.assert_array_equal(u, w)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradients_aligned_with_weights(layer, dtype):
    n, x, state = make(layer, dtype=dtype, return_sequences=True)
    n(x, initial_state=state, training=True)
    dx = n.backward(np.ones((B, T, H), dtype))
    assert dx.shape == x.shape and dx.dtype == np.dtype(dtype)
    assert [g.shape for g in n.gradients] == [w.shape for w in n.get_weights()]
    assert all(g.dtype == np.dtype(dtype) for g in n.gradients + n.state_gradients)


@pytest.mark.parametrize("layer", LAYERS)
def test_inference_records_nothing(layer):
    n, x, _ = make(layer)
    n(x)
    assert n._record is None
    n(x, training=True)
    assert n._record is not None
    n(x)  # an inference call forgets the training call: backward differentiates the last call
    with pytest.raises(RuntimeError, match=n.name):
        n.backward(np.ones((B, H)))


def test_recorded_memory_is_inputs_gates_and_states():
    """LSTM (tanh / sigmoid): per step the 4 activated gates, activation(c) and the new h, c,
    plus the inputs and the mask; nothing else."""
    n, x, _ = make("LSTM", dtype="float32", return_sequences=True)
    # per step: gates (4H) and activation(c) (H); the states entering each step (2H)
    expected = x.nbytes + T * B * (4 * H + H + 2 * H) * 4
    n(x, training=True)
    assert n._record.nbytes() == expected
    n(x, mask=MASK, training=True)
    assert n._record.nbytes() == expected + MASK.nbytes


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", LAYERS)
def test_backward_without_training_call(layer):
    n, _, _ = make(layer)
    with pytest.raises(RuntimeError, match=f"'{n.name}'.*training=True"):
        n.backward(np.ones((B, H)))


def test_bidirectional_backward_without_training_call():
    n = numpy_rnn.Bidirectional(numpy_rnn.GRU(H, F))
    with pytest.raises(RuntimeError, match=f"'{n.name}'.*training=True"):
        n.backward(np.ones((B, 2 * H)))


@pytest.mark.parametrize("layer", LAYERS)
def test_bad_grad_output(layer):
    n, x, _ = make(layer, return_sequences=True)
    n(x, training=True)
    with pytest.raises(ValueError, match=r"`grad_output`.*\(3, 5, 3\).*\(3, 3\)"):
        n.backward(np.ones((B, H)))
    with pytest.raises(TypeError, match="`grad_output`"):
        n.backward(np.array([["a"] * H] * B))
    with pytest.raises(TypeError, match="`grad_output`.*float.*bool"):
        n.backward(np.ones((B, T, H), bool))
    with pytest.raises(TypeError, match="`grad_output`.*float.*int64"):
        n.backward(np.ones((B, T, H), np.int64))
    with pytest.raises(TypeError, match="`grad_output`.*None"):
        n.backward(None)
    n2, x, _ = make(layer, return_state=True)
    n2(x, training=True)
    with pytest.raises(ValueError, match=r"`grad_output`.*list of"):
        n2.backward(np.ones((B, H)))
    with pytest.raises(ValueError, match=r"`grad_output\[1\]`.*\(3, 3\)"):
        n2.backward([None, np.ones((B, H + 1))] + [None] * (len(n2.state_size) - 1))
    n2.backward([None] * (1 + len(n2.state_size)))  # all None: zero gradients
    assert all(np.all(g == 0) for g in n2.gradients)


def test_bidirectional_bad_grad_output():
    n = numpy_rnn.Bidirectional(numpy_rnn.LSTM(H, F, return_sequences=True), merge_mode=None)
    x = np.ones((B, T, F), np.float32)
    n(x, training=True)
    with pytest.raises(ValueError, match=r"`grad_output`.*list of 2"):
        n.backward(np.ones((B, T, H)))
    with pytest.raises(ValueError, match=r"`grad_output\[1\]`.*\(3, 5, 3\)"):
        n.backward([np.ones((B, T, H)), np.ones((B, T, 2 * H))])


@pytest.mark.parametrize("layer", LAYERS)
def test_dropout_cannot_train(layer):
    n = getattr(numpy_rnn, layer)(H, F, dropout=0.2)
    with pytest.raises(NotImplementedError, match="dropout"):
        n(np.ones((B, T, F)), training=True)


def test_float32_grad_output_for_float64_layer_is_cast():
    n, x, _ = make("GRU")
    n(x, training=True)
    assert n.backward(np.ones((B, H), np.float32)).dtype == np.float64


def test_empty_batch():
    n = numpy_rnn.GRU(H, F, return_sequences=True)
    n(np.zeros((0, T, F)), training=True)
    assert n.backward(np.zeros((0, T, H))).shape == (0, T, F)
    assert all(np.all(g == 0) for g in n.gradients)


# -- teeth: planted bugs must fail the finite-difference check -------------------------------
_real_loop_backward = recurrent.rnn_loop_backward
_real_lstm_step_backward = lstm_mod.LSTM.step_backward
_real_lstm_inputs = lstm_mod.LSTM._input_gradients
_real_gru_inputs = gru_mod.GRU._input_gradients
_real_split = bidirectional_mod.Bidirectional._split_grad_output


def _no_forget_term(self, cache, prev, d_out, d_states, acc):
    dz, (dh, dc) = _real_lstm_step_backward(self, cache, prev, d_out, d_states, acc)
    return dz, [dh, np.zeros_like(dc)]


def _swapped_blocks(real):
    def mutant(self, x, d_projected, acc):
        dx, grads = real(self, x, d_projected, acc)
        k, u = grads[0].copy(), self.units
        k[:, :u], k[:, u:2 * u] = grads[0][:, u:2 * u], grads[0][:, :u]
        return dx, [k] + grads[1:]
    return mutant


def _no_forget_bias(self, x, d_projected, acc):
    dx, grads = _real_lstm_inputs(self, x, d_projected, acc)
    grads[2] = grads[2].copy()
    grads[2][self.units:2 * self.units] = 0
    return dx, grads


def _half_not_reversed(self, grad_output, tape):
    d_fw, d_bw, states = _real_split(self, grad_output, tape)
    return d_fw, (d_bw[:, ::-1] if tape[3] else d_bw), states


TEETH = {
    "forget-gate term dropped from dc": (lstm_mod.LSTM, "step_backward", _no_forget_term,
                                         "LSTM", {}),
    "LSTM gate blocks swapped in dW": (lstm_mod.LSTM, "_input_gradients",
                                       _swapped_blocks(_real_lstm_inputs), "LSTM", {}),
    "GRU gate blocks swapped in dW": (gru_mod.GRU, "_input_gradients",
                                      _swapped_blocks(_real_gru_inputs), "GRU", {}),
    "forget-gate bias gradient dropped": (lstm_mod.LSTM, "_input_gradients", _no_forget_bias,
                                          "LSTM", {}),
    "mask ignored in the backward": (
        recurrent, "rnn_loop_backward",
        lambda f, tape, **kw: _real_loop_backward(f, tape, **{**kw, "mask": None}),
        "SimpleRNN", {"return_sequences": True}),
    "go_backwards gradient not reversed": (
        recurrent, "rnn_loop_backward",
        lambda f, tape, **kw: _real_loop_backward(f, tape, **{**kw, "go_backwards": False}),
        "GRU", {"go_backwards": True}),
}


@pytest.mark.parametrize("name", sorted(TEETH))
def test_teeth_finite_differences_catch_planted_bug(name, monkeypatch):
    owner, attr, fn, layer, options = TEETH[name]
    n, x, state = make(layer, **options)
    monkeypatch.setattr(owner, attr, fn)
    with pytest.raises(AssertionError, match="finite differences"):
        check_finite_differences(n, x, MASK, state)


def test_teeth_bidirectional_half_not_reversed(monkeypatch):
    rng = np.random.default_rng(3)
    n = numpy_rnn.Bidirectional(numpy_rnn.LSTM(H, F, dtype="float64", return_sequences=True),
                                dtype="float64")
    n.set_weights(_weights(n.forward_layer, rng) + _weights(n.backward_layer, rng))
    x = rng.normal(size=(B, T, F))
    monkeypatch.setattr(bidirectional_mod.Bidirectional, "_split_grad_output",
                        _half_not_reversed)
    with pytest.raises(AssertionError, match="finite differences"):
        check_finite_differences(n, x, MASK)
