"""The graph rows of ``numpy-rnn parity`` (parity/cases/graphs.py): every row passes; each
graph bug the self-test plants is caught on its own; and the same bugs planted in the library
itself turn the group's rows red, so the main job catches them too."""
from __future__ import annotations

import types

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import numpy_rnn  # noqa: E402
from numpy_rnn.graph import backward as graph_backward  # noqa: E402
from numpy_rnn.graph import run as graph_run  # noqa: E402
from parity.cases import graphs  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("keras_eager"),
              pytest.mark.filterwarnings("ignore:.*does not support masking"),
              pytest.mark.filterwarnings("ignore:.*HDF5 file")]


def _rows(only=None):
    return {c.name: c for c in graphs.graph_cases(0) if only is None or only in c.name}


def test_every_graph_row_passes():
    cases = _rows()
    assert len(cases) == 25  # 22 forward, gradient (float64, float32) and file rows; 3 training
    failed = {name: [d.line() for d in c.run().outputs if not d.passed]
              for name, c in cases.items()}
    assert not {k: v for k, v in failed.items() if v}


@pytest.mark.parametrize("plant", list(graphs.PLANTS))
def test_each_plant_is_caught(plant):
    kind, fn, grad, patch = graphs.PLANTS[plant]
    assert graphs._planted(kind, 0, fn, grad, patch)
    assert not graphs._planted(kind, 0, lambda t: None, grad)  # the honest twin passes
    assert graph_backward._add_grad is not patch  # the fan-out plant was put back


def test_a_plant_that_plants_nothing_turns_the_selftest_red(monkeypatch):
    monkeypatch.setitem(graphs.PLANTS, "merge inputs swapped",
                        ("shared", lambda t: None, False, None))
    report = graphs.selftest_case(0)
    assert not report.passed
    assert [d.name for d in report.outputs if not d.passed] == ["plant: merge inputs swapped"]


def _red_rows(only):
    """The rows that fail (a row that raises is a failed row, as numpy-rnn parity counts it)."""
    red = []
    for name, case in _rows(only).items():
        try:
            ok = case.run().passed
        except Exception:  # noqa: BLE001
            ok = False
        if not ok:
            red.append(name)
    return red


def test_library_bug_merge_inputs_swapped_fails_the_rows(monkeypatch):
    monkeypatch.setattr(numpy_rnn.Subtract, "_merge",
                        lambda self, xs, masks: (xs[1] - xs[0], None))
    assert "models/graph shared" in _red_rows("graph shared")


def test_library_bug_mask_and_fails_the_rows(monkeypatch):
    def and_mask(self, inputs, mask=None):
        if mask is None or any(m is None for m in mask):
            return None
        return np.logical_and.reduce([np.asarray(m, bool) for m in mask])
    monkeypatch.setattr(numpy_rnn.layers.Merge, "compute_mask", and_mask)
    assert "models/graph two inputs" in _red_rows("graph two inputs")


def test_library_bug_fan_out_overwritten_fails_the_rows(monkeypatch):
    monkeypatch.setattr(graph_backward, "_add_grad", graphs._overwrite)
    red = _red_rows("grad/models/graph residual")
    assert "grad/models/graph residual add" in red
    assert "grad/models/graph residual add float32" in red  # the row every backend runs


def test_library_bug_nested_weights_out_of_order_fails_the_rows(monkeypatch):
    original = numpy_rnn.Model._weight_layers

    def nested_last(self):
        layers = original(self)
        inner = [lay for lay in layers if isinstance(lay, (numpy_rnn.Model,
                                                           numpy_rnn.Sequential))]
        return [lay for lay in layers if lay not in inner] + inner
    monkeypatch.setattr(numpy_rnn.Model, "_weight_layers", nested_last)
    # the .keras reader sets each layer's weights by its group, so the forward row is right;
    # the gradient row, in get_weights() order, is not
    assert "grad/models/graph nested" in _red_rows("graph nested")


def test_library_bug_states_swapped_fails_the_rows(monkeypatch):
    original = graph_run.run_node

    def swapped(node, values, mask_of, training):
        state = node.kwargs.get("initial_state")
        if state is not None and len(state) == 2:
            node = types.SimpleNamespace(
                layer=node.layer, args=node.args, outputs=node.outputs,
                single_output=node.single_output,
                kwargs={**node.kwargs, "initial_state": state[::-1]})
        return original(node, values, mask_of, training)
    monkeypatch.setattr(graph_run, "run_node", swapped)
    monkeypatch.setattr(numpy_rnn.functional, "run_node", swapped)
    assert "models/graph seq2seq with states" in _red_rows("graph seq2seq")
