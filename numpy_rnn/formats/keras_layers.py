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
           "GATES", "is_inference_neutral", "only_value", "supported_keras_layers"]


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
