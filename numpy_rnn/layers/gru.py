"""GRU: the cell maths (one timestep). The time loop lives in ``numpy_rnn.layers.recurrent``.

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

from .. import activations
from .. import _validation as v
from .recurrent import RNNBase


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

    def step(self, xp_t: np.ndarray, states: list[np.ndarray]):
        (h_prev,) = states
        H = self.units
        R = self.recurrent_kernel
        _, recurrent_bias = self._biases()
        if self.reset_after:
            inner = h_prev @ R  # (B, 3H)
            if recurrent_bias is not None:
                inner += recurrent_bias
        else:
            inner = h_prev @ R[:, :2 * H]  # (B, 2H)
        z = self.recurrent_activation(xp_t[:, :H] + inner[:, :H])
        r = self.recurrent_activation(xp_t[:, H:2 * H] + inner[:, H:2 * H])
        if self.reset_after:
            recurrent_h = r * inner[:, 2 * H:]
        else:
            recurrent_h = (r * h_prev) @ R[:, 2 * H:]  # (B, H)
        hh = self.activation(xp_t[:, 2 * H:] + recurrent_h)
        h = z * h_prev + (1 - z) * hh
        return h, [h]

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            reset_after=self.reset_after,
            implementation=self.implementation,
        )
        return cfg
