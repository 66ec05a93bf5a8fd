"""Shared test helpers: an independent float64 reference LSTM written from the spec's equations.

This reference is deliberately naive (per-gate matmuls, explicit Python loop) so that it shares
no code with numpy_rnn; it is checked against Keras itself in tests/parity.
"""
from __future__ import annotations

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
