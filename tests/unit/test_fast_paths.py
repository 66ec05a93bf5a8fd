"""The recurrent layers' fast paths against references they do not share code with, in float64:
the batch-block forward (blocks concatenated back in row order) against the same layer run one
row at a time; the blocks' size target; a training step's backward whose top trainable layer is
recurrent (only the bottom one may skip its input gradient) against finite differences; and the contract of the time loop's backward that a masked step's input
gradient is exactly zero, whatever the padding holds (NaN included).

Written from a mutation run (planted bugs that every other unit test let through)."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_rnn
from numpy_rnn import Sequential, _threads, training
from numpy_rnn.layers.rnn import recurrent

B, T, F, H = 37, 5, 3, 4
LAYERS = {"LSTM": {}, "GRU": {"reset_after": True}, "GRU-v1": {"reset_after": False},
          "SimpleRNN": {}}


def _layer(name: str, **options):
    cls = getattr(numpy_rnn, name.split("-")[0])
    return cls(H, F, dtype="float64", seed=5, **LAYERS[name], **options)


def _as_list(out) -> list[np.ndarray]:
    return [np.array(a, copy=True) for a in (out if isinstance(out, list) else [out])]


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("options", [
    {"return_state": True},
    {"return_sequences": True, "return_state": True},
    {"return_sequences": True, "go_backwards": True},
    {"return_sequences": True, "return_state": True, "zero_output_for_mask": True},
])
@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_equal_row_by_row(name, options, threads, small_blocks):
    """Every output of a call cut into batch blocks is, row for row, the output of the same
    layer called on that row alone (a batch of one is a single block)."""
    rng = np.random.default_rng(11)
    n = _layer(name, **options)
    x = rng.normal(size=(B, T, F))
    mask = rng.random((B, T)) > 0.3
    state = [rng.normal(size=(B, s)) for s in n.state_size]
    blocks = _threads.batch_blocks(B, n.gates * H * 8)
    assert len(blocks) >= 3 and len({b.stop - b.start for b in blocks}) >= 2  # uneven
    _threads.set_num_threads(threads)
    for m, s in ((None, None), (mask, state)):
        whole = _as_list(n(x, mask=m, initial_state=s))
        rows = [_as_list(n(x[b:b + 1], mask=None if m is None else m[b:b + 1],
                           initial_state=None if s is None else [a[b:b + 1] for a in s]))
                for b in range(B)]
        for k, got in enumerate(whole):
            want = np.concatenate([r[k] for r in rows])
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def _masked_grads(name: str, x: np.ndarray, mask: np.ndarray, reference: bool, monkeypatch):
    n = _layer(name, return_sequences=True, return_state=True)
    rng = np.random.default_rng(3)
    state = [rng.normal(size=(x.shape[0], s)) for s in n.state_size]
    seeds = [rng.normal(size=(x.shape[0], T, H))] + [rng.normal(size=(x.shape[0], s))
                                                      for s in n.state_size]
    with monkeypatch.context() as m:
        if reference:  # the per-step step_backward, not the fused closure
            m.setattr(type(n), "make_step_backward", recurrent.RNNBase.make_step_backward)
        with np.errstate(invalid="ignore"):
            n(x, mask=mask, initial_state=state, training=True)
            dx = n.backward(seeds)
    return dx, n.state_gradients


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("reference", [False, True])
def test_masked_steps_get_exactly_zero_input_gradient_even_from_nan_padding(
        name, reference, monkeypatch):
    """A masked step's outputs do not depend on its input, so its input gradient is exactly 0
    (rnn_loop_backward's contract), even when the padding is NaN (0 * NaN is NaN: the zeros
    must be written, not computed); the other steps' input gradients and the initial states'
    gradients equal those with zero padding.  (The weight gradients are not compared: the
    kernel's is x^T dz, NaN * 0 at the padding, and the per-step reference adds h_prev^T dz
    per step before the masked rows are zeroed.)"""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, T, F))
    mask = np.ones((6, T), bool)
    mask[1, 3:] = False
    mask[2, :2] = False
    mask[4, 1:4] = False
    clean, dirty = x.copy(), x.copy()
    clean[~mask] = 0.0
    dirty[~mask] = np.nan
    dx0, s0 = _masked_grads(name, clean, mask, reference, monkeypatch)
    dx1, s1 = _masked_grads(name, dirty, mask, reference, monkeypatch)
    assert np.all(dx1[~mask] == 0), "masked steps must get exactly zero input gradient"
    np.testing.assert_array_equal(dx1, dx0)
    for a, b in zip(s1, s0):
        np.testing.assert_array_equal(a, b)


def test_blocks_keep_to_the_row_target():
    """No block has more rows than the cache target allows (``BLOCK_BYTES // row_bytes``, at
    least ``MIN_ROWS``): the block count is rounded up, never down."""
    for batch in (1, 17, 100, 333, 1000, 4097):
        for row_bytes in (16, 1600, 3000, 8192, 10 ** 6):
            rows = max(_threads.MIN_ROWS, _threads.BLOCK_BYTES // row_bytes)
            blocks = _threads.batch_blocks(batch, row_bytes)
            assert max(b.stop - b.start for b in blocks) <= rows, (batch, row_bytes, blocks)


def test_backward_with_a_recurrent_top_layer_matches_finite_differences():
    """training.backward lets only the BOTTOM trainable layer skip its input gradient; with
    a recurrent layer on top (LSTM -> GRU, no Dense), the top one must still pass its input
    gradient down.  Every weight gradient against central differences of sum(out * G)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, T, F))
    model = Sequential([numpy_rnn.LSTM(H, F, dtype="float64", seed=1, return_sequences=True),
                        numpy_rnn.GRU(H, dtype="float64", seed=2)])
    G = rng.normal(size=(3, H))
    model._forward(x, training=True)
    pairs = training.backward(model, G)
    assert len(pairs) == 6
    eps = 1e-6
    for grad, w in pairs:
        fd = np.empty_like(w)
        for idx in np.ndindex(w.shape):
            keep = w[idx]
            w[idx] = keep + eps
            up = float(np.sum(model(x) * G))
            w[idx] = keep - eps
            down = float(np.sum(model(x) * G))
            w[idx] = keep
            fd[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)
