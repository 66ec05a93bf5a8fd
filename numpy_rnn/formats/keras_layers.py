"""The one table of Keras layers and options numpy_rnn reproduces (NumPy only, plain data).

Both sides that turn a Keras layer into a numpy_rnn one read it: the ``.keras`` / ``.h5`` file
reader (a serialized config) and ``parity``'s bridge (a live Keras layer's ``get_config()``).  So
a layer is accepted or refused alike, whichever way it arrives.  A config key is, in this order:

1. refused unless it has its only supported value (``ONLY_VALUE_OPTIONS``; inside a model also
   ``MODEL_ONLY_VALUE_OPTIONS``: a single live layer may return or keep its states, a layer in a
   model may not);
2. an activation (``KerasLayerRule.activations``: Keras built-in names only);
3. taken over as the numpy_rnn constructor argument of the same name (``KerasLayerRule.options``);
4. ignored when it only matters for training, initialisation or graph building
   (:func:`is_inference_neutral`);
5. otherwise refused as unknown.

``dropout``, ``recurrent_dropout`` and ``unroll`` are options (step 3): numpy_rnn's recurrent
layers take them, keep them in ``get_config()`` (so ``to_keras`` and a bundle carry them back) and
compute the same inference result whatever their value (dropout acts only in training, ``unroll``
only changes how Keras builds its graph).
"""
from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["KerasLayerRule", "KERAS_LAYER_RULES", "RECURRENT_CLASSES", "ONLY_VALUE_OPTIONS",
           "MODEL_ONLY_VALUE_OPTIONS", "INFERENCE_NEUTRAL_OPTIONS", "NEUTRAL_SUFFIXES",
           "GATES", "is_inference_neutral", "only_value", "supported_keras_layers",
           "Dialect", "KERAS2_ACTIVATIONS", "KERAS2_DEFAULTS", "REFUSED_LAYERS", "dialect_of"]


@dataclasses.dataclass(frozen=True)
class KerasLayerRule:
    """One row: the numpy_rnn class (by name, as in ``numpy_rnn.model.LAYER_CLASSES``) and how
    the Keras config keys map onto its constructor."""

    np_class: str
    #: Config keys passed to the numpy_rnn constructor under the same name.
    options: tuple = ()
    #: Config keys holding an activation (Keras built-in names only).
    activations: tuple = ()


#: Options every recurrent layer takes (LSTM, GRU, SimpleRNN).
RECURRENT_OPTIONS = ("units", "use_bias", "return_sequences", "return_state", "go_backwards",
                     "stateful", "zero_output_for_mask", "dropout", "recurrent_dropout", "unroll")
RECURRENT_CLASSES = ("LSTM", "GRU", "SimpleRNN")
#: Gate blocks along the last axis of a recurrent layer's kernels (Keras order).
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}

#: Keras class name -> rule.
KERAS_LAYER_RULES: dict[str, KerasLayerRule] = {
    "Embedding": KerasLayerRule("Embedding", ("input_dim", "output_dim", "mask_zero")),
    "LSTM": KerasLayerRule("LSTM", RECURRENT_OPTIONS + ("unit_forget_bias",),
                           ("activation", "recurrent_activation")),
    "GRU": KerasLayerRule("GRU", RECURRENT_OPTIONS + ("reset_after",),
                          ("activation", "recurrent_activation")),
    "SimpleRNN": KerasLayerRule("SimpleRNN", RECURRENT_OPTIONS, ("activation",)),
    # Bidirectional's inner layers (config keys "layer", "backward_layer") go through their own rows.
    "Bidirectional": KerasLayerRule("Bidirectional", ("merge_mode",)),
    "Dense": KerasLayerRule("Dense", ("units", "use_bias"), ("activation",)),
    "Dropout": KerasLayerRule("Dropout", ("rate", "noise_shape")),
    "Masking": KerasLayerRule("Masking", ("mask_value",)),
    # Merge layers (functional models): no weights; Keras's names and options.
    "Add": KerasLayerRule("Add"),
    "Subtract": KerasLayerRule("Subtract"),
    "Multiply": KerasLayerRule("Multiply"),
    "Average": KerasLayerRule("Average"),
    "Maximum": KerasLayerRule("Maximum"),
    "Minimum": KerasLayerRule("Minimum"),
    "Concatenate": KerasLayerRule("Concatenate", ("axis",)),
    "Dot": KerasLayerRule("Dot", ("axes", "normalize")),
    # Strings -> ids inside a model (numpy_rnn.layers.text_vectorization); the vocabulary comes from the
    # config (a list) or the .keras archive's assets, never from a file path in the config.
    "TextVectorization": KerasLayerRule("TextVectorizationLayer", (
        "max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length",
        "pad_to_max_tokens", "vocabulary", "idf_weights", "encoding", "vocabulary_size")),
}

#: Options whose listed value is the only one supported anywhere, with the reason when refused.
ONLY_VALUE_OPTIONS: dict[str, tuple[Any, str]] = {
    "time_major": (False, "numpy_rnn takes (batch, timesteps, features) inputs"),
    "quantization_config": (None, "quantized weights are not supported"),
    "lora_rank": (None, "LoRA adapters are not supported"),
    "ragged": (False, "ragged inputs are not supported"),
    "sparse": (False, "sparse inputs are not supported"),
}

#: Options fine on a single live layer (its states are copied) but refused inside a model.
MODEL_ONLY_VALUE_OPTIONS: dict[str, tuple[Any, str]] = {
    "return_state": (False, "a layer with several outputs cannot sit inside a model"),
    "stateful": (False, "the state lives outside the file and changes results from call to "
                        "call"),
}

#: Options that only matter for training, initialisation or graph building: the weights are
#: copied and inference runs without regularisers or constraints.
INFERENCE_NEUTRAL_OPTIONS = frozenset({
    "name", "trainable", "dtype", "seed", "implementation", "activity_regularizer",
    "input_length", "batch_input_shape", "batch_shape", "input_shape", "use_cudnn", "lora_alpha",
    "build_config",
})
NEUTRAL_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def is_inference_neutral(key: str) -> bool:
    """True for options that only matter for training, initialisation or graph building."""
    return key in INFERENCE_NEUTRAL_OPTIONS or key.endswith(NEUTRAL_SUFFIXES)


def only_value(key: str, *, in_model: bool) -> tuple[Any, str] | None:
    """``(the only supported value, why)`` when ``key`` is restricted, else None.  ``in_model``:
    the layer sits in a model (file or Keras model), where return_state / stateful are refused."""
    if key in ONLY_VALUE_OPTIONS:
        return ONLY_VALUE_OPTIONS[key]
    if in_model and key in MODEL_ONLY_VALUE_OPTIONS:
        return MODEL_ONLY_VALUE_OPTIONS[key]
    return None


def supported_keras_layers() -> list[str]:
    """The Keras layer class names in the table, sorted."""
    return sorted(KERAS_LAYER_RULES)


# ------------------------------------------------------------------------------------------------
# Keras 2 / tf_keras files (legacy ``.h5``): what a name means depends on who wrote the file
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Dialect:
    """How to read a config: which Keras wrote it.  ``activations`` maps the writer's activation
    names to numpy_rnn's (None: Keras 3, whose names numpy_rnn uses as they are);
    ``defaults`` holds, per class, the writer's default for an option its config may lack (a
    value of None: the writer's versions disagree, so the option must be in the config)."""

    name: str
    activations: dict | None = None
    defaults: dict = dataclasses.field(default_factory=dict)


KERAS3 = Dialect("Keras 3")

#: Keras 2's activations (``tf_keras/src/activations.py``; ``softmax_v2`` is tf.keras's alias)
#: -> the numpy_rnn activation computing the same.  ``hard_sigmoid`` there is
#: ``backend.hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)``, not Keras 3's ``clip(x / 6 + 0.5)``.
KERAS2_ACTIVATIONS: dict[str, str] = {
    "linear": "linear", "tanh": "tanh", "sigmoid": "sigmoid",
    "hard_sigmoid": "keras2_hard_sigmoid", "relu": "relu", "elu": "elu", "selu": "selu",
    "softplus": "softplus", "softsign": "softsign", "swish": "swish", "gelu": "gelu",
    "exponential": "exponential", "mish": "mish", "softmax": "softmax", "softmax_v2": "softmax",
}

_SIGMOID_GATES = {"LSTM": {"recurrent_activation": "sigmoid"},
                  "GRU": {"recurrent_activation": "sigmoid"}}
#: ``(first, last (major, minor), defaults)`` by the ``keras_version`` that wrote the file.
#: Standalone Keras 2.0-2.2: ``recurrent_activation="hard_sigmoid"``; 2.3.0 changed it to
#: ``sigmoid`` ("Change default recurrent activation to sigmoid (from hard_sigmoid) in all RNN
#: layers", keras 2.3.0 release notes); standalone GRU keeps ``reset_after=False`` (before 2.1.3
#: the option did not exist: the only GRU was reset-before).  From 2.4 on, Keras is tf.keras
#: (TF 2.x, then tf_keras): ``sigmoid`` and ``GRU(reset_after=True)`` (tf_keras/src/layers/rnn).
#: A ``-tf`` version (``2.2.4-tf``, tf.keras in TF 1.x and early TF 2) is ambiguous: TF 1's
#: LSTM defaulted to hard_sigmoid and reset_after=False, TF 2's to sigmoid and True.
KERAS2_DEFAULTS: tuple = (
    ((2, 0), (2, 2), {"LSTM": {"recurrent_activation": "hard_sigmoid"},
                      "GRU": {"recurrent_activation": "hard_sigmoid", "reset_after": False}}),
    ((2, 3), (2, 3), {**_SIGMOID_GATES,
                      "GRU": {"recurrent_activation": "sigmoid", "reset_after": False}}),
    ((2, 4), (2, 999), {**_SIGMOID_GATES,
                        "GRU": {"recurrent_activation": "sigmoid", "reset_after": True}}),
)
_AMBIGUOUS = {"LSTM": {"recurrent_activation": None},
              "GRU": {"recurrent_activation": None, "reset_after": None}}

#: Layers refused with a reason of their own (rather than "not supported").
REFUSED_LAYERS: dict[str, str] = {
    "Lambda": "a Lambda layer holds Python code, which numpy_rnn never runs",
    "CuDNNLSTM": ("a CuDNNLSTM keeps its weights in cuDNN's layout (kernels per gate in "
                  "Fortran order, two biases); numpy_rnn does not convert them: load the file "
                  "in a Keras that has CuDNNLSTM, rebuild the layer as LSTM("
                  "recurrent_activation='sigmoid') with the same weights (Keras converts them "
                  "on loading) and save again"),
    "CuDNNGRU": ("a CuDNNGRU keeps its weights in cuDNN's layout; numpy_rnn does not convert "
                 "them: rebuild it in Keras as GRU(reset_after=True, "
                 "recurrent_activation='sigmoid') with the same weights and save again"),
}


def dialect_of(keras_version: Any) -> tuple[Dialect | None, str | None]:
    """``(dialect, None)`` for the ``keras_version`` a model file declares, else
    ``(None, reason)``: Keras 2 (standalone, tf.keras or tf_keras) or Keras 3."""
    text = keras_version.decode("utf-8", "replace") if isinstance(keras_version, bytes) \
        else keras_version
    if not isinstance(text, str) or not text:
        return None, ("the file does not say which Keras wrote it (no keras_version): Keras 1 "
                      "files are not supported")
    parts = text.split("-")[0].split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None, f"keras_version {text!r} is not a version number"
    if major == 3:
        return KERAS3, None
    if major != 2:
        return None, (f"the file was written by Keras {text}; numpy_rnn reads files from "
                      "Keras 2 (tf.keras, tf_keras) and Keras 3")
    defaults = _AMBIGUOUS if text.endswith("-tf") else next(
        (d for lo, hi, d in KERAS2_DEFAULTS if lo <= (major, minor) <= hi), _AMBIGUOUS)
    return Dialect(f"Keras {text}", KERAS2_ACTIVATIONS, defaults), None
