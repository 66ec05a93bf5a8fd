"""The reshaping layers against tf.keras by example: the parity case group's rows, models saved by
Keras (``.keras``, Keras 3) and by tf_keras (legacy ``.h5``) read by ``numpy_rnn.load_keras_model``,
masks through a functional model, errors raised alike, and training steps side by side."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from parity import cases  # noqa: E402
from parity.cases import reshaping as rc  # noqa: E402
from parity.cases.weights import randomize_model  # noqa: E402

pytestmark = pytest.mark.usefixtures("keras_eager")  # a few train_on_batch steps below

L = keras.layers


def test_rows_are_registered_before_the_selftest():
    by_name = {c.name: c.group for c in cases.all_cases(0)}
    rows = [c.name for c in rc.reshaping_cases(0)]
    assert len(rows) == 3 * len(rc.ROWS) + 6
    assert all(by_name.get(n) == "reshaping" for n in rows)
    assert list(by_name.values())[-1] == "selftest"


@pytest.mark.parametrize("label", [row[0] for row in rc.ROWS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rows_forward_and_gradients(label, dtype):
    for direction in ("keras->numpy", "numpy->keras"):
        report = rc.forward_case(label, dtype, 0, direction)
        assert report.passed, report
    report = rc.grad_case(label, dtype, 1)
    assert report.passed, report


@pytest.mark.parametrize("name", ["number addition", "reshaping chain"])
def test_models(name):
    for dtype in ("float32", "float64"):
        report = rc.model_forward_case(name, dtype, 2)
        assert report.passed, report
    report = rc.model_grad_case(name, "float32", 3)
    assert report.passed, report


def _load_and_compare(model, x, tmp_path, suffix=".keras", dtype="float32"):
    path = tmp_path / f"{model.name}{suffix}"
    model.save(path)
    ours = numpy_rnn.load_keras_model(str(path))
    expected = np.asarray(model(x))
    got = ours.predict(x)
    assert got.dtype == np.dtype(dtype)
    tol = numpy_rnn.testing.lookup(dtype)
    np.testing.assert_allclose(got, expected, rtol=tol.rtol, atol=tol.atol)
    return ours


def test_keras_file_embedding_flatten_dense(tmp_path):
    model = keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(11, 3), L.Flatten(),
                              L.Dense(4, activation="softmax")], name="emb_flatten_dense")
    randomize_model(model, np.random.default_rng(0))
    ids = np.random.default_rng(1).integers(0, 11, size=(6, 5)).astype("int32")
    ours = _load_and_compare(model, ids, tmp_path)
    assert [type(lay).__name__ for lay in ours.layers] == ["Embedding", "Flatten", "Dense"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_keras_file_number_addition_and_chain(tmp_path, dtype):
    rng = np.random.default_rng(2)
    for build, width in ((rc.number_addition_keras, 7), (rc.reshaping_chain_keras, 6)):
        model = build(dtype, rng)
        ids = rng.integers(0, 9, size=(5, width)).astype("int32")
        _load_and_compare(model, ids, tmp_path, dtype=dtype)


def test_keras_file_functional_masks_through_time_distributed(tmp_path):
    """Embedding(mask_zero) -> TimeDistributed(Dense) -> LSTM: the LSTM gets the Embedding's
    automatic mask through TimeDistributed (padded rows would differ otherwise); and a
    hierarchical TimeDistributed(LSTM) over 3-D ids with the per-step mask."""
    rng = np.random.default_rng(3)
    inp = keras.Input((6,), dtype="int32")
    h = L.Embedding(8, 4, mask_zero=True)(inp)
    h = L.TimeDistributed(L.Dense(5, activation="tanh"))(h)
    out = L.LSTM(3)(h)
    model = keras.Model(inp, out, name="td_mask_lstm")
    randomize_model(model, rng)
    ids = rng.integers(1, 8, size=(4, 6)).astype("int32")
    ids[0, :3] = 0
    ids[2, :5] = 0
    _load_and_compare(model, ids, tmp_path)

    inp = keras.Input((3, 5), dtype="int32")
    h = L.Embedding(8, 4, mask_zero=True)(inp)
    h = L.TimeDistributed(L.Bidirectional(L.GRU(2, return_sequences=True)))(h)
    h = L.TimeDistributed(L.LSTM(3))(h)
    model = keras.Model(inp, L.TimeDistributed(L.Dense(2))(h), name="hierarchical")
    randomize_model(model, rng)
    ids = rng.integers(0, 8, size=(4, 3, 5)).astype("int32")
    ids[:, :, 0] = rng.integers(1, 8, size=(4, 3))
    ids[1, 2, 2:] = 0
    ours = _load_and_compare(model, ids, tmp_path)
    _, mask = ours._forward(ids, training=False)
    np.testing.assert_array_equal(mask, ids != 0)  # TimeDistributed passes the mask on


def test_legacy_h5_from_tf_keras(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    T = tf_keras.layers
    rng = np.random.default_rng(4)
    model = tf_keras.Sequential([
        T.Embedding(10, 4, input_length=6), T.ZeroPadding1D((1, 2)), T.Cropping1D((2, 0)),
        T.UpSampling1D(2), T.Permute((2, 1)), T.Reshape((-1, 7)), T.Flatten(),
        T.RepeatVector(3), T.LSTM(5, return_sequences=True), T.TimeDistributed(T.Dense(3)),
    ], name="legacy_reshaping")
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(scale=0.4, size=w.shape).astype("float32")
                               for w in layer.get_weights()])
    ids = rng.integers(0, 10, size=(5, 6)).astype("int32")
    _load_and_compare(model, ids, tmp_path, suffix=".h5")


def test_sequential_bridge_both_ways():
    rng = np.random.default_rng(5)
    k = rc.number_addition_keras("float32", rng)
    n = parity.from_keras(k)
    assert isinstance(n.layers[-1], numpy_rnn.TimeDistributed)
    back = parity.to_keras(n)
    assert type(back.layers[-1]).__name__ == "TimeDistributed"
    ids = rng.integers(0, 12, size=(4, 7)).astype("int32")
    parity.assert_parity(n, back, ids)
    parity.assert_parity(n, k, ids)


def test_masks_match_keras():
    """The output masks of Keras's functional model against the Sequential's mask flow."""
    rng = np.random.default_rng(6)
    ids = rng.integers(1, 9, size=(3, 5)).astype("int32")
    ids[0, :2] = 0
    for middle, masked in ((L.TimeDistributed(L.Dense(2)), True), (L.Flatten(), False),
                           (L.ZeroPadding1D(1), False), (L.Permute((2, 1)), False)):
        inp = keras.Input((5,), dtype="int32")
        out = middle(L.Embedding(9, 3, mask_zero=True)(inp))
        model = keras.Model(inp, out)
        n = parity.from_keras(model)
        _, mask = n._forward(ids, training=False)
        k_mask = getattr(model(ids), "_keras_mask", None)
        assert (mask is not None) == masked == (k_mask is not None), type(middle).__name__
        if masked:
            np.testing.assert_array_equal(mask, np.asarray(k_mask))


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.Reshape((5, -1)), (2, 12)),
    (lambda m: m.Reshape((5, 3)), (2, 12)),
    (lambda m: m.Cropping1D((3, 3)), (2, 6, 2)),
    (lambda m: m.Permute((2, 1)), (2, 3, 4, 5)),
    (lambda m: m.RepeatVector(2), (2, 3, 4)),
], ids=["reshape -1", "reshape size", "cropping", "permute rank", "repeat rank"])
def test_call_errors_like_keras(make, shape):
    x = np.zeros(shape, "float32")
    with pytest.raises(ValueError) as theirs:
        make(L)(x)
    with pytest.raises(ValueError) as ours:
        make(numpy_rnn)(x)
    for needle in ("target_shape", "cropping", "expected ndim"):
        assert (needle in str(theirs.value)) == (needle in str(ours.value)), needle


@pytest.mark.parametrize("args", [
    ("Permute", {"dims": (0, 1)}), ("Permute", {"dims": (1, 3)}), ("RepeatVector", {"n": 0}),
    ("RepeatVector", {"n": 2.0}), ("UpSampling1D", {"size": 0}),
    ("Reshape", {"target_shape": (-1, -1)}),
    ("Reshape", {"target_shape": (-2, 4)}), ("Cropping1D", {"cropping": (1, 2, 3)}),
    ("ZeroPadding1D", {"padding": (-1, 2)}),
], ids=str)
def test_constructor_errors_like_keras(args):
    cls, kwargs = args
    with pytest.raises((ValueError, TypeError)) as theirs:
        getattr(L, cls)(**kwargs)
    with pytest.raises((ValueError, TypeError)) as ours:
        getattr(numpy_rnn, cls)(**kwargs)
    assert type(ours.value) is type(theirs.value)
    name = next(iter(kwargs))
    assert f"`{name}`" in str(ours.value) or f"{name}=" in str(ours.value)


def test_integer_inputs_keep_their_dtype_like_keras():
    ids = np.arange(12, dtype="int32").reshape(2, 6)
    for cls, kw in (("Flatten", {}), ("Reshape", {"target_shape": (3, 2)}),
                    ("RepeatVector", {"n": 2})):
        theirs = np.asarray(getattr(L, cls)(**kw)(ids))
        ours = getattr(numpy_rnn, cls)(**kw)(ids)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


def test_training_steps_side_by_side():
    """Three SGD steps of the number-addition model, float64, in both libraries."""
    rng = np.random.default_rng(7)
    with parity.bridge.train.floatx("float64"):
        k = rc.number_addition_keras("float64", rng)
        twin = parity.from_keras(k)
        twin.compile(optimizer=numpy_rnn.optimizers.SGD(0.1),
                     loss=numpy_rnn.losses.SparseCategoricalCrossentropy(dtype="float64"))
        x = rng.integers(0, 12, size=(16, 7)).astype("int32")
        y = rng.integers(0, 12, size=(16, 4))
        report = parity.compare_training(twin, k, x, y, steps=3, batch_size=8,
                                         case="number addition sgd float64")
    assert report.passed, report
