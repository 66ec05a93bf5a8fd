"""Parity cases of the convolution and pooling layers for ``numpy-rnn parity``: Conv1D (every
padding, strides, dilation, groups, channels_first), Conv1DTranspose (strides, output_padding),
DepthwiseConv1D and SeparableConv1D (strides with dilation), MaxPooling1D / AveragePooling1D
(same padding), GlobalMaxPooling1D / GlobalAveragePooling1D (masks, a fully masked row), a text
classifier built of them, forward (``conv/``) and gradients (``grad/conv/``).  Small shapes:
the whole group runs in a few seconds.

Where Keras 3.15 on TensorFlow's CPU cannot be the reference, the rows avoid it and the tests
cover it another way (tests/parity/test_conv_parity.py):
* TensorFlow's CPU kernels refuse Conv1DTranspose with ``dilation_rate > 1`` or channels_first,
  and a float64 channels_first Conv1D (groups=1): Keras on JAX referees those;
* Keras's TensorFlow ``add`` turns a bias add into ``tf.nn.bias_add`` and, when a channels_first
  output has as many steps as channels, picks the channels_last axis (the bias lands on the
  steps): the rows' shapes never have equal steps and channels.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from ..bridge import compare, from_keras, to_keras
from ..bridge.autodiff import weighted_gradients
from ..bridge.grad_referee import refereed_gradients
from ..bridge.referee import keras_float64_copy, referee
from ..report import ParityReport, diff_arrays
from .case import Case, register

BATCH, STEPS, CHANNELS, FILTERS = 3, 11, 4, 6


def _keras():
    import keras

    return keras


def conv_weights(shapes: list[tuple], rng: np.random.Generator,
                 dtype: str = "float32") -> list[np.ndarray]:
    """Random kernels scaled by 1/sqrt(fan in) and biases away from zero (a dropped bias, a
    bias on the wrong axis or a kernel read in the wrong order moves every output)."""
    out = []
    for shape in shapes:
        if len(shape) == 1:
            w = rng.normal(0.0, 0.5, size=shape) + rng.choice([-0.5, 0.5], size=shape)
        else:
            w = rng.normal(size=shape) / np.sqrt(max(int(np.prod(shape[:-1])), 1))
        out.append(w.astype(dtype))
    return out


def input_shape(options: dict, steps: int = STEPS, channels: int = CHANNELS) -> tuple:
    first = options.get("data_format") == "channels_first"
    return (BATCH, channels, steps) if first else (BATCH, steps, channels)


def keras_layer(cls: str, args: tuple, options: dict, shape: tuple, rng: np.random.Generator,
                dtype: str = "float32"):
    """A built Keras layer ``cls(*args, **options)`` with random weights."""
    layer = getattr(_keras().layers, cls)(*args, **options, dtype=dtype)
    layer.build(shape)
    if layer.weights:
        layer.set_weights(conv_weights([tuple(w.shape) for w in layer.weights], rng, dtype))
    return layer


def steps_mask(kind: str, batch: int = BATCH, steps: int = STEPS) -> np.ndarray | None:
    """``"holes"`` (steps dropped here and there) or ``"all_masked_row"`` (also a row with
    none left: GlobalAveragePooling1D gives NaN there, in Keras too)."""
    if kind == "none":
        return None
    mask = np.ones((batch, steps), bool)
    mask[0, :3] = False
    mask[1, 4::3] = False
    if kind == "all_masked_row":
        mask[-1] = False
    return mask


def _label(args: tuple, options: dict) -> str:
    parts = [str(a) for a in args] + [f"{k}={v}" for k, v in options.items()]
    return ",".join(parts) if parts else "default"


def layer_case(cls: str, args: tuple, options: dict, seed: int, dtype: str = "float32",
               mask: str = "none", direction: str = "keras->numpy") -> ParityReport:
    """One layer, Keras's weights copied into its NumPy twin (or the reverse), both run."""
    rng = np.random.default_rng(seed)
    shape = input_shape(options)
    k = keras_layer(cls, args, options, shape, rng, dtype)
    n = from_keras(k)
    if direction == "numpy->keras":
        k = to_keras(n)
    x = rng.normal(size=shape).astype(dtype)
    call = {} if mask == "none" else {"mask": steps_mask(mask)}
    name = f"conv/{cls} {_label(args, options)} {dtype}" + (
        f" mask={mask}" if mask != "none" else "") + f" [{direction}]"
    return compare(n, k, x, case=name, **call)


def layer_grad_case(cls: str, args: tuple, options: dict, seed: int, dtype: str = "float32",
                    mask: str = "none") -> ParityReport:
    """Gradients of the sum of the outputs (every weight and the input) against the tape."""
    rng = np.random.default_rng(seed)
    shape = input_shape(options)
    k = keras_layer(cls, args, options, shape, rng, dtype)
    x = rng.normal(size=shape).astype(dtype)
    call = {} if mask == "none" else {"mask": steps_mask(mask)}
    name = f"grad/conv/{cls} {_label(args, options)} {dtype}" + (
        f" mask={mask}" if mask != "none" else "")
    return refereed_gradients(from_keras(k), k, x, case=name, **call)


def pool_ties_grad_case(cls: str, args: tuple, options: dict, seed: int) -> ParityReport:
    """Small integers: windows with several maximal steps.  TensorFlow sends a window's gradient
    to its first maximal step (MaxPooling1D) and shares a global max among all of them."""
    rng = np.random.default_rng(seed)
    shape = input_shape(options)
    k = keras_layer(cls, args, options, shape, rng)
    x = rng.integers(0, 3, size=shape).astype("float32")
    return refereed_gradients(from_keras(k), k, x,
                              case=f"grad/conv/{cls} {_label(args, options)} ties")


def classifier(rng: np.random.Generator, pool: str = "max", dtype: str = "float32"):
    """A Keras text classifier: Embedding(mask_zero) -> Conv1D -> MaxPooling1D ->
    SeparableConv1D -> Global{Max,Average}Pooling1D -> Dense(softmax); random weights."""
    keras = _keras()
    top = keras.layers.GlobalMaxPooling1D() if pool == "max" else \
        keras.layers.GlobalAveragePooling1D()
    model = keras.Sequential([
        keras.Input((16,), dtype="int32"),
        keras.layers.Embedding(30, 8, mask_zero=True, dtype=dtype),
        keras.layers.Conv1D(12, 5, padding="causal", activation="relu", dtype=dtype),
        keras.layers.MaxPooling1D(2, dtype=dtype),
        keras.layers.SeparableConv1D(10, 3, padding="same", depth_multiplier=2, dtype=dtype),
        top, keras.layers.Dense(4, activation="softmax", dtype=dtype)], name=f"conv_{pool}")
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(conv_weights([tuple(w.shape) for w in layer.weights], rng, dtype))
    return model


def classifier_ids(rng: np.random.Generator, n: int = 8) -> np.ndarray:
    ids = rng.integers(1, 30, size=(n, 16)).astype("int32")
    ids[: n // 2, :5] = 0  # left padding: the Embedding's mask is dropped by Conv1D, as Keras
    return ids


def _quietly(fn: Callable) -> Callable:
    """Run ``fn`` without Keras's warning that a layer which does not support masking drops
    the mask (expected in these models: it is what they check)."""
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not support masking.*")
            return fn(*args, **kwargs)

    run.__name__, run.__doc__ = fn.__name__, fn.__doc__
    return run


@_quietly
def classifier_case(pool: str, seed: int) -> ParityReport:
    rng = np.random.default_rng(seed)
    k = classifier(rng, pool)
    return compare(from_keras(k), k, classifier_ids(rng),
                   case=f"conv/models/embedding->conv1d->maxpool->separable->global{pool}->dense")


@_quietly
def global_pool_mask_case(pool: str, seed: int) -> ParityReport:
    """Embedding(mask_zero) -> Global{Max,Average}Pooling1D -> Dense: Keras 3.15's max ignores
    the mask (padding rows take part), the average skips the padded steps; the last row is all
    padding (the average: NaN in both)."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    top = keras.layers.GlobalMaxPooling1D() if pool == "max" else \
        keras.layers.GlobalAveragePooling1D()
    k = keras.Sequential([keras.Input((9,), dtype="int32"),
                          keras.layers.Embedding(12, 5, mask_zero=True), top,
                          keras.layers.Dense(3)], name=f"masked_global_{pool}")
    for layer in k.layers:
        layer.set_weights(conv_weights([tuple(w.shape) for w in layer.weights], rng))
    ids = rng.integers(1, 12, size=(4, 9)).astype("int32")
    ids[0, :4] = 0
    ids[1, 6:] = 0
    ids[3] = 0
    return compare(from_keras(k), k, ids,
                   case=f"conv/models/embedding(mask_zero)->global{pool} fully padded row->dense")


@_quietly
def classifier_grad_case(pool: str, seed: int) -> ParityReport:
    rng = np.random.default_rng(seed)
    k = classifier(rng, pool)
    ids = classifier_ids(rng)
    targets = np.eye(4, dtype="float32")[rng.integers(0, 4, size=len(ids))]
    return refereed_gradients(from_keras(k), k, ids, targets=targets,
                              loss="categorical_crossentropy",
                              case=f"grad/conv/models/classifier global{pool} loss=cce")


#: (Keras class, positional args, options, dtype, mask) of the forward rows.
FORWARD_ROWS: list[tuple] = [
    ("Conv1D", (FILTERS, 3), {}, "float32", "none"),
    ("Conv1D", (FILTERS, 3), {"padding": "same", "strides": 2, "activation": "tanh"},
     "float32", "none"),
    ("Conv1D", (FILTERS, 3), {"padding": "causal", "dilation_rate": 2}, "float32", "none"),
    ("Conv1D", (FILTERS, 4), {"padding": "same", "groups": 2}, "float32", "none"),
    ("Conv1D", (FILTERS, 1), {"use_bias": False}, "float32", "none"),
    ("Conv1D", (FILTERS, 3), {"padding": "same", "data_format": "channels_first"},
     "float32", "none"),
    ("Conv1D", (FILTERS, 3), {"padding": "causal", "strides": 3, "groups": 2}, "float64",
     "none"),
    ("Conv1DTranspose", (5, 3), {"strides": 2}, "float32", "none"),
    ("Conv1DTranspose", (5, 3), {"strides": 2, "padding": "same", "output_padding": 1},
     "float32", "none"),
    ("Conv1DTranspose", (5, 2), {"strides": 3, "output_padding": 2}, "float64", "none"),
    ("Conv1DTranspose", (5, 4), {"padding": "same", "activation": "relu"}, "float32", "none"),
    ("DepthwiseConv1D", (3,), {"depth_multiplier": 2}, "float32", "none"),
    ("DepthwiseConv1D", (3,), {"padding": "same", "strides": 2, "dilation_rate": 2},
     "float64", "none"),
    ("DepthwiseConv1D", (3,), {"strides": 2, "data_format": "channels_first"}, "float32",
     "none"),
    ("SeparableConv1D", (5, 3), {"padding": "same", "depth_multiplier": 2, "activation": "relu"},
     "float32", "none"),
    ("SeparableConv1D", (5, 3), {"strides": 2, "dilation_rate": 2}, "float32", "none"),
    ("SeparableConv1D", (5, 3), {"padding": "same", "data_format": "channels_first"},
     "float64", "none"),
    ("MaxPooling1D", (), {}, "float32", "none"),
    ("MaxPooling1D", (3,), {"strides": 1, "padding": "same"}, "float32", "none"),
    ("MaxPooling1D", (4,), {"strides": 2, "padding": "same", "data_format": "channels_first"},
     "float64", "none"),
    ("AveragePooling1D", (3,), {"strides": 2, "padding": "same"}, "float32", "none"),
    ("AveragePooling1D", (2,), {"data_format": "channels_first"}, "float32", "none"),
    ("GlobalMaxPooling1D", (), {}, "float32", "none"),
    ("GlobalMaxPooling1D", (), {"keepdims": True, "data_format": "channels_first"}, "float64",
     "none"),
    ("GlobalAveragePooling1D", (), {}, "float32", "holes"),
    ("GlobalAveragePooling1D", (), {}, "float32", "all_masked_row"),
    ("GlobalAveragePooling1D", (), {"keepdims": True, "data_format": "channels_first"},
     "float64", "holes"),
]

#: The gradient rows: (Keras class, args, options, dtype, mask).
GRAD_ROWS: list[tuple] = [
    ("Conv1D", (FILTERS, 3), {"padding": "same", "strides": 2, "activation": "tanh"},
     "float32", "none"),
    ("Conv1D", (FILTERS, 3), {"padding": "causal", "dilation_rate": 2, "groups": 2},
     "float64", "none"),
    ("Conv1DTranspose", (5, 3), {"strides": 2, "padding": "same", "output_padding": 1},
     "float32", "none"),
    ("DepthwiseConv1D", (3,), {"padding": "same", "strides": 2, "dilation_rate": 2,
                               "depth_multiplier": 2}, "float32", "none"),
    ("SeparableConv1D", (5, 3), {"padding": "same", "depth_multiplier": 2}, "float64", "none"),
    ("MaxPooling1D", (3,), {"strides": 2, "padding": "same"}, "float32", "none"),
    ("AveragePooling1D", (3,), {"strides": 2, "padding": "same"}, "float64", "none"),
    ("GlobalMaxPooling1D", (), {}, "float32", "none"),
    ("GlobalAveragePooling1D", (), {}, "float32", "all_masked_row"),
]


@register("convolutional")
def convolutional_cases(seed: int) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, fn: Callable[[], ParityReport]) -> None:
        cases.append(Case(name, fn))

    for cls, args, options, dtype, mask in FORWARD_ROWS:
        name = f"conv/{cls} {_label(args, options)} {dtype}" + (
            f" mask={mask}" if mask != "none" else "") + " [keras->numpy]"
        add(name, lambda c=cls, a=args, o=options, d=dtype, m=mask:
            layer_case(c, a, o, seed, d, m))
    for cls, args, options in (("Conv1D", (FILTERS, 3), {"padding": "causal", "groups": 2}),
                               ("SeparableConv1D", (5, 3), {"depth_multiplier": 2}),
                               ("AveragePooling1D", (3,), {"padding": "same"})):
        add(f"conv/{cls} {_label(args, options)} float32 [numpy->keras]",
            lambda c=cls, a=args, o=options: layer_case(c, a, o, seed, direction="numpy->keras"))
    for pool in ("max", "average"):
        add(f"conv/models/embedding->conv1d->maxpool->separable->global{pool}->dense",
            lambda p=pool: classifier_case(p, seed))
        add(f"conv/models/embedding(mask_zero)->global{pool} fully padded row->dense",
            lambda p=pool: global_pool_mask_case(p, seed))
    for cls, args, options, dtype, mask in GRAD_ROWS:
        name = f"grad/conv/{cls} {_label(args, options)} {dtype}" + (
            f" mask={mask}" if mask != "none" else "")
        add(name, lambda c=cls, a=args, o=options, d=dtype, m=mask:
            layer_grad_case(c, a, o, seed, d, m))
    for cls, args, options in (("MaxPooling1D", (3,), {"strides": 1, "padding": "same"}),
                               ("GlobalMaxPooling1D", (), {})):
        add(f"grad/conv/{cls} {_label(args, options)} ties",
            lambda c=cls, a=args, o=options: pool_ties_grad_case(c, a, o, seed))
    add("grad/conv/models/classifier globalaverage loss=cce",
        lambda: classifier_grad_case("average", seed))
    return cases


def _tape(k_last, x_last: np.ndarray, w_last: np.ndarray, mask: np.ndarray | None):
    """``(output, [d weight...] + [d input])`` of ``sum(k_last(x_last) * w_last)``, from the
    backend's autodiff."""
    y, d_w, d_x = weighted_gradients(k_last, np.ascontiguousarray(x_last), w_last,
                                     **({} if mask is None else {"mask": mask}))
    return y, list(d_w) + [d_x]


def channels_first_report(n, k_last, x_first: np.ndarray, case: str,
                          mask: np.ndarray | None = None) -> ParityReport:
    """A channels_first NumPy layer ``n`` against its definition: the channels_last Keras layer
    ``k_last`` (same weights) on the transposed input, outputs transposed back; forward and the
    gradients of ``sum(output * w)`` for a random ``w`` (every weight and the input), from
    ``tf.GradientTape``.  For what TensorFlow's CPU kernels refuse in channels_first (float64
    Conv1D, Conv1DTranspose) or where Keras's bias add slips (module docstring).  A failing
    float32 row goes to the float64 referee (``parity.bridge.referee``), as in
    ``refereed_gradients``."""
    kw = {} if mask is None else {"mask": mask}
    y = n(x_first, training=True, **kw)
    squeeze = y.ndim == 2  # a global pooling without keepdims
    w = np.random.default_rng(0).normal(size=y.shape).astype(x_first.dtype)
    back = (lambda a: a) if squeeze else (lambda a: a.transpose(0, 2, 1))
    x_last, w_last = x_first.transpose(0, 2, 1), back(w)
    out, grads = _tape(k_last, x_last, w_last, mask)
    dx = n.backward(w)
    names = ["output"] + [f"d {name}" for name in n.weight_names()] + ["d inputs"]
    ours = [y] + list(n.gradients) + [dx]
    theirs = [back(out)] + grads[:-1] + [grads[-1].transpose(0, 2, 1)]
    rows = [diff_arrays(name, a, e, kind="output" if name == "output" else "gradient")
            for name, a, e in zip(names, ours, theirs)]
    if all(r.passed for r in rows) or x_first.dtype != np.float32:
        return ParityReport(case, rows)
    twin = keras_float64_copy(k_last, x_last)
    out64, grads64 = _tape(twin, x_last.astype(np.float64), w_last.astype(np.float64), mask)
    exact = [back(out64)] + grads64[:-1] + [grads64[-1].transpose(0, 2, 1)]
    return ParityReport(case, [referee(r, a, e, x, case)
                               for r, a, e, x in zip(rows, ours, theirs, exact)])
