"""Conv1D, Conv1DTranspose, DepthwiseConv1D, SeparableConv1D without TensorFlow: the maths
against naive float64 references (tests/helpers.py), the transposed convolution as the exact
adjoint of Conv1D, shapes, options and errors in Keras's words, configs, masks, backward passes
against central finite differences (float64), and models (training step, bundle round trip)."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import Conv1D, Conv1DTranspose, DepthwiseConv1D, SeparableConv1D
from numpy_rnn.layers.convolutional import base_conv as bc
from tests.helpers import reference_conv1d
from tests.unit.test_grad_layers import check_layer_fd

# No module-level generator: a shared one hands each test different numbers depending on which
# tests ran before it in the same process (pytest-xdist orders them differently on every machine).
# Tests draw from ``case_rng`` (conftest.py: seeded from the test's own id); weights come from a
# generator made for the call.


def _weights(layer, rng=None):
    rng = np.random.default_rng(7) if rng is None else rng
    layer.set_weights([rng.normal(size=s) for s in
                       (layer.weight_shapes()[n] for n in layer.weight_names())])
    return layer


def _conv(shape=(2, 11, 4), dtype="float64", rng=None, **kw):
    kw.setdefault("filters", 6)
    kw.setdefault("kernel_size", 3)
    layer = Conv1D(dtype=dtype, **kw)
    layer.build(shape)
    return _weights(layer, rng)


# -- the maths ---------------------------------------------------------------------------------
@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("strides, dilation", [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4])
def test_conv1d_matches_the_naive_reference(padding, strides, dilation, groups, kernel_size, case_rng):
    layer = _conv((3, 13, 4), filters=6, kernel_size=kernel_size, strides=strides,
                  padding=padding, dilation_rate=dilation, groups=groups)
    x = case_rng.normal(size=(3, 13, 4))
    want = reference_conv1d(x, layer.kernel, layer.bias, strides, padding, dilation, groups)
    np.testing.assert_allclose(layer(x), want, rtol=1e-12, atol=1e-12)


def test_conv1d_is_a_cross_correlation_and_causal_pads_before():
    """Hand-computed: kernel taps [1, 10, 100] (not flipped: tap 0 reads the earliest step)."""
    layer = Conv1D(1, 3, use_bias=False, dtype="float64", padding="causal")
    layer.build((1, 4, 1))
    layer.set_weights([np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)])
    x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1)
    # causal: out[t] = x[t-2] + 10 x[t-1] + 100 x[t]
    np.testing.assert_array_equal(layer(x).ravel(), [100, 210, 321, 432])
    layer.padding = "valid"
    np.testing.assert_array_equal(layer(x).ravel(), [321, 432])
    layer.padding = "same"  # one step each side
    np.testing.assert_array_equal(layer(x).ravel(), [210, 321, 432, 43])


def test_same_padding_puts_the_odd_step_after():
    """TensorFlow SAME: total padding 3 (kernel 4, stride 1) is 1 before and 2 after."""
    assert bc.same_padding(5, 4, 1) == (1, 2)
    assert bc.same_padding(11, 3, 2) == (1, 1)
    assert bc.same_padding(12, 3, 2) == (0, 1)
    layer = Conv1D(1, 4, padding="same", use_bias=False, dtype="float64")
    layer.build((1, 5, 1))
    layer.set_weights([np.array([1.0, 0, 0, 0]).reshape(4, 1, 1)])  # reads x[t - before]
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    np.testing.assert_array_equal(layer(x).ravel(), [0, 1, 2, 3, 4])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_channels_first_is_channels_last_transposed(data_format, case_rng):
    kw = dict(filters=5, kernel_size=3, strides=2, padding="same", activation="softmax")
    last = _conv((2, 9, 4), **kw)
    first = Conv1D(data_format="channels_first", dtype="float64", **kw)
    first.build((2, 4, 9))
    first.set_weights(last.get_weights())
    x = case_rng.normal(size=(2, 9, 4))
    y_first = first(x.transpose(0, 2, 1))
    # softmax acts on the last axis of what the layer returns (steps, for channels_first)
    z = last.activation is not None and reference_conv1d(x, last.kernel, last.bias, 2, "same")
    np.testing.assert_allclose(y_first, numpy_rnn.activations.softmax(z.transpose(0, 2, 1)),
                               atol=1e-12)
    assert first.compute_output_shape((None, 4, 9)) == (None, 5, 5)


def _adjoint_cases():
    """(padding, strides, dilation, kernel_size, steps, output_padding) where an
    output_padding gives the transposed convolution the forward input's length back."""
    for padding in ("valid", "same"):
        for strides, dilation in ((1, 1), (2, 1), (3, 1), (1, 2)):
            for kernel_size in (1, 2, 3, 4):
                for steps in (7, 8, 9):
                    out_steps = bc.conv_output_length(steps, kernel_size, strides, padding,
                                                      dilation)
                    span = (kernel_size - 1) * dilation + 1
                    op = steps - (out_steps - 1) * strides - (
                        span if padding == "valid" else span % 2)
                    if 0 <= op < strides or (strides == 1 and op == 0):
                        yield padding, strides, dilation, kernel_size, steps, op


@pytest.mark.parametrize("padding, strides, dilation, kernel_size, steps, op",
                         list(_adjoint_cases()))
def test_conv1d_transpose_is_the_adjoint_of_conv1d(padding, strides, dilation, kernel_size, steps,
                                                   op):
    """<conv(x), y> == <x, conv_transpose(y)> with the same kernel: TensorFlow defines
    conv_transpose as the gradient of the forward convolution (output_padding chosen so that
    the transposed output has the forward input's length)."""
    conv = _conv((2, steps, 3), filters=4, kernel_size=kernel_size, strides=strides,
                 padding=padding, dilation_rate=dilation, use_bias=False)
    out_steps = conv.compute_output_shape((2, steps, 3))[1]
    tr = Conv1DTranspose(3, kernel_size, strides=strides, padding=padding, dilation_rate=dilation,
                         output_padding=op if strides > 1 else None, use_bias=False,
                         dtype="float64")
    tr.build((2, out_steps, 4))
    tr.set_weights([conv.kernel])  # (K, 3, 4) = (kernel_size, filters, in_channels)
    rng = np.random.default_rng([strides, dilation, kernel_size, steps, op])  # not the order
    x, y = rng.normal(size=(2, steps, 3)), rng.normal(size=(2, out_steps, 4))  # tests run in
    back = tr(y)
    assert back.shape == x.shape
    # The two sums of products cancel (a value of 1e-3 from terms of 1): float64 rounding is
    # relative to the terms' magnitude, not to the sum's (measured 6e-15 on a 1.6e-3 sum).
    scale = np.sum(np.abs(conv(x) * y))
    np.testing.assert_allclose(np.sum(conv(x) * y), np.sum(x * back), rtol=0,
                               atol=1e-13 * scale)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides, dilation", [(1, 1), (2, 1), (1, 2), (2, 2), (3, 2)])
def test_depthwise_and_separable_are_grouped_convolutions(padding, strides, dilation, case_rng):
    """DepthwiseConv1D = Conv1D(groups=channels) with the kernel reshaped to (K, 1, C * M), so
    output channel c * M + m is channel c's m-th filter (TensorFlow's order); SeparableConv1D =
    that, then a 1x1 convolution.  Strides with dilation: the dilated stride-1 result
    subsampled (Keras 3.15's decomposition)."""
    x = case_rng.normal(size=(2, 12, 3))
    dw = DepthwiseConv1D(3, strides=strides, padding=padding, dilation_rate=dilation,
                         depth_multiplier=2, dtype="float64")
    dw.build(x.shape)
    _weights(dw)
    flat = dw.kernel.reshape(3, 1, 6)
    dense = reference_conv1d(x, flat, dw.bias, 1, padding, dilation, groups=3)
    if padding == "same":  # the stride-1 SAME padding differs: use the strided one, subsampled
        before = bc.same_padding(12, 3, strides, dilation)[0]
        xp = np.concatenate([np.zeros((2, before, 3)), x, np.zeros((2, 12, 3))], axis=1)
        dense = reference_conv1d(xp, flat, dw.bias, 1, "valid", dilation, groups=3)
    want = dense[:, ::strides][:, :dw.compute_output_shape(x.shape)[1]]
    np.testing.assert_allclose(dw(x), want, atol=1e-12)
    sep = SeparableConv1D(4, 3, strides=strides, padding=padding, dilation_rate=dilation,
                          depth_multiplier=2, dtype="float64")
    sep.build(x.shape)
    sep.set_weights([dw.kernel, case_rng.normal(size=(1, 6, 4)), case_rng.normal(size=4)])
    mid = want - dw.bias
    np.testing.assert_allclose(sep(x), mid @ sep.pointwise_kernel[0] + sep.bias, atol=1e-12)


# -- shapes, options, errors ----------------------------------------------------------------------
def test_weight_layouts_are_keras():
    c = Conv1D(8, 5, groups=2)
    c.build((None, None, 6))
    assert c.weight_shapes() == {"kernel": (5, 3, 8), "bias": (8,)}
    t = Conv1DTranspose(8, 5)
    t.build((None, None, 6))
    assert t.weight_shapes() == {"kernel": (5, 8, 6), "bias": (8,)}
    d = DepthwiseConv1D(5, depth_multiplier=3, data_format="channels_first")
    d.build((None, 6, None))
    assert d.weight_shapes() == {"kernel": (5, 6, 3), "bias": (18,)}
    s = SeparableConv1D(8, 5, depth_multiplier=3)
    s.build((None, None, 6))
    assert s.weight_names() == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert [w.shape for w in s.get_weights()] == [(5, 6, 3), (1, 18, 8), (8,)]
    assert all(w.dtype == np.float32 for w in s.get_weights())
    assert Conv1D(2, 3, use_bias=False, features=4).count_params == 24


@pytest.mark.parametrize("layer, in_shape, out_shape", [
    (Conv1D(6, 3), (None, 10, 4), (None, 8, 6)),
    (Conv1D(6, 3, padding="same", strides=2), (None, 11, 4), (None, 6, 6)),
    (Conv1D(6, 3, padding="causal", dilation_rate=2), (None, None, 4), (None, None, 6)),
    (Conv1D(6, 3, data_format="channels_first"), (2, 4, 10), (2, 6, 8)),
    (Conv1DTranspose(5, 3, strides=2), (None, 4, 3), (None, 9, 5)),
    (Conv1DTranspose(5, 2, strides=3), (None, 4, 3), (None, 12, 5)),
    (Conv1DTranspose(5, 3, strides=2, padding="same"), (None, 4, 3), (None, 8, 5)),
    (Conv1DTranspose(5, 3, strides=2, padding="same", output_padding=0), (None, 4, 3),
     (None, 7, 5)),
    (Conv1DTranspose(5, 3, strides=2, output_padding=1), (None, 4, 3), (None, 10, 5)),
    (DepthwiseConv1D(3, depth_multiplier=2, strides=2, dilation_rate=2), (None, 12, 3),
     (None, 4, 6)),
    (SeparableConv1D(7, 3, padding="same", strides=3), (None, 10, 3), (None, 4, 7)),
])
def test_output_shapes(layer, in_shape, out_shape, case_rng):
    assert layer.compute_output_shape(in_shape) == out_shape
    steps = [d if d is not None else 10 for d in in_shape]
    steps[0] = 2
    y = layer(case_rng.normal(size=steps).astype("float32"))
    want = [a if a is not None else b for a, b in
            zip(out_shape, layer.compute_output_shape(tuple(steps)))]
    assert y.shape == tuple(want) and y.dtype == np.float32


@pytest.mark.parametrize("make, message", [
    (lambda: Conv1D(0, 3), "Invalid value for argument `filters`. Expected a strictly positive "
                           "value. Received filters=0"),
    (lambda: Conv1D(4, 0), r"`kernel_size`.*Received kernel_size=0"),
    (lambda: Conv1D(4, 3, strides=0), r"`strides`.*Received strides=0"),
    (lambda: Conv1D(4, (3, 3)), r"The `kernel_size` argument must be a tuple of 1 integers"),
    (lambda: Conv1D(4, 3, groups=0), "The number of groups must be a positive integer"),
    (lambda: Conv1D(6, 3, groups=4), "The number of filters must be evenly divisible by the "
                                     "number of groups. Received: groups=4, filters=6"),
    (lambda: Conv1D(4, 3, strides=2, dilation_rate=2),
     r"`strides > 1` not supported in conjunction with `dilation_rate > 1`"),
    (lambda: Conv1DTranspose(4, 3, strides=2, dilation_rate=2),
     r"`strides > 1` not supported in conjunction with `dilation_rate > 1`"),
    (lambda: Conv1D(4, 3, padding="full"), r"The `padding` argument must be one of"),
    (lambda: Conv1DTranspose(4, 3, padding="causal"), r"padding=.causal."),
    (lambda: DepthwiseConv1D(3, padding="causal"), r"padding=.causal."),
    (lambda: SeparableConv1D(4, 3, padding="causal"), r"padding=.causal."),
    (lambda: Conv1D(4, 3, data_format="NWC"), r"`data_format`.*Received: data_format='NWC'"),
    (lambda: Conv1DTranspose(4, 3, strides=2, output_padding=2),
     r"`output_padding` must be strictly less than `strides`"),
    (lambda: DepthwiseConv1D(3, depth_multiplier=0), r"`depth_multiplier`.*Received "
                                                     "depth_multiplier=0"),
    (lambda: SeparableConv1D(0, 3), r"`filters`.*Received filters=0"),
    (lambda: Conv1D(4, 3, activation="nope"), r"activation"),
])
def test_options_keras_refuses_are_refused_in_its_words(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_strides_with_dilation_allowed_where_keras_3_15_allows_it():
    DepthwiseConv1D(3, strides=2, dilation_rate=2)
    SeparableConv1D(4, 3, strides=2, dilation_rate=2)


def test_kernel_longer_than_the_sequence_with_valid_padding():
    layer = Conv1D(4, 5, dilation_rate=2)
    with pytest.raises(ValueError, match=r"Computed output size would be zero or negative.*"
                                         r"kernel_size=\(5,\).*The input has 6 steps; a `valid` "
                                         r"window needs 9"):
        layer(np.zeros((1, 6, 2), "float32"))
    assert not layer.built  # a call that raises changes nothing
    with pytest.raises(ValueError, match="zero or negative"):
        Conv1D(4, 5).build((None, 3, 2))
    assert Conv1D(4, 5, padding="same")(np.zeros((1, 3, 2))).shape == (1, 3, 4)


def test_bad_inputs():
    layer = Conv1D(4, 3, groups=2)
    with pytest.raises(ValueError, match="The number of input channels must be evenly divisible "
                                         "by the number of groups. Received groups=2, but the "
                                         "input has 3 channels"):
        layer(np.zeros((1, 5, 3)))
    assert not layer.built
    layer(np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 4"):
        layer(np.zeros((1, 5, 6)))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layer(np.zeros((5, 4)))
    with pytest.raises(TypeError, match="numeric"):
        layer(np.array([["a"]]))
    with pytest.raises(ValueError, match="Weight `kernel`.*must have shape"):
        Conv1D(4, 3, use_bias=False).set_weights([np.zeros((2, 3, 4))])
    tr = Conv1DTranspose(3, 2, strides=2, padding="same", output_padding=0)
    with pytest.raises(ValueError, match="TensorFlow refuses this `output_padding`"):
        tr(np.zeros((1, 4, 2)))


def test_set_weights_builds_from_the_kernel():
    for layer, weights, channels in [
        (Conv1D(6, 3, groups=3), [np.zeros((3, 2, 6)), np.zeros(6)], 6),
        (Conv1DTranspose(6, 3), [np.zeros((3, 6, 5)), np.zeros(6)], 5),
        (DepthwiseConv1D(3, depth_multiplier=2), [np.zeros((3, 5, 2)), np.zeros(10)], 5),
        (SeparableConv1D(4, 3, data_format="channels_first"),
         [np.zeros((3, 5, 1)), np.zeros((1, 5, 4)), np.zeros(4)], 5),
    ]:
        layer.set_weights(weights)
        assert layer.built and layer.features == channels
        assert layer.get_weights()[0].dtype == np.float32


@pytest.mark.parametrize("layer", [
    Conv1D(6, 3, strides=2, padding="causal", groups=3, activation="relu", use_bias=False,
           data_format="channels_first", kernel_initializer="he_normal", dtype="float64", seed=3),
    Conv1DTranspose(4, (3,), strides=(2,), padding="same", output_padding=1,
                    activation="tanh", bias_initializer="ones"),
    DepthwiseConv1D(5, strides=2, dilation_rate=3, depth_multiplier=2, padding="same"),
    SeparableConv1D(4, 3, depth_multiplier=3, pointwise_initializer="orthogonal",
                    features=5),
])
def test_config_round_trip(layer):
    cfg = layer.get_config()
    twin = type(layer).from_config(cfg)
    assert twin.get_config() == cfg
    if layer.built:
        assert twin.built and twin.weight_shapes() == layer.weight_shapes()


def test_keras_initializers_draw_keras_fans():
    layer = Conv1D(64, 5, seed=0)
    layer.build((None, None, 32))
    limit = np.sqrt(6 / (5 * 32 + 5 * 64))  # glorot_uniform over receptive field * channels
    k = layer.kernel
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit
    assert not layer.bias.any()


def test_masks_are_dropped_as_keras_does(case_rng):
    layer = Conv1D(3, 2, features=2)
    x = case_rng.normal(size=(2, 5, 2)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    assert not layer.supports_masking
    np.testing.assert_array_equal(layer(x, mask=mask), layer(x))  # masked steps convolved too
    assert layer.compute_mask(x, mask) is None


# -- backward -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(padding="valid"), dict(padding="same", strides=2), dict(padding="causal", dilation_rate=2),
    dict(padding="same", groups=2, activation="tanh"), dict(padding="valid", strides=3,
                                                            use_bias=False),
    dict(padding="same", data_format="channels_first", activation="softmax"),
])
def test_conv1d_backward_fd(kw, case_rng):
    shape = (2, 4, 7) if kw.get("data_format") == "channels_first" else (2, 7, 4)
    check_layer_fd(_conv(shape, filters=4, kernel_size=3, **kw), case_rng.normal(size=shape))


@pytest.mark.parametrize("kw", [
    dict(padding="valid"), dict(padding="valid", strides=3, output_padding=2),
    dict(padding="same", strides=2), dict(padding="same", dilation_rate=2, activation="relu"),
    dict(padding="same", strides=2, output_padding=1, data_format="channels_first"),
])
def test_conv1d_transpose_backward_fd(kw, case_rng):
    shape = (2, 3, 5) if kw.get("data_format") == "channels_first" else (2, 5, 3)
    layer = Conv1DTranspose(4, 3, dtype="float64", **kw)
    layer.build(shape)
    check_layer_fd(_weights(layer), case_rng.normal(size=shape))


@pytest.mark.parametrize("cls", [DepthwiseConv1D, SeparableConv1D])
@pytest.mark.parametrize("kw", [
    dict(padding="valid"), dict(padding="same", strides=2, dilation_rate=2),
    dict(padding="same", data_format="channels_first", activation="tanh", use_bias=False),
])
def test_depthwise_and_separable_backward_fd(cls, kw, case_rng):
    shape = (2, 3, 8) if kw.get("data_format") == "channels_first" else (2, 8, 3)
    args = (4, 3) if cls is SeparableConv1D else (3,)
    layer = cls(*args, depth_multiplier=2, dtype="float64", **kw)
    layer.build(shape)
    check_layer_fd(_weights(layer), case_rng.normal(size=shape))


def test_backward_protocol(case_rng):
    layer = _conv((2, 7, 4), dtype="float32", filters=3)
    x = case_rng.normal(size=(2, 7, 4)).astype("float32")
    with pytest.raises(RuntimeError, match="no recorded call"):
        Conv1D(2, 2).backward(np.zeros((1, 1, 2)))
    y = layer(x, training=True)
    with pytest.raises(ValueError, match="grad_output"):
        layer.backward(np.zeros((2, 3, 3)))
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and dx.shape == x.shape
    assert [g.dtype for g in layer.gradients] == [np.float32, np.float32]
    layer(x)  # an inference call forgets the training call
    with pytest.raises(RuntimeError):
        layer.backward(np.ones_like(y))
    layer(x, training=True)
    layer._input_gradient_needed = False  # the bottom layer of a training step
    assert layer.backward(np.ones_like(y)) is None and len(layer.gradients) == 2


# -- in models ------------------------------------------------------------------------------------
def _classifier(dtype="float64"):
    return numpy_rnn.Sequential([
        numpy_rnn.Embedding(20, 6, mask_zero=True, dtype=dtype, seed=1),
        Conv1D(8, 3, padding="causal", activation="relu", dtype=dtype, seed=2),
        SeparableConv1D(6, 3, padding="same", depth_multiplier=2, dtype=dtype, seed=3),
        DepthwiseConv1D(2, dtype=dtype, seed=4),
        Conv1DTranspose(5, 2, strides=2, dtype=dtype, seed=5),
        numpy_rnn.MaxPooling1D(2), numpy_rnn.GlobalAveragePooling1D(),
        numpy_rnn.Dense(3, activation="softmax", dtype=dtype, seed=6),
    ], input_shape=(9,), input_dtype="int32")


def test_a_text_classifier_trains_and_round_trips_a_bundle(tmp_path, case_rng):
    model = _classifier()
    ids = case_rng.integers(0, 20, size=(16, 9))
    ids[:4, :3] = 0  # padding: the mask Embedding makes is dropped by Conv1D, as Keras does
    y = case_rng.integers(0, 3, size=16)
    model.compile("adam", "sparse_categorical_crossentropy")
    before = model.get_weights()
    history = model.fit(ids, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    assert all(np.isfinite(history.history["loss"]))
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    numpy_rnn.save(model, tmp_path / "clf")
    back = numpy_rnn.load(tmp_path / "clf")
    assert [type(a) for a in back.layers] == [type(a) for a in model.layers]
    np.testing.assert_array_equal(back.predict(ids), model.predict(ids))
    assert back.layers[1].get_config() == model.layers[1].get_config()
    assert "conv1d" in model.summary(print_fn=None).lower()


def test_sequential_output_shapes_and_mask_flow(case_rng):
    model = _classifier("float32")
    model.build()
    shapes = []
    shape = (None, 9)
    for layer in model.layers:
        shape = numpy_rnn.model.output_shape(layer, shape)
        shapes.append(shape)
    assert shapes[1:5] == [(None, 9, 8), (None, 9, 6), (None, 8, 6), (None, 16, 5)]
    assert shapes[-1] == (None, 3)
    ids = case_rng.integers(1, 20, size=(2, 9))
    assert model(ids).shape == (2, 3)


def test_sequential_builds_channels_first_and_guesses_the_input_from_a_built_conv():
    model = numpy_rnn.Sequential([Conv1D(4, 3, data_format="channels_first"),
                                  numpy_rnn.GlobalMaxPooling1D(data_format="channels_first"),
                                  numpy_rnn.Dense(2)], input_shape=(5, None))
    model.build()
    assert model.layers[0].build_input_shape == (None, 5, None) and model.built
    assert model(np.zeros((2, 5, 9))).shape == (2, 2)
    bad = numpy_rnn.Sequential([Conv1D(4, 3), Conv1D(6, 3, groups=3), numpy_rnn.Dense(2)],
                               input_shape=(9, 3))
    with pytest.raises(ValueError, match="divisible by the number of groups"):
        bad.build()
    assert not any(layer.built for layer in bad.layers)  # all or nothing
    first = Conv1D(4, 3)
    first.build((None, 7, 3))
    assert numpy_rnn.Sequential([first]).summary(print_fn=None).count("(None, 5, 4)") == 1


def test_chunked_windows_give_the_same_answer(monkeypatch, case_rng):
    """Conv1D copies its windows a few batch rows at a time: one row per chunk (and chunks of
    uneven size) computes exactly what one chunk does, forward and backward."""
    x = case_rng.normal(size=(5, 12, 4))
    g = case_rng.normal(size=(5, 6, 6))
    whole = _conv((5, 12, 4), filters=6, kernel_size=3, strides=2, padding="same", groups=2)
    y0 = whole(x, training=True)
    dx0 = whole.backward(g)
    grads0 = whole.gradients
    for chunk in (1, 2 * 6 * 3 * 4 * 8):  # one row; two rows (the last chunk holds one)
        monkeypatch.setattr(bc, "CHUNK_BYTES", chunk)
        assert len(bc.batch_chunks(5, 6 * 3 * 4 * 8)) == (5 if chunk == 1 else 3)
        y = whole(x, training=True)
        np.testing.assert_allclose(y, y0, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(whole.backward(g), dx0, rtol=1e-13, atol=1e-13)
        for a, b in zip(whole.gradients, grads0):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    check_layer_fd(whole, x)
