"""The one table of Keras layers and options numpy_rnn reproduces (NumPy only, plain data).

Both sides that turn a Keras layer into a numpy_rnn one read it: the ``.keras`` / ``.h5`` file
reader (a serialized config) and ``parity``'s bridge (a live Keras layer's ``get_config()``).  So
a layer is accepted or refused alike, whichever way it arrives.  A config key is, in this order:

1. refused unless it has its only supported value (``ONLY_VALUE_OPTIONS``; inside a model also
   ``MODEL_ONLY_VALUE_OPTIONS``: a single live layer may return or keep its states, a layer in a
   model may not);
2. an activation (``KerasLayerRule.activations``: Keras built-in names only);
3. taken over as the numpy_rnn constructor argument of the same name (``KerasLayerRule.options``),
   or checked and dropped when the layer takes it at one value only (``KerasLayerRule.fixed``);
4. ignored when it only matters for training, initialisation or graph building
   (:func:`is_inference_neutral`) -- except the weight regularizers a row lists as options
   (``kernel_regularizer`` ...), carried so that training adds their penalties as Keras does;
5. otherwise refused as unknown.

``dropout``, ``recurrent_dropout`` and ``unroll`` are options (step 3): numpy_rnn's recurrent
layers take them, keep them in ``get_config()`` (so ``to_keras`` and a bundle carry them back) and
compute the same inference result whatever their value (dropout acts only in training, ``unroll``
only changes how Keras builds its graph).
"""
from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["KerasLayerRule", "KERAS_LAYER_RULES", "CONV_POOL_RULES", "RECURRENT_CLASSES",
           "ONLY_VALUE_OPTIONS",
           "MODEL_ONLY_VALUE_OPTIONS", "KERAS2_ONLY_OPTIONS", "INFERENCE_NEUTRAL_OPTIONS", "NEUTRAL_SUFFIXES",
           "GATES", "WRAPPERS", "is_inference_neutral", "only_value", "supported_keras_layers",
           "Dialect", "KERAS2_ACTIVATIONS", "KERAS2_DEFAULTS", "KERAS2_REFUSED", "KERAS2_RENAMES",
           "REFUSED_LAYERS", "dialect_of", "rename_keras2", "WEIGHT_REGULARIZERS"]


@dataclasses.dataclass(frozen=True)
class KerasLayerRule:
    """One row: the numpy_rnn class (by name, as in ``numpy_rnn.model.LAYER_CLASSES``) and how
    the Keras config keys map onto its constructor."""

    np_class: str
    #: Config keys passed to the numpy_rnn constructor under the same name.
    options: tuple = ()
    #: Config keys holding an activation (Keras built-in names only).
    activations: tuple = ()
    #: True when the layer hands an incoming mask on unchanged (Keras's ``supports_masking``
    #: with the base ``compute_mask``): Keras's automatic mask flows through it in a model.
    passes_mask: bool = False
    #: Keras's ``call`` takes a ``mask`` (so a functional model passes the automatic mask to
    #: it): the recurrent layers, Bidirectional, GlobalAveragePooling1D.
    call_mask: bool = False
    #: Config keys the layer accepts at one value only (key -> (value, why)); taken as no option.
    fixed: dict = dataclasses.field(default_factory=dict)


#: Weight regularizers of Dense and the recurrent layers: carried into the numpy_rnn layer,
#: which has no use for them at inference; training adds their penalties to the loss.
WEIGHT_REGULARIZERS = ("kernel_regularizer", "bias_regularizer")
#: Options every recurrent layer takes (LSTM, GRU, SimpleRNN).
RECURRENT_OPTIONS = ("units", "use_bias", "return_sequences", "return_state", "go_backwards",
                     "stateful", "zero_output_for_mask", "dropout", "recurrent_dropout", "unroll",
                     *WEIGHT_REGULARIZERS, "recurrent_regularizer")
RECURRENT_CLASSES = ("LSTM", "GRU", "SimpleRNN")
#: Gate blocks along the last axis of a recurrent layer's kernels (Keras order).
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}

_CONV = ("kernel_size", "strides", "padding", "data_format", "dilation_rate", "use_bias")
_POOL = ("pool_size", "strides", "padding", "data_format")
_GLOBAL = ("data_format", "keepdims")
#: tf_keras's SeparableConv1D, DepthwiseConv1D and Conv1DTranspose derive from its Conv1D and
#: write its ``groups`` (always 1) into their configs.
_KERAS2_GROUPS = {"groups": (1, "tf_keras writes groups=1 here; the layer has no groups")}
#: Convolution and pooling (numpy_rnn/layers/convolutional, pooling).  Keras's aliases
#: (``Convolution1D``, ``MaxPool1D``, ``GlobalMaxPool1D``, ``AvgPool1D`` ...) are the same classes
#: and are serialized under these names, in Keras 3 and in tf_keras alike (checked).
CONV_POOL_RULES: dict[str, KerasLayerRule] = {
    "Conv1D": KerasLayerRule("Conv1D", ("filters", "groups") + _CONV, ("activation",)),
    "Conv1DTranspose": KerasLayerRule("Conv1DTranspose", ("filters", "output_padding") + _CONV,
                                      ("activation",), fixed=_KERAS2_GROUPS),
    "DepthwiseConv1D": KerasLayerRule("DepthwiseConv1D", ("depth_multiplier",) + _CONV,
                                      ("activation",), fixed=_KERAS2_GROUPS),
    "SeparableConv1D": KerasLayerRule("SeparableConv1D", ("filters", "depth_multiplier") + _CONV,
                                      ("activation",), fixed=_KERAS2_GROUPS),
    "MaxPooling1D": KerasLayerRule("MaxPooling1D", _POOL),
    "AveragePooling1D": KerasLayerRule("AveragePooling1D", _POOL),
    "GlobalMaxPooling1D": KerasLayerRule("GlobalMaxPooling1D", _GLOBAL),
    "GlobalAveragePooling1D": KerasLayerRule("GlobalAveragePooling1D", _GLOBAL, call_mask=True),
}

#: Keras class name -> rule.
KERAS_LAYER_RULES: dict[str, KerasLayerRule] = {
    "Embedding": KerasLayerRule("Embedding", ("input_dim", "output_dim", "mask_zero",
                                              "embeddings_regularizer")),
    "LSTM": KerasLayerRule("LSTM", RECURRENT_OPTIONS + ("unit_forget_bias",),
                           ("activation", "recurrent_activation"), call_mask=True),
    "GRU": KerasLayerRule("GRU", RECURRENT_OPTIONS + ("reset_after",),
                          ("activation", "recurrent_activation"), call_mask=True),
    "SimpleRNN": KerasLayerRule("SimpleRNN", RECURRENT_OPTIONS, ("activation",), call_mask=True),
    # Bidirectional's inner layers (config keys "layer", "backward_layer") go through their own rows.
    "Bidirectional": KerasLayerRule("Bidirectional", ("merge_mode",), call_mask=True),
    "Dense": KerasLayerRule("Dense", ("units", "use_bias") + WEIGHT_REGULARIZERS,
                            ("activation",), passes_mask=True),
    "Dropout": KerasLayerRule("Dropout", ("rate", "noise_shape"), passes_mask=True),
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
    # Normalization (keras/src/layers/normalization/); their initializers, regularizers and
    # constraints are neutral as everywhere (the weights are copied).
    "BatchNormalization": KerasLayerRule("BatchNormalization", ("axis", "momentum", "epsilon",
                                                                "center", "scale",
                                                                "synchronized")),
    "LayerNormalization": KerasLayerRule("LayerNormalization", ("axis", "epsilon", "center",
                                                                "scale", "rms_scaling")),
    "UnitNormalization": KerasLayerRule("UnitNormalization", ("axis",)),
    "GroupNormalization": KerasLayerRule("GroupNormalization", ("groups", "axis", "epsilon",
                                                                "center", "scale")),
    "RMSNormalization": KerasLayerRule("RMSNormalization", ("axis", "epsilon")),
    # activation layers (numpy_rnn/layers/activations)
    "Activation": KerasLayerRule("Activation", (), ("activation",), passes_mask=True),
    "ReLU": KerasLayerRule("ReLU", ("max_value", "negative_slope", "threshold"),
                           passes_mask=True),
    "LeakyReLU": KerasLayerRule("LeakyReLU", ("negative_slope",), passes_mask=True),
    "PReLU": KerasLayerRule("PReLU", ("shared_axes", "alpha_regularizer"), passes_mask=True),
    "ELU": KerasLayerRule("ELU", ("alpha",), passes_mask=True),
    "Softmax": KerasLayerRule("Softmax", ("axis",), passes_mask=True),
    # regularization layers (numpy_rnn/layers/regularization)
    "SpatialDropout1D": KerasLayerRule("SpatialDropout1D", ("rate",), passes_mask=True),
    "GaussianNoise": KerasLayerRule("GaussianNoise", ("stddev",), passes_mask=True),
    "GaussianDropout": KerasLayerRule("GaussianDropout", ("rate",), passes_mask=True),
    "AlphaDropout": KerasLayerRule("AlphaDropout", ("rate", "noise_shape"), passes_mask=True),
    "ActivityRegularization": KerasLayerRule("ActivityRegularization", ("l1", "l2"),
                                             passes_mask=True),
    **CONV_POOL_RULES,
    "Flatten": KerasLayerRule("Flatten", ("data_format",)),
    "Reshape": KerasLayerRule("Reshape", ("target_shape",)),
    "Permute": KerasLayerRule("Permute", ("dims",)),
    "RepeatVector": KerasLayerRule("RepeatVector", ("n",)),
    "Cropping1D": KerasLayerRule("Cropping1D", ("cropping",)),
    "ZeroPadding1D": KerasLayerRule("ZeroPadding1D", ("padding", "data_format")),
    "UpSampling1D": KerasLayerRule("UpSampling1D", ("size",)),
    # TimeDistributed's wrapped layer (config key "layer") goes through its own row.
    "TimeDistributed": KerasLayerRule("TimeDistributed", call_mask=True, passes_mask=True),
    "EinsumDense": KerasLayerRule("EinsumDense", ("equation", "output_shape", "bias_axes"),
                                  ("activation",)),
    # query_shape / value_shape / key_shape: tf_keras keeps the build shapes in the config
    "MultiHeadAttention": KerasLayerRule(
        "MultiHeadAttention", ("num_heads", "key_dim", "value_dim", "dropout", "use_bias",
                               "output_shape", "attention_axes", "use_gate", "sliding_window",
                               "query_shape", "value_shape", "key_shape",
                               "softmax_robust_masking")),
    "Attention": KerasLayerRule("Attention", ("use_scale", "score_mode", "dropout")),
    "AdditiveAttention": KerasLayerRule("AdditiveAttention", ("use_scale", "dropout")),
    # Strings -> ids inside a model (numpy_rnn.layers.text_vectorization); the vocabulary comes from the
    # config (a list) or the .keras archive's assets, never from a file path in the config.
    "TextVectorization": KerasLayerRule("TextVectorizationLayer", (
        "max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length",
        "pad_to_max_tokens", "vocabulary", "idf_weights", "encoding", "vocabulary_size")),
}

#: Wrappers: Keras class -> the classes they may wrap (None: any layer of the table but a
#: wrapper of the same kind).  The wrapped layer's config sits under the key "layer" (and
#: "backward_layer" for Bidirectional) and goes through its own row.
WRAPPERS: dict[str, tuple | None] = {
    "Bidirectional": RECURRENT_CLASSES,
    "TimeDistributed": None,
}

#: Options whose listed value is the only one supported anywhere, with the reason when refused.
ONLY_VALUE_OPTIONS: dict[str, tuple[Any, str]] = {
    "time_major": (False, "numpy_rnn takes (batch, timesteps, features) inputs"),
    "quantization_config": (None, "quantized weights are not supported"),
    "lora_rank": (None, "LoRA adapters are not supported"),
    "ragged": (False, "ragged inputs are not supported"),
    "sparse": (False, "sparse inputs are not supported"),
    "renorm": (False, "batch renormalization (BatchNormalization(renorm=True)) is not supported"),
    "virtual_batch_size": (None, "ghost batch normalization (virtual_batch_size) is not "
                                 "supported"),
}

#: Options only Keras 2 (tf_keras) has, whose maths Keras 3 cannot reproduce: a numpy_rnn layer
#: holding one (not None) has no Keras 3 twin (``parity.to_keras`` refuses it).
KERAS2_ONLY_OPTIONS: dict[str, str] = {
    "softmax_robust_masking": ("tf_keras's MultiHeadAttention masks with -1e9 and never zeroes "
                               "a row whose keys are all masked; Keras 3 has other masking "
                               "maths"),
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
    # BatchNormalization's renorm settings act only with renorm=True, which is refused above
    "renorm_clipping", "renorm_momentum",
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
    #: Keras class name -> why numpy_rnn refuses that layer from this writer (its maths differ
    #: from the Keras 3 layer numpy_rnn reproduces).
    refused: dict = dataclasses.field(default_factory=dict)
    #: Per class, the writer's option names that numpy_rnn (Keras 3) names otherwise:
    #: ``{class: {writer's key: numpy_rnn's key, or None for a key without effect, dropped}}``.
    renames: dict = dataclasses.field(default_factory=dict)


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

#: Keras 2 option names Keras 3 renamed (``Dialect.renames``): tf_keras's ``LeakyReLU(alpha=0.3)``
#: is Keras 3's ``LeakyReLU(negative_slope=0.3)`` (the same default, 0.3; tf_keras writes the
#: float32 value 0.30000001192092896, which TensorFlow's LeakyRelu rounds to anyway); tf_keras's
#: SpatialDropout1D writes Dropout's ``noise_shape``, which it overrides with (batch, 1, features).
KERAS2_RENAMES: dict[str, dict[str, str | None]] = {
    "LeakyReLU": {"alpha": "negative_slope"},
    "SpatialDropout1D": {"noise_shape": None},
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

#: Keras 2 layers whose maths differ from their Keras 3 namesake (what numpy_rnn computes).
#: BatchNormalization and LayerNormalization are read: Keras 2 computes their inference with
#: the same formula (``tf.nn.batch_normalization`` of the moving or the sample statistics;
#: tf_keras's fused LayerNormalization kernel rounds differently, measured 1e-6 .. 4e-5 from
#: Keras 3's on float32 rows offset by 0 .. 100, the same as each one's own distance from the
#: float64 answer, and no emulation of the kernel's order measured closer).
KERAS2_REFUSED: dict[str, str] = {
    "UnitNormalization": ("Keras 2's UnitNormalization is tf.linalg.l2_normalize, which clips "
                          "the squared norm at 1e-12 where Keras 3 clips the inverse norm at "
                          "1e12 (different results for rows of norm below 1e-6); numpy_rnn "
                          "computes Keras 3's"),
    "GroupNormalization": ("Keras 2's GroupNormalization takes a mask (weighted moments over "
                           "the unmasked steps) where Keras 3's ignores it; numpy_rnn computes "
                           "Keras 3's"),
}

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


def rename_keras2(class_name: str, config: dict, renames: dict | None = None) -> dict:
    """``config`` with the writer's option names turned into numpy_rnn's (``renames``: a
    dialect's, default ``KERAS2_RENAMES``); keys renamed to None are dropped."""
    table = (KERAS2_RENAMES if renames is None else renames).get(class_name)
    if not table:
        return config
    out = {}
    for key, value in config.items():
        if key in table:
            if table[key] is not None:
                out[table[key]] = value
        else:
            out[key] = value
    return out


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
    return Dialect(f"Keras {text}", KERAS2_ACTIVATIONS, defaults, refused=KERAS2_REFUSED,
                   renames=KERAS2_RENAMES), None
