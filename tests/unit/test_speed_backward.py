"""The fast step backwards (closures over per-call buffers, recurrent-weight gradients as one
product over all steps) against the per-step reference ``step_backward``: the same gradients to
rounding, with masks, go_backwards, states and return_sequences; and proof the fast path ran."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn.layers.rnn import recurrent

B, T, F, H = 4, 6, 3, 5
LAYERS = {"LSTM": {}, "GRU": {"reset_after": True}, "SimpleRNN": {}}
MODULES = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}


def _grads(layer, options, reference, monkeypatch, x, mask, state, g):
    n = getattr(numpy_rnn, layer)(H, F, dtype="float64", seed=1, return_state=True, **options)
    with monkeypatch.context() as m:
        if reference:
            m.setattr(type(n), "make_step_backward", recurrent.RNNBase.make_step_backward)
        n(x, mask=mask, initial_state=state, training=True)
        dx = n.backward(g(n))
    return [dx] + list(n.gradients) + list(n.state_gradients)


@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_fast_backward_equals_reference(layer, go_backwards, return_sequences, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, F))
    mask = np.ones((B, T), bool)
    mask[1, 4:] = False
    mask[2, :2] = False
    mask[3, 2] = False
    n_states = 2 if layer == "LSTM" else 1
    state = [rng.normal(size=(B, H)) for _ in range(n_states)]
    out_shape = (B, T, H) if return_sequences else (B, H)
    seeds = [rng.normal(size=out_shape)] + [rng.normal(size=(B, H)) for _ in range(n_states)]
    options = {**LAYERS[layer], "go_backwards": go_backwards, "return_sequences": return_sequences}
    for m in (None, mask):
        fast = _grads(layer, options, False, monkeypatch, x, m, state, lambda n: seeds)
        ref = _grads(layer, options, True, monkeypatch, x, m, state, lambda n: seeds)
        for a, b in zip(fast, ref):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * max(np.abs(b).max(), 1))


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_fast_backward_runs_and_teeth(layer, monkeypatch):
    """The default layer takes the fast path (it records ``h_prev``), and a planted bug in the
    fast closure's fused product (h_prev of the wrong step) fails the comparison above."""
    seen = []
    real = recurrent.in_time_order

    def spy(tape, get, go_backwards):
        seen.append(True)
        return real(tape, get, go_backwards)
    where = f"numpy_rnn.layers.rnn.{MODULES[layer]}.in_time_order"
    monkeypatch.setattr(where, spy)
    test_fast_backward_equals_reference(layer, False, True, monkeypatch)
    assert seen
    monkeypatch.setattr(where, lambda tape, get, gb: np.roll(real(tape, get, gb), 1, axis=1))
    with pytest.raises(AssertionError):
        test_fast_backward_equals_reference(layer, False, True, monkeypatch)
