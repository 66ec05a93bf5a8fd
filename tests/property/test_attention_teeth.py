"""The attention tests have teeth: planted bugs in MultiHeadAttention, Attention,
AdditiveAttention and EinsumDense must make them fail.

Each mutant is monkeypatched in; then the NumPy-only checks (tests/unit: the naive float64
references, finite differences, the overflow test of the query scaling) and the parity checks
against Keras (tests/parity/test_attention_parity.py) named for it run, and every one of them
must fail.  The unpatched code passes the same checks (the suites themselves)."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import numpy_rnn.layers.attention.mha_math as mm  # noqa: E402
from numpy_rnn.layers.attention import (AdditiveAttention, BaseDenseAttention,  # noqa: E402
                                        MultiHeadAttention)
from numpy_rnn.layers.einsum_dense import EinsumDense  # noqa: E402
from tests.helpers import wrap_backward  # noqa: E402
from tests.parity import test_attention_parity as par  # noqa: E402
from tests.unit import test_attention_unit as unit  # noqa: E402
from tests.unit import test_einsum_dense_unit as ed_unit  # noqa: E402

_real_scores = MultiHeadAttention._scores
_real_mha_apply = MultiHeadAttention._apply
_real_ed_apply = EinsumDense._apply
_real_base_apply = BaseDenseAttention._apply
_real_additive_scores = AdditiveAttention._calculate_scores
_real_softmax = mm._softmax
_real_causal = mm.causal_mask


def scale_on_the_scores(self, q, k, fused):
    """The explicit path scaling ``q . k`` instead of ``q``: equal but for rounding, except where
    the unscaled product overflows float32."""
    return q, np.einsum(self._equations[0], k, q, optimize=True) * self._scale()


def no_scale(self, q, k, fused):
    return q, np.einsum(self._equations[0], k, q, optimize=True)


def softmax_over_the_queries(x, axes):
    return _real_softmax(x, tuple(a - 1 for a in axes))


def causal_transposed(t, s):
    return np.swapaxes(_real_causal(s, t), -1, -2)


def key_and_value_swapped(self, q_in, v_in, k_in, *args):
    if k_in is None:
        return _real_mha_apply(self, q_in, v_in, None, *args)
    return _real_mha_apply(self, q_in, k_in, v_in, *args)


def heads_split_the_wrong_way(self, x, training):
    """A projection (..., heads, size) read as (..., size, heads) of the same memory."""
    y = _real_ed_apply(self, x, training)
    if self.name in ("query", "key", "value"):
        n, d = y.shape[-2:]
        y = y.reshape(y.shape[:-2] + (d, n)).swapaxes(-1, -2).copy()
    return y


def value_mask_ignored(self, q, val, k, q_mask, v_mask, *args):
    return _real_base_apply(self, q, val, k, q_mask, None, *args)


def additive_scale_ignored(self, query, key):
    t = np.tanh(np.expand_dims(query, -2) + np.expand_dims(key, -3))
    return np.sum(t, axis=-1), t


def softmax_backward_without_the_mean(p, g, axes, mask):
    d = p * g
    return d if mask is None else np.where(mask, d, 0.0)


def einsum_bias_on_the_leading_axis(self, x, training):
    y = _real_ed_apply(self, x, training)
    if self.bias_axes is not None and self.name not in ("query", "key", "value",
                                                        "attention_output", "gate"):
        y = y - self.bias + np.moveaxis(np.broadcast_to(self.bias, y.shape), -1, 1)
    return y


# -- the checks (each raises when it catches the bug) ---------------------------------------------
def _mha_forward():
    for fused in (True, False):
        unit.test_forward_matches_the_reference(fused, "both, a fully masked row")


def _mha_causal():
    unit.test_causal_and_attention_mask()


def _mha_overflow():
    unit.test_the_query_is_scaled_before_the_product_on_the_explicit_path()


def _mha_backward():
    for case in ({}, {"call": {"use_causal_mask": True}, "t": 4, "s": 4},
                 {"key": True, "layer": {"value_dim": 4}}):
        unit.test_backward_matches_finite_differences(case)


def _mha_keras(*names):
    def check():
        for name in names:
            par.test_multi_head_attention(name, "float64")
    check.__name__ = f"keras {names}"
    return check


def _mha_keras_overflow():
    par.test_multi_head_attention_scales_the_query_first()


def _attention_reference():
    unit.test_attention_matches_the_reference({"use_scale": True}, "value")
    unit.test_additive_attention_matches_the_reference(True, True)


def _attention_keras():
    par.test_attention_layers("AdditiveAttention", "masks+scores", "float64")
    par.test_attention_layers("Attention dot scale", "causal+masks", "float64")


def _einsum_checks():
    ed_unit.test_forward_is_the_matmul_it_spells()
    par.test_einsum_dense("ab...,bc->ac...", (4,), "c", "sigmoid", (2, 5, 3, 2), "float64")


MUTANTS = {
    "scale on the scores, not the query": (
        [(MultiHeadAttention, "_scores", scale_on_the_scores)],
        [_mha_overflow, _mha_keras_overflow]),
    "no 1/sqrt(key_dim) scale": (
        [(MultiHeadAttention, "_scores", no_scale)],
        [_mha_forward, _mha_backward, _mha_keras("basic", "scores")]),
    "softmax over the wrong axis": (
        [(mm, "_softmax", softmax_over_the_queries)],
        [_mha_forward, _mha_keras("basic", "masks explicit")]),
    "causal mask transposed": (
        [(mm, "causal_mask", causal_transposed)],
        [_mha_causal, _mha_keras("causal", "causal+scores"), _attention_reference]),
    "key and value swapped": (
        [(MultiHeadAttention, "_apply", key_and_value_swapped)],
        [_mha_forward, _mha_keras("key, value_dim")]),
    "heads split the wrong way": (
        [(EinsumDense, "_apply", heads_split_the_wrong_way)],
        [_mha_forward, _mha_keras("basic", "no bias, 3 heads")]),
    "value mask ignored (Attention)": (
        [(BaseDenseAttention, "_apply", value_mask_ignored)],
        [_attention_reference, _attention_keras]),
    "additive scale ignored": (
        [(AdditiveAttention, "_calculate_scores", additive_scale_ignored)],
        [_attention_reference, _attention_keras]),
    "softmax backward without its mean": (
        [(mm, "softmax_backward", softmax_backward_without_the_mean)],
        [_mha_backward, _mha_keras("basic", "masks fused")]),
    "bias on the leading axis (EinsumDense)": (
        [(EinsumDense, "_apply", einsum_bias_on_the_leading_axis)], [_einsum_checks]),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_planted_bug_is_caught(name, monkeypatch):
    patches, checks = MUTANTS[name]
    for owner, attr, mutant in patches:
        monkeypatch.setattr(owner, attr, mutant)
    survived = []
    for check in checks:
        try:
            check()
        except (AssertionError, ValueError):
            continue
        survived.append(getattr(check, "__name__", repr(check)))
    assert not survived, f"planted bug {name!r} passed {survived}"


@pytest.mark.parametrize("which", ["key kernel", "attention output bias", "Attention scale"])
def test_planted_backward_bug_is_caught(which, monkeypatch):
    """A weight gradient zeroed after the real backward: finite differences and Keras see it."""
    if which == "Attention scale":
        from numpy_rnn.layers.attention import Attention

        wrap_backward(Attention, monkeypatch, lambda layer: layer.gradients.__setitem__(
            0, np.zeros_like(layer.gradients[0])))
        with pytest.raises(AssertionError):
            unit.test_attention_backward_matches_finite_differences(
                Attention, {"use_scale": True}, {}, False)
        with pytest.raises(AssertionError):
            par.test_attention_layers("Attention dot scale", "plain", "float64")
        return
    index = 2 if which == "key kernel" else 7
    wrap_backward(MultiHeadAttention, monkeypatch, lambda layer: layer.gradients.__setitem__(
        index, np.zeros_like(layer.gradients[index])))
    with pytest.raises(AssertionError):
        unit.test_backward_matches_finite_differences({})
    with pytest.raises(AssertionError):
        par.test_multi_head_attention("basic", "float64")
