"""Hypothesis: the merge layers equal Keras's over shapes x inputs x options x masks, forward and
input gradients (float64, ``tf.GradientTape``; the table's ``output`` / ``gradient`` kinds).

Drawn: the layer (every merge), 2 or 3 inputs (Subtract and Dot: 2), batch, timesteps and
features; for the element-wise merges an input of lower rank (``(batch, features)``, Keras
reshapes it with ``expand_dims(x, 1)``) or with a size-1 axis (broadcast); masks on the inputs of
the merges whose values use them (Multiply, Maximum, Minimum); Concatenate's axis; Dot's axes and
``normalize``.  The gradient of ``Dot(normalize=True)`` over an axis of length 1 is identically
zero (a normalized 1-vector is the constant +-1), so both sides give rounding noise there, which
the gradient tolerance (relative to the largest expected element) cannot judge: only its forward
is checked.

Not drawn: Keras 3.15's TensorFlow ``ops.add`` (Add, Average) turns ``x1 + x2`` into
``tf.nn.bias_add(x1, squeeze(x2))`` when ``x2`` has a single axis longer than 1 whose size is
``x1``'s axis 1 or last; when that axis is ``x2``'s batch (``x2`` of shape ``(batch, 1, 1)``,
e.g. a ``(batch, 1)`` input merged into ``(batch, batch, 1)``) the batch rows are added along
another axis -- a backend quirk numpy_rnn does not copy (it broadcasts, as ``keras.ops.add``
is documented to; :func:`bias_add_quirk`).
"""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from keras.src import backend  # noqa: E402

import numpy_rnn  # noqa: E402
from numpy_rnn.testing import assert_close  # noqa: E402

pytestmark = pytest.mark.keras

ELEMENTWISE = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
MASKED = ("Multiply", "Maximum", "Minimum")


@st.composite
def merge_cases(draw):
    cls = draw(st.sampled_from(ELEMENTWISE + ("Concatenate", "Dot")))
    b, t, f = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n = 2 if cls in ("Subtract", "Dot") else draw(st.integers(2, 3))
    kwargs: dict = {}
    if cls in ELEMENTWISE:
        shapes = [(b, t, f)] * n
        variant = draw(st.sampled_from(["same", "rank2", "ones"]))
        if variant == "rank2" and cls not in MASKED:
            shapes[-1] = (b, f)
        elif variant == "ones":
            shapes[0] = (b, 1, f)
    elif cls == "Concatenate":
        axis = draw(st.sampled_from([1, 2, -1]))
        kwargs["axis"] = axis
        sizes = [draw(st.integers(1, 3)) for _ in range(n)]
        shapes = [(b, s, f) if axis == 1 else (b, t, s) for s in sizes]
    else:
        rank2 = draw(st.booleans())
        kwargs["normalize"] = draw(st.booleans())
        if rank2:
            shapes, kwargs["axes"] = [(b, f), (b, f)], draw(st.sampled_from([1, -1]))
        else:
            other = draw(st.integers(1, 3))
            shapes = [(b, t, f), (b, other, f)]
            kwargs["axes"] = draw(st.sampled_from([2, -1, (2, 2)]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=s) for s in shapes]
    masks = [None] * n
    if cls in MASKED and draw(st.booleans()):
        masks = [rng.random(s[:2]) > 0.4 if draw(st.booleans()) else None for s in shapes]
    return cls, kwargs, xs, masks, rng.normal


def bias_add_quirk(cls: str, shapes: list[tuple]) -> bool:
    """Whether Keras's TensorFlow ``ops.add`` would take its ``bias_add`` path with a batch axis
    (module docstring) for this merge."""
    if cls not in ("Add", "Average"):
        return False
    top = max(len(s) for s in shapes)
    x1 = np.broadcast_shapes(*[s[:1] + (1,) * (top - len(s)) + s[1:] for s in shapes[:1]])
    for s in shapes[1:]:
        s = s[:1] + (1,) * (top - len(s)) + s[1:]
        long = [i for i, d in enumerate(s) if d > 1]
        if long == [0] and s[0] in (x1[1], x1[-1]):
            return True
        x1 = np.broadcast_shapes(x1, s)
    return False


@settings(max_examples=max(settings.default.max_examples // 2, 1))
@given(merge_cases())
def test_merges_equal_keras_forward_and_gradients(case):
    cls, kwargs, xs, masks, normal = case
    assume(not bias_add_quirk(cls, [x.shape for x in xs]))
    tx = [tf.constant(x) for x in xs]
    for t, m in zip(tx, masks):
        if m is not None:
            backend.set_keras_mask(t, tf.constant(m))
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = getattr(keras.layers, cls)(dtype="float64", **kwargs)(tx)
        g = normal(size=tuple(y.shape))
        loss = tf.reduce_sum(y * g)
    k_grads = tape.gradient(loss, tx)
    layer = getattr(numpy_rnn.layers, cls)(dtype="float64", **kwargs)
    out = layer(xs, mask=masks if any(m is not None for m in masks) else None, training=True)
    assert_close(out, np.asarray(y), name=f"{cls} output")
    if kwargs.get("normalize") and xs[0].shape[-1] == 1:
        return  # a normalized length-1 vector is the constant +-1: both gradients are rounding
    for i, (a, e) in enumerate(zip(layer.backward(g), k_grads)):
        assert_close(a, np.asarray(e), name=f"{cls} d inputs[{i}]", kind="gradient")
    shape = layer.compute_output_shape([(None,) + x.shape[1:] for x in xs])
    assert tuple(shape[1:]) == out.shape[1:]
