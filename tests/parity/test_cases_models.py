"""The model rows and the self-test row of `numpy-rnn parity`: all pass on the current code, a
planted bug of each kind the issue names makes its row fail, and the self-test row fails as soon
as the comparison loses its teeth (tolerance table loosened, compare always passing)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import numpy_rnn  # noqa: E402
from parity import cases, report as report_module, tolerances  # noqa: E402
from parity.cases import models as cases_models, selftest as cases_selftest  # noqa: E402

_real_diff_arrays = report_module.diff_arrays

SELFTEST = "selftest/planted bugs are caught"


def _rows(*names: str) -> dict:
    by_name = {c.name: c for c in cases_models.model_cases(0) + cases_selftest.selftest_cases(0)}
    return {n: by_name[n].run() for n in names}


def _run(name: str):
    return _rows(name)[name]


def _failed(report) -> list[str]:
    return [o.name for o in report.outputs if not o.passed]


def test_rows_are_registered_with_the_others():
    by_name = {c.name: c.group for c in cases.all_cases(0)}
    models = [c.name for c in cases_models.model_cases(0)]
    assert len(models) == 12
    assert all(by_name.get(n) == "models" for n in models)
    assert by_name.get(SELFTEST) == "selftest"
    assert "lstm/default [keras->numpy]" in by_name  # the registry still holds the core rows


def test_every_model_row_passes():
    reports = {c.name: c.run() for c in cases_models.model_cases(0)}
    failed = [name for name, r in reports.items() if not r.passed or r.skipped]
    assert not failed, "\n".join(str(reports[n]) for n in failed)
    # the float64 rows are held to the float64 table, not to the less precise float32 one
    for name in ("models/bundle save->load float64",
                 "models/.keras file -> load_keras_model float64"):
        first = reports[name].outputs[0]
        assert (first.rtol, first.atol) == tuple(tolerances.TABLE[("float64", "output")])
        assert first.max_abs_err < 1e-12


def test_selftest_row_passes_and_catches_every_planted_bug():
    report = _run(SELFTEST)
    assert report.passed, str(report)
    names = [o.name for o in report.outputs]
    assert names[:2] == ["control sequence", "control float64 sequence"]
    assert {"catches gate swap i<->f", "catches gate swap c<->o",
            "catches dropped mask (lstm ignores it)", "catches dropped mask (mask_zero off)",
            "catches error 3e-06 on an exact 0",
            "catches relative error 4e-05 on the largest output",
            "catches float64 computed in float32",
            "catches float64 error 3e-12 on an exact 0",
            "catches backward drops the cell-state carry", "catches backward ignores the mask",
            "catches d kernel gate blocks swapped i<->f",
            "catches forget-gate bias gradient dropped",
            "catches float32 gradient error 3e-06 x max on an exact 0",
            "catches float64 gradient error 3e-12 x max on an exact 0",
            "catches returned c is h", "catches error 6e-06 on c's exact 0",
            "catches backward drops the returned c's gradient",
            "catches initial c's gradient dropped",
            "catches trace names the lstm with gates i<->f swapped",
            "catches trace names the embedding that lost its mask",
            "catches trace names the first of two planted layers (lstm, dense)",
            "catches trace blames the planted layer, not one that inherits",
            } == {n for n in names if "catches" in n}
    assert [n for n in names if n.startswith("state control")] == [
        "state control sequence", "state control h", "state control c"]
    state_grads = [n for n in names if n.startswith("grad state control")]
    assert state_grads[-2:] == ["grad state control d initial_state[0]",
                                "grad state control d initial_state[1]"], state_grads
    # gradient controls: embeddings, kernel, recurrent_kernel, bias, in float32 and float64
    controls = [n for n in names if n.startswith("grad control")]
    assert len(controls) == 8 and [n.rsplit("/", 1)[-1] for n in controls] == [
        "embeddings", "kernel", "recurrent_kernel", "bias"] * 2, controls


# -- the self-test row fails when the checker is defanged --------------------------------------
def _set_float32(monkeypatch, *, rtol=None, atol=None):
    for kind in ("output", "state"):
        old = tolerances.TABLE[("float32", kind)]
        monkeypatch.setitem(tolerances.TABLE, ("float32", kind), tolerances.Tolerance(
            old.rtol if rtol is None else rtol, old.atol if atol is None else atol))


def test_selftest_fails_when_the_tolerance_table_is_huge(monkeypatch):
    for key in list(tolerances.TABLE):
        monkeypatch.setitem(tolerances.TABLE, key, tolerances.Tolerance(1e3, 1e3))
    report = _run(SELFTEST)
    assert not report.passed
    assert "catches gate swap i<->f" in _failed(report)
    assert "catches dropped mask (mask_zero off)" in _failed(report)
    assert "control sequence" not in _failed(report)


def test_selftest_fails_when_float32_atol_is_loosened(monkeypatch):
    _set_float32(monkeypatch, atol=5e-6)
    report = _run(SELFTEST)
    assert _failed(report) == ["catches error 3e-06 on an exact 0"], str(report)


def test_selftest_fails_when_float32_rtol_is_loosened(monkeypatch):
    _set_float32(monkeypatch, rtol=1e-4)
    report = _run(SELFTEST)
    assert _failed(report) == ["catches relative error 4e-05 on the largest output"], str(report)


def test_selftest_fails_when_the_float32_state_atol_is_loosened(monkeypatch):
    old = tolerances.TABLE[("float32", "state")]
    monkeypatch.setitem(tolerances.TABLE, ("float32", "state"), old._replace(atol=1e-5))
    report = _run(SELFTEST)
    assert _failed(report) == ["catches error 6e-06 on c's exact 0"], str(report)


def test_selftest_fails_when_float64_atol_is_loosened(monkeypatch):
    for kind in ("output", "state"):
        monkeypatch.setitem(tolerances.TABLE, ("float64", kind), tolerances.Tolerance(1e-10, 1e-11))
    report = _run(SELFTEST)
    assert _failed(report) == ["catches float64 error 3e-12 on an exact 0"], str(report)


def test_selftest_fails_when_float64_is_held_to_float32_limits(monkeypatch):
    for kind in ("output", "state"):
        monkeypatch.setitem(tolerances.TABLE, ("float64", kind),
                            tolerances.TABLE[("float32", kind)])
    report = _run(SELFTEST)
    assert _failed(report) == ["catches float64 computed in float32",
                               "catches float64 error 3e-12 on an exact 0"], str(report)


@pytest.mark.parametrize("dtype,atol", [("float32", 5e-6), ("float64", 5e-12)])
def test_selftest_fails_when_the_gradient_atol_is_loosened(monkeypatch, dtype, atol):
    old = tolerances.TABLE[(dtype, "gradient")]
    monkeypatch.setitem(tolerances.TABLE, (dtype, "gradient"), old._replace(atol=atol))
    report = _run(SELFTEST)
    probe = "3e-06" if dtype == "float32" else "3e-12"
    assert _failed(report) == [f"catches {dtype} gradient error {probe} x max on an exact 0"], \
        str(report)


def test_selftest_fails_when_compare_always_passes(monkeypatch):
    def lenient(*args, **kwargs):
        return dataclasses.replace(_real_diff_arrays(*args, **kwargs), passed=True, n_bad=0)
    monkeypatch.setattr(report_module, "diff_arrays", lenient)
    report = _run(SELFTEST)
    assert not report.passed
    failed = _failed(report)
    plants = [o.name for o in report.outputs if o.name.startswith("catches ")]
    # every plant but the lost mask, which trace sees in the mask itself, not in the figures
    assert failed == [n for n in plants if "lost its mask" not in n], failed
    assert len(failed) == 21


def test_selftest_fails_when_compare_always_fails(monkeypatch):
    def strict(*args, **kwargs):
        return dataclasses.replace(_real_diff_arrays(*args, **kwargs), passed=False)
    monkeypatch.setattr(report_module, "diff_arrays", strict)
    report = _run(SELFTEST)
    assert not report.passed
    assert "control sequence" in _failed(report)


def test_selftest_counts_a_crashing_planted_run_as_not_caught(monkeypatch):
    def crash(self, *args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(cases_selftest.MaskBlindLSTM, "forward", crash)
    report = _run(SELFTEST)
    assert _failed(report) == ["catches dropped mask (lstm ignores it)"]
    assert "crashed: RuntimeError: boom" in report.output(
        "catches dropped mask (lstm ignores it)").note


# -- planted library bugs make the rows that target them fail ----------------------------------
def test_mask_computed_after_wrapping_fails_the_odd_id_rows(monkeypatch):
    """The bug that passed the whole suite: a mask_zero mask taken on the wrapped / cast ids
    (so -input_dim and 0.4 look like padding) instead of on the raw ids as Keras does."""
    def wrapped_mask(self, ids, mask=None):
        if not self.mask_zero:
            return None
        return np.asarray(ids).astype(np.int64) % self.input_dim != 0
    monkeypatch.setattr(numpy_rnn.Embedding, "compute_mask", wrapped_mask)
    reports = _rows("models/embedding mask_zero negative ids -> lstm",
                    "models/embedding mask_zero float ids -> lstm")
    for report in reports.values():
        assert not report.passed
        assert {"mask", "sequence"} <= set(_failed(report)), str(report)
        assert "embedded" not in _failed(report)


def test_a_dropped_embedding_mask_fails_the_stacked_rows(monkeypatch):
    monkeypatch.setattr(numpy_rnn.Embedding, "compute_mask", lambda self, ids, mask=None: None)
    reports = _rows(*(c.name for c in cases_models.model_cases(0) if "stacked" in c.name))
    assert len(reports) == 6
    assert not any(r.passed for r in reports.values())


def _as_float32(model: numpy_rnn.Sequential) -> numpy_rnn.Sequential:
    layers = []
    for layer in model.layers:
        cfg = {**layer.get_config(), "dtype": "float32"}
        new = type(layer).from_config(cfg)
        if layer.get_weights():
            new.set_weights([w.astype(np.float32) for w in layer.get_weights()])
        layers.append(new)
    return numpy_rnn.Sequential(layers, name=model.name, input_shape=model.input_shape,
                                input_dtype=model.input_dtype)


def test_a_bundle_loaded_at_lower_precision_fails_the_float64_row(monkeypatch):
    """The other bug that passed the whole suite: a float64 model whose bundle loads (verified)
    and then runs in float32.  Compared at the less precise dtype it would pass; the row holds
    it to float64 and checks the dtype and the weights bit for bit."""
    from numpy_rnn.formats import bundle_read  # where numpy_rnn.load finds read_bundle

    real = bundle_read.read_bundle

    def lossy(path, verify=True):
        bundle = real(path, verify=verify)
        return dataclasses.replace(bundle, model=_as_float32(bundle.model))
    monkeypatch.setattr(bundle_read, "read_bundle", lossy)
    reports = _rows("models/bundle save->load float32", "models/bundle save->load float64")
    assert reports["models/bundle save->load float32"].passed  # nothing lost at float32
    bad = reports["models/bundle save->load float64"]
    assert not bad.passed
    assert set(_failed(bad)) == {"output", "out dtype", "weights"}, str(bad)
