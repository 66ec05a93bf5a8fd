"""Hypothesis: GRU, SimpleRNN, Bidirectional and Dense equal their tf.keras twins over random
shapes, options, mask patterns and initial states, for float32 and float64, in both directions of
the weight copy (Keras -> NumPy with from_keras, NumPy -> Keras with to_keras)."""
from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from hypothesis import given  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity.bridge.referee import assert_refereed_parity  # noqa: E402
from parity.strategies import family as fs  # noqa: E402
from parity.strategies import call_kwargs  # noqa: E402


def _keras_rnn(cls_name: str, config: dict, features: int, weights: list):
    k = getattr(keras.layers, cls_name)(**config)
    k.build((None, None, features))
    k.set_weights(weights)
    return k


def rnn_keras_to_numpy(cls_name: str, case) -> None:
    k = _keras_rnn(cls_name, case.config, case.inputs.shape[-1], case.weights)
    assert_refereed_parity(parity.from_keras(k), k, case.inputs, **call_kwargs(case))


def rnn_numpy_to_keras(cls_name: str, case) -> None:
    n = getattr(numpy_rnn, cls_name)(**case.config)
    n.set_weights(case.weights)
    assert_refereed_parity(n, parity.to_keras(n), case.inputs, **call_kwargs(case))


def bidirectional_keras_to_numpy(case: fs.BidirectionalCase) -> None:
    cfg = case.config
    inner = getattr(keras.layers, cfg["layer"])(**cfg["layer_config"])
    k = keras.layers.Bidirectional(inner, merge_mode=cfg["merge_mode"], dtype=cfg["dtype"])
    k.build((None, None, case.inputs.shape[-1]))
    k.set_weights(case.weights)
    assert_refereed_parity(parity.from_keras(k), k, case.inputs, **call_kwargs(case))


def bidirectional_numpy_to_keras(case: fs.BidirectionalCase) -> None:
    cfg = case.config
    inner = getattr(numpy_rnn, cfg["layer"])(**cfg["layer_config"])
    n = numpy_rnn.Bidirectional(inner, merge_mode=cfg["merge_mode"], dtype=cfg["dtype"])
    n.set_weights(case.weights)
    assert_refereed_parity(n, parity.to_keras(n), case.inputs, **call_kwargs(case))


@given(case=fs.gru_cases())
def test_gru_keras_to_numpy(case):
    rnn_keras_to_numpy("GRU", case)


@given(case=fs.gru_cases())
def test_gru_numpy_to_keras(case):
    rnn_numpy_to_keras("GRU", case)


@given(case=fs.simple_rnn_cases())
def test_simple_rnn_keras_to_numpy(case):
    rnn_keras_to_numpy("SimpleRNN", case)


@given(case=fs.simple_rnn_cases())
def test_simple_rnn_numpy_to_keras(case):
    rnn_numpy_to_keras("SimpleRNN", case)


@given(case=fs.bidirectional_cases())
def test_bidirectional_keras_to_numpy(case):
    bidirectional_keras_to_numpy(case)


@given(case=fs.bidirectional_cases())
def test_bidirectional_numpy_to_keras(case):
    bidirectional_numpy_to_keras(case)


@pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1:UserWarning")
@given(case=fs.dense_cases())
def test_dense_both_directions(case):
    k = keras.layers.Dense(**case.config)
    k.build((None, case.inputs.shape[-1]))
    k.set_weights(case.weights)
    assert_refereed_parity(parity.from_keras(k), k, case.inputs)
    n = numpy_rnn.Dense(**case.config)
    n.set_weights(case.weights)
    assert_refereed_parity(n, parity.to_keras(n), case.inputs)


# -- the suite has teeth ------------------------------------------------------------------------
# Planted bugs that the properties above must catch (see docs/family.md for the full list that
# was tried by hand).  Each is a monkeypatch around the real code, undone after the test.
import numpy as np  # noqa: E402
from hypothesis import Phase, settings  # noqa: E402

import numpy_rnn.layers.rnn.recurrent as recurrent  # noqa: E402

_real_loop = recurrent.rnn_loop
_real_bi_forward = numpy_rnn.Bidirectional.forward


def _loop_mask_not_reversed(*args, **kw):
    if kw.get("go_backwards") and kw.get("mask") is not None:
        kw["mask"] = kw["mask"][:, ::-1]  # the loop reads it back to front: net effect, unreversed
    return _real_loop(*args, **kw)


def _loop_masked_steps_update_state(*args, **kw):
    last, seq, _ = _real_loop(*args, **kw)
    _, _, states = _real_loop(*args, **{**kw, "mask": None})
    return last, seq, states


def _gru_step_reset_the_wrong_way(self, xp_t, states):
    (h_prev,) = states
    H, R = self.units, self.recurrent_kernel
    _, b_rec = self._biases()
    b_h = 0 if b_rec is None else b_rec[2 * H:]
    inner = h_prev @ R[:, :2 * H] + (0 if b_rec is None else b_rec[:2 * H])
    z = self.recurrent_activation(xp_t[:, :H] + inner[:, :H])
    r = self.recurrent_activation(xp_t[:, H:2 * H] + inner[:, H:])
    if self.reset_after:  # swapped conventions
        rec_h = (r * h_prev) @ R[:, 2 * H:] + b_h
    else:
        rec_h = r * (h_prev @ R[:, 2 * H:])
    h = z * h_prev + (1 - z) * self.activation(xp_t[:, 2 * H:] + rec_h)
    return h, [h]


def _bi_forward_without_flip(self, *args, **kw):
    keep, self.return_sequences = self.return_sequences, False  # only the flip reads it
    try:
        return _real_bi_forward(self, *args, **kw)
    finally:
        self.return_sequences = keep


MUTANTS = {
    "mask not reversed with go_backwards": (recurrent, "rnn_loop", _loop_mask_not_reversed,
                                            "gru"),
    "masked steps update the state": (recurrent, "rnn_loop", _loop_masked_steps_update_state,
                                      "simple_rnn"),
    "GRU reset_after the wrong way round": (numpy_rnn.GRU, "step", _gru_step_reset_the_wrong_way,
                                            "gru"),
    "Bidirectional backward output not re-reversed": (numpy_rnn.Bidirectional, "forward",
                                                      _bi_forward_without_flip, "bidirectional"),
}
_NO_SHRINK = settings(phases=[Phase.explicit, Phase.generate])
PROPERTIES = {
    "gru": _NO_SHRINK(given(case=fs.gru_cases())(lambda case: rnn_keras_to_numpy("GRU", case))),
    "simple_rnn": _NO_SHRINK(given(case=fs.simple_rnn_cases())(
        lambda case: rnn_numpy_to_keras("SimpleRNN", case))),
    "bidirectional": _NO_SHRINK(given(case=fs.bidirectional_cases())(
        bidirectional_keras_to_numpy)),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_property_suite_catches_planted_bug(mutant, monkeypatch):
    owner, attr, fn, prop = MUTANTS[mutant]
    monkeypatch.setattr(owner, attr, fn)
    with pytest.raises(AssertionError):
        PROPERTIES[prop]()


@pytest.mark.parametrize("reset_after", [True, False])
def test_planted_gru_bug_is_exactly_the_other_convention(reset_after, monkeypatch):
    """Control: the GRU mutant, told the opposite convention, equals the real GRU (no bias)."""
    layer = numpy_rnn.GRU(3, 2, use_bias=False, reset_after=reset_after, seed=0,
                          return_sequences=True)
    x = np.random.default_rng(0).normal(size=(2, 4, 2))
    expected = layer(x)

    def flipped(self, xp_t, states):
        self.reset_after = not self.reset_after
        try:
            return _gru_step_reset_the_wrong_way(self, xp_t, states)
        finally:
            self.reset_after = not self.reset_after

    monkeypatch.setattr(numpy_rnn.GRU, "step", flipped)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-6)
    monkeypatch.setattr(numpy_rnn.GRU, "step", _gru_step_reset_the_wrong_way)
    assert np.abs(layer(x) - expected).max() > 1e-3
