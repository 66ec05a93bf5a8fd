"""Parity cases of the attention layers for ``numpy-rnn parity``: MultiHeadAttention (Keras's
fused and explicit paths, query / value masks with a row whose keys are all masked, the causal
mask, ``attention_axes``, the gate and the sliding window), Attention (dot and concat scores),
AdditiveAttention and EinsumDense, forward rows and ``grad/attention/`` rows (every weight, query,
value and key against ``tf.GradientTape``).  Small shapes: the group runs in a few seconds."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..bridge import deviations, from_keras, to_keras
from ..bridge.grad_referee import refereed_gradients
from ..bridge.referee import refereed_parity
from ..report import ParityReport
from .case import Case, register
from .weights import randomize

BATCH, T, S, DQ, DV = 3, 5, 6, 8, 7
#: The query mask keeps a prefix; the value mask has holes and one row with every key masked.
Q_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 1, 1, 0]], bool)
V_MASK = np.array([[1, 1, 0, 1, 1, 0], [1, 0, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0]], bool)


def _keras():
    import keras

    return keras


def _inputs(rng: np.random.Generator, dtype: str, *shapes: tuple) -> list[np.ndarray]:
    return [rng.normal(size=s).astype(dtype) for s in shapes]


def mha_example(options: dict, call: dict, seed: int, rank4: bool = False,
                with_key: bool = False) -> tuple[Any, list, dict]:
    """``(keras MultiHeadAttention with random weights and biases, inputs, call arguments)``."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    dtype = options.get("dtype", "float32")
    shapes = ([(BATCH, 2, 3, DQ), (BATCH, 2, 2, DV)] if rank4 else
              [(BATCH, T, DQ), (BATCH, S if not call.get("use_causal_mask") else T, DV)])
    if with_key:
        shapes.append(shapes[1][:-1] + (4,))
    inputs = _inputs(rng, dtype, *shapes)
    settings = {"num_heads": 2, "key_dim": 4, **options}
    if settings.get("value_dim") not in (None, settings["key_dim"]) and not (
            call.get("return_attention_scores") or settings.get("dropout")):
        skip = deviations.unsupported("mha-value-dim")  # Keras on JAX raises there
        if skip is not None:
            raise skip
    k = keras.layers.MultiHeadAttention(**settings)
    k.build(*[x.shape for x in inputs])
    randomize(k, 1, rng, dtype)
    return k, inputs, dict(call)


MHA_ROWS = [
    ("fused masks", {}, {"mask": [Q_MASK, V_MASK]}, {}),
    ("explicit masks+scores", {}, {"mask": [Q_MASK, V_MASK], "return_attention_scores": True},
     {}),
    ("causal+scores", {}, {"use_causal_mask": True, "return_attention_scores": True}, {}),
    ("attention_axes=(1,2)", {"attention_axes": (1, 2)}, {}, {"rank4": True}),
    ("gate+sliding_window=2", {"use_gate": True, "sliding_window": 2}, {}, {}),
    ("key value_dim=3 output_shape=5 float64",
     {"value_dim": 3, "output_shape": 5, "dtype": "float64"},
     {"mask": [None, V_MASK, V_MASK[::-1]]}, {"with_key": True}),
    ("dropout=0.2 inference masks", {"dropout": 0.2}, {"mask": [None, V_MASK]}, {}),
]
ATTENTION_ROWS = [
    ("attention dot use_scale masks", "Attention", {"use_scale": True}, {"mask": [Q_MASK, V_MASK]}),
    ("attention concat causal+scores", "Attention", {"score_mode": "concat", "use_scale": True},
     {"use_causal_mask": True, "return_attention_scores": True}),
    ("additive masks+scores float64", "AdditiveAttention", {"dtype": "float64"},
     {"mask": [Q_MASK, V_MASK], "return_attention_scores": True}),
    ("additive key", "AdditiveAttention", {}, {"key": True}),
]
EINSUM_ROWS = [
    ("abc,cde->abde bias=de tanh", "abc,cde->abde", (None, 2, 3), "de", "tanh"),
    ("...b,bc->...c bias=c", "...b,bc->...c", 4, "c", None),
    ("abc,bcd->ad bias=d relu", "abc,bcd->ad", 4, "d", "relu"),
]


def attention_example(cls: str, options: dict, call: dict, seed: int):
    keras = _keras()
    rng = np.random.default_rng(seed)
    dtype = options.get("dtype", "float32")
    call = dict(call)
    s = T if call.get("use_causal_mask") else S
    shapes = [(BATCH, T, 4), (BATCH, s, DV if call.get("key") else 4)]
    if call.pop("key", False):
        shapes.append((BATCH, s, 4))
    inputs = _inputs(rng, dtype, *shapes)
    k = getattr(keras.layers, cls)(**options)
    k.build([x.shape for x in inputs])
    if k.weights:
        k.set_weights([(1 + rng.normal(scale=0.5, size=w.shape)).astype(dtype)
                       for w in k.weights])
    if "mask" in call:
        call["mask"] = [m if m is None else m[:, :x.shape[1]] for m, x in zip(call["mask"],
                                                                              inputs)]
    return k, inputs, call


def einsum_example(equation: str, output_shape: Any, bias_axes: str, activation: Any,
                   seed: int):
    keras = _keras()
    rng = np.random.default_rng(seed)
    (x,) = _inputs(rng, "float32", (BATCH, T, DQ))
    k = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes,
                                 activation=activation)
    k.build(x.shape)
    randomize(k, 1, rng)
    return k, x


def _pair(k: Any, direction: str):
    n = from_keras(k)
    return (n, to_keras(n)) if direction == "numpy->keras" else (n, k)


@register("attention")
def attention_cases(seed: int) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, fn: Callable[[], ParityReport]) -> None:
        cases.append(Case(name, fn))

    for i, (label, options, call, extra) in enumerate(MHA_ROWS):
        direction = "numpy->keras" if i % 3 == 2 else "keras->numpy"
        name = f"attention/mha {label} [{direction}]"

        def forward(o=options, c=call, e=extra, d=direction, name=name) -> ParityReport:
            k, inputs, kw = mha_example(o, c, seed, **e)
            n, k = _pair(k, d)
            return refereed_parity(n, k, inputs, case=name, **kw)
        add(name, forward)
    for label, cls, options, call in ATTENTION_ROWS:
        direction = "numpy->keras" if "key" in label else "keras->numpy"
        name = f"attention/{label} [{direction}]"

        def attention_forward(c=cls, o=options, kw=call, d=direction, name=name) -> ParityReport:
            k, inputs, kwargs = attention_example(c, o, kw, seed)
            return refereed_parity(*_pair(k, d), inputs, case=name, **kwargs)
        add(name, attention_forward)
    for label, eq, out, bias, act in EINSUM_ROWS:
        name = f"attention/einsum_dense {label} [numpy->keras]"

        def einsum_forward(eq=eq, out=out, bias=bias, act=act, name=name) -> ParityReport:
            k, x = einsum_example(eq, out, bias, act, seed)
            return refereed_parity(*_pair(k, "numpy->keras"), x, case=name)
        add(name, einsum_forward)
    for label, options, call, extra in MHA_ROWS[:3] + MHA_ROWS[4:6]:
        name = f"grad/attention/mha {label}"

        def backward(o=options, c=call, e=extra, name=name) -> ParityReport:
            k, inputs, kw = mha_example(o, c, seed, **e)
            return refereed_gradients(from_keras(k), k, inputs, case=name, **kw)
        add(name, backward)
    for label, cls, options, call in ATTENTION_ROWS[:3]:
        name = f"grad/attention/{label}"

        def attention_backward(c=cls, o=options, kw=call, name=name) -> ParityReport:
            k, inputs, kwargs = attention_example(c, o, kw, seed)
            return refereed_gradients(from_keras(k), k, inputs, case=name, **kwargs)
        add(name, attention_backward)
    label, eq, out, bias, act = EINSUM_ROWS[0]

    def einsum_backward() -> ParityReport:
        k, x = einsum_example(eq, out, bias, act, seed)
        return refereed_gradients(from_keras(k), k, x, case=f"grad/attention/einsum_dense "
                                                            f"{label}")
    add(f"grad/attention/einsum_dense {label}", einsum_backward)
    return cases
