"""A zoo: published Keras sequence examples, rebuilt small, each ported and checked.

Each builder names the example it follows (the layers and the wiring as published; sizes cut
down so the zoo runs in seconds).  For each: Keras saves the model, ``parity.bridge.port.port``
reads the file with numpy_rnn, runs both on generated inputs and writes a bundle only if every
output agrees; the bundle then loads (and re-verifies) with NumPy alone.  Then the twin
(``parity.from_keras``) against Keras, float64 and float32: every gradient of the example's
loss (``compare_gradients``), and ``train_on_batch`` steps compiled as the example compiles
(``compare_training``; ``RECIPES``).  Dropout is compared at rate 0 (both sides would draw
their own masks; ``compare_training`` refuses a rate above 0).  A member whose layers numpy_rnn
does not have yet is skipped, naming the layer; it runs once the table has it.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn import losses, optimizers  # noqa: E402
from numpy_rnn.formats.keras_layers import KERAS_LAYER_RULES  # noqa: E402
from parity.bridge import refereed_gradients  # noqa: E402
from parity.bridge.grad import keras_loss, pair_layers  # noqa: E402
from parity.bridge.referee import as_float64, keras_float64_copy, referee  # noqa: E402
from parity.bridge.port import port  # noqa: E402
from parity.bridge.train import (floatx, keras_optimizer, vanishing_references,  # noqa: E402
                                 weight_rows)
from parity.cases.weights import randomize_model  # noqa: E402
from parity.report import ParityReport, diff_arrays  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager"),
              pytest.mark.filterwarnings("ignore:.*does not support masking")]
L = keras.layers


def imdb_bidirectional_lstm(dt):
    """keras.io/examples/nlp/bidirectional_lstm_imdb: Embedding -> 2 x Bidirectional(LSTM) ->
    Dense(sigmoid)."""
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = L.Embedding(20, 8, dtype=dt)(inputs)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True, dtype=dt), dtype=dt)(x)
    x = L.Bidirectional(L.LSTM(4, dtype=dt), dtype=dt)(x)
    return keras.Model(inputs, L.Dense(1, activation="sigmoid", dtype=dt)(x))


def addition_rnn(dt):
    """keras.io/examples/nlp/addition_rnn: one-hot digits -> LSTM -> RepeatVector(DIGITS + 1) ->
    LSTM(return_sequences) -> Dense(softmax) per step."""
    return keras.Sequential([
        keras.Input((7, 12)), L.LSTM(8, dtype=dt), L.RepeatVector(4, dtype=dt),
        L.LSTM(8, return_sequences=True, dtype=dt),
        L.Dense(12, activation="softmax", dtype=dt)])


def lstm_seq2seq(dt):
    """keras.io/examples/nlp/lstm_seq2seq (character-level): two one-hot inputs; the encoder's
    [h, c] is the decoder's initial_state; the decoder also returns its states."""
    encoder_inputs = keras.Input(shape=(None, 6))
    _, state_h, state_c = L.LSTM(5, return_state=True, dtype=dt)(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, 7))
    decoder_lstm = L.LSTM(5, return_sequences=True, return_state=True, dtype=dt)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = L.Dense(7, activation="softmax", dtype=dt)(decoder_outputs)
    return keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)


def lstm_seq2seq_inference(dt):
    """The same example's inference decoder: the states are model inputs and outputs, the
    decoder LSTM and the Dense shared with the training model."""
    training = lstm_seq2seq(dt)
    decoder_inputs = training.inputs[1]
    decoder_lstm, decoder_dense = training.layers[-2], training.layers[-1]
    state_h, state_c = keras.Input(shape=(5,)), keras.Input(shape=(5,))
    outputs, h, c = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    return keras.Model([decoder_inputs, state_h, state_c], [decoder_dense(outputs), h, c])


def weather_lstm(dt):
    """keras.io/examples/timeseries/timeseries_weather_forecasting: LSTM(32) -> Dense(1)."""
    inputs = L.Input(shape=(6, 7))
    return keras.Model(inputs, L.Dense(1, dtype=dt)(L.LSTM(4, dtype=dt)(inputs)))


def ticket_classifier(dt):
    """keras.io/guides/functional_api ("models with multiple inputs and outputs"): title and
    body text through their own Embedding + LSTM, tags as a vector, concatenated; two heads
    (priority, department)."""
    title = keras.Input(shape=(None,), dtype="int32", name="title")
    body = keras.Input(shape=(None,), dtype="int32", name="body")
    tags = keras.Input(shape=(5,), name="tags")
    t = L.LSTM(6, dtype=dt)(L.Embedding(30, 8, dtype=dt)(title))
    b = L.LSTM(4, dtype=dt)(L.Embedding(30, 8, dtype=dt)(body))
    x = L.concatenate([t, b, tags], dtype=dt)
    priority = L.Dense(1, name="priority", dtype=dt)(x)
    department = L.Dense(3, name="department", dtype=dt)(x)
    return keras.Model([title, body, tags], [priority, department])


def shared_embedding(dt):
    """keras.io/guides/functional_api ("shared layers"): one Embedding for two text inputs."""
    shared = L.Embedding(30, 6, dtype=dt)
    a = keras.Input(shape=(None,), dtype="int32")
    b = keras.Input(shape=(None,), dtype="int32")
    x = L.Concatenate(dtype=dt)([L.GRU(3, dtype=dt)(shared(a)), L.GRU(3, dtype=dt)(shared(b))])
    return keras.Model([a, b], L.Dense(1, dtype=dt)(x))


def text_classification_rnn(dt):
    """tensorflow.org/text/tutorials/text_classification_rnn (the model after its
    TextVectorization): Embedding(mask_zero) -> Bidirectional(LSTM) -> Dense(relu) -> Dense."""
    return keras.Sequential([
        keras.Input((None,), dtype="int32"),
        L.Embedding(25, 8, mask_zero=True, dtype=dt),
        L.Bidirectional(L.LSTM(4, dtype=dt), dtype=dt),
        L.Dense(4, activation="relu", dtype=dt), L.Dense(1, dtype=dt)])


def text_classification_from_scratch(dt, dropout=0.5):
    """keras.io/examples/nlp/text_classification_from_scratch: Embedding -> Dropout -> 2 x
    Conv1D(relu) -> GlobalMaxPooling1D -> Dense(relu) -> Dropout -> Dense(sigmoid) (kernel 3,
    stride 1 instead of 7 and 3: the zoo's sequences are 5 steps long)."""
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = L.Embedding(20, 8, dtype=dt)(inputs)
    x = L.Dropout(dropout, dtype=dt)(x)
    x = L.Conv1D(6, 3, padding="valid", activation="relu", strides=1, dtype=dt)(x)
    x = L.Conv1D(6, 3, padding="valid", activation="relu", strides=1, dtype=dt)(x)
    x = L.GlobalMaxPooling1D(dtype=dt)(x)
    x = L.Dense(8, activation="relu", dtype=dt)(x)
    x = L.Dropout(dropout, dtype=dt)(x)
    return keras.Model(inputs, L.Dense(1, activation="sigmoid", name="predictions",
                                       dtype=dt)(x))


WORDS = ("the movie was great fun but far too long and the end made no sense i loved "
         "every minute of it").split()


def text_classification_end_to_end(dt, dropout=0.5):
    """The same example's end-to-end model: strings -> the adapted TextVectorization -> the
    trained classifier as a nested model (``keras.Model(inputs, model(vectorize_layer(
    inputs)))``, compiled with binary cross-entropy and Adam)."""
    vectorize_layer = L.TextVectorization(max_tokens=20, output_mode="int",
                                          output_sequence_length=5)
    vectorize_layer.adapt([" ".join(WORDS[i:i + 6]) for i in range(0, len(WORDS), 3)])
    inputs = keras.Input(shape=(1,), dtype="string")
    model = text_classification_from_scratch(dt, dropout)
    return keras.Model(inputs, model(vectorize_layer(inputs)))


def timeseries_classification_from_scratch(dt):
    """keras.io/examples/timeseries/timeseries_classification_from_scratch: 3 x [Conv1D(same)
    -> BatchNormalization -> ReLU] -> GlobalAveragePooling1D -> Dense(softmax)."""
    inputs = keras.Input((6, 1))
    x = inputs
    for _ in range(3):
        x = L.Conv1D(filters=4, kernel_size=3, padding="same", dtype=dt)(x)
        x = L.BatchNormalization(dtype=dt)(x)
        x = L.ReLU(dtype=dt)(x)
    x = L.GlobalAveragePooling1D(dtype=dt)(x)
    return keras.Model(inputs, L.Dense(2, activation="softmax", dtype=dt)(x))


def timeseries_transformer(dt, dropout=0.25):
    """keras.io/examples/timeseries/timeseries_classification_transformer: transformer encoder
    blocks (LayerNormalization -> MultiHeadAttention -> Dropout -> residual; LayerNormalization
    -> Conv1D(relu, 1) -> Dropout -> Conv1D(1) -> residual) -> GlobalAveragePooling1D ->
    Dense(relu) -> Dropout -> Dense(softmax).  Two blocks of 2 heads of size 4 (published: 4
    blocks of 4 heads of 256); 3 features instead of 1, so LayerNormalization has something to
    normalize."""
    inputs = keras.Input((6, 3))
    x = inputs
    for _ in range(2):
        h = L.LayerNormalization(epsilon=1e-6, dtype=dt)(x)
        h = L.MultiHeadAttention(key_dim=4, num_heads=2, dropout=dropout, dtype=dt)(h, h)
        h = L.Dropout(dropout, dtype=dt)(h)
        res = L.Add(dtype=dt)([h, x])
        h = L.LayerNormalization(epsilon=1e-6, dtype=dt)(res)
        h = L.Conv1D(filters=4, kernel_size=1, activation="relu", dtype=dt)(h)
        h = L.Dropout(dropout, dtype=dt)(h)
        h = L.Conv1D(filters=3, kernel_size=1, dtype=dt)(h)
        x = L.Add(dtype=dt)([h, res])
    x = L.GlobalAveragePooling1D(data_format="channels_last", dtype=dt)(x)
    x = L.Dense(8, activation="relu", dtype=dt)(x)
    x = L.Dropout(0.4 if dropout else 0.0, dtype=dt)(x)
    return keras.Model(inputs, L.Dense(2, activation="softmax", dtype=dt)(x))


ZOO = {f.__name__: f for f in (imdb_bidirectional_lstm, addition_rnn, lstm_seq2seq,
                               lstm_seq2seq_inference, weather_lstm, ticket_classifier,
                               shared_embedding, text_classification_rnn,
                               text_classification_from_scratch,
                               text_classification_end_to_end,
                               timeseries_classification_from_scratch, timeseries_transformer)}


#: Gradients zero in exact arithmetic because of the graph around a layer (a layer's own are
#: its ``vanishing_gradients``): a Conv1D's bias feeding a BatchNormalization in training mode,
#: which subtracts the batch mean, adding the bias and taking it away again.  Both sides
#: return rounding noise there (measured 5e-19 against a kernel gradient of 2e-3, float64;
#: Adam then steps it by ``lr * noise / (|noise| + epsilon)``, 1e-14 on each side its own), so
#: the twin's layers declare it and the noise is measured on the kernel's scale.
GRAPH_VANISHING = {"timeseries_classification_from_scratch": {"Conv1D": {"bias": "kernel"}}}


def _twin(model, name):
    """``parity.from_keras(model)`` with the member's ``GRAPH_VANISHING`` declared."""
    twin = parity.from_keras(model)
    for layer in twin.layers:
        declared = GRAPH_VANISHING.get(name, {}).get(type(layer).__name__)
        if declared:
            layer.vanishing_gradients = declared
    return twin


#: Members with dropout (rates as published unless ``_zoo_model(dropout=...)``).
DROPOUT = ("text_classification_from_scratch", "text_classification_end_to_end",
           "timeseries_transformer")


def _missing_layers(model) -> list[str]:
    names = set()
    for layer in model.layers:
        stack = [layer]
        while stack:
            lay = stack.pop()
            if hasattr(lay, "layers") and type(lay).__name__ in ("Functional", "Sequential"):
                stack += lay.layers
            elif type(lay).__name__ not in KERAS_LAYER_RULES and type(lay).__name__ != \
                    "InputLayer":
                names.add(type(lay).__name__)
    return sorted(names)


def _zoo_model(name, dt="float32", seed=0, dropout=None):
    """The member built in ``dt`` with random gate-distinct weights; ``dropout`` replaces the
    published rates of a member that has them (0: what gradients and training compare, both
    sides drawing their own masks otherwise; ``compare_training`` refuses dropout > 0)."""
    keras.backend.clear_session()
    with floatx(dt):
        model = ZOO[name](dt) if dropout is None or name not in DROPOUT else \
            ZOO[name](dt, dropout=dropout)
        missing = _missing_layers(model)
        if missing:
            pytest.skip(f"numpy_rnn has no {missing} yet")
        randomize_model(model, np.random.default_rng(seed), dt)
    return model


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_member_ports_and_checks(tmp_path, name):
    model = _zoo_model(name)
    model.save(tmp_path / f"{name}.keras")
    result = port(tmp_path / f"{name}.keras", tmp_path / f"{name}.npz", n_samples=4,
                  timesteps=5)
    assert result.keras_checked and result.passed, str(result.report)
    bundle = numpy_rnn.read_bundle(result.bundle_path)
    assert bundle.report.passed
    assert len(result.report.outputs) == len(model.outputs)


def _inputs(model, rng, n, dt):
    """``n`` rows for each input: token ids 1..19 with the last two steps of every third row
    padding (0: masked where the Embedding has mask_zero), or N(0, 1) floats."""
    xs = []
    for t in model.inputs:
        shape = (n,) + tuple(5 if d is None else int(d) for d in t.shape[1:])
        if "string" in str(t.dtype):  # a few words, some unknown to the vocabulary, one empty
            words = np.array(WORDS + ["unknown", "WORDS!"])
            xs.append(np.array([[" ".join(rng.choice(words, size=int(rng.integers(0, 8))))]
                                for _ in range(n)], dtype=object))
        elif "int" in str(t.dtype):
            ids = rng.integers(1, 20, size=shape).astype("int32")
            ids[::3, -2:] = 0
            xs.append(ids)
        else:
            xs.append(rng.normal(size=shape).astype(dt))
    return xs


def _one_hot(rng, shape, depth, dt):
    return np.eye(depth, dtype=dt)[rng.integers(0, depth, size=shape)]


def _labels(rng, n, dt):
    return rng.integers(0, 2, size=(n, 1)).astype(dt)


class Recipe(NamedTuple):
    """How the example compiles (optimizer, loss(es), loss_weights) and targets like its own."""
    optimizer: Callable[[], Any]
    loss: Callable[[str], Any]
    targets: Callable[[Any, int, str], Any]
    loss_weights: Any = None


#: The examples' compile (the functional-API guide's shared-layers model has none: Adam and
#: binary cross-entropy on its logit).  Learning rates as published.
RECIPES = {
    "imdb_bidirectional_lstm": Recipe(  # compile("adam", "binary_crossentropy")
        optimizers.Adam, lambda dt: losses.BinaryCrossentropy(dtype=dt), _labels),
    "addition_rnn": Recipe(  # compile(loss="categorical_crossentropy", optimizer="adam")
        optimizers.Adam, lambda dt: losses.CategoricalCrossentropy(dtype=dt),
        lambda rng, n, dt: _one_hot(rng, (n, 4), 12, dt)),
    "lstm_seq2seq": Recipe(  # compile(optimizer="rmsprop", loss="categorical_crossentropy")
        optimizers.RMSprop, lambda dt: losses.CategoricalCrossentropy(dtype=dt),
        lambda rng, n, dt: _one_hot(rng, (n, 5), 7, dt)),
    "lstm_seq2seq_inference": Recipe(  # not trained in the example: its training model's loss
        optimizers.RMSprop, lambda dt: [losses.CategoricalCrossentropy(dtype=dt), None, None],
        lambda rng, n, dt: [_one_hot(rng, (n, 5), 7, dt), None, None]),
    "weather_lstm": Recipe(  # compile(optimizer=Adam(learning_rate=0.001), loss="mse")
        lambda: optimizers.Adam(learning_rate=0.001),
        lambda dt: losses.MeanSquaredError(dtype=dt),
        lambda rng, n, dt: rng.normal(size=(n, 1)).astype(dt)),
    "ticket_classifier": Recipe(  # RMSprop(1e-3), BCE / CCE from logits, weights [1.0, 0.2]
        lambda: optimizers.RMSprop(1e-3),
        lambda dt: [losses.BinaryCrossentropy(from_logits=True, dtype=dt),
                    losses.CategoricalCrossentropy(from_logits=True, dtype=dt)],
        lambda rng, n, dt: [_labels(rng, n, dt), _one_hot(rng, (n,), 3, dt)], [1.0, 0.2]),
    "shared_embedding": Recipe(
        optimizers.Adam, lambda dt: losses.BinaryCrossentropy(from_logits=True, dtype=dt),
        _labels),
    "text_classification_rnn": Recipe(  # BinaryCrossentropy(from_logits=True), Adam(1e-4)
        lambda: optimizers.Adam(1e-4),
        lambda dt: losses.BinaryCrossentropy(from_logits=True, dtype=dt), _labels),
    "text_classification_from_scratch": Recipe(  # loss="binary_crossentropy", "adam"
        optimizers.Adam, lambda dt: losses.BinaryCrossentropy(dtype=dt), _labels),
    "text_classification_end_to_end": Recipe(  # loss="binary_crossentropy", "adam"
        optimizers.Adam, lambda dt: losses.BinaryCrossentropy(dtype=dt), _labels),
    "timeseries_classification_from_scratch": Recipe(  # "adam", sparse categorical CE
        optimizers.Adam, lambda dt: losses.SparseCategoricalCrossentropy(dtype=dt),
        lambda rng, n, dt: rng.integers(0, 2, size=n)),
    "timeseries_transformer": Recipe(  # Adam(learning_rate=1e-4), sparse categorical CE
        lambda: optimizers.Adam(learning_rate=1e-4),
        lambda dt: losses.SparseCategoricalCrossentropy(dtype=dt),
        lambda rng, n, dt: rng.integers(0, 2, size=n)),
}


def _failing(report):
    """The failing rows, one line each: the error against its scale and its allowance."""
    return "\n".join(
        f"{o.name}: max|err| {o.max_abs_err:.3g} = {o.max_abs_err / (o.atol_scale or 1):.3g} of "
        f"scale {o.atol_scale:.3g} (atol {o.atol:.3g}, rtol {o.rtol:.3g}) at {o.worst_index}: "
        f"{o.actual_at_worst!r} vs {o.expected_at_worst!r}"
        for o in report.outputs if not o.passed) or str(report)


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_member_gradients(name, dt):
    """Every weight's (and float input's) gradient against ``tf.GradientTape``: of the
    example's loss for one output (a softmax's outputs sum to 1, so their plain sum has no
    gradient), of MSE summed over every output for several (the inference decoder's states
    included).  float32 failures go to the float64 referee (``refereed_gradients``): a sigmoid
    head's binary cross-entropy sums ``p - y`` terms that cancel over the batch, and both sides'
    float32 rounding is then 2e-6 .. 4e-6 of the largest gradient (imdb_bidirectional_lstm,
    numpy and Keras each that far from the float64 answer)."""
    model = _zoo_model(name, dt, seed=1, dropout=0.0)
    twin = _twin(model, name)
    rng = np.random.default_rng(2)
    xs = _inputs(model, rng, 4, dt)
    if len(model.outputs) == 1:
        loss, targets = RECIPES[name].loss(dt), RECIPES[name].targets(rng, 4, dt)
    else:
        loss = losses.MeanSquaredError(dtype=dt)
        targets = [rng.normal(size=(4,) + tuple(5 if d is None else int(d) for d in o.shape[1:])
                              ).astype(dt) for o in model.outputs]
    x = xs if len(xs) > 1 else xs[0]
    with floatx(dt):
        report = (parity.compare_gradients if dt == "float64" else refereed_gradients)(
            twin, model, x, loss=loss, targets=targets)
    assert report.passed, _failing(report)


def _compiled_twin(model, name, dt):
    twin = _twin(model, name)
    recipe = RECIPES[name]
    twin.compile(optimizer=recipe.optimizer(), loss=recipe.loss(dt),
                 **({} if recipe.loss_weights is None else {"loss_weights": recipe.loss_weights}))
    return twin


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_member_trains_like_keras(name, dt):
    """Compiled as the example compiles, ``train_on_batch`` steps of 4 rows (of 8) on both
    sides: the loss and every weight after each step (``parity.compare_training``: float64 one
    trajectory of three steps; float32 two steps, each from the numpy model's weights)."""
    steps = 3 if dt == "float64" else 2
    model = _zoo_model(name, dt, seed=3, dropout=0.0)
    twin = _compiled_twin(model, name, dt)
    rng = np.random.default_rng(4)
    xs, y = _inputs(model, rng, 8, dt), RECIPES[name].targets(rng, 8, dt)
    x = xs if len(xs) > 1 else xs[0]
    report = parity.compare_training(twin, model, x, y, steps=steps, batch_size=4)
    assert len(report.outputs) >= steps * (1 + len(twin.get_weights()))
    if not report.passed and dt == "float32":  # Adam / RMSprop in float32: the referee decides
        model = _zoo_model(name, dt, seed=3, dropout=0.0)
        report = _refereed_float32_training(_compiled_twin(model, name, dt), model, x, y,
                                            steps=steps, batch_size=4)
    assert report.passed, _failing(report)


def _keras_compile(keras_model, np_model, dtype):
    """Compile a Keras model as ``compare_training`` does, its losses computed in ``dtype``."""
    def to_keras(loss):
        return None if loss is None else keras_loss(
            type(loss).from_config({**loss.get_config(), "dtype": dtype}))
    if isinstance(np_model.loss, list):
        keras_model.compile(optimizer=keras_optimizer(np_model.optimizer),
                            loss=[to_keras(loss) for loss in np_model.loss],
                            loss_weights=[1.0 if w is None else w for w in np_model.loss_weights])
    else:
        keras_model.compile(optimizer=keras_optimizer(np_model.optimizer),
                            loss=to_keras(np_model.loss))


def _refereed_float32_training(twin, model, x, y, *, steps, batch_size):
    """``compare_training``'s float32 protocol (every step from the numpy model's weights) with
    a third run, the Keras model rebuilt in float64 and stepped from the same weights, as the
    float64 referee of the weights: a failing element passes when numpy is no farther from the
    exact step than the table's allowance plus twice Keras's own float32 distance from it
    (``parity.bridge.referee.referee``).  Needed for adaptive optimizers: Adam / RMSprop divide
    by a running root, so a gradient element near ``epsilon`` turns its float32 rounding into a
    visible step on both sides (numpy_rnn.testing, training: "compare those in float64")."""
    xs = x if isinstance(x, list) else [x]
    ys = y if isinstance(y, list) else [y]
    exact_model = keras_float64_copy(model, x)
    with floatx("float64"):
        _keras_compile(exact_model, twin, "float64")
    _keras_compile(model, twin, "float32")
    names = pair_layers(twin, model, "zoo training")[2]
    vanishing = vanishing_references(twin)
    rows = []
    for k in range(1, steps + 1):
        lo = ((k - 1) * batch_size) % len(xs[0])

        def batch(arrays, to64=False):
            out = [None if a is None else (as_float64(a) if to64 else a)[lo:lo + batch_size]
                   for a in arrays]
            return out if len(out) > 1 else out[0]
        start = twin.get_weights()
        model.set_weights(start)
        exact_model.set_weights([np.asarray(w, np.float64) for w in start])
        k_loss = model.train_on_batch(batch(xs), batch(ys))
        with floatx("float64"):
            exact_model.train_on_batch(batch(xs, True), batch(ys, True))
        n_loss = twin.train_on_batch(batch(xs), batch(ys))
        rows.append(diff_arrays(f"step {k} loss", np.float32(np.atleast_1d(n_loss)[0]),
                                np.float32(np.atleast_1d(k_loss)[0]), kind="training"))
        actual, expected = twin.get_weights(), model.get_weights()
        for row, a, e, r in zip(weight_rows(k, names, actual, expected, start, vanishing),
                                actual, expected, exact_model.get_weights()):
            rows.append(referee(row, a, e, r, "zoo training"))
    return ParityReport("refereed float32 training", rows)


def test_zoo_member_with_published_dropout_is_refused_not_compared():
    """The transformer as published (Dropout layers, MultiHeadAttention(dropout=0.25)) is a
    graph: compare_training / compare_gradients look inside it and refuse it, naming the
    layers, rather than comparing two sides that draw different masks (they used to look at
    a Sequential's layers only)."""
    model = _zoo_model("timeseries_transformer", "float32", seed=3)
    twin = _twin(model, "timeseries_transformer")
    twin.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy())
    rng = np.random.default_rng(0)
    x, y = _inputs(model, rng, 4, "float32")[0], rng.integers(0, 2, size=4)
    with pytest.raises(ValueError, match=r"multi_head_attention.*dropout.*Compare with rate 0"):
        parity.compare_training(twin, model, x, y, steps=1)
    with pytest.raises(ValueError, match="drop units at random"):
        parity.compare_gradients(twin, model, x, loss=losses.SparseCategoricalCrossentropy(),
                                 targets=y)


def test_gradients_of_several_outputs_want_one_target_each():
    """A graph with several outputs takes ``targets`` as a list, one per output (None: no
    loss there); a single array is refused, naming the count."""
    model = _zoo_model("lstm_seq2seq_inference", "float64", seed=1)
    twin = parity.from_keras(model)
    xs = _inputs(model, np.random.default_rng(0), 2, "float64")
    y = np.zeros((2, 5, 7))
    with pytest.raises(ValueError, match="returns 3 outputs; `targets` must be a list of 3"):
        parity.compare_gradients(twin, model, xs, loss="mse", targets=y)
    with floatx("float64"):
        report = parity.compare_gradients(twin, model, xs, loss="mse", targets=[y, None, None])
    assert report.passed, _failing(report)
    # the states get no loss: a loss on them alone moves no Dense weight
    with floatx("float64"):
        states_only = parity.compare_gradients(
            twin, model, xs, loss="mse", targets=[None, np.ones((2, 5)), np.ones((2, 5))])
    dense = [o for o in states_only.outputs if o.name.startswith("d dense/")]
    assert dense and all(o.passed and o.atol_scale == 0 for o in dense)
