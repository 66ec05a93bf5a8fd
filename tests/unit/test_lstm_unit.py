"""LSTM without TensorFlow: shapes, options, errors, configs, initializers, and agreement with an
independent float64 reference written from the spec's equations."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import LSTM
from numpy_rnn.activations import hard_sigmoid
from tests.helpers import reference_lstm


def _layer(units=4, features=3, seed=0, **kw):
    layer = LSTM(units, features, seed=seed, **kw)
    rng = np.random.default_rng(seed + 1)
    # gate-distinct random weights and a non-zero bias
    layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype) for w in layer.get_weights()])
    return layer


def test_seed_readme_shapes(case_rng):
    inputs = case_rng.normal(size=(500, 12, 20))
    lstm = LSTM(units=100, features=20)
    assert lstm.forward(inputs).shape == (500, 100)
    assert lstm.forward(inputs, return_sequences=True).shape == (500, 12, 100)
    assert lstm.kernel.shape == (20, 400)
    assert lstm.recurrent_kernel.shape == (100, 400)
    assert lstm.bias.shape == (400,)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_matches_independent_reference(dtype, go_backwards):
    layer = _layer(dtype=dtype, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = np.random.default_rng(5).normal(size=(3, 6, 3))
    seq, h, c = layer(x)
    xr = x[:, ::-1] if go_backwards else x
    ref_seq, ref_h, ref_c = reference_lstm(xr.astype(dtype), *layer.get_weights())
    tol = 1e-6 if dtype == "float32" else 1e-13
    assert seq.dtype == np.dtype(dtype)
    np.testing.assert_allclose(seq, ref_seq, atol=tol)
    np.testing.assert_allclose(h, ref_h, atol=tol)
    np.testing.assert_allclose(c, ref_c, atol=2 * tol)
    assert np.array_equal(seq[:, -1], h)


def test_initial_state_order_is_h_then_c():
    layer = _layer(return_state=True)
    x = np.random.default_rng(1).normal(size=(2, 4, 3))
    h0, c0 = np.full((2, 4), 0.3), np.full((2, 4), -0.7)
    _, h, c = layer(x, initial_state=[h0, c0])
    _, rh, rc = reference_lstm(x.astype(np.float32), *layer.get_weights(), h0=h0, c0=c0)
    np.testing.assert_allclose(h, rh, atol=1e-6)
    np.testing.assert_allclose(c, rc, atol=2e-6)


def test_use_bias_false_has_two_weights():
    layer = LSTM(3, 2, use_bias=False)
    assert [w.shape for w in layer.get_weights()] == [(2, 12), (3, 12)]


def test_unit_forget_bias_sets_forget_block_to_one():
    assert LSTM(2, 1).bias.tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    assert LSTM(2, 1, unit_forget_bias=False).bias.tolist() == [0] * 8
    ones = LSTM(2, 1, bias_initializer="ones").bias.tolist()
    assert ones == [1.0] * 8  # forget block SET to 1, not 1 + 1


def test_default_initializers_follow_keras_distributions():
    layer = LSTM(100, 20, seed=123)
    limit = np.sqrt(6 / (20 + 400))
    assert np.abs(layer.kernel).max() <= limit
    assert np.abs(layer.kernel).max() > 0.9 * limit
    R = layer.recurrent_kernel.astype(np.float64)
    np.testing.assert_allclose(R @ R.T, np.eye(100), atol=1e-5)  # orthogonal over (H, 4H)


def test_seed_makes_weights_reproducible():
    a, b, c = LSTM(4, 3, seed=7), LSTM(4, 3, seed=7), LSTM(4, 3, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.kernel, c.kernel)


def test_lazy_build_on_first_call():
    layer = LSTM(5)
    assert not layer.built and layer.get_weights() == []
    out = layer(np.zeros((2, 3, 7)))
    assert layer.built and layer.kernel.shape == (7, 20) and out.shape == (2, 5)


def test_float32_stays_float32_and_float64_input_is_cast(case_rng):
    layer = LSTM(3, 2)
    out = layer(case_rng.normal(size=(2, 3, 2)))  # float64 input
    assert out.dtype == np.float32
    out64 = LSTM(3, 2, dtype="float64")(case_rng.normal(size=(2, 3, 2)).astype(np.float32))
    assert out64.dtype == np.float64


def test_per_call_return_sequences_overrides_layer(case_rng):
    layer = LSTM(3, 2, return_sequences=True)
    x = case_rng.normal(size=(2, 4, 2))
    assert layer.forward(x).shape == (2, 4, 3)
    assert layer.forward(x, return_sequences=False).shape == (2, 3)


def test_hard_sigmoid_is_keras3():
    x = np.array([-3, -1, 0, 1, 3], np.float32)
    np.testing.assert_allclose(hard_sigmoid(x), [0, 1 / 3, 0.5, 2 / 3, 1], atol=1e-7)


def test_activation_none_is_linear_and_names_are_case_sensitive():
    layer = _layer(activation=None, recurrent_activation="linear", return_sequences=True)
    x = np.random.default_rng(3).normal(size=(2, 3, 3))
    ref, _, _ = reference_lstm(x.astype(np.float32), *layer.get_weights(),
                               act=lambda v: v, ract=lambda v: v)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-5, atol=1e-5)  # unbounded: relative
    with pytest.raises(ValueError, match="Tanh"):
        LSTM(3, activation="Tanh")


def test_get_config_round_trip(case_rng):
    layer = LSTM(4, 3, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
                 return_sequences=True, go_backwards=True, dtype="float64", seed=3)
    cfg = layer.get_config()
    clone = LSTM.from_config(cfg)
    assert clone.get_config() == cfg
    clone.set_weights(layer.get_weights())
    x = case_rng.normal(size=(2, 5, 3))
    np.testing.assert_array_equal(clone(x), layer(x))


def test_stateful_two_calls_equal_one_call():
    layer = _layer(stateful=True, return_sequences=True)
    x = np.random.default_rng(2).normal(size=(2, 6, 3))
    full = _layer(return_sequences=True)(x)
    first, second = layer(x[:, :3]), layer(x[:, 3:])
    np.testing.assert_allclose(np.concatenate([first, second], 1), full, atol=1e-6)
    layer.reset_state()
    np.testing.assert_allclose(layer(x[:, :3]), first, atol=0)


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("units", [0, -1, 2.5, "4", None, True])
def test_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        LSTM(units)


def test_bad_inputs_rank_and_features():
    layer = LSTM(3, 4)
    with pytest.raises(ValueError, match=r"inputs.*3-D.*\(batch, timesteps, features\).*\(2, 4\)"):
        layer(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"built for 4 features.*5 features"):
        layer(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="at least one timestep"):
        layer(np.zeros((2, 0, 4)))


def test_non_numeric_inputs():
    with pytest.raises(TypeError, match="inputs"):
        LSTM(3, 2)(np.array([[["a", "b"]]]))
    with pytest.raises(TypeError, match="inputs"):
        LSTM(3, 2)([[[1 + 2j, 0]]])


def test_bad_initial_state():
    layer = LSTM(3, 2)
    x = np.zeros((2, 4, 2))
    with pytest.raises(ValueError, match=r"initial_state.*2 array.*\[h, c\].*Received: 1"):
        layer(x, initial_state=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"initial_state\[1\].*\(2, 3\).*\(2, 4\)"):
        layer(x, initial_state=[np.zeros((2, 3)), np.zeros((2, 4))])


def test_bad_set_weights():
    layer = LSTM(3, 2)
    with pytest.raises(ValueError, match=r"recurrent_kernel.*\(3, 12\).*\(3, 13\)"):
        layer.set_weights([np.zeros((2, 12)), np.zeros((3, 13)), np.zeros(12)])
    with pytest.raises(ValueError, match="expected 3 weights"):
        layer.set_weights([np.zeros((2, 12))])
    with pytest.raises(TypeError, match="weights"):
        layer.set_weights([np.zeros((2, 12)), np.array([["x"] * 12] * 3), np.zeros(12)])


def test_unbuilt_layer_builds_from_set_weights():
    layer = LSTM(3)
    layer.set_weights([np.zeros((5, 12)), np.zeros((3, 12)), np.zeros(12)])
    assert layer.features == 5
    with pytest.raises(ValueError, match=r"kernel.*\(features, 12\)"):
        LSTM(3).set_weights([np.zeros((5, 11)), np.zeros((3, 12)), np.zeros(12)])


def test_bad_mask_shape():
    with pytest.raises(ValueError, match=r"mask.*\(2, 4\).*\(2, 3\)"):
        LSTM(3, 2)(np.zeros((2, 4, 2)), mask=np.ones((2, 3), bool))


def test_unknown_activation_and_dtype():
    with pytest.raises(ValueError, match="recurrent_activation"):
        LSTM(3, recurrent_activation="nope")
    with pytest.raises(ValueError, match="dtype"):
        LSTM(3, dtype="float16")
    with pytest.raises(ValueError, match="glu"):
        LSTM(3, activation="glu")


def test_stateful_other_batch_size():
    layer = LSTM(3, 2, stateful=True)
    layer(np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="batch size 2.*batch size 3"):
        layer(np.zeros((3, 4, 2)))


def test_exports():
    from numpy_rnn.layers.lstm import LSTM as L2
    assert L2 is numpy_rnn.LSTM


def test_step_works_on_its_own_and_sees_new_weights():
    """``step`` needs no earlier forward call on its layer, and set_weights refreshes it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 1, 2)).astype(np.float32)
    h0 = rng.normal(size=(4, 3)).astype(np.float32)
    c0 = np.zeros((4, 3), np.float32)
    caller = numpy_rnn.LSTM(3, features=2, seed=1)
    fresh = numpy_rnn.LSTM(3, features=2, seed=1)  # same weights, never called
    h, _ = fresh.step(caller.project_inputs(x)[:, 0], [h0, c0])
    np.testing.assert_array_equal(h, caller(x, initial_state=[h0, c0]))
    ws = caller.get_weights()
    ws[1] = ws[1] * 2.0
    caller.set_weights(ws)
    fresh.set_weights(ws)
    h2, _ = fresh.step(caller.project_inputs(x)[:, 0], [h0, c0])
    np.testing.assert_array_equal(h2, caller(x, initial_state=[h0, c0]))
    assert not np.array_equal(h, h2)


def test_in_place_weight_edits_are_seen_by_the_next_call():
    layer = numpy_rnn.LSTM(3, features=2, seed=1)
    x = np.ones((2, 2, 2), np.float32)
    before = layer(x)
    layer.recurrent_kernel[:] *= 3.0  # as an optimizer updates in place
    layer.bias[:] += 0.25
    after = layer(x)
    expected = numpy_rnn.LSTM(3, features=2, seed=1)
    expected.set_weights([layer.kernel, layer.recurrent_kernel, layer.bias])
    np.testing.assert_array_equal(after, expected(x))
    assert not np.array_equal(before, after)
