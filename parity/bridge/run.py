"""Run a numpy_rnn object and its Keras twin on the same inputs and report every output.

The bridge knows the layers, so it names their outputs and says which tolerance kind each one
takes (:func:`output_specs`): a recurrent layer returns its output then its states (``h``, and
``c`` for an LSTM, whose cell state takes the ``"state"`` tolerance); a ``Bidirectional`` returns
one merged output (or ``output_fw`` / ``output_bw`` with ``merge_mode=None``) then each
direction's states (``h_fw``, ``c_fw``, ``h_bw``, ``c_bw``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

import numpy_rnn

from ..report import (ParityReport, attach_exact, compare_outputs, notify, reporting_once,
                      wants_exact)
from . import backend, deviations
from .calling import _to_tensor, call_keras, takes_input_list
from .float64 import exact_outputs
from .graph import graph_output_specs
from .text import compare_text, compare_text_vectorization, is_tokenizer

__all__ = ["output_specs", "output_names", "output_kinds", "keras_call", "run_pair", "compare",
           "call_keras", "takes_input_list", "assert_parity", "attach_float64"]


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


def keras_call(keras_obj: Any, inputs: Any, **call_kwargs: Any) -> Any:
    """``keras_obj(inputs, **call_kwargs)`` on this process's backend (NumPy in, tensors made
    there; a list of inputs as :func:`call_keras` spreads it), its output(s) as NumPy (a list
    for several; a dict's values in key order)."""
    out = backend.to_numpy(call_keras(keras_obj, _to_tensor(inputs, keras_obj),
                                      **{k: _to_tensor(v, keras_obj)
                                         for k, v in call_kwargs.items()}))
    if isinstance(out, dict):
        out = [out[k] for k in sorted(out)]
    return out


def run_pair(np_obj: Any, keras_obj: Any, inputs: Any, *, case: str, rtol=None, atol=None,
             **call_kwargs: Any) -> ParityReport:
    """Run both objects on ``inputs`` and build a ParityReport (what :func:`compare` does,
    without notifying observers)."""
    if isinstance(np_obj, numpy_rnn.Vocabulary) or is_tokenizer(keras_obj):
        return compare_text(np_obj, keras_obj, inputs, case=case)
    if isinstance(np_obj, numpy_rnn.TextVectorization):
        return compare_text_vectorization(np_obj, keras_obj, inputs, case=case)
    np_out = np_obj(inputs, **call_kwargs)
    k_inputs = inputs
    if isinstance(np_obj, numpy_rnn.Model) and isinstance(inputs, (list, tuple)) and \
            len(inputs) == 1 and len(np_obj.inputs) == 1:
        k_inputs = inputs[0]  # Keras takes one input unwrapped
    keras_out = keras_call(keras_obj, k_inputs, **call_kwargs)
    if isinstance(np_out, dict):
        np_out = [np_out[k] for k in sorted(np_out)]
    n = len(np_out) if isinstance(np_out, (list, tuple)) else 1
    specs = output_specs(np_obj, n)
    report = compare_outputs(case, np_out, keras_out, [s[0] for s in specs],
                             [s[1] for s in specs], rtol=rtol, atol=atol)
    if wants_exact():  # the drift report's referee pass: the float64 answer of every output
        attach_float64(report, lambda: exact_outputs(keras_obj, inputs, call_kwargs))
    float64 = any(np.asarray(o).dtype == np.float64 for o in (
        np_out if isinstance(np_out, (list, tuple)) else [np_out]))
    return deviations.excuse(report, float64=float64, mask=call_kwargs.get("mask"),
                             initial_state=call_kwargs.get("initial_state"),
                             stateful=bool(getattr(np_obj, "stateful", False)))


def attach_float64(report: ParityReport, compute: Any) -> None:
    """Attach ``compute()`` (one float64 array per row of ``report``) to the captured rows; a
    Keras object that cannot be rebuilt in float64 leaves its rows without one."""
    try:
        exact = compute()
    except Exception:  # noqa: BLE001 - no float64 answer: the drift report says so per row
        return
    attach_exact([(d.name, e) for d, e in zip(report.outputs, exact) if e is not None])


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
