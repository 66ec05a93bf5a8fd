"""SimpleRNN: the cell maths (one timestep). The time loop lives in ``.recurrent`` (``rnn_loop``).

Weights in Keras's layout: kernel ``(features, units)``, recurrent_kernel ``(units, units)``,
bias ``(units,)``.  Equation (``keras/src/layers/rnn/simple_rnn.py``)::

    h_new = a((x_t @ kernel + bias) + h @ recurrent_kernel)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import activations
from ..backprop import activation_backward, add_into, column_sum, needs_input
from .recurrent import RNNBase, in_time_order


class SimpleRNN(RNNBase):
    """Fully connected RNN, equal to ``keras.layers.SimpleRNN`` at inference.

    Args:
        units: hidden size ``H``.
        features: input size ``F``; builds the weights now when given, else on the first call.
        activation: Keras name (or callable), ``tanh`` by default; ``None`` means linear.
        return_sequences, return_state, go_backwards, stateful, zero_output_for_mask: as Keras.
        dtype: ``"float32"`` (default) or ``"float64"``. seed: for the initializers.
    """

    gates = 1

    def __init__(
        self,
        units: int,
        features: int | None = None,
        activation: Any = "tanh",
        use_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        zero_output_for_mask: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
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
        h = self.units
        return {"kernel": (features, h), "recurrent_kernel": (h, h), "bias": (h,)}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        h, dt, rng = self.units, self.dtype, self._rng
        out = {"kernel": self._inits["kernel_initializer"]((features, h), dt, rng),
               "recurrent_kernel": self._inits["recurrent_initializer"]((h, h), dt, rng)}
        if self.use_bias:
            out["bias"] = self._inits["bias_initializer"]((h,), dt, rng)
        return out

    def project_inputs(self, x: np.ndarray) -> np.ndarray:
        batch, timesteps, features = x.shape
        xp = x.reshape(-1, features) @ self.kernel  # (B*T, H)
        if self.use_bias:
            xp += self.bias
        return xp.reshape(batch, timesteps, xp.shape[-1])  # (B, T, H)

    def step(self, xp_t: np.ndarray, states: list[np.ndarray], cache: dict | None = None):
        """One timestep from the projected input ``xp_t`` (B, H); ``cache`` (training) gets
        ``h`` and, for activations differentiated from their input, the pre-activation."""
        (h_prev,) = states
        pre = xp_t + h_prev @ self.recurrent_kernel  # (B, H)
        h = self.activation(pre)  # (B, H)
        if cache is not None:
            cache["h"] = h
            if needs_input(self.activation):
                cache["pre"] = pre
        return h, [h]

    def make_step(self, batch: int, training: bool = False):
        """Inference: :meth:`step`'s operations (same numbers) into buffers made once per call."""
        if training or type(self).step is not _SRNN_STEP or \
                type(self).project_inputs is not _SRNN_PROJECT:
            return self.step
        R, act = self.recurrent_kernel, self.activation
        hs = (np.empty((batch, self.units), self.dtype), np.empty((batch, self.units), self.dtype))
        flip = [0]

        def step(xp_t: np.ndarray, states: list[np.ndarray]):
            j = flip[0] = 1 - flip[0]
            h = hs[j]
            np.matmul(states[0], R, out=h)
            h += xp_t  # xp_t + h @ R: addition is commutative, the same numbers
            activations.in_place(act, h)
            return h, [h]
        return step

    def step_backward(self, cache: dict, prev_states: list[np.ndarray],
                      d_out: np.ndarray | None, d_states: list[np.ndarray], acc: dict):
        """Gradients of one step: ``(d_pre (B, H), [dh_prev])``; adds ``h_prev^T d_pre``
        into ``acc``."""
        (h_prev,) = prev_states
        dh = d_states[0] if d_out is None else d_out + d_states[0]  # (B, H)
        d_pre = activation_backward(self.activation, cache.get("pre"), cache["h"], dh)
        add_into(acc, "recurrent_kernel", h_prev.T @ d_pre)  # (H, H)
        return d_pre, [d_pre @ self.recurrent_kernel.T]

    def make_step_backward(self, tape, acc: dict):
        """With :meth:`step` / :meth:`step_backward` not replaced and an activation
        differentiated from its output: :meth:`step_backward`'s arithmetic written straight
        into ``d_projected``, ``dR`` left to one product over all steps (``acc["h_prev"]``)."""
        if type(self).step_backward is not _SRNN_STEP_BACKWARD or \
                type(self).step is not _SRNN_STEP or needs_input(self.activation):
            return super().make_step_backward(tape, acc)
        acc["h_prev"] = in_time_order(tape.steps, lambda prev, cache: prev[0], tape.go_backwards)
        r_t, act = self.recurrent_kernel.T, self.activation
        batch, H, dtype = tape.x.shape[0], self.units, self.dtype
        dh_sum = np.empty((batch, H), dtype)
        dhs = (np.empty((batch, H), dtype), np.empty((batch, H), dtype))
        flip = [0]

        def step_backward(cache, prev_states, d_out, d_states, dst):
            j = flip[0] = 1 - flip[0]
            dh = d_states[0] if d_out is None else np.add(d_out, d_states[0], out=dh_sum)
            if act is activations.tanh:  # d * (1 - y * y), as activation_backward
                np.multiply(cache["h"], cache["h"], out=dst)
                np.subtract(1, dst, out=dst)
                np.multiply(dh, dst, out=dst)
            else:
                dst[...] = activation_backward(act, None, cache["h"], dh)
            np.matmul(dst, r_t, out=dhs[j])
            return dst, [dhs[j]]
        return step_backward

    def _input_gradients(self, x: np.ndarray, d_projected: np.ndarray,
                         acc: dict) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """``x @ kernel + bias`` differentiated once for every timestep (dx None when
        ``acc["need_dx"]`` is False; ``dR`` from ``acc["h_prev"]`` when the fast backward ran)."""
        batch, timesteps, features = x.shape
        d_pre = d_projected.reshape(-1, self.units)  # (B*T, H)
        dx = (d_pre @ self.kernel.T).reshape(batch, timesteps, features) \
            if acc.get("need_dx", True) else None  # (B, T, F)
        if "h_prev" in acc:  # sum over steps of h_prev^T d_pre: one product over B*T rows
            d_rec = np.ascontiguousarray((d_pre.T @ acc["h_prev"].reshape(-1, self.units)).T)
        else:
            d_rec = acc.get("recurrent_kernel", np.zeros_like(self.recurrent_kernel))
        grads = [x.reshape(-1, features).T @ d_pre, d_rec]  # (F, H), (H, H)
        if self.use_bias:
            grads.append(column_sum(d_pre))  # (H,)
        return dx, grads


_SRNN_STEP = SimpleRNN.step
_SRNN_STEP_BACKWARD = SimpleRNN.step_backward
_SRNN_PROJECT = SimpleRNN.project_inputs
