"""LSTM: the cell maths (one timestep). The time loop lives in ``numpy_rnn.layers.rnn.recurrent``.

Weights in Keras's layout, gate blocks in the order i, f, c, o:
kernel ``(features, 4*units)``, recurrent_kernel ``(units, 4*units)``, bias ``(4*units,)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from ... import activations
from ..backprop import activation_backward, add_into, column_sum, needs_input
from .recurrent import RNNBase, in_time_order


class LSTM(RNNBase):
    """Long Short-Term Memory layer, equal to ``keras.layers.LSTM`` at inference.

    Args:
        units: hidden size ``H``.
        features: input size ``F``; builds the weights now when given, else on the first call.
        activation / recurrent_activation: Keras names (or callables) for the candidate and
            cell output (``tanh``) and for the gates (``sigmoid``).
        unit_forget_bias: the forget block of the initial bias is set to 1 (not added to).
        return_sequences, return_state, go_backwards, stateful, zero_output_for_mask: as Keras.
        dtype: ``"float32"`` (default) or ``"float64"``. seed: for the initializers.
    """

    gates = 4
    _empty_batch_ok = False  # Keras 3's LSTM raises on a (0, T, F) batch

    def __init__(
        self,
        units: int,
        features: int | None = None,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        unit_forget_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        zero_output_for_mask: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        implementation: int = 2,
        **kwargs: Any,
    ) -> None:
        self.recurrent_activation = self._activation("recurrent_activation", recurrent_activation)
        self.unit_forget_bias = v.boolean("unit_forget_bias", unit_forget_bias)
        # implementation 1 / 2 only change how Keras groups its matmuls; results are identical.
        self.implementation = v.one_of("implementation", implementation, (1, 2))
        super().__init__(
            units, features, activation=activation, use_bias=use_bias,
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful,
            zero_output_for_mask=zero_output_for_mask, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            **kwargs,
        )

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def weight_names(self) -> list[str]:
        return ["kernel", "recurrent_kernel", "bias"] if self.use_bias else ["kernel", "recurrent_kernel"]

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        h4 = 4 * self.units
        return {"kernel": (features, h4), "recurrent_kernel": (self.units, h4), "bias": (h4,)}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        h, dt, rng = self.units, self.dtype, self._rng
        out = {"kernel": self._inits["kernel_initializer"]((features, 4 * h), dt, rng),
               "recurrent_kernel": self._inits["recurrent_initializer"]((h, 4 * h), dt, rng)}
        if self.use_bias:
            init = self._inits["bias_initializer"]
            if self.unit_forget_bias:  # Keras: concat(init(H), ones(H), init(2H))
                out["bias"] = np.concatenate(
                    [init((h,), dt, rng), np.ones((h,), dt), init((2 * h,), dt, rng)]
                )
            else:
                out["bias"] = init((4 * h,), dt, rng)
        return out

    # The loop works on a copy of the weights with the gate blocks reordered i, f, o, c, so that
    # the three recurrent-activation gates are one contiguous block and the candidate is the last
    # block; Keras's layout is what users see and set.  With the default sigmoid gates their
    # columns are also scaled by -1 (exact) so that sigmoid(z) = 1 / (1 + exp(-z)) is one exp,
    # one add and one divide in place, cheaper than NumPy's tanh-based forms (measured: float32
    # exp 1.3 ns, tanh 2.6 ns an element); the candidate keeps np.tanh (see below).  The bias
    # is added to the input projection once for every step (as onnxruntime sums its biases once).
    _FAST_ORDER = (0, 1, 3, 2)

    def _fast_weights(self) -> tuple:
        H = self.units
        gate_scale = -1.0 if self.recurrent_activation is activations.sigmoid else 1.0
        # The candidate keeps np.tanh: the exp form 2 / (1 + exp(-2z)) - 1 loses all relative
        # precision near 0 (absolute error ~1 ulp of 1), which the forward's atol hides but the
        # gradients (judged relative to their scale) and Adam's steps do not: measured 5.8e-5
        # relative error in d recurrent_kernel on a small-input case, and 1.5e-4 in Adam-trained
        # weights after one step (tests/property/test_grad_property.py, test_fit_parity.py).

        def reorder(w: np.ndarray) -> np.ndarray:
            blocks = np.split(w, 4, axis=-1)
            out = np.concatenate([blocks[j] for j in self._FAST_ORDER], axis=-1)
            if gate_scale != 1.0:
                out[..., :3 * H] *= gate_scale  # exact: a sign flip
            return out
        bias = reorder(self.bias) if self.use_bias else None
        return reorder(self.kernel), reorder(self.recurrent_kernel), bias, gate_scale

    def _activate_in_place(self, z: np.ndarray, gate_scale: float) -> None:
        """Activate the pre-activations ``z`` (B, 4H: i | f | o | g, gates scaled by
        ``gate_scale``) in place; exp may overflow to inf (giving exactly 0), so callers silence
        overflow warnings."""
        H = self.units
        gates, g = z[:, :3 * H], z[:, 3 * H:]
        if gate_scale == -1.0:
            np.exp(gates, out=gates)
            gates += 1
            np.divide(1, gates, out=gates)
        else:
            activations.in_place(self.recurrent_activation, gates)
        activations.in_place(self.activation, g)

    def fast_weights(self, refresh: bool = False) -> tuple:
        """``(kernel, recurrent_kernel, bias, gate_scale)`` reordered i, f, o, c, the gate
        columns scaled by ``gate_scale`` (-1 for sigmoid gates, see above), cached per set of weight arrays: setting or rebinding
        any weight recomputes them, and ``refresh=True`` (every :meth:`project_inputs`, so every
        call) recomputes them after in-place edits of the arrays (an optimizer's update)."""
        arrays = tuple(self.weights)
        cached = self.__dict__.get("_fast_cache")
        if refresh or cached is None or len(cached[0]) != len(arrays) or \
                any(a is not b for a, b in zip(cached[0], arrays)):
            cached = self._fast_cache = (arrays, self._fast_weights())
        return cached[1]

    def project_inputs(self, x: np.ndarray) -> np.ndarray:
        """All timesteps at once: ``x @ kernel + bias``, gates i, f, o, c, scaled -> (B, T, 4H)."""
        batch, timesteps, features = x.shape
        kernel, _, bias, _ = self.fast_weights(refresh=True)
        xk = x.reshape(-1, features) @ kernel  # (B*T, 4H): one matmul for every timestep
        if bias is not None:
            xk += bias
        return xk.reshape(batch, timesteps, xk.shape[-1])

    def step(self, xk_t: np.ndarray, states: list[np.ndarray], cache: dict | None = None):
        """One timestep. ``xk_t`` (B, 4H) is the projected input (gates i, f, o, c, scaled,
        bias added), from :meth:`project_inputs`; works on its own (the reordered weights are
        cached).  ``cache`` (training): filled with the activated gates ``"a"`` (B, 4H, fast
        order), ``"act_c"`` = activation(c) and, for activations differentiated from their
        input, the pre-activations ``"z_gates"`` (i | f | o), ``"z_g"`` and the cell state
        ``"c"``."""
        h_prev, c_prev = states
        batch, H = h_prev.shape[0], self.units
        dtype = np.result_type(h_prev, xk_t)
        z = np.empty((batch, 4 * H), dtype)
        c, h = np.empty((batch, H), dtype), np.empty((batch, H), dtype)
        act_c = np.empty((batch, H), dtype) if cache is not None else h
        fw = self.fast_weights()
        if cache is not None and (needs_input(self.recurrent_activation)
                                  or needs_input(self.activation)):
            # pre-activations, only for activations differentiated from their input
            gate_scale = fw[3]
            z_pre = np.matmul(h_prev, fw[1]) + xk_t  # the same numbers _cell activates
            if needs_input(self.recurrent_activation):
                cache["z_gates"] = z_pre[:, :3 * H] / gate_scale  # (B, 3H) exact (2**k)
            if needs_input(self.activation):
                cache["z_g"] = z_pre[:, 3 * H:]  # (B, H) a view of this step's own array
        with np.errstate(over="ignore"):
            self._cell(fw, xk_t, h_prev, c_prev, z, c, act_c, h, cache is not None)
        if cache is not None:
            cache["a"] = z  # (B, 4H) activated i | f | o | g
            cache["act_c"] = act_c
            if needs_input(self.activation):
                cache["c"] = c
        return h, [h, c]

    def _cell(self, fw: tuple, xk_t: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, z: np.ndarray,
              c: np.ndarray, act_c: np.ndarray, h: np.ndarray, keep_g: bool,
              views: tuple | None = None) -> None:
        """The LSTM cell written into preallocated buffers (``fw``: :meth:`fast_weights`): ``z`` (B, 4H) gets the activated
        gates, ``c``, ``h`` (B, H) the new states, ``act_c`` activation(c) (may be ``h``);
        ``keep_g`` keeps the candidate in ``z`` (training), else it is scaled in place.
        ``views``: ``z``'s blocks (i, f, o, g), precomputed by a caller that reuses ``z``."""
        H = self.units
        np.matmul(h_prev, fw[1], out=z)  # (B, 4H)
        z += xk_t  # (h @ R) + (x @ K + b)
        self._activate_in_place(z, fw[3])
        i, f, o, g = views if views is not None else (
            z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:])
        np.multiply(f, c_prev, out=c)
        if keep_g:
            np.multiply(g, i, out=act_c)
            c += act_c
        else:
            g *= i
            c += g
        if self.activation is activations.tanh:
            np.tanh(c, out=act_c)
        else:
            act_c[...] = self.activation(c)
        np.multiply(act_c, o, out=h)

    def make_step(self, batch: int, training: bool = False):
        """The step the loop runs for one batch block of ``batch`` rows: at inference a
        closure writing into buffers made once (two sets, so the previous states stay intact
        for masks), computing exactly :meth:`step`'s numbers; a class or test that replaces
        :meth:`step` or :meth:`project_inputs` gets its own :meth:`step`."""
        if training or type(self).step is not _LSTM_STEP or \
                type(self).project_inputs is not _LSTM_PROJECT:
            return self.step
        H, dtype = self.units, self.dtype
        z = np.empty((batch, 4 * H), dtype)
        views = (z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:])
        act_c = np.empty((batch, H), dtype)
        hs = (np.empty((batch, H), dtype), np.empty((batch, H), dtype))
        cs = (np.empty((batch, H), dtype), np.empty((batch, H), dtype))
        flip = [0]
        cell, fw = self._cell, self.fast_weights()
        if fw[3] == -1.0 and self.activation is activations.tanh:
            # the default activations: _cell's operations in its order (the same numbers),
            # every lookup made once here (per step: 11 NumPy calls, no method calls)
            R, (i, f, o, g) = fw[1], views
            gates = z[:, :3 * H]

            def fast_step(xk_t: np.ndarray, states: list[np.ndarray]):
                j = flip[0] = 1 - flip[0]
                h, c = hs[j], cs[j]
                np.matmul(states[0], R, out=z)
                np.add(z, xk_t, out=z)
                np.exp(gates, out=gates)  # sigmoid(x) = 1 / (1 + exp(-x)), columns scaled -1
                np.add(gates, 1, out=gates)
                np.divide(1, gates, out=gates)
                np.tanh(g, out=g)
                np.multiply(f, states[1], out=c)
                np.multiply(g, i, out=g)
                np.add(c, g, out=c)
                np.tanh(c, out=act_c)
                np.multiply(act_c, o, out=h)
                return h, [h, c]
            return fast_step

        def step(xk_t: np.ndarray, states: list[np.ndarray]):
            j = flip[0] = 1 - flip[0]
            h, c = hs[j], cs[j]
            cell(fw, xk_t, states[0], states[1], z, c, act_c, h, False, views)
            return h, [h, c]
        return step

    def step_backward(self, cache: dict, prev_states: list[np.ndarray],
                      d_out: np.ndarray | None, d_states: list[np.ndarray], acc: dict):
        """Gradients of one step: ``(dz (B, 4H) in Keras's order i, f, c, o, [dh_prev,
        dc_prev])``; adds ``h_prev^T dz`` into ``acc["recurrent_kernel"]``."""
        h_prev, c_prev = prev_states
        H = self.units
        a, act_c = cache["a"], cache["act_c"]  # (B, 4H) i | f | o | g; (B, H)
        dh = d_states[0] if d_out is None else d_out + d_states[0]  # (B, H)
        d_act_c = dh * a[:, 2 * H:3 * H]
        dc = d_states[1] + activation_backward(self.activation, cache.get("c"), act_c,
                                               d_act_c)  # (B, H)
        d_gates = np.empty((dh.shape[0], 3 * H), dh.dtype)  # (B, 3H) i | f | o
        np.multiply(dc, a[:, 3 * H:], out=d_gates[:, :H])
        np.multiply(dc, c_prev, out=d_gates[:, H:2 * H])
        np.multiply(dh, act_c, out=d_gates[:, 2 * H:])
        dz = np.empty((dh.shape[0], 4 * H), dh.dtype)  # (B, 4H) Keras order i | f | c | o
        d_gates = activation_backward(self.recurrent_activation, cache.get("z_gates"),
                                      a[:, :3 * H], d_gates)
        dz[:, :2 * H] = d_gates[:, :2 * H]
        dz[:, 3 * H:] = d_gates[:, 2 * H:]
        dz[:, 2 * H:3 * H] = activation_backward(self.activation, cache.get("z_g"), a[:, 3 * H:],
                                                 dc * a[:, :H])
        dc_prev = dc * a[:, H:2 * H]  # (B, H)
        recurrent = self.recurrent_kernel  # (H, 4H) Keras layout
        dh_prev = dz @ recurrent.T  # (B, H)
        add_into(acc, "recurrent_kernel", h_prev.T @ dz)  # (H, 4H)
        return dz, [dh_prev, dc_prev]

    def _fast_columns(self) -> np.ndarray:
        """Column indices taking Keras's gate order i, f, c, o to the loop's i, f, o, c (and
        back: the permutation swaps two blocks, so it is its own inverse)."""
        H = self.units
        return np.concatenate([np.arange(j * H, (j + 1) * H) for j in self._FAST_ORDER])

    def make_step_backward(self, tape, acc: dict):
        """With the default activations and :meth:`step` / :meth:`step_backward` not replaced:
        :meth:`step_backward`'s arithmetic on buffers made once per call, ``dz`` written
        straight into ``d_projected`` in the loop's gate order i, f, o, c (noted in
        ``acc["columns"]``), ``dR`` left to one product over all steps (``acc["h_prev"]``,
        the previous h of every step in time order); otherwise :meth:`step_backward`."""
        if type(self).step_backward is not _LSTM_STEP_BACKWARD or \
                type(self).step is not _LSTM_STEP or \
                self.recurrent_activation is not activations.sigmoid or \
                self.activation is not activations.tanh:
            return super().make_step_backward(tape, acc)
        H, dtype, batch = self.units, self.dtype, tape.x.shape[0]
        columns = acc["columns"] = self._fast_columns()
        acc["h_prev"] = in_time_order(tape.steps, lambda prev, cache: prev[0], tape.go_backwards)
        r_t = self.recurrent_kernel[:, columns].T  # (4H, H), columns i, f, o, c
        dc, t1 = np.empty((batch, H), dtype), np.empty((batch, H), dtype)
        t3, dh_sum = np.empty((batch, 3 * H), dtype), np.empty((batch, H), dtype)
        dhs = (np.empty((batch, H), dtype), np.empty((batch, H), dtype))
        dcs = (np.empty((batch, H), dtype), np.empty((batch, H), dtype))
        flip = [0]

        def step_backward(cache, prev_states, d_out, d_states, dst):
            a, act_c = cache["a"], cache["act_c"]  # (B, 4H) i | f | o | g; (B, H)
            c_prev = prev_states[1]
            j = flip[0] = 1 - flip[0]
            dh_prev, dc_prev = dhs[j], dcs[j]
            dh = d_states[0] if d_out is None else np.add(d_out, d_states[0], out=dh_sum)
            o, g = a[:, 2 * H:3 * H], a[:, 3 * H:]
            np.multiply(dh, o, out=dc)  # d act_c, then through tanh: * (1 - act_c**2)
            np.multiply(act_c, act_c, out=t1)
            np.subtract(1, t1, out=t1)
            np.multiply(dc, t1, out=dc)
            np.add(d_states[1], dc, out=dc)
            np.multiply(dc, g, out=dst[:, :H])  # d i
            np.multiply(dc, c_prev, out=dst[:, H:2 * H])  # d f
            np.multiply(dh, act_c, out=dst[:, 2 * H:3 * H])  # d o
            gates, a3 = dst[:, :3 * H], a[:, :3 * H]
            gates *= a3  # sigmoid: d * y * (1 - y)
            np.subtract(1, a3, out=t3)
            gates *= t3
            dg = dst[:, 3 * H:]
            np.multiply(dc, a[:, :H], out=dg)  # tanh: d * (1 - y * y)
            np.multiply(g, g, out=t1)
            np.subtract(1, t1, out=t1)
            dg *= t1
            np.multiply(dc, a[:, H:2 * H], out=dc_prev)
            np.matmul(dst, r_t, out=dh_prev)  # (B, H)
            return dst, [dh_prev, dc_prev]
        return step_backward

    def _input_gradients(self, x: np.ndarray, d_projected: np.ndarray,
                         acc: dict) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """``x @ kernel`` differentiated once for every timestep: ``(dx, [dK, dR, (db)])``
        (dx None when ``acc["need_dx"]`` is False); ``d_projected`` in Keras's gate order, or
        in ``acc["columns"]``'s with ``acc["h_prev"]`` for ``dR``."""
        batch, timesteps, features = x.shape
        dz = d_projected.reshape(-1, 4 * self.units)  # (B*T, 4H)
        columns = acc.get("columns")
        kernel = self.kernel if columns is None else self.kernel[:, columns]
        dx = (dz @ kernel.T).reshape(batch, timesteps, features) if acc.get("need_dx", True) \
            else None  # (B, T, F)
        if columns is None:
            d_kernel = x.reshape(-1, features).T @ dz  # (F, 4H)
            d_rec = acc.get("recurrent_kernel", np.zeros_like(self.recurrent_kernel))
        else:  # sum over steps of h_prev^T dz: one product over B*T rows
            d_kernel = _rows_to_columns(dz.T @ x.reshape(-1, features), columns)
            d_rec = _rows_to_columns(dz.T @ acc["h_prev"].reshape(-1, self.units), columns)
        grads = [d_kernel, d_rec]
        if self.use_bias:
            d_bias = column_sum(dz)  # (4H,)
            grads.append(d_bias if columns is None else d_bias[columns])
        return dx, grads

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            unit_forget_bias=self.unit_forget_bias,
            implementation=self.implementation,
        )
        return cfg


def _rows_to_columns(a_t: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``a_t[rows].T`` as a C-contiguous array: a weight gradient computed transposed, as
    ``dz.T @ inputs`` ((G, n): with a multithreaded OpenBLAS on a busy 2-core machine, measured
    3.4 ms against 11.9 ms for ``inputs.T @ dz`` at B*T = 6000, n = 100, G = 400)."""
    return np.ascontiguousarray(a_t[rows].T)


_LSTM_STEP = LSTM.step
_LSTM_STEP_BACKWARD = LSTM.step_backward
_LSTM_PROJECT = LSTM.project_inputs
