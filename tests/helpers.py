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


# -- convolution and pooling: naive float64 references written from Keras / TensorFlow's formulas,
# -- loops over every output step (no code shared with numpy_rnn.layers.convolutional)
def _same_before(length, span, stride):
    """TensorFlow SAME: padding before the first step for a window of ``span`` steps."""
    out = -(-length // stride)
    return max((out - 1) * stride + span - length, 0) // 2


def reference_conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1):
    """Channels-last Conv1D: ``out[b, t, f] = sum_{k, c in group(f)} x[b, t*s + k*d - before, c]
    * kernel[k, c - group start, f]`` (zero outside the input), plus bias."""
    x = np.asarray(x, np.float64)
    kernel = np.asarray(kernel, np.float64)
    b, steps, c = x.shape
    k_size, cg, f = kernel.shape
    span = (k_size - 1) * dilation_rate + 1
    if padding == "valid":
        out_steps, before = (steps - span) // strides + 1, 0
    elif padding == "same":
        out_steps, before = -(-steps // strides), _same_before(steps, span, strides)
    else:  # causal: everything before
        out_steps, before = -(-steps // strides), span - 1
    fg = f // groups
    out = np.zeros((b, out_steps, f))
    for t in range(out_steps):
        for k in range(k_size):
            src = t * strides + k * dilation_rate - before
            if 0 <= src < steps:
                for g in range(groups):
                    xs = x[:, src, g * cg:(g + 1) * cg]  # (b, cg)
                    out[:, t, g * fg:(g + 1) * fg] += xs @ kernel[k, :, g * fg:(g + 1) * fg]
    return out if bias is None else out + np.asarray(bias, np.float64)


def reference_pool1d(x, pool_size, strides=None, padding="valid", mode="max"):
    """Channels-last max / average pooling; padded steps never win and are not counted."""
    x = np.asarray(x, np.float64)
    strides = pool_size if strides is None else strides
    b, steps, c = x.shape
    if padding == "valid":
        out_steps, before = (steps - pool_size) // strides + 1, 0
    else:
        out_steps, before = -(-steps // strides), _same_before(steps, pool_size, strides)
    out = np.zeros((b, out_steps, c))
    for t in range(out_steps):
        lo = max(t * strides - before, 0)
        hi = min(t * strides - before + pool_size, steps)
        window = x[:, lo:hi]
        out[:, t] = window.max(axis=1) if mode == "max" else window.mean(axis=1)
    return out
