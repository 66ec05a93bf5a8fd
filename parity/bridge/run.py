"""Run a numpy_rnn object and its Keras twin on the same inputs and report every output.

The bridge knows the layers, so it names their outputs and says which tolerance kind each one
takes (:func:`output_specs`): a recurrent layer returns its output then its states (``h``, and
``c`` for an LSTM, whose cell state takes the ``"state"`` tolerance); a ``Bidirectional`` returns
one merged output (or ``output_fw`` / ``output_bw`` with ``merge_mode=None``) then each
direction's states (``h_fw``, ``c_fw``, ``h_bw``, ``c_bw``).
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

import numpy_rnn

from ..report import ParityReport, compare_outputs, notify, reporting_once
from ._tf import require_tf
from .graph import graph_output_specs
from .text import compare_text, compare_text_vectorization, is_tokenizer

__all__ = ["output_specs", "output_names", "output_kinds", "run_pair", "compare", "call_keras",
           "takes_input_list",
           "assert_parity"]


def _state_specs(n_states: int) -> list[tuple[str, str]]:
    """A recurrent layer's states: ``h``, then ``c`` (an LSTM's cell state) when there are two."""
    if n_states == 1:
        return [("h", "output")]
    if n_states == 2:
        return [("h", "output"), ("c", "state")]
    return [(f"state{i}", "output") for i in range(n_states)]


def output_specs(np_obj: Any, n: int) -> list[tuple[str, str]]:
    """``(name, tolerance kind)`` of each of the ``n`` outputs one call of ``np_obj`` returned
    (a functional model: its outputs by output layer, each with its layer's kind)."""
    if isinstance(np_obj, numpy_rnn.Model) and len(np_obj.outputs) == n:
        return graph_output_specs(np_obj, output_specs)
    if isinstance(np_obj, numpy_rnn.Bidirectional):
        outs = ["output_fw", "output_bw"] if np_obj.merge_mode is None else ["output"]
        specs = [(name, "output") for name in outs]
        if np_obj.return_state:
            per = _state_specs(len(np_obj.forward_layer.state_size))
            specs += [(f"{s}_fw", kind) for s, kind in per] + [(f"{s}_bw", kind) for s, kind in per]
        if len(specs) == n:
            return specs
    own = getattr(np_obj, "call_output_names", None)
    if own is not None:  # a layer that names its outputs (attention: output, attention_scores)
        return [(name, "output") for name in own(n)]
    if n == 1:
        return [("output", "output")]
    return [("output", "output")] + _state_specs(n - 1)


def output_names(np_obj: Any, n: int) -> list[str]:
    """The names of :func:`output_specs`."""
    return [name for name, _ in output_specs(np_obj, n)]


def output_kinds(np_obj: Any, n: int) -> list[str]:
    """The tolerance kinds of :func:`output_specs`."""
    return [kind for _, kind in output_specs(np_obj, n)]


def _to_tensor(x: Any):
    """Arrays (and lists of them) as tensors; None and Python scalars (``use_causal_mask=True``,
    ``return_attention_scores=True``) stay as they are, as Keras expects its flags."""
    import tensorflow as tf

    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, (list, tuple)):
        return [_to_tensor(i) for i in x]
    if isinstance(x, dict):
        return {k: _to_tensor(v) for k, v in x.items()}
    return tf.convert_to_tensor(np.asarray(x))


def takes_input_list(keras_obj: Any) -> bool:
    """True when a Keras layer's ``call`` takes several inputs as one list (``call(inputs,
    ...)``: Attention, the merge layers, models), False when it takes them as positional
    arguments (MultiHeadAttention's ``call(query, value, key=None, ...)``)."""
    call = getattr(keras_obj, "call", None)
    try:
        params = [p for p in inspect.signature(call).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return True
    return not params or params[0].name == "inputs"


def call_keras(keras_obj: Any, inputs: Any, mask: Any = None, **kwargs: Any):
    """Call ``keras_obj`` on ``inputs`` (tensors, or a list of them) as the NumPy twin was
    called.  A list of inputs for a layer whose ``call`` takes positional inputs is spread over
    them, and a ``mask`` list then travels as each input's Keras mask (``_keras_mask``), which
    is how a functional graph hands masks to such a layer (Keras 3.15's MultiHeadAttention
    reads the query's mask only from the tensor)."""
    if isinstance(inputs, (list, tuple)) and not takes_input_list(keras_obj):
        from keras.src import backend

        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * (mask is not None)
        for tensor, m in zip(inputs, masks):
            if m is not None:
                backend.set_keras_mask(tensor, m)
        return keras_obj(*inputs, **kwargs)
    if mask is not None:
        kwargs["mask"] = mask
    return keras_obj(inputs, **kwargs)


def _numpy(x: Any):
    if isinstance(x, (list, tuple)):
        return [_numpy(i) for i in x]
    if isinstance(x, dict):
        return {k: _numpy(v) for k, v in x.items()}
    return np.asarray(x)


def run_pair(np_obj: Any, keras_obj: Any, inputs: Any, *, case: str, rtol=None, atol=None,
             **call_kwargs: Any) -> ParityReport:
    """Run both objects on ``inputs`` and build a ParityReport (what :func:`compare` does,
    without notifying observers)."""
    if isinstance(np_obj, numpy_rnn.Vocabulary) or is_tokenizer(keras_obj):
        return compare_text(np_obj, keras_obj, inputs, case=case)
    if isinstance(np_obj, numpy_rnn.TextVectorization):
        return compare_text_vectorization(np_obj, keras_obj, inputs, case=case)
    require_tf()
    np_out = np_obj(inputs, **call_kwargs)
    k_kwargs = {k: _to_tensor(v) for k, v in call_kwargs.items()}
    k_inputs = inputs
    if isinstance(np_obj, numpy_rnn.Model) and isinstance(inputs, (list, tuple)) and \
            len(inputs) == 1 and len(np_obj.inputs) == 1:
        k_inputs = inputs[0]  # Keras takes one input unwrapped
    keras_out = _numpy(call_keras(keras_obj, _to_tensor(k_inputs), **k_kwargs))
    if isinstance(keras_out, dict):
        keras_out = [keras_out[k] for k in sorted(keras_out)]
    if isinstance(np_out, dict):
        np_out = [np_out[k] for k in sorted(np_out)]
    n = len(np_out) if isinstance(np_out, (list, tuple)) else 1
    specs = output_specs(np_obj, n)
    return compare_outputs(case, np_out, keras_out, [s[0] for s in specs], [s[1] for s in specs],
                           rtol=rtol, atol=atol)


def compare(np_obj: Any, keras_obj: Any, inputs: Any, *, case: str | None = None,
            rtol: float | None = None, atol: float | None = None,
            **call_kwargs: Any) -> ParityReport:
    """Run ``np_obj`` and ``keras_obj`` on the same inputs and measure every output.

    ``call_kwargs`` (``mask=``, ``initial_state=`` ...) are passed to both calls.  For a text
    object (Vocabulary / Tokenizer, TextVectorization) ``inputs`` is a list of strings and the
    token ids are compared exactly.
    """
    case = case or f"{type(np_obj).__name__} vs {type(keras_obj).__name__}"
    with reporting_once():
        report = run_pair(np_obj, keras_obj, inputs, case=case, rtol=rtol, atol=atol,
                          **call_kwargs)
    notify(report)
    return report


def assert_parity(np_obj: Any, keras_obj: Any, inputs: Any, *, rtol: float | None = None,
                  atol: float | None = None, **call_kwargs: Any) -> ParityReport:
    """Raise ``AssertionError`` (message: the report) unless every output is within tolerance."""
    __tracebackhide__ = True
    report = compare(np_obj, keras_obj, inputs, rtol=rtol, atol=atol, **call_kwargs)
    if not report.passed:
        raise AssertionError(str(report))
    return report
