"""Bidirectional: run a recurrent layer forwards and a copy backwards, then merge, as
``keras.layers.Bidirectional`` (``keras/src/layers/rnn/bidirectional.py``).

Keras's rules, all reproduced here:

* the forward layer is rebuilt from the wrapped layer's config (named ``forward_<name>``, fresh
  weights); the backward layer is the same config with ``go_backwards=True`` (named
  ``backward_<name>``) unless ``backward_layer`` is given;
* both inner layers get ``zero_output_for_mask = return_sequences``;
* the backward output is flipped back to input time order only when ``return_sequences``;
* ``initial_state`` is split half / half (forward first); the mask goes to both layers;
* outputs: ``merge(y_fw, y_bw)`` (a list ``[y_fw, y_bw]`` for ``merge_mode=None``), followed by
  the forward states then the backward states with ``return_state``;
* weights: the forward layer's, then the backward layer's.

Training: ``training=True`` records both inner layers' calls (and, for ``merge_mode="mul"``, the
two outputs); :meth:`Bidirectional.backward` undoes the merge (the backward half flipped back to
its processing order) and runs both inner backwards; gradients are the forward layer's, then the
backward layer's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer, _features_of
from .backprop import check_grad_output
from .gru import GRU
from .lstm import LSTM
from .simple_rnn import SimpleRNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _layer_classes() -> dict[str, type]:
    return {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


def _clone(layer: Any, **overrides: Any):
    cfg = {**layer.get_config(), **overrides}
    return type(layer).from_config(cfg)


def _removeprefix(text: str, prefix: str) -> str:
    return text[len(prefix):] if text.startswith(prefix) else text


class Bidirectional(Layer):
    """Bidirectional wrapper for ``LSTM``, ``GRU`` and ``SimpleRNN``.

    Args:
        layer: the recurrent layer to wrap (its config is copied; its weights are not, as in
            Keras).
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"`` or ``None``
            (a list of the two outputs).
        backward_layer: optional recurrent layer used as is for the backward direction; it must
            differ from ``layer`` in ``go_backwards`` and agree on ``stateful``,
            ``return_sequences`` and ``return_state``.
        weights: optional initial weights (forward layer's, then backward layer's).
        dtype: the dtype the merged output is cast to (float32 by default, as Keras: the inner
            layers keep their own dtype, and their states are returned uncast).

    ``__call__(inputs (batch, timesteps, features), mask=None, initial_state=None)``.
    """

    supports_masking = True
    #: False while a training step differentiates this layer for its weights alone (see
    #: ``RNNBase._input_gradient_needed``): both directions skip d inputs; backward gives None.
    _input_gradient_needed = True

    def __init__(self, layer: Any, merge_mode: str | None = "concat", backward_layer: Any = None,
                 weights: list | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rnn_types = tuple(_layer_classes().values())
        if not isinstance(layer, rnn_types):
            raise ValueError(
                "`layer` must be a numpy_rnn recurrent layer (LSTM, GRU or SimpleRNN). "
                f"Received: layer={layer!r}"
            )
        if backward_layer is not None and not isinstance(backward_layer, rnn_types):
            raise ValueError(
                "`backward_layer` must be a numpy_rnn recurrent layer (LSTM, GRU or SimpleRNN) "
                f"or None. Received: backward_layer={backward_layer!r}"
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"`merge_mode` must be one of {list(MERGE_MODES)}. "
                f"Received: merge_mode={merge_mode!r}"
            )
        self.merge_mode = merge_mode
        self.forward_layer = _clone(layer, name=f"forward_{_removeprefix(layer.name, 'forward_')}")
        if backward_layer is None:
            # A seeded layer gives the backward copy seed + 1, so the two directions start from
            # different weights (Keras's unseeded initializers differ per layer too).
            seed = None if layer.seed is None else layer.seed + 1
            self.backward_layer = _clone(
                layer, go_backwards=True, seed=seed,
                name=f"backward_{_removeprefix(layer.name, 'backward_')}")
        else:
            self.backward_layer = backward_layer
        self._verify_layer_config()
        for inner in (self.forward_layer, self.backward_layer):
            inner.zero_output_for_mask = inner.return_sequences  # Keras forces this
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.built = self.forward_layer.built and self.backward_layer.built
        if weights:
            self.set_weights(list(weights))

    def _verify_layer_config(self) -> None:
        fw, bw = self.forward_layer, self.backward_layer
        if fw.go_backwards == bw.go_backwards:
            raise ValueError(
                "Forward layer and backward layer must have different `go_backwards` values. "
                f"Received: forward_layer.go_backwards={fw.go_backwards}, "
                f"backward_layer.go_backwards={bw.go_backwards}"
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fw, attr) != getattr(bw, attr):
                raise ValueError(
                    f"Forward layer and backward layer must have the same `{attr}`. Received: "
                    f"{getattr(fw, attr)} for the forward layer and {getattr(bw, attr)} for the "
                    "backward layer"
                )

    # -- building and weights ------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        """Build both inner layers for ``input_shape`` (``(batch, timesteps, features)`` or F)."""
        _features_of(input_shape)  # checked before either inner layer changes
        for inner in (self.forward_layer, self.backward_layer):
            if not inner.built:
                inner.build(input_shape)
        self.built = True

    @property
    def features(self) -> int | None:
        return self.forward_layer.features

    def weight_names(self) -> list[str]:
        return ([f"forward_{n}" for n in self.forward_layer.weight_names()]
                + [f"backward_{n}" for n in self.backward_layer.weight_names()])

    def weight_shapes(self) -> dict[str, tuple]:
        fw = {f"forward_{k}": s for k, s in self.forward_layer.weight_shapes().items()}
        bw = {f"backward_{k}": s for k, s in self.backward_layer.weight_shapes().items()}
        return {**fw, **bw}

    @property
    def weights(self) -> list[np.ndarray]:
        if not self.built:
            return []
        return self.forward_layer.weights + self.backward_layer.weights

    def weight_regularizers(self) -> list:
        return (self.forward_layer.weight_regularizers()
                + self.backward_layer.weight_regularizers())

    def _split(self, weights: list) -> tuple[list, list]:
        n_fw = len(self.forward_layer.weight_names())
        n_bw = len(self.backward_layer.weight_names())
        if len(weights) != n_fw + n_bw:
            raise ValueError(
                f"Layer '{self.name}' expected {n_fw + n_bw} weights {self.weight_names()} "
                f"(forward layer first, then backward), but received {len(weights)} weight(s)."
            )
        return list(weights[:n_fw]), list(weights[n_fw:])

    def _prepare_weights(self, weights: Any) -> Any:
        """Check both halves completely before either inner layer changes."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(
                f"`weights` must be a list of arrays. Received: {type(weights).__name__}"
            )
        fw, bw = self._split(weights)
        return (self.forward_layer._prepare_weights(fw),
                self.backward_layer._prepare_weights(bw))

    def _commit_weights(self, prepared: Any) -> None:
        fw, bw = prepared
        self.forward_layer._commit_weights(fw)
        self.backward_layer._commit_weights(bw)
        self.built = True

    def set_weights(self, weights: list) -> None:
        """Forward layer's weights first, then the backward layer's (Keras order); all or
        nothing: a call that raises leaves both inner layers as they were."""
        self._commit_weights(self._prepare_weights(weights))

    @property
    def count_params(self) -> int:
        if not self.built:
            return 0
        return self.forward_layer.count_params + self.backward_layer.count_params

    def _snapshot(self) -> tuple:
        return (super()._snapshot(), self.forward_layer._snapshot(),
                self.backward_layer._snapshot())

    def _restore(self, snapshot: tuple) -> None:
        own, fw, bw = snapshot
        super()._restore(own)
        self.forward_layer._restore(fw)
        self.backward_layer._restore(bw)

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, inputs: Any, mask: Any = None, initial_state: Any = None,
                 training: bool = False):
        return self.forward(inputs, initial_state=initial_state, mask=mask, training=training)

    def forward(self, inputs: Any, initial_state: Any = None, mask: Any = None,
                training: bool = False):
        """Run both directions and merge.

        Args:
            inputs: ``(batch, timesteps, features)``.
            initial_state: list of the forward layer's states then the backward layer's
                (``[h_fw, c_fw, h_bw, c_bw]`` for LSTM, ``[h_fw, h_bw]`` for GRU / SimpleRNN).
            mask: optional ``(batch, timesteps)`` booleans, given to both directions.

        Returns:
            the merged output ``(batch, [timesteps,] units)`` (``2*units`` wide for concat), or
            ``[y_fw, y_bw]`` for ``merge_mode=None``; with ``return_state`` followed by the
            forward then the backward final states.
        """
        # Keras casts every floating argument to the wrapper's dtype before the inner layers
        # cast it again to theirs (a float64 inner layer sees float32-rounded inputs).
        inputs = self._cast_input("inputs", inputs)
        fw_state = bw_state = None
        if initial_state is not None:
            if isinstance(initial_state, np.ndarray) or not isinstance(initial_state,
                                                                       (list, tuple)):
                initial_state = [initial_state]
            n_fw = len(self.forward_layer.state_size)
            n_bw = len(self.backward_layer.state_size)
            if len(initial_state) != n_fw + n_bw:
                raise ValueError(
                    f"`initial_state` for layer '{self.name}' must be a list of {n_fw + n_bw} "
                    f"arrays: {n_fw} for the forward layer, then {n_bw} for the backward layer. "
                    f"Received: {len(initial_state)} array(s)"
                )
            initial_state = [self._cast_input(f"initial_state[{i}]", s)
                             for i, s in enumerate(initial_state)]
            half = len(initial_state) // 2  # Keras splits half / half
            fw_state, bw_state = list(initial_state[:half]), list(initial_state[half:])
        # All or nothing: if the backward layer raises, the forward layer is put back as it
        # was (built flag, weights, stored states).
        snapshot = self._snapshot()
        try:
            y = self.forward_layer(inputs, mask=mask, initial_state=fw_state, training=training)
            y_rev = self.backward_layer(inputs, mask=mask, initial_state=bw_state,
                                        training=training)
        except BaseException:
            self._restore(snapshot)
            raise
        self.built = True
        states: list[np.ndarray] = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y = y.astype(self.dtype, copy=False)
        y_rev = y_rev.astype(self.dtype, copy=False)
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]  # back to input time order
        kept = (y, y_rev) if self.merge_mode == "mul" else None
        self._record = (inputs.shape, kept, initial_state is not None, self.return_sequences,
                        self.return_state) if training else None
        if self.merge_mode == "concat":
            output: Any = np.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / np.asarray(2, self.dtype)
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + states
        return output

    def _backward(self, tape: tuple, grad_output: Any) -> np.ndarray:
        """Backpropagation through both directions for the last call, made with
        ``training=True`` (``layer.backward(grad_output)``, see ``Layer.backward``).

        Args:
            grad_output: the gradient of what the call returned: the merged output's (a list
                ``[d_y_fw, d_y_bw]`` for ``merge_mode=None``), followed with ``return_state``
                by the forward then the backward final states' (None stands for zeros).

        Returns:
            ``dL/dinputs`` ``(batch, timesteps, features)``. Sets :attr:`gradients` (forward
            layer's then backward layer's, aligned with ``get_weights()``) and
            :attr:`state_gradients` (aligned with the call's ``initial_state``, or None).
        """
        _, kept, explicit_state, return_sequences, return_state = tape
        d_fw, d_bw, d_states = self._split_grad_output(grad_output, tape)
        if self.merge_mode == "mul" and d_fw is not None:
            y, y_rev = kept
            d_fw, d_bw = d_fw * y_rev, d_bw * y
        if return_sequences and d_bw is not None:
            d_bw = d_bw[:, ::-1]  # back to the backward layer's processing order
        fw, bw = self.forward_layer, self.backward_layer
        n_fw = len(fw.state_size)

        def inner_grad(layer, d_out, d_st):
            d_out = None if d_out is None else d_out.astype(layer.dtype, copy=False)
            if not return_state:
                if d_out is None:  # no gradient reached this direction
                    shape = layer._record.x.shape[:2 if return_sequences else 1] + (layer.units,)
                    d_out = np.zeros(shape, layer.dtype)
                return d_out
            return [d_out] + [None if g is None else g.astype(layer.dtype, copy=False)
                              for g in d_st]

        need_dx = self._input_gradient_needed  # False: the bottom layer of a training step
        try:
            if not need_dx:
                fw._input_gradient_needed = bw._input_gradient_needed = False
            dx_fw = fw.backward(inner_grad(fw, d_fw, d_states[:n_fw]))
            dx_bw = bw.backward(inner_grad(bw, d_bw, d_states[n_fw:]))
        finally:
            fw.__dict__.pop("_input_gradient_needed", None)
            bw.__dict__.pop("_input_gradient_needed", None)
        dx = None if not need_dx else \
            dx_fw.astype(self.dtype, copy=False) + dx_bw.astype(self.dtype, copy=False)
        self.gradients = list(fw.gradients) + list(bw.gradients)
        self.state_gradients = None
        if explicit_state:
            self.state_gradients = [g.astype(self.dtype, copy=False) for g in
                                    list(fw.state_gradients) + list(bw.state_gradients)]
        return dx

    def _split_grad_output(self, grad_output: Any, tape: tuple) -> tuple:
        """``(d_y_fw, d_y_bw, [d_state, ...])`` from ``grad_output`` (shapes checked)."""
        shape, _, _, return_sequences, return_state = tape
        fw, bw = self.forward_layer, self.backward_layer
        lead = tuple(shape[:2]) if return_sequences else (shape[0],)
        if self.merge_mode is None:
            out_shapes = [lead + (fw.units,), lead + (bw.units,)]
        elif self.merge_mode == "concat":
            out_shapes = [lead + (fw.units + bw.units,)]
        else:
            out_shapes = [lead + (fw.units,)]
        state_shapes = [(shape[0], n) for n in fw.state_size + bw.state_size]
        shapes = out_shapes + (state_shapes if return_state else [])
        labels = (["output"] * len(out_shapes)
                  + [f"{s}_{d}" for d in ("fw", "bw") for s in ("h", "c")[:len(fw.state_size)]])
        checked = check_grad_output(self.name, grad_output, shapes, labels, self.dtype)
        n_out = len(out_shapes)
        outs, states = checked[:n_out], checked[n_out:]
        if self.merge_mode is None:
            d_fw, d_bw = outs
        elif self.merge_mode == "concat":
            g = outs[0]
            d_fw = None if g is None else g[..., :fw.units]
            d_bw = None if g is None else g[..., fw.units:]
        elif self.merge_mode == "ave":
            g = outs[0]
            d_fw = d_bw = None if g is None else g / np.asarray(2, self.dtype)
        else:  # sum, mul
            d_fw = d_bw = outs[0]
        return d_fw, d_bw, states + [None] * (len(state_shapes) - len(states))

    # -- state ---------------------------------------------------------------------------------
    @property
    def states(self) -> list[np.ndarray] | None:
        fw, bw = self.forward_layer.states, self.backward_layer.states
        if fw is not None and bw is not None:
            return list(fw) + list(bw)
        return None

    def reset_state(self, states: Any = None) -> None:
        """Zero both directions' stored states (or set them: forward states, then backward)."""
        if not self.stateful:
            raise ValueError(f"reset_state() needs a stateful layer; layer '{self.name}' has "
                             "stateful=False.")
        if states is None:
            self.forward_layer.reset_state()
            self.backward_layer.reset_state()
            return
        if isinstance(states, np.ndarray) or not isinstance(states, (list, tuple)):
            states = [states]
        n_fw = len(self.forward_layer.state_size)
        n_bw = len(self.backward_layer.state_size)
        if len(states) != n_fw + n_bw:
            raise ValueError(
                f"`states` for layer '{self.name}' must be a list of {n_fw + n_bw} arrays: "
                f"{n_fw} for the forward layer, then {n_bw} for the backward layer. "
                f"Received: {len(states)} array(s)"
            )
        fw = self.forward_layer._checked_states(list(states)[:n_fw])
        bw = self.backward_layer._checked_states(list(states)[n_fw:])
        self.forward_layer.states, self.backward_layer.states = fw, bw

    reset_states = reset_state

    # -- graphs: shapes and masks (Keras's ``Bidirectional.compute_output_shape`` / mask) ----
    def compute_output_shape(self, input_shape: tuple) -> Any:
        """The merged output's shape (two with ``merge_mode=None``), then with
        ``return_state`` the forward then the backward states' ``(batch, units)``."""
        fw, bw = self.forward_layer, self.backward_layer
        batch = input_shape[0]
        lead = (batch, input_shape[1] if len(input_shape) > 1 else None) \
            if self.return_sequences else (batch,)
        if self.merge_mode is None:
            outs = [lead + (fw.units,), lead + (bw.units,)]
        else:
            outs = [lead + (fw.units + bw.units if self.merge_mode == "concat" else fw.units,)]
        if not self.return_state:
            return outs[0] if len(outs) == 1 else outs
        return outs + [(batch, n) for n in fw.state_size + bw.state_size]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The input mask on each output with ``return_sequences`` (else None); none on the
        states."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        n_out = 2 if self.merge_mode is None else 1
        if not self.return_state:
            return out if n_out == 1 else [out, out]
        n_states = len(self.forward_layer.state_size) + len(self.backward_layer.state_size)
        return [out] * n_out + [None] * n_states

    def output_dtypes(self) -> list[str]:
        """The merged output(s) in the wrapper's dtype, the states in the inner layers'."""
        n_out = 2 if self.merge_mode is None else 1
        states = ([self.forward_layer.dtype.name] * len(self.forward_layer.state_size)
                  + [self.backward_layer.dtype.name] * len(self.backward_layer.state_size)
                  if self.return_state else [])
        return [self.dtype.name] * n_out + states

    # -- config --------------------------------------------------------------------------------
    def get_config(self) -> dict:
        def ser(layer):
            return {"class_name": type(layer).__name__, "config": layer.get_config()}

        return {"layer": ser(self.forward_layer), "merge_mode": self.merge_mode,
                "backward_layer": ser(self.backward_layer), **self._base_config()}

    @classmethod
    def from_config(cls, config: dict) -> "Bidirectional":
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict. Received: {type(config).__name__}")
        config = dict(config)
        classes = _layer_classes()
        for key in ("layer", "backward_layer"):
            item = config.get(key)
            if not isinstance(item, dict):
                continue  # None, or a layer object
            name = item.get("class_name")
            if name not in classes:
                raise ValueError(f"`{key}` must name one of {sorted(classes)}. Received: "
                                 f"class_name={name!r}")
            config[key] = classes[name].from_config(item.get("config", {}))
        return cls(**config)
