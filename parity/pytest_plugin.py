"""pytest plugin (entry point ``pytest11``: ``numpy_rnn_parity``): parity checks in anyone's suite.

Options:
    --parity-reference REF              the reference the ``parity_check`` fixture builds layers
                                        with: keras (Keras 3 on TensorFlow), keras-jax,
                                        keras-torch, keras-numpy or tf_keras (default: Keras 3 on
                                        the backend this process runs, ``KERAS_BACKEND``); one
                                        whose backend is not this process's is a usage error
    --parity-report PATH                collect every comparison of the run -- through the fixture
                                        and through any ``parity.compare`` / ``assert_parity`` /
                                        ``compare_outputs`` call -- into one JSON report

Fixture ``parity_check``: ``.reference``, ``.keras`` (the reference module, imported on first
use), ``.layers``, ``.compare(np_obj, keras_obj, inputs, **kw)``, ``.assert_parity(...)``
(``AssertionError`` whose message is the report), ``.from_keras`` / ``.to_keras``, and
``.lstm_pair(units, features, **options)`` (a reference LSTM with gate-distinct random weights and
its NumPy twin).  A failing test that made comparisons gets a "parity reports" section.

This module is loaded by pytest for every run in an environment where numpy-rnn is installed, so
it imports nothing heavy at import time: no TensorFlow, no Keras (``parity`` itself needs only
NumPy); the reference library is imported when the fixture first uses it.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Any

import numpy as np
import pytest

from .bridge import (REFERENCE_BACKENDS, REFERENCES, BackendMismatch, backend, compare,
                     from_keras, install_hint, quiet_tensorflow_logs, reference_module, to_keras)
from .bridge.references import missing as reference_missing
from .cases.weights import gate_weights
from .gate import versions
from .report import add_observer, json_safe, remove_observer

_REFERENCES = tuple(REFERENCES)


def _install_hint(reference: str) -> str:
    return install_hint(REFERENCES[reference])


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "numpy-rnn parity checks")
    group.addoption("--parity-reference", action="store", default=None,
                    choices=_REFERENCES, metavar="|".join(_REFERENCES),
                    help="reference for the parity_check fixture: keras (Keras 3 on "
                         "TensorFlow), keras-jax, keras-torch, keras-numpy, tf_keras (Keras 2); "
                         "default: Keras 3 on this process's backend (KERAS_BACKEND)")
    group.addoption("--parity-report", action="store", default=None, metavar="PATH",
                    help="write every parity comparison of the run into one JSON report")


class _Collector:
    """Every comparison of the run, tagged with the test that made it."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.current: str | None = None
        self.entries: list[dict] = []
        self.by_test: dict[str, list] = {}

    def record(self, report: Any, via: str = "parity.compare") -> None:
        test = self.current or "<outside a test>"
        self.by_test.setdefault(test, []).append(report)
        if self.path is not None:
            self.entries.append({"test": test, "via": via, "case": report.case,
                                 "passed": bool(report.passed), "report": report.to_dict()})

    def observer(self, report: Any) -> None:  # parity.compare's observer hook
        self.record(report)

    def write(self, versions: dict) -> dict:
        failed = [e for e in self.entries if not e["passed"]]
        payload = json_safe({
            "schema": "numpy-rnn-pytest-parity-report/1",
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": versions, "n_comparisons": len(self.entries), "n_failed": len(failed),
            "passed": not failed, "comparisons": self.entries,
        })
        with open(self.path, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, allow_nan=False)
            fh.write("\n")
        return payload


_KEY = pytest.StashKey[_Collector]()  # pytest >= 7


def _collector(config: pytest.Config) -> _Collector | None:
    return config.stash.get(_KEY, None)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    """TensorFlow's start-up lines (oneDNN, CPU features, cuda, absl) would break pytest's
    progress line; the quieting only acts if in place before TensorFlow is imported, i.e. here,
    before the first conftest.py and the test modules.  It changes no result; a log level the user
    set is kept."""
    quiet_tensorflow_logs()


def pytest_configure(config: pytest.Config) -> None:
    quiet_tensorflow_logs()  # also when registered too late for the hook above (pytest_plugins)
    reference = config.getoption("parity_reference", None)
    if reference is not None:
        problem = reference_missing(reference)
        if problem is not None:
            raise pytest.UsageError(problem.replace("--reference", "--parity-reference", 1))
        wanted, running = REFERENCE_BACKENDS[reference], backend.configured()
        if wanted != running:
            raise pytest.UsageError(
                f"--parity-reference {reference}: it runs on Keras's {wanted!r} backend, but "
                f"this process runs {running!r} (KERAS_BACKEND); Keras picks its backend once "
                f"per process: run pytest with KERAS_BACKEND={wanted}")
    path = config.getoption("parity_report", None)
    if path is not None:
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise pytest.UsageError(f"--parity-report: expected a file in an existing directory, "
                                    f"received {path!r} (no directory {parent!r})")
    collector = _Collector(path)
    config.stash[_KEY] = collector
    if path is not None:
        add_observer(collector.observer)


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = _collector(config)
    if collector is None or collector.path is None:
        return
    remove_observer(collector.observer)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any):
    collector = _collector(item.config)
    if collector is not None:
        collector.current = item.nodeid
    yield
    if collector is not None:
        collector.current = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any):
    outcome = yield
    rep = outcome.get_result()
    collector = _collector(item.config)
    if collector is None or not rep.failed:
        return
    reports = collector.by_test.get(item.nodeid, [])
    if reports:
        text = "\n".join(str(r) for r in reports[-20:])
        if len(reports) > 20:
            text = f"({len(reports) - 20} earlier comparison(s) not shown)\n" + text
        rep.sections.append(("parity reports", text))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    collector = _collector(session.config)
    if collector is None or collector.path is None:
        return
    payload = collector.write(versions(default_reference(session.config)))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"parity: {payload['n_comparisons']} comparison(s), "
                            f"{payload['n_failed']} failed, written to {collector.path}")


def default_reference(config: pytest.Config) -> str:
    """``--parity-reference``, else the reference of this process's Keras backend."""
    given = config.getoption("parity_reference", None)
    if given is not None:
        return given
    running = backend.configured()
    return next((r for r, b in REFERENCE_BACKENDS.items() if b == running and r != "tf_keras"),
                "keras")


class ParityCheck:
    """The ``parity_check`` fixture: parity tools bound to the run's reference library."""

    def __init__(self, reference: str, collector: _Collector | None) -> None:
        self.reference = reference
        self._collector = collector
        self._module: Any = None

    @property
    def keras(self) -> Any:
        """The reference module (``keras`` on the reference's backend, or ``tf_keras``),
        imported on first use (TensorFlow without its start-up log lines)."""
        if self._module is None:
            try:
                self._module = reference_module(self.reference)
            except (ImportError, BackendMismatch) as exc:
                pytest.fail(f"--parity-reference {self.reference}: cannot use it ({exc}); "
                            f"install it with {_install_hint(self.reference)}",
                            pytrace=False)
        return self._module

    @property
    def layers(self) -> Any:
        return self.keras.layers

    def from_keras(self, obj: Any) -> Any:
        return from_keras(obj)

    def to_keras(self, np_obj: Any) -> Any:
        return to_keras(np_obj)

    def compare(self, np_obj: Any, keras_obj: Any, inputs: Any, **kwargs: Any) -> Any:
        """``parity.compare``; the report is collected (``--parity-report``)."""
        report = compare(np_obj, keras_obj, inputs, **kwargs)
        if self._collector is not None and self._collector.path is None:
            self._collector.record(report, via="parity_check")  # else the observer did
        return report

    def assert_parity(self, np_obj: Any, keras_obj: Any, inputs: Any, **kwargs: Any) -> Any:
        """Like ``parity.assert_parity``: ``AssertionError`` whose message is the report."""
        __tracebackhide__ = True
        report = self.compare(np_obj, keras_obj, inputs, **kwargs)
        if not report.passed:
            raise AssertionError(str(report))
        return report

    def lstm_pair(self, units: int, features: int, *, seed: int = 0, **options: Any):
        """A built reference LSTM with gate-distinct random weights and its NumPy twin.

        Returns:
            ``(keras_layer, numpy_layer)``.
        """
        layer = self.layers.LSTM(units, **options)
        layer.build((None, None, features))
        rng = np.random.default_rng(seed)
        dtype = options.get("dtype", "float32")
        layer.set_weights(gate_weights([tuple(w.shape) for w in layer.weights], 4, rng, dtype))
        return layer, self.from_keras(layer)


@pytest.fixture
def parity_check(request: pytest.FixtureRequest) -> ParityCheck:
    """Parity tools bound to ``--parity-reference``; comparisons go into ``--parity-report``."""
    return ParityCheck(default_reference(request.config), _collector(request.config))
