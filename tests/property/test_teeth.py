"""The parity suite has teeth: deliberately broken LSTM maths must make it fail.

Each mutant is monkeypatched into numpy_rnn, then the property tests of test_lstm_property run;
they must raise.  If a mutant survives, the suite would let that bug through.
"""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from hypothesis import Phase, given, settings  # noqa: E402

import numpy_rnn.layers.rnn.recurrent as recurrent  # noqa: E402
from numpy_rnn import LSTM  # noqa: E402
from parity import strategies  # noqa: E402
from tests.property.test_lstm_property import keras_to_numpy, numpy_to_keras  # noqa: E402


def keras_order_projection(self, x):
    """``x @ kernel`` in Keras's gate order and scale: patched in with every mutant step, so the
    mutants are written from the public weights alone (no internal layout)."""
    return x @ self.kernel  # (B, T, 4H), gates i, f, c, o


def _gates(layer, xk_t, h_prev):
    """Pre-activations (i, f, c, o) from the Keras-order projected input."""
    z = xk_t + h_prev @ layer.recurrent_kernel
    if layer.use_bias:
        z = z + layer.bias
    return np.split(z, 4, axis=1)


def swap_input_and_forget(self, xk_t, states):
    h_prev, c_prev = states
    zf, zi, zc, zo = _gates(self, xk_t, h_prev)  # i and f read from each other's block
    ra, a = self.recurrent_activation, self.activation
    c = ra(zf) * c_prev + ra(zi) * a(zc)
    h = ra(zo) * a(c)
    return h, [h, c]


def sigmoid_candidate(self, xk_t, states):
    h_prev, c_prev = states
    zi, zf, zc, zo = _gates(self, xk_t, h_prev)
    ra, a = self.recurrent_activation, self.activation
    c = ra(zf) * c_prev + ra(zi) * ra(zc)  # candidate through the gate activation
    h = ra(zo) * a(c)
    return h, [h, c]


def no_forget_bias(self, xk_t, states):
    h_prev, c_prev = states
    zi, zf, zc, zo = _gates(self, xk_t, h_prev)
    if self.use_bias:
        zf = zf - self.bias[self.units:2 * self.units]
    ra, a = self.recurrent_activation, self.activation
    c = ra(zf) * c_prev + ra(zi) * a(zc)
    h = ra(zo) * a(c)
    return h, [h, c]


def wrong_cell_activation(self, xk_t, states):
    h_prev, c_prev = states
    zi, zf, zc, zo = _gates(self, xk_t, h_prev)
    ra, a = self.recurrent_activation, self.activation
    c = ra(zf) * c_prev + ra(zi) * a(zc)
    h = ra(zo) * ra(c)  # cell state through the recurrent activation
    return h, [h, c]


_real_loop = recurrent.rnn_loop


def rereversed_loop(*args, **kwargs):
    last, seq, states = _real_loop(*args, **kwargs)
    if kwargs.get("go_backwards") and seq is not None:
        seq = seq[:, ::-1]  # "fix" the order back to input order: Keras does not
    return last, seq, states


MUTANTS = {
    "swap i and f gates": ("step", swap_input_and_forget),
    "sigmoid for the candidate": ("step", sigmoid_candidate),
    "drop the forget bias": ("step", no_forget_bias),
    "recurrent activation on the cell state": ("step", wrong_cell_activation),
    "re-reverse go_backwards output": ("loop", rereversed_loop),
}

# The same strategy the property suite uses; more examples so that rare option mixes are hit.
CASES = strategies.lstm_cases(masks=strategies.MASK_KINDS)


@settings(max_examples=60, phases=[Phase.explicit, Phase.generate])  # no shrinking
@given(case=CASES)
def _keras_to_numpy(case):
    keras_to_numpy(case)


@settings(max_examples=60, phases=[Phase.explicit, Phase.generate])  # no shrinking
@given(case=CASES)
def _numpy_to_keras(case):
    numpy_to_keras(case)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
@pytest.mark.parametrize("prop", [_keras_to_numpy, _numpy_to_keras], ids=["keras->numpy", "numpy->keras"])
def test_property_suite_catches(mutant, prop, monkeypatch):
    where, fn = MUTANTS[mutant]
    if where == "step":
        monkeypatch.setattr(LSTM, "project_inputs", keras_order_projection)
        monkeypatch.setattr(LSTM, "step", fn)
    else:
        monkeypatch.setattr(recurrent, "rnn_loop", fn)
    with pytest.raises(AssertionError):
        prop()


def test_mutant_helpers_are_faithful_when_unbroken(monkeypatch):
    """Control: the helpers above reproduce the real maths when no bug is planted."""
    def faithful(self, xk_t, states):
        h_prev, c_prev = states
        zi, zf, zc, zo = _gates(self, xk_t, h_prev)
        ra, a = self.recurrent_activation, self.activation
        c = ra(zf) * c_prev + ra(zi) * a(zc)
        h = ra(zo) * a(c)
        return h, [h, c]

    monkeypatch.setattr(LSTM, "project_inputs", keras_order_projection)
    monkeypatch.setattr(LSTM, "step", faithful)
    _keras_to_numpy()
