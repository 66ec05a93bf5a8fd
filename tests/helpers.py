"""Shared test helpers, one home for what several test files use.

* ``reference_lstm``: an independent float64 LSTM written from the spec's equations, deliberately
  naive (per-gate matmuls, explicit Python loop) so that it shares no code with numpy_rnn; it is
  checked against Keras itself in tests/parity;
* ``random_inputs``: the parity tests' standard-normal inputs;
* ``check_junit_structure``: what Jenkins / GitLab read in a ``--junit`` file;
* ``wrap_backward``: plant a bug after a layer class's ``_backward`` (the teeth tests).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_lstm(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None,
                   act=np.tanh, ract=sig):
    """float64 LSTM: returns (sequence (B,T,H), h, c).  Gate blocks i, f, c, o."""
    x = np.asarray(x, np.float64)
    K = np.asarray(kernel, np.float64)
    R = np.asarray(recurrent_kernel, np.float64)
    B, T, _ = x.shape
    H = R.shape[0]
    b = np.zeros(4 * H) if bias is None else np.asarray(bias, np.float64)
    h = np.zeros((B, H)) if h0 is None else np.asarray(h0, np.float64)
    c = np.zeros((B, H)) if c0 is None else np.asarray(c0, np.float64)
    Ki, Kf, Kc, Ko = np.split(K, 4, axis=1)
    Ri, Rf, Rc, Ro = np.split(R, 4, axis=1)
    bi, bf, bc, bo = np.split(b, 4)
    seq = []
    for t in range(T):
        xt = x[:, t]
        i = ract(xt @ Ki + h @ Ri + bi)
        f = ract(xt @ Kf + h @ Rf + bf)
        g = act(xt @ Kc + h @ Rc + bc)
        o = ract(xt @ Ko + h @ Ro + bo)
        c = f * c + i * g
        h = o * act(c)
        seq.append(h)
    return np.stack(seq, axis=1), h, c


def random_inputs(shape, seed=1, dtype="float32"):
    """Standard-normal inputs of ``shape`` from ``seed`` (the parity tests' inputs)."""
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def check_junit_structure(root: ET.Element) -> dict[str, ET.Element]:
    """The structure Jenkins / GitLab read; returns the testcases by name."""
    def counts(el):
        return {k: int(el.get(k)) for k in ("tests", "failures", "errors", "skipped")}

    assert root.tag == "testsuites"
    for key in ("tests", "failures", "errors", "skipped", "time"):
        assert root.get(key) is not None, key
    float(root.get("time"))
    suites = root.findall("testsuite")
    assert suites and all(s.get("name") for s in suites)
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    cases = {}
    for suite in suites:
        for key in ("tests", "failures", "errors", "skipped", "time", "timestamp"):
            assert suite.get(key) is not None, (suite.get("name"), key)
        mine = suite.findall("testcase")
        got = {"tests": len(mine), "failures": 0, "errors": 0, "skipped": 0}
        for tc in mine:
            assert tc.get("name") and tc.get("classname") == suite.get("name")
            float(tc.get("time"))
            kinds = [c.tag for c in tc if c.tag in ("failure", "error", "skipped")]
            assert len(kinds) <= 1, kinds
            for tag, key in (("failure", "failures"), ("error", "errors"),
                             ("skipped", "skipped")):
                got[key] += tag in kinds
            for c in tc:
                if c.tag in ("failure", "error"):
                    assert c.get("message") and c.get("type") and c.text
            cases[tc.get("name")] = tc
        assert counts(suite) == got, suite.get("name")
        for k in total:
            total[k] += got[k]
    assert counts(root) == total
    return cases


def wrap_backward(cls, monkeypatch, mutate) -> None:
    """Plant a bug: after ``cls._backward`` runs, ``mutate(layer)`` (e.g. zero a gradient)."""
    real = cls._backward

    def mutant(self, record, grad_output):
        out = real(self, record, grad_output)
        mutate(self)
        return out

    monkeypatch.setattr(cls, "_backward", mutant)
