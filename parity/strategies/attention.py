"""Hypothesis strategies for the attention layers: MultiHeadAttention, Attention and
AdditiveAttention examples over heads x sizes x lengths x masks.

Composite strategies return named tuples (``MHACase(config, inputs, call, weights)``,
``AttentionCase(layer, config, inputs, call, weights)``) built deterministically from a drawn
seed by ``make_*_case``: ``inputs`` is the list ``[query, value(, key)]``, ``call`` the call's
keyword arguments (``mask=[query_mask, value_mask(, key_mask)]``, ``attention_mask``,
``use_causal_mask``, ``return_attention_scores``), ``weights`` every weight in Keras's order with
non-zero biases (Keras initialises them to zero, which would hide a bias in the wrong place).
Value masks may mask every key of a row: that is where Keras's two MultiHeadAttention paths
differ.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hypothesis import strategies as st

__all__ = ["MHACase", "AttentionCase", "MASK_CHOICES", "make_mha_case", "make_attention_case",
           "mha_cases", "attention_cases", "mha_weight_shapes", "keras_bias_add_quirk"]

#: Which masks an example carries.
MASK_CHOICES = ("none", "query", "value", "both", "key", "attention", "causal",
                "attention+causal")
_DTYPES = ("float32", "float64")


class MHACase(NamedTuple):
    """``config``: MultiHeadAttention options (dtype included)."""

    config: dict
    inputs: list
    call: dict
    weights: list


class AttentionCase(NamedTuple):
    """``layer``: ``"Attention"`` or ``"AdditiveAttention"``; ``config``: its options."""

    layer: str
    config: dict
    inputs: list
    call: dict
    weights: list


def mha_weight_shapes(config: dict, dq: int, dv: int, dk: int | None) -> list[tuple]:
    """Keras's ``get_weights()`` shapes of a rank-3 MultiHeadAttention."""
    n, kd = config["num_heads"], config["key_dim"]
    vd = config.get("value_dim") or kd
    out = config.get("output_shape") or dq
    bias = config.get("use_bias", True)
    shapes = [(dq, n, kd), (n, kd), (dk or dv, n, kd), (n, kd), (dv, n, vd), (n, vd),
              (n, vd, out), (out,)]
    return shapes if bias else shapes[0::2]


def _mask(rng: np.random.Generator, batch: int, length: int, empty_row: bool) -> np.ndarray:
    m = rng.random((batch, length)) > 0.35
    m[:, 0] |= not empty_row  # at least one valid step unless an empty row is wanted
    if empty_row:
        m[-1] = False
    return m


def _masks_and_call(rng, kind: str, batch: int, t: int, s: int, with_key: bool,
                    empty_row: bool) -> dict:
    call: dict[str, Any] = {}
    q_mask = _mask(rng, batch, t, False) if kind in ("query", "both") else None
    v_mask = _mask(rng, batch, s, empty_row) if kind in ("value", "both") else None
    k_mask = _mask(rng, batch, s, empty_row) if kind == "key" and with_key else None
    if q_mask is not None or v_mask is not None or k_mask is not None:
        call["mask"] = [q_mask, v_mask] + ([k_mask] if with_key else [])
    if "attention" in kind:
        call["attention_mask"] = rng.random((batch, t, s)) > 0.3
    if "causal" in kind:
        call["use_causal_mask"] = True
    return call


def keras_bias_add_quirk(config: dict, t: int, s: int) -> bool:
    """True where Keras 3.15's TensorFlow backend adds a projection bias along the wrong axis:
    ``ops.add`` takes a bias whose only non-1 axis has the size of the input's axis 1 (and not
    of its last) for a ``tf.nn.bias_add(data_format="NCHW")``, so a ``(num_heads, 1)`` bias
    (key_dim or value_dim 1) of a projection ``(B, T, num_heads, 1)`` is added along the
    positions when ``T == num_heads``.  numpy_rnn broadcasts as Keras's other backends do;
    examples avoid the case (tests/parity/test_attention_parity.py shows it)."""
    n = config["num_heads"]
    if n == 1 or not config.get("use_bias", True):
        return False
    kd, vd = config["key_dim"], config.get("value_dim") or config["key_dim"]
    return (kd == 1 and n in (t, s)) or (vd == 1 and n == s)


def make_mha_case(config: dict, batch: int, t: int, s: int, dq: int, dv: int, dk: int | None,
                  mask_kind: str, return_scores: bool, seed: int) -> MHACase:
    if keras_bias_add_quirk(config, t, s):  # see keras_bias_add_quirk: sizes of 2 instead
        config = {**config, "key_dim": max(config["key_dim"], 2),
                  "value_dim": max(config.get("value_dim") or config["key_dim"], 2)}
    rng = np.random.default_rng(seed)
    dtype = config["dtype"]
    inputs = [rng.normal(size=(batch, t, dq)), rng.normal(size=(batch, s, dv))]
    if dk is not None:
        inputs.append(rng.normal(size=(batch, s, dk)))
    call = _masks_and_call(rng, mask_kind, batch, t, s, dk is not None, rng.random() < 0.5)
    if return_scores:
        call["return_attention_scores"] = True
    weights = [rng.normal(scale=0.6, size=shape) for shape in mha_weight_shapes(config, dq, dv,
                                                                                dk)]
    return MHACase(config, [x.astype(dtype) for x in inputs], call,
                   [w.astype(dtype) for w in weights])


@st.composite
def mha_cases(draw, dtypes: tuple = _DTYPES, max_len: int = 5) -> MHACase:
    """A rank-3 MultiHeadAttention example: 1-3 heads of 1-4, value heads, output size, bias,
    a key of its own or not, 1-``max_len`` query and key positions, masks (MASK_CHOICES),
    returned scores (Keras's explicit path) or not (its fused path)."""
    config = {"num_heads": draw(st.integers(1, 3)), "key_dim": draw(st.integers(1, 4)),
              "value_dim": draw(st.none() | st.integers(1, 4)),
              "output_shape": draw(st.none() | st.integers(1, 4)),
              "use_bias": draw(st.booleans()), "dtype": draw(st.sampled_from(dtypes))}
    return make_mha_case(config, draw(st.integers(1, 3)), draw(st.integers(1, max_len)),
                         draw(st.integers(1, max_len)), draw(st.integers(1, 5)),
                         draw(st.integers(1, 5)), draw(st.none() | st.integers(1, 5)),
                         draw(st.sampled_from(MASK_CHOICES)), draw(st.booleans()),
                         draw(st.integers(0, 2**32 - 1)))


def make_attention_case(layer: str, config: dict, batch: int, t: int, s: int, dim: int,
                        dv: int, with_key: bool, mask_kind: str, return_scores: bool,
                        seed: int) -> AttentionCase:
    rng = np.random.default_rng(seed)
    dtype = config["dtype"]
    dv = dv if with_key else dim  # the key is the value: the scores compare it with the query
    inputs = [rng.normal(size=(batch, t, dim)), rng.normal(size=(batch, s, dv))]
    if with_key:
        inputs.append(rng.normal(size=(batch, s, dim)))
    call = _masks_and_call(rng, mask_kind.replace("attention", "").strip("+") or "none",
                           batch, t, s, False, rng.random() < 0.5)
    if "mask" in call:
        call["mask"] = call["mask"][:2]
    if return_scores:
        call["return_attention_scores"] = True
    if layer == "AdditiveAttention":
        shapes = [(dim,)] if config["use_scale"] else []
    else:
        shapes = [()] * (int(config["use_scale"]) + int(config["score_mode"] == "concat"))
    weights = [(1.0 + rng.normal(scale=0.5, size=shape)) for shape in shapes]
    return AttentionCase(layer, config, [x.astype(dtype) for x in inputs], call,
                         [np.asarray(w, dtype) for w in weights])


@st.composite
def attention_cases(draw, dtypes: tuple = _DTYPES, max_len: int = 5) -> AttentionCase:
    """An Attention (dot or concat scores, scale or not) or AdditiveAttention example, with
    masks (query, value, causal), a key of its own or not and returned scores or not."""
    layer = draw(st.sampled_from(("Attention", "AdditiveAttention")))
    config = {"use_scale": draw(st.booleans()), "dtype": draw(st.sampled_from(dtypes))}
    if layer == "Attention":
        config["score_mode"] = draw(st.sampled_from(("dot", "concat")))
    kind = draw(st.sampled_from(("none", "query", "value", "both", "causal")))
    return make_attention_case(layer, config, draw(st.integers(1, 3)),
                               draw(st.integers(1, max_len)), draw(st.integers(1, max_len)),
                               draw(st.integers(1, 4)), draw(st.integers(1, 4)),
                               draw(st.booleans()), kind, draw(st.booleans()),
                               draw(st.integers(0, 2**32 - 1)))
