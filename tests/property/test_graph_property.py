"""Hypothesis: random functional DAGs (``parity.strategies.graphs``: branches, merges with their
masks, shared and nested layers, ``mask_zero`` ids and Masking, ``initial_state`` wiring, one or
two outputs) equal Keras's, forward (float32) and gradients of every weight and float input
(float64, ``tf.GradientTape``); and read back from Keras's own ``.keras`` file.

Teeth: each graph bug of the brief planted in the library (merge inputs swapped, a merged mask
combined with AND, a fan-out gradient overwritten instead of summed, a nested model's weights out
of order, the states wired the other way) makes the property fail: ``hypothesis.find`` finds a
drawn graph that the planted library gets wrong.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from hypothesis import HealthCheck, Phase, find, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import numpy_rnn  # noqa: E402
import parity  # noqa: E402
from numpy_rnn.graph import backward as graph_backward  # noqa: E402
from numpy_rnn.graph import run as graph_run  # noqa: E402
from parity.bridge.train import floatx  # noqa: E402
from parity.cases.graph_models import keras_namespace  # noqa: E402
from parity.cases.weights import randomize_model  # noqa: E402
from parity.strategies.graphs import GraphSpec, build_graph, graph_specs, spec_inputs  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager"),
              pytest.mark.filterwarnings("ignore:.*does not support masking")]

#: Each example builds two Keras models; a modest number keeps the suite fast.
FEW = settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])


def twins(spec: GraphSpec, dtype: str, seed: int = 0):
    keras.backend.clear_session()
    with floatx(dtype):
        k = build_graph(spec, keras_namespace(), dtype)
        randomize_model(k, np.random.default_rng(seed), dtype)
    n = build_graph(spec, numpy_rnn, dtype)
    n.set_weights(k.get_weights())  # Keras's order is numpy_rnn's order
    return k, n, spec_inputs(spec, np.random.default_rng(seed + 1), dtype=dtype)


def forward_fails(spec: GraphSpec) -> bool:
    """Whether the forward property fails on ``spec`` (an error fails it too)."""
    try:
        k, n, xs = twins(spec, "float32")
        return not parity.compare(n, k, xs).passed
    except (ValueError, TypeError):
        return True


def gradients_fail(spec: GraphSpec) -> bool:
    try:
        k, n, xs = twins(spec, "float64")
        with floatx("float64"):
            return not parity.compare_gradients(n, k, xs).passed
    except (ValueError, TypeError):
        return True


@FEW
@given(graph_specs())
def test_random_graphs_forward(spec):
    k, n, xs = twins(spec, "float32")
    assert [w.shape for w in n.get_weights()] == [w.shape for w in k.get_weights()]
    report = parity.compare(n, k, xs)
    assert report.passed, str(report)


@FEW
@given(graph_specs())
def test_random_graphs_gradients(spec):
    k, n, xs = twins(spec, "float64")
    with floatx("float64"):
        report = parity.compare_gradients(n, k, xs)
    assert report.passed, str(report)


@settings(max_examples=6, suppress_health_check=[HealthCheck.too_slow])
@given(graph_specs(max_steps=3), st.integers(0, 3))
def test_random_graphs_from_keras_files(tmp_path_factory, spec, seed):
    k, _, xs = twins(spec, "float32", seed)
    path = tmp_path_factory.mktemp("graph") / "g.keras"
    k.save(path)
    model = numpy_rnn.load_keras_model(path)  # a single chain is read as a Sequential
    report = parity.compare(model, k, xs if isinstance(model, numpy_rnn.Model) else xs[0])
    assert report.passed, str(report)


# -- teeth -----------------------------------------------------------------------------------------
def _finds(condition, monkeypatch_plant, strategy=None):
    """A drawn graph on which the planted library fails (None when none is found); graphs
    drawn from ``strategy`` (graphs that hold what the plant breaks)."""
    monkeypatch_plant()
    try:
        return find(strategy or graph_specs(), condition,
                    settings=settings(max_examples=25, database=None, derandomize=True,
                                      phases=[Phase.generate],  # the first one found: no shrink
                                      suppress_health_check=list(HealthCheck)))
    except Exception as exc:  # noqa: BLE001 - NoSuchExample: the plant was not caught
        if type(exc).__name__ == "NoSuchExample":
            return None
        raise


def test_teeth_merge_inputs_swapped(monkeypatch):
    found = _finds(forward_fails,
                   lambda: monkeypatch.setattr(numpy_rnn.Subtract, "_merge",
                                               lambda self, xs, masks: (xs[1] - xs[0], None)),
                   graph_specs(kinds=("merge", "dense"), merges=("Subtract",)))
    assert found is not None


def test_teeth_merged_mask_and_instead_of_or(monkeypatch):
    def and_mask(self, inputs, mask=None):
        if mask is None or any(m is None for m in mask):
            return None
        return np.logical_and.reduce([np.asarray(m, bool) for m in mask])
    found = _finds(forward_fails,
                   lambda: monkeypatch.setattr(numpy_rnn.layers.Merge, "compute_mask",
                                               and_mask),
                   graph_specs(kinds=("merge", "rnn"), merges=("Add", "Maximum"),
                               inputs=("masked", "ids_masked"), min_inputs=2))
    assert found is not None


def test_teeth_fan_out_gradient_overwritten(monkeypatch):
    def overwrite(grads, tensor, g):
        if g is not None and isinstance(tensor, graph_backward.SymbolicTensor):
            grads[id(tensor)] = g
    found = _finds(gradients_fail, lambda: monkeypatch.setattr(graph_backward, "_add_grad",
                                                               overwrite),
                   graph_specs(kinds=("merge", "dense", "rnn")))
    assert found is not None


def test_teeth_nested_weights_out_of_order(monkeypatch):
    original = numpy_rnn.Model._weight_layers

    def nested_last(self):
        layers = original(self)
        inner = [lay for lay in layers if isinstance(lay, (numpy_rnn.Model,
                                                           numpy_rnn.Sequential))]
        return [lay for lay in layers if lay not in inner] + inner
    found = _finds(forward_fails,
                   lambda: monkeypatch.setattr(numpy_rnn.Model, "_weight_layers", nested_last),
                   graph_specs(kinds=("nested", "dense")))
    assert found is not None


def test_teeth_states_wired_the_other_way(monkeypatch):
    original = graph_run.run_node

    def swapped(node, values, mask_of, training):
        state = node.kwargs.get("initial_state")
        if state is not None and len(state) == 2:
            node = types.SimpleNamespace(
                layer=node.layer, args=node.args, outputs=node.outputs,
                single_output=node.single_output,
                kwargs={**node.kwargs, "initial_state": state[::-1]})
        return original(node, values, mask_of, training)

    def plant():
        monkeypatch.setattr(graph_run, "run_node", swapped)
        monkeypatch.setattr(numpy_rnn.functional, "run_node", swapped)
    found = _finds(forward_fails, plant, graph_specs(kinds=("states",)))
    assert found is not None
