"""The one generator of parity cases: ``numpy-rnn parity``'s sweep, the gate's random sweep and
the property tests' examples all come from here.

* ``case``: :class:`Case` (one row) and :func:`register` (a group of rows);
* ``weights``: gate-distinct random weights; ``masks``: the mask patterns;
* the groups, in the order the sweep runs them: ``core`` (the original example's pipeline and
  the LSTM option grid), ``text``, ``family`` (GRU, SimpleRNN, Bidirectional, Dense, Masking,
  Dropout, stateful), ``attention`` (MultiHeadAttention, Attention, AdditiveAttention,
  EinsumDense: forward and ``grad/attention/`` rows), ``models``, ``grad`` (gradients and training steps against
  ``tf.GradientTape`` and Keras's ``train_on_batch``), ``merging`` (the merge layers, forward
  and input gradients), ``normalization`` (BatchNormalization, LayerNormalization,
  UnitNormalization, GroupNormalization, RMSNormalization: forward, gradients and training
  steps), ``activation_layers`` (the activation and regularization layers, forward and
  gradients, and training steps with regularizers), ``convolutional`` (Conv1D and its kin, pooling: forward
  and gradients), ``reshaping`` (Flatten, Reshape, Permute, RepeatVector,
  Cropping1D, ZeroPadding1D, UpSampling1D, TimeDistributed: forward and ``grad/`` rows),
  ``reach`` (optimizers, ``fit``, losses,
  a Keras 2 ``.h5``, ``trace``, a tampered bundle, the comparison itself), ``graphs`` (functional models: files,
  bundles, gradients, graph teeth), ``selftest`` (the checker's own teeth); the gate adds its own row (``parity.gate.selfcheck``: shards merged);
* ``reference``: the grid rebuilt on tf_keras; ``random``: the seeded random LSTM sweep and the
  LSTM example builder the hypothesis strategies use.

Importing this package builds no Keras object; each case imports TensorFlow when it runs.
"""
from __future__ import annotations

# registers the groups, in order
from . import (core, text, family, attention, models, grad, merging,  # noqa: F401
               normalization, activation_layers, convolutional, reshaping, reach, graphs,
               selftest)
from .case import GROUPS, Case, register
from .random import random_cases
from .reference import reference_cases
from .weights import gate_weights

__all__ = ["Case", "GROUPS", "register", "all_cases", "gate_weights", "random_cases",
           "reference_cases"]


def all_cases(seed: int = 0) -> list[Case]:
    """Every registered group's cases for ``seed``, each tagged with its group."""
    out = []
    # the self-test runs last, whenever its module was first imported (a group that reuses
    # its helpers imports it early)
    for group, fn in sorted(GROUPS.items(), key=lambda item: item[0] == "selftest"):
        for case in fn(seed):
            case.group = group
            out.append(case)
    return out
