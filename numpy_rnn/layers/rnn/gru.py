"""GRU: the cell maths (one timestep). The time loop lives in ``numpy_rnn.layers.rnn.recurrent``.

Weights in Keras's layout, gate blocks in the order z (update), r (reset), h (candidate):
kernel ``(features, 3*units)``, recurrent_kernel ``(units, 3*units)``, bias ``(2, 3*units)``
with ``reset_after=True`` (row 0 the input bias, row 1 the recurrent bias) or ``(3*units,)``
with ``reset_after=False``.  Equations (``keras/src/layers/rnn/gru.py``, ``implementation=2``)::

    x_z, x_r, x_h = split(x_t @ kernel + b_in)
    reset_after=True:   i_z, i_r, i_h = split(h @ recurrent_kernel + b_rec)
                        z = ra(x_z + i_z); r = ra(x_r + i_r); hh = a(x_h + r * i_h)
    reset_after=False:  i_z, i_r = split(h @ recurrent_kernel[:, :2H])
                        z = ra(x_z + i_z); r = ra(x_r + i_r)
                        hh = a(x_h + (r * h) @ recurrent_kernel[:, 2H:])
    h_new = z * h + (1 - z) * hh
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import activations
from ... import _validation as v
from ..backprop import activation_backward, add_into, column_sum, needs_input
from .recurrent import RNNBase, in_time_order


class GRU(RNNBase):
    """Gated Recurrent Unit, equal to ``keras.layers.GRU`` at inference (CPU path).

    Args:
        units: hidden size ``H``.
        features: input size ``F``; builds the weights now when given, else on the first call.
        activation / recurrent_activation: Keras names (or callables) for the candidate
            (``tanh``) and for the update and reset gates (``sigmoid``).
        reset_after: apply the reset gate after the recurrent matmul (Keras default, cuDNN
            compatible, separate input and recurrent biases) or before it.
        return_sequences, return_state, go_backwards, stateful, zero_output_for_mask: as Keras.
        dtype: ``"float32"`` (default) or ``"float64"``. seed: for the initializers.
    """

    gates = 3

    def __init__(
        self,
        units: int,
        features: int | None = None,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        reset_after: bool = True,
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
        self.reset_after = v.boolean("reset_after", reset_after)
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
        return [self.units]

    def weight_names(self) -> list[str]:
        names = ["kernel", "recurrent_kernel"]
        return names + ["bias"] if self.use_bias else names

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        h3 = 3 * self.units
        bias = (2, h3) if self.reset_after else (h3,)
        return {"kernel": (features, h3), "recurrent_kernel": (self.units, h3), "bias": bias}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        h3, dt, rng = 3 * self.units, self.dtype, self._rng
        out = {"kernel": self._inits["kernel_initializer"]((features, h3), dt, rng),
               "recurrent_kernel": self._inits["recurrent_initializer"]((self.units, h3), dt,
                                                                        rng)}
        if self.use_bias:
            out["bias"] = self._inits["bias_initializer"](self._shapes_for(features)["bias"], dt,
                                                          rng)
        return out

    def _biases(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(input_bias (3H,), recurrent_bias (3H,) or None)``."""
        if not self.use_bias:
            return None, None
        if self.reset_after:
            return self.bias[0], self.bias[1]
        return self.bias, None

    def project_inputs(self, x: np.ndarray) -> np.ndarray:
        batch, timesteps, features = x.shape
        xp = x.reshape(-1, features) @ self.kernel  # (B*T, 3H)
        input_bias, _ = self._biases()
        if input_bias is not None:
            xp += input_bias
        return xp.reshape(batch, timesteps, xp.shape[-1])  # (B, T, 3H)

    def step(self, xp_t: np.ndarray, states: list[np.ndarray], cache: dict | None = None):
        """One timestep from the projected input ``xp_t`` (B, 3H). ``cache`` (training):
        filled with the gates ``z``, ``r``, the candidate ``hh``, ``inner_h`` (reset_after:
        ``h @ R_h + b_h``) or ``rh`` (``r * h``), and the pre-activations when an activation
        is differentiated from its input."""
        (h_prev,) = states
        H = self.units
        R = self.recurrent_kernel
        _, recurrent_bias = self._biases()
        if self.reset_after:
            inner = h_prev @ R  # (B, 3H)
            if recurrent_bias is not None:
                np.add(inner, recurrent_bias, out=inner)
        else:
            inner = h_prev @ R[:, :2 * H]  # (B, 2H)
        z_in = xp_t[:, :H] + inner[:, :H]  # (B, H)
        r_in = xp_t[:, H:2 * H] + inner[:, H:2 * H]  # (B, H)
        z = self.recurrent_activation(z_in)
        r = self.recurrent_activation(r_in)
        if self.reset_after:
            recurrent_h = r * inner[:, 2 * H:]
        else:
            rh = r * h_prev  # (B, H)
            recurrent_h = rh @ R[:, 2 * H:]  # (B, H)
        hh_in = xp_t[:, 2 * H:] + recurrent_h  # (B, H)
        hh = self.activation(hh_in)
        h = z * h_prev + (1 - z) * hh
        if cache is not None:
            cache.update(z=z, r=r, hh=hh)
            if self.reset_after:
                cache["inner_h"] = inner[:, 2 * H:].copy()  # (B, H): not the whole inner
            else:
                cache["rh"] = rh
            if needs_input(self.recurrent_activation):
                cache.update(z_in=z_in, r_in=r_in)
            if needs_input(self.activation):
                cache["hh_in"] = hh_in
        return h, [h]

    def make_step(self, batch: int, training: bool = False):
        """Inference with ``reset_after=True``: :meth:`step`'s operations in the same order (so
        the same numbers), written into buffers made once per call; otherwise :meth:`step`."""
        if training or not self.reset_after or type(self).step is not _GRU_STEP or \
                type(self).project_inputs is not _GRU_PROJECT:
            return self.step
        H, dtype, R = self.units, self.dtype, self.recurrent_kernel
        _, recurrent_bias = self._biases()
        inner, zr = np.empty((batch, 3 * H), dtype), np.empty((batch, 2 * H), dtype)
        hh, tmp = np.empty((batch, H), dtype), np.empty((batch, H), dtype)
        z, r, inner_zr, inner_h = zr[:, :H], zr[:, H:], inner[:, :2 * H], inner[:, 2 * H:]
        hs = (np.empty((batch, H), dtype), np.empty((batch, H), dtype))
        ra, act, flip = self.recurrent_activation, self.activation, [0]

        def step(xp_t: np.ndarray, states: list[np.ndarray]):
            (h_prev,) = states
            j = flip[0] = 1 - flip[0]
            h = hs[j]
            np.matmul(h_prev, R, out=inner)  # (B, 3H)
            if recurrent_bias is not None:
                np.add(inner, recurrent_bias, out=inner)
            np.add(xp_t[:, :2 * H], inner_zr, out=zr)
            activations.in_place(ra, zr)  # z | r
            np.multiply(r, inner_h, out=hh)
            np.add(hh, xp_t[:, 2 * H:], out=hh)
            activations.in_place(act, hh)
            np.multiply(z, h_prev, out=h)  # z * h + (1 - z) * hh, as step
            np.subtract(1, z, out=tmp)
            np.multiply(tmp, hh, out=tmp)
            h += tmp
            return h, [h]
        return step

    def step_backward(self, cache: dict, prev_states: list[np.ndarray],
                      d_out: np.ndarray | None, d_states: list[np.ndarray], acc: dict):
        """Gradients of one step: ``(d_xp (B, 3H) z | r | h, [dh_prev])``; adds the
        recurrent kernel's (and recurrent bias's) share into ``acc``."""
        (h_prev,) = prev_states
        H = self.units
        R = self.recurrent_kernel
        z, r, hh = cache["z"], cache["r"], cache["hh"]
        dh = d_states[0] if d_out is None else d_out + d_states[0]  # (B, H)
        dh_prev = dh * z  # (B, H)
        dz = dh * h_prev - dh * hh  # (B, H)  h = z * h_prev + (1 - z) * hh
        d_hh_in = activation_backward(self.activation, cache.get("hh_in"), hh,
                                      dh * (1 - z))  # (B, H)
        d_xp = np.empty((dh.shape[0], 3 * H), dh.dtype)  # (B, 3H) z | r | h
        d_xp[:, 2 * H:] = d_hh_in
        if self.reset_after:
            dr = d_hh_in * cache["inner_h"]  # (B, H)
        else:
            d_rh = d_hh_in @ R[:, 2 * H:].T  # (B, H)
            add_into(acc, "recurrent_h", cache["rh"].T @ d_hh_in)  # (H, H)
            dr = d_rh * h_prev
            dh_prev += d_rh * r
        d_xp[:, :H] = activation_backward(self.recurrent_activation, cache.get("z_in"), z, dz)
        d_xp[:, H:2 * H] = activation_backward(self.recurrent_activation, cache.get("r_in"), r,
                                               dr)
        if self.reset_after:
            d_inner = d_xp.copy()  # (B, 3H) gradient of h @ R + b_rec
            d_inner[:, 2 * H:] *= r
            dh_prev += d_inner @ R.T
            add_into(acc, "recurrent_kernel", h_prev.T @ d_inner)  # (H, 3H)
            if self.use_bias:
                add_into(acc, "recurrent_bias", column_sum(d_inner))  # (3H,)
        else:
            d_inner = d_xp[:, :2 * H]  # (B, 2H)
            dh_prev += d_inner @ R[:, :2 * H].T
            add_into(acc, "recurrent_zr", h_prev.T @ d_inner)  # (H, 2H)
        return d_xp, [dh_prev]

    def make_step_backward(self, tape, acc: dict):
        """With ``reset_after``, the default activations and :meth:`step` /
        :meth:`step_backward` not replaced: :meth:`step_backward`'s arithmetic on buffers made
        once per call, ``d_xp`` written straight into ``d_projected``, the recurrent kernel's
        and bias's gradients left to products over all steps (``acc["h_prev"]``, ``acc["r"]``
        in time order); otherwise :meth:`step_backward`."""
        if type(self).step_backward is not _GRU_STEP_BACKWARD or \
                type(self).step is not _GRU_STEP or not self.reset_after or \
                self.recurrent_activation is not activations.sigmoid or \
                self.activation is not activations.tanh:
            return super().make_step_backward(tape, acc)
        acc["h_prev"] = in_time_order(tape.steps, lambda prev, cache: prev[0], tape.go_backwards)
        acc["r"] = in_time_order(tape.steps, lambda prev, cache: cache["r"], tape.go_backwards)
        H, dtype, batch, r_t = self.units, self.dtype, tape.x.shape[0], self.recurrent_kernel.T
        t1, t2, dh_sum = (np.empty((batch, H), dtype) for _ in range(3))
        d_inner = np.empty((batch, 3 * H), dtype)
        dhs = (np.empty((batch, H), dtype), np.empty((batch, H), dtype))
        flip = [0]

        def step_backward(cache, prev_states, d_out, d_states, dst):
            h_prev, z, r, hh = prev_states[0], cache["z"], cache["r"], cache["hh"]
            j = flip[0] = 1 - flip[0]
            dh_prev = dhs[j]
            dh = d_states[0] if d_out is None else np.add(d_out, d_states[0], out=dh_sum)
            d_z, d_r, d_hh = dst[:, :H], dst[:, H:2 * H], dst[:, 2 * H:]
            np.multiply(dh, z, out=dh_prev)
            np.multiply(dh, h_prev, out=d_z)  # dh * h_prev - dh * hh
            np.multiply(dh, hh, out=t1)
            np.subtract(d_z, t1, out=d_z)
            np.subtract(1, z, out=t1)
            np.multiply(dh, t1, out=t1)
            np.multiply(hh, hh, out=t2)  # tanh: d * (1 - y * y)
            np.subtract(1, t2, out=t2)
            np.multiply(t1, t2, out=d_hh)
            np.multiply(d_hh, cache["inner_h"], out=d_r)
            for d, y in ((d_z, z), (d_r, r)):  # sigmoid: d * y * (1 - y)
                np.multiply(d, y, out=d)
                np.subtract(1, y, out=t1)
                np.multiply(d, t1, out=d)
            d_inner[:, :2 * H] = dst[:, :2 * H]  # gradient of h @ R + b_rec
            np.multiply(d_hh, r, out=d_inner[:, 2 * H:])
            np.matmul(d_inner, r_t, out=t1)
            np.add(dh_prev, t1, out=dh_prev)
            return dst, [dh_prev]
        return step_backward

    def _input_gradients(self, x: np.ndarray, d_projected: np.ndarray,
                         acc: dict) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """``x @ kernel + b_in`` differentiated once for every timestep: ``(dx, [dK, dR,
        (db)])`` (dx None when ``acc["need_dx"]`` is False)."""
        batch, timesteps, features = x.shape
        H = self.units
        d_xp = d_projected.reshape(-1, 3 * H)  # (B*T, 3H)
        dx = (d_xp @ self.kernel.T).reshape(batch, timesteps, features) \
            if acc.get("need_dx", True) else None  # (B, T, F)
        if "h_prev" in acc:  # sums over steps as products over B*T rows (reset_after)
            h_prev = acc["h_prev"].reshape(-1, H)  # (B*T, H)
            d_inner_h = d_xp[:, 2 * H:] * acc["r"].reshape(-1, H)  # (B*T, H)
            d_rec = np.concatenate([(d_xp[:, :2 * H].T @ h_prev).T, (d_inner_h.T @ h_prev).T],
                                   axis=1)  # (H, 3H); transposed products: see lstm.py
            acc["recurrent_bias"] = np.concatenate(
                [column_sum(d_xp[:, :2 * H]), column_sum(d_inner_h)])
        elif self.reset_after:
            d_rec = acc.get("recurrent_kernel", np.zeros_like(self.recurrent_kernel))
        else:
            d_rec = np.zeros_like(self.recurrent_kernel)  # (H, 3H)
            if "recurrent_zr" in acc:
                d_rec[:, :2 * H] = acc["recurrent_zr"]
                d_rec[:, 2 * H:] = acc["recurrent_h"]
        grads = [x.reshape(-1, features).T @ d_xp, d_rec]  # (F, 3H), (H, 3H)
        if self.use_bias:
            d_in = column_sum(d_xp)  # (3H,)
            if self.reset_after:
                d_bias = np.zeros_like(self.bias)  # (2, 3H)
                d_bias[0] = d_in
                d_bias[1] = acc.get("recurrent_bias", 0)
                grads.append(d_bias)
            else:
                grads.append(d_in)
        return dx, grads

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            reset_after=self.reset_after,
            implementation=self.implementation,
        )
        return cfg


_GRU_STEP = GRU.step
_GRU_STEP_BACKWARD = GRU.step_backward
_GRU_PROJECT = GRU.project_inputs
