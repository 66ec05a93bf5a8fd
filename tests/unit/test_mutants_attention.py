"""Attention layers' dropout in training, checked where the mutation run found no test: the
backward of a dropped-out attention call must carry dropout's ``1 / (1 - rate)`` scale.

The existing finite-difference helper (tests/attention_helpers.py) differentiates the
*inference* call, so dropout's backward was never compared with anything: a backward that
forgot the ``1 / (1 - rate)`` factor passed every test (mutation run, 2026-12-07).  Here the
loss is the *training* call with the layer's generator rewound before every evaluation, so each
finite difference sees the same dropout mask as the backward does.  Also MultiHeadAttention's
``sliding_window`` band, which only a Keras parity test checked.  NumPy only, float64.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from numpy_rnn import AdditiveAttention, Attention, MultiHeadAttention

B, T, S, D = 2, 3, 4, 3


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(B, T, D)), rng.normal(size=(B, S, D))]


def _fd_training_call(layer, xs, *, args=False, plant=None, eps=1e-6, seed=5):
    """Max relative error of ``layer.backward`` (inputs and weights) against central finite
    differences of ``sum(out * R)`` where ``out`` is the training call under one fixed dropout
    mask (the layer's generator rewound to the same state before every call).  ``plant``: a
    function of the layer giving the backward to use instead (the teeth tests)."""
    state = copy.deepcopy(layer._rng.bit_generator.state)

    def run(arrays):
        layer._rng.bit_generator.state = copy.deepcopy(state)
        return layer(*arrays, training=True) if args else layer(arrays, training=True)

    out = run(xs)
    r = np.random.default_rng(seed).normal(size=out.shape)
    d_inputs = (plant(layer) if plant else layer.backward)(r)
    d_weights = [np.array(g) for g in layer.gradients]

    def loss():
        return float(np.sum(run(xs) * r))

    def numeric(array, setter):
        num = np.zeros(array.shape)
        for idx in np.ndindex(*array.shape):
            old = array[idx]
            array[idx] = old + eps
            setter()
            up = loss()
            array[idx] = old - eps
            setter()
            down = loss()
            array[idx] = old
            num[idx] = (up - down) / (2 * eps)
        setter()
        return num

    errors = {}
    for i, x in enumerate(xs):
        num = numeric(x, lambda: None)
        errors[f"inputs[{i}]"] = np.abs(d_inputs[i] - num).max() / max(np.abs(num).max(), 1e-12)
    weights = [w.copy() for w in layer.get_weights()]
    names = list(layer.weight_names())
    nums = [numeric(w, lambda: layer.set_weights(weights)) for w in weights]
    # a gradient zero in exact arithmetic (MultiHeadAttention's key bias) is measured on the
    # scale of the one the layer names for it, as tests/attention_helpers.py does
    vanishing = getattr(layer, "vanishing_gradients", {})
    for name, g, num in zip(names, d_weights, nums):
        ref = nums[names.index(vanishing[name])] if name in vanishing else num
        errors[name] = np.abs(g - num).max() / max(np.abs(ref).max(), 1e-6)
    return errors


@pytest.mark.parametrize("cls,kwargs", [(Attention, {}), (Attention, {"use_scale": True}),
                                        (Attention, {"score_mode": "concat"}),
                                        (AdditiveAttention, {})],
                         ids=["dot", "dot+scale", "concat", "additive"])
def test_dense_attention_dropout_backward_matches_finite_differences(cls, kwargs):
    layer = cls(dropout=0.4, dtype="float64", seed=3, **kwargs)
    layer.build([(None, T, D), (None, S, D)])
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(size=w.shape) + 1.0 for w in layer.get_weights()])
    xs = _inputs()
    state = copy.deepcopy(layer._rng.bit_generator.state)
    keep = layer._rng.random((B, T, S)) >= 0.4  # the call's draw (see the forward test)
    layer._rng.bit_generator.state = state
    assert keep.any() and (~keep).any()
    errors = _fd_training_call(layer, xs)
    assert max(errors.values()) < 1e-6, errors


def test_dense_attention_dropout_output_is_rescaled_kept_weights():
    """Forward: ``(weights * keep / (1 - rate)) @ value`` from an independent float64 softmax
    of ``q . k``, with the mask the layer's generator draws (the same ``random(shape) >=
    rate`` rule as numpy_rnn.Dropout)."""
    rate = 0.4
    layer = Attention(dropout=rate, dtype="float64", seed=3)
    q, v = _inputs()
    state = copy.deepcopy(layer._rng.bit_generator.state)
    out = layer([q, v], training=True)
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    keep = rng.random((B, T, S)) >= rate
    scores = np.einsum("btd,bsd->bts", q, v)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    w = e / e.sum(-1, keepdims=True)
    ref = np.einsum("bts,bsd->btd", np.where(keep, w / (1 - rate), 0.0), v)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_multi_head_attention_dropout_backward_matches_finite_differences():
    layer = MultiHeadAttention(num_heads=2, key_dim=2, dropout=0.4, dtype="float64", seed=3,
                               bias_initializer="random_normal")
    layer.build((None, T, D), (None, S, D))
    xs = _inputs(2)
    errors = _fd_training_call(layer, xs, args=True)
    assert max(errors.values()) < 1e-6, errors


def _unscaled_backward(layer):
    """Planted bug: the backward run as if the rate were 0 (no ``1 / (1 - rate)``), the forward
    (and its mask) untouched -- the bug the mutation run found uncaught."""
    def backward(g):
        rate = layer.dropout
        layer.dropout = 0.0
        try:
            return layer.backward(g)
        finally:
            layer.dropout = rate
    return backward


@pytest.mark.parametrize("make", [
    lambda: Attention(dropout=0.4, dtype="float64", seed=3),
    lambda: AdditiveAttention(dropout=0.4, dtype="float64", seed=3),
    lambda: MultiHeadAttention(num_heads=2, key_dim=2, dropout=0.4, dtype="float64", seed=3),
], ids=["Attention", "AdditiveAttention", "MultiHeadAttention"])
def test_teeth_an_unscaled_dropout_backward_is_caught(make):
    layer = make()
    args = isinstance(layer, MultiHeadAttention)
    xs = _inputs(2)
    if args:  # built first: building draws from the generator the mask comes from
        layer(*xs)
    else:
        layer(xs)
    assert max(_fd_training_call(layer, xs, args=args).values()) < 1e-6  # control
    errors = _fd_training_call(layer, xs, args=args, plant=_unscaled_backward)
    assert max(errors.values()) > 1e-3, errors


@pytest.mark.parametrize("window", [1, 2, 3])
def test_sliding_window_is_the_band_within_window_minus_one(window):
    """Keras 3.15 (``_compute_sliding_window_mask``): query ``i`` sees key ``j`` when ``|i - j|
    < sliding_window``.  The same layer's weights with that band given as ``attention_mask``
    must give the same output (an inclusive band, ``<=``, passed every NumPy test before)."""
    kw = dict(num_heads=2, key_dim=2, dtype="float64", seed=3, bias_initializer="random_normal")
    banded = MultiHeadAttention(sliding_window=window, **kw)
    plain = MultiHeadAttention(**kw)
    q, v = _inputs(4)
    got = banded(q, v)
    plain(q, v)
    plain.set_weights(banded.get_weights())
    band = np.abs(np.arange(T)[:, None] - np.arange(S)[None, :]) < window
    np.testing.assert_allclose(got, plain(q, v, attention_mask=np.broadcast_to(band, (B, T, S))),
                               rtol=1e-12, atol=1e-12)
    assert not np.allclose(got, plain(q, v), atol=1e-6)  # the band matters
