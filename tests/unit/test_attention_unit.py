"""MultiHeadAttention, Attention and AdditiveAttention without TensorFlow: against naive float64
references (tests/attention_helpers.py), backward passes against finite differences, masks,
Keras's two MultiHeadAttention paths, errors that change nothing, configs and weights."""
from __future__ import annotations

import json

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import AdditiveAttention, Attention, MultiHeadAttention
from numpy_rnn._limits import LimitError
from tests.attention_helpers import (finite_difference_check, reference_bahdanau,
                                     reference_luong, reference_mha)

B, T, S, DQ, DV = 2, 3, 4, 5, 6


def _inputs(seed=0, dq=DQ, dv=DV, t=T, s=S):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, t, dq)), rng.normal(size=(B, s, dv)), rng.normal(size=(B, s, dv))


def _mha(*, dtype="float64", key=False, seed=0, **kwargs):
    kwargs.setdefault("num_heads", 2)
    kwargs.setdefault("key_dim", 3)
    layer = MultiHeadAttention(dtype=dtype, seed=seed, bias_initializer="random_normal",
                               **kwargs)
    layer.build((None, T, DQ), (None, S, DV), (None, S, DV) if key else None)
    return layer


MASKS = {
    "value": (None, np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)),
    "query": (np.array([[1, 1, 0], [1, 1, 1]], bool), None),
    "both, a fully masked row": (np.array([[1, 0, 1], [1, 1, 1]], bool),
                                 np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool)),
}


def _combined(q_mask, v_mask, causal=False):
    m = np.ones((B, T, S), bool)
    if q_mask is not None:
        m &= q_mask[:, :, None]
    if v_mask is not None:
        m &= v_mask[:, None, :]
    if causal:
        m &= np.tril(np.ones((T, S), bool))[None]
    return m


# -- MultiHeadAttention: weights -----------------------------------------------------------------
def test_weights_in_keras_order_and_shapes():
    layer = _mha(num_heads=2, key_dim=3, value_dim=4, key=True)
    assert layer.weight_names() == [
        "query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel", "value/bias",
        "attention_output/kernel", "attention_output/bias"]
    assert [w.shape for w in layer.get_weights()] == [
        (DQ, 2, 3), (2, 3), (DV, 2, 3), (2, 3), (DV, 2, 4), (2, 4), (2, 4, DQ), (DQ,)]
    gated = _mha(use_gate=True, use_bias=False, output_shape=(2, 4))
    assert gated.weight_names() == ["query/kernel", "key/kernel", "gate/kernel", "value/kernel",
                                    "attention_output/kernel"]
    assert gated.get_weights()[-1].shape == (2, 3, 2, 4)
    assert gated.count_params == sum(w.size for w in gated.get_weights())


def test_seeded_weights_are_reproducible_and_distinct():
    a, b = _mha(seed=5), _mha(seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    wq, _, wk, *_ = a.get_weights()
    assert wq.shape == (DQ, 2, 3) and not np.array_equal(wq[:, :, :], wk[:DQ])


# -- MultiHeadAttention: forward against the reference ----------------------------------------
@pytest.mark.parametrize("fused", [True, False], ids=["fused path", "explicit path"])
@pytest.mark.parametrize("masks", list(MASKS), ids=list(MASKS))
def test_forward_matches_the_reference(fused, masks):
    q_mask, v_mask = MASKS[masks]
    layer = _mha(key=True, value_dim=4)
    q, v, k = _inputs()
    out = layer(q, v, key=k, query_mask=q_mask, value_mask=v_mask,
                return_attention_scores=not fused)
    ref, ref_scores = reference_mha(q, v, k, layer.get_weights(), 2, 3, 4,
                                    mask=_combined(q_mask, v_mask), fused=fused)
    got = out if fused else out[0]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    if not fused:
        np.testing.assert_allclose(out[1], ref_scores, rtol=1e-12, atol=1e-12)


def test_the_two_paths_differ_only_on_fully_masked_rows():
    """Keras's fused path averages every value for a query whose keys are all masked, the
    explicit path gives it zero attention; elsewhere they agree."""
    layer = _mha()
    q, v, _ = _inputs()
    v_mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool)
    fused = layer(q, v, value_mask=v_mask)
    explicit, scores = layer(q, v, value_mask=v_mask, return_attention_scores=True)
    np.testing.assert_allclose(fused[0], explicit[0], rtol=1e-12, atol=1e-13)
    assert np.abs(fused[1] - explicit[1]).max() > 1e-3
    assert np.all(scores[1] == 0)
    bias = layer.output_dense.get_weights()[1]
    np.testing.assert_allclose(explicit[1], np.broadcast_to(bias, explicit[1].shape), atol=1e-12)


def test_causal_and_attention_mask():
    layer = _mha()
    q, v, _ = _inputs(t=4, s=4)
    am = np.random.default_rng(3).random((B, 4, 4)) > 0.4
    out, scores = layer(q, v, attention_mask=am, use_causal_mask=True,
                        return_attention_scores=True)
    keep = am & np.tril(np.ones((4, 4), bool))[None]
    assert np.all(scores[:, :, ~np.tril(np.ones((4, 4), bool))] == 0)  # causal: j <= i only
    ref, ref_scores = reference_mha(q, v, None, layer.get_weights(), 2, 3, 3, mask=keep)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-12, atol=1e-12)
    # a (T, S) mask broadcasts over the batch, as in Keras
    both = layer(q, v, attention_mask=am[0])
    np.testing.assert_allclose(both[0], layer(q, v, attention_mask=am)[0], rtol=1e-13)


def test_masks_from_mask_list_equal_the_keywords():
    layer = _mha(key=True)
    q, v, k = _inputs()
    qm, vm = MASKS["both, a fully masked row"]
    km = np.array([[1, 0, 1, 1], [1, 1, 1, 0]], bool)
    by_kw = layer(q, v, key=k, query_mask=qm, value_mask=vm, key_mask=km)
    by_list = layer([q, v, k], mask=[qm, vm, km])
    np.testing.assert_array_equal(by_kw, by_list)
    assert layer.compute_mask([q, v, k], [qm, vm, km]) is qm
    assert layer.compute_output_shape([(None, T, DQ), (None, S, DV)]) == (None, T, DQ)


def test_attention_axes_over_two_axes_is_attention_over_the_flattened_positions():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(B, 2, 3, DQ)), rng.normal(size=(B, 2, 2, DV))
    layer = MultiHeadAttention(2, 3, attention_axes=(1, 2), dtype="float64", seed=0,
                               bias_initializer="random_normal")
    out, scores = layer(x, y, return_attention_scores=True)
    assert layer.attention_axes == (1, 2) and scores.shape == (B, 2, 2, 3, 2, 2)
    flat = MultiHeadAttention(2, 3, dtype="float64")
    flat.build((None, 6, DQ), (None, 4, DV))
    flat.set_weights(layer.get_weights())
    ref, ref_scores = flat(x.reshape(B, 6, DQ), y.reshape(B, 4, DV),
                           return_attention_scores=True)
    np.testing.assert_allclose(out.reshape(B, 6, DQ), ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(scores.reshape(B, 2, 6, 4), ref_scores, rtol=1e-12, atol=1e-13)


def test_the_query_is_scaled_before_the_product_on_the_explicit_path():
    """Keras scales the query by 1/sqrt(key_dim) before ``q . k`` on the explicit path: with
    projections near 4e18 and key_dim 64 the unscaled product overflows float32 (1e39) and the
    scaled one does not (1.3e38); the scores then stay finite, as Keras's."""
    layer, q, v = overflow_example()
    out, scores = layer(q, v, return_attention_scores=True)
    assert np.all(np.isfinite(scores)) and np.all(np.isfinite(out))
    np.testing.assert_allclose(scores[0, 0, :, 0], 1.0)  # the largest key wins outright
    np.testing.assert_allclose(out[0, :, 0], 64.0)  # its value (1 per head dim) summed


def overflow_example():
    """float32 MultiHeadAttention whose projected query and key elements are 4e18 (key_dim
    64): q . k = 1.02e39 overflows, (q / 8) . k = 1.28e38 does not."""
    layer = MultiHeadAttention(1, 64, dtype="float32", use_bias=False)
    layer.build((None, 2, 1), (None, 3, 1))
    wq, wk, wv, wo = (np.ones(w.shape, np.float32) for w in layer.get_weights())
    layer.set_weights([wq * 4e18, wk * 4e18, wv, wo])
    q = np.ones((1, 2, 1), np.float32)
    v = np.array([[[1.0], [-1.0], [0.5]]], np.float32)
    return layer, q, v


# -- MultiHeadAttention: backward --------------------------------------------------------------------
@pytest.mark.parametrize("case", [
    dict(),
    dict(call={"return_attention_scores": True}),
    dict(call={"use_causal_mask": True}, t=4, s=4),
    dict(masks="both, a fully masked row"),
    dict(masks="both, a fully masked row", call={"return_attention_scores": True}),
    dict(key=True, layer={"value_dim": 4, "output_shape": (2, 3)}),
    dict(layer={"use_gate": True, "sliding_window": 2}),
    dict(layer={"use_bias": False, "num_heads": 3, "key_dim": 2}),
], ids=["fused", "explicit+scores", "causal", "masks fused", "masks explicit", "key",
        "gate+window", "no bias"])
def test_backward_matches_finite_differences(case):
    t, s = case.get("t", T), case.get("s", S)
    layer = MultiHeadAttention(**{"num_heads": 2, "key_dim": 3, **case.get("layer", {})},
                               dtype="float64", seed=1, bias_initializer="random_normal")
    q, v, k = _inputs(t=t, s=s)
    inputs = [q, v, k] if case.get("key") else [q, v]
    call = dict(case.get("call", {}))
    if "masks" in case:
        qm, vm = MASKS[case["masks"]]
        call.update(query_mask=qm, value_mask=vm)
    finite_difference_check(layer, inputs, call=call, several="args")


def test_backward_over_two_attention_axes():
    rng = np.random.default_rng(2)
    layer = MultiHeadAttention(2, 2, attention_axes=(1, 2), dtype="float64", seed=1,
                               bias_initializer="random_normal")
    finite_difference_check(layer, [rng.normal(size=(2, 2, 3, 3)), rng.normal(size=(2, 2, 2, 4))],
                            several="args")


def test_backward_returns_one_gradient_per_input():
    layer = _mha(dtype="float32")
    q, v, k = (a.astype("float32") for a in _inputs())
    out = layer(q, v, training=True)
    grads = layer.backward(np.ones_like(out))
    assert [g.shape for g in grads] == [q.shape, v.shape]
    assert all(g.dtype == np.float32 for g in grads + layer.gradients)
    layer(q, v, training=False)
    with pytest.raises(RuntimeError, match="no recorded call"):
        layer.backward(np.ones_like(out))


def test_dropout_acts_only_in_training():
    layer = _mha(dropout=0.5)
    q, v, _ = _inputs()
    a, b = layer(q, v), layer(q, v)
    np.testing.assert_array_equal(a, b)
    c = layer(q, v, training=True)
    assert np.abs(c - a).max() > 1e-6
    grads = layer.backward(np.ones_like(c))
    assert grads[0].shape == q.shape


# -- MultiHeadAttention: errors change nothing -------------------------------------------------
def _state(layer):
    return [w.copy() for w in layer.get_weights()], layer._record, layer.built


@pytest.mark.parametrize("bad", [np.ones((B, T, S + 1), bool), np.ones((B, 1, T, S, 1), bool),
                                 np.ones((3, T, S), bool)])
def test_attention_mask_of_the_wrong_shape(bad):
    layer = _mha()
    q, v, _ = _inputs()
    layer(q, v, training=True)
    before = _state(layer)
    with pytest.raises(ValueError, match="`attention_mask` must be broadcastable"):
        layer(q, v, attention_mask=bad, training=True)
    after = _state(layer)
    assert after[1] is before[1] and after[2] and all(
        np.array_equal(x, y) for x, y in zip(before[0], after[0]))


def test_bad_inputs_leave_an_unbuilt_layer_unbuilt():
    layer = MultiHeadAttention(2, 3)
    q, v, _ = _inputs()
    with pytest.raises(ValueError, match="`attention_mask` must be broadcastable"):
        layer(q, v, attention_mask=np.ones((B, T, S + 2), bool))
    assert not layer.built and layer.get_weights() == []
    with pytest.raises(ValueError, match="`value_mask` must have shape"):
        layer(q, v, value_mask=np.ones((B, S + 1), bool))
    with pytest.raises(ValueError, match="needs `value`"):
        layer(q)
    assert not layer.built


def test_argument_errors_in_keras_voice():
    with pytest.raises(ValueError, match="argument `num_heads`, expected a positive integer"):
        MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match="argument `key_dim`"):
        MultiHeadAttention(2, 2.5)
    with pytest.raises(ValueError, match="`attention_axes` must be an int, list, or tuple"):
        MultiHeadAttention(2, 3, attention_axes="1")
    with pytest.raises(ValueError, match="argument `dropout`"):
        MultiHeadAttention(2, 3, dropout=1.5)
    with pytest.raises(ValueError, match="`attention_axes` must be distinct axes"):
        MultiHeadAttention(2, 3, attention_axes=(0,)).build((None, 3, 4), (None, 3, 4))
    with pytest.raises(ValueError, match="All dimensions of `value` and `key`"):
        MultiHeadAttention(2, 3).build((None, 3, 4), (None, 5, 4), (None, 6, 4))
    layer = _mha()
    q, v, _ = _inputs()
    with pytest.raises(ValueError, match="was built for `query`"):
        layer(q[..., :2], v)


# -- MultiHeadAttention: config, weights, readers ---------------------------------------------------
def test_config_round_trip_and_declared_weights():
    layer = _mha(key=True, value_dim=4, output_shape=7, use_gate=True)
    cfg = json.loads(json.dumps(layer.get_config()))
    assert cfg["query_shape"] == [None, T, DQ] and cfg["attention_axes"] == [1]
    twin = MultiHeadAttention.from_config(cfg)
    assert twin.built and twin.weight_shapes() == layer.weight_shapes()
    twin.set_weights(layer.get_weights())
    q, v, k = _inputs()
    np.testing.assert_array_equal(twin(q, v, key=k), layer(q, v, key=k))
    declared, width = MultiHeadAttention.declared_weights(cfg)
    assert declared == [(n, layer.weight_shapes()[n]) for n in layer.weight_names()]
    assert width == 7
    with pytest.raises(LimitError, match="declares no weight shapes"):
        MultiHeadAttention.declared_weights({**cfg, "query_shape": None})


def test_set_weights_all_or_nothing_and_on_an_unbuilt_layer():
    layer = _mha()
    weights = layer.get_weights()
    bad = [w.copy() for w in weights]
    bad[6] = np.zeros((2, 3, DQ + 1))
    with pytest.raises(ValueError, match="attention_output"):
        layer.set_weights(bad)
    assert all(np.array_equal(a, b) for a, b in zip(weights, layer.get_weights()))
    fresh = MultiHeadAttention(2, 3, dtype="float64")
    fresh.set_weights(weights)  # rank-3 shapes read off the kernels
    q, v, _ = _inputs()
    np.testing.assert_array_equal(fresh(q, v), layer(q, v))


def test_keras_weight_groups_follow_get_weights():
    layer = _mha(use_gate=True)
    groups = layer.keras_weight_groups()
    assert [p for p, _ in groups] == ["query_dense", "key_dense", "_gate_dense", "value_dense",
                                      "output_dense"]
    assert [w for _, d in groups for w in d.get_weights()][0] is not None
    flat = [w for _, d in groups for w in d.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(flat, layer.get_weights()))


# -- Attention and AdditiveAttention -------------------------------------------------------------------
LUONG = [({}, {}), ({"use_scale": True}, {}), ({"score_mode": "concat"}, {}),
         ({"score_mode": "concat", "use_scale": True}, {})]


def _attention(cls, kwargs, dim=3, seed=0):
    layer = cls(dtype="float64", seed=seed, **kwargs)
    layer.build([(None, T, dim), (None, S, dim)])
    rng = np.random.default_rng(seed + 10)
    layer.set_weights([rng.normal(size=w.shape) + 1.0 for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("kwargs", [k for k, _ in LUONG], ids=str)
@pytest.mark.parametrize("masks", list(MASKS), ids=list(MASKS))
def test_attention_matches_the_reference(kwargs, masks):
    q_mask, v_mask = MASKS[masks]
    layer = _attention(Attention, kwargs)
    q, v, k = _inputs(dq=3, dv=3)
    out, w = layer([q, v, k], mask=[q_mask, v_mask], return_attention_scores=True)
    weights = dict(zip(layer.weight_names(), layer.get_weights()))
    ref, ref_w = reference_luong(q, v, k, scale=weights.get("scale"),
                                 concat_weight=weights.get("concat_score_weight")
                                 if kwargs.get("score_mode") == "concat" else None,
                                 q_mask=q_mask, v_mask=v_mask)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w, ref_w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("use_scale", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_additive_attention_matches_the_reference(use_scale, causal):
    layer = _attention(AdditiveAttention, {"use_scale": use_scale})
    q, v, _ = _inputs(dq=3, dv=3, t=4, s=4)
    q_mask, v_mask = np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool), \
        np.array([[1, 0, 1, 1], [1, 1, 1, 0]], bool)
    out = layer([q, v], mask=[q_mask, v_mask], use_causal_mask=causal)
    ref, _ = reference_bahdanau(q, v, scale=layer.get_weights()[0] if use_scale else None,
                                q_mask=q_mask, v_mask=v_mask, causal=causal)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,kwargs", [(Attention, k) for k, _ in LUONG]
                         + [(AdditiveAttention, {}), (AdditiveAttention, {"use_scale": False})],
                         ids=lambda x: getattr(x, "__name__", str(x)))
@pytest.mark.parametrize("call", [{}, {"use_causal_mask": True, "return_attention_scores": True},
                                  {"mask": [MASKS["both, a fully masked row"][0],
                                            np.array([[1, 1, 0, 1], [0, 1, 1, 0]], bool)]}],
                         ids=["plain", "causal+scores", "masks"])
@pytest.mark.parametrize("with_key", [False, True], ids=["key=value", "key"])
def test_attention_backward_matches_finite_differences(cls, kwargs, call, with_key):
    layer = _attention(cls, kwargs)
    q, v, k = _inputs(dq=3, dv=3, t=4, s=4) if "use_causal_mask" in call else _inputs(dq=3, dv=3)
    finite_difference_check(layer, [q, v, k] if with_key else [q, v], call=call)


def test_attention_errors_and_shapes():
    layer = Attention()
    q, v, _ = _inputs(dq=3, dv=3)
    with pytest.raises(ValueError, match="must be called on a list of inputs"):
        layer(q)
    with pytest.raises(ValueError, match="accepts inputs list of length 2 or 3"):
        layer([q])
    with pytest.raises(ValueError, match="mask must be a list"):
        layer([q, v], mask=np.ones((B, T), bool))
    with pytest.raises(ValueError, match=r"`mask\[1\]` must have shape"):
        layer([q, v], mask=[None, np.ones((B, S + 1), bool)])
    with pytest.raises(ValueError, match="Invalid value for argument score_mode"):
        Attention(score_mode="general")
    with pytest.raises(ValueError, match="must have the same last axis"):
        layer([q, np.ones((B, S, 4))])
    assert not layer.built
    assert layer.compute_output_shape([(None, T, 3), (None, S, 7)]) == (None, T, 7)
    qm = np.ones((B, T), bool)
    assert layer.compute_mask([q, v], [qm, None]) is not None
    assert layer.compute_mask([q, v], [None, qm]) is None
    additive = AdditiveAttention(dtype="float64")
    additive([q, v])
    with pytest.raises(ValueError, match="built for a query of 3 features"):
        additive([np.ones((B, T, 4)), np.ones((B, S, 4))])


def test_attention_configs_round_trip():
    for layer in (_attention(Attention, {"use_scale": True, "score_mode": "concat"}),
                  _attention(AdditiveAttention, {})):
        cfg = json.loads(json.dumps(layer.get_config()))
        twin = type(layer).from_config(cfg)
        twin.set_weights(layer.get_weights())
        q, v, _ = _inputs(dq=3, dv=3)
        np.testing.assert_array_equal(twin([q, v]), layer([q, v]))
        declared, _ = type(layer).declared_weights(cfg)
        assert declared == [(n, layer.weight_shapes()[n]) for n in layer.weight_names()]
    assert "score_mode" not in AdditiveAttention().get_config()
    assert AdditiveAttention().get_config()["use_scale"] is True


def test_exports():
    for name in ("MultiHeadAttention", "Attention", "AdditiveAttention", "EinsumDense"):
        assert getattr(numpy_rnn, name) is getattr(numpy_rnn.layers, name)
        assert numpy_rnn.model.LAYER_CLASSES[name] is getattr(numpy_rnn, name)
