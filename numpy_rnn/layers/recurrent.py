"""The one time loop every recurrent layer shares (forward and backward), and the recurrent
layer base class.

A recurrent layer supplies the cell maths in pieces:

* ``project_inputs(x)``: the input projection of every timestep at once, ``(batch, T, G)``;
* ``step(xp_t, states, cache=None)``: one timestep from the projected input and the previous
  states, returning ``(output_t, new_states)``; when training, it also fills ``cache`` (a dict)
  with what its backward needs;
* ``step_backward(cache, prev_states, d_out, d_states, acc)``: the gradients of one step, from
  the gradients reaching its output and its new states, to its projected input (``(batch, G)``,
  in Keras's gate layout) and its previous states; recurrent-weight gradients go into ``acc``;
* ``_input_gradients(x, dxp, acc)``: the input gradient and every weight gradient at the end.

``rnn_loop`` / ``rnn_loop_backward`` run them with Keras's semantics for masks, ``go_backwards``
and ``zero_output_for_mask`` (spec section 1.4/1.5), written once here for LSTM, GRU and
SimpleRNN: a masked step keeps the states (their gradients pass through it unchanged), gets
exactly zero input gradient, and outputs the previous output (whose gradient therefore flows
back to the step that produced it) or zeros.

Long because the loop's forward and its backward, and the base class that drives both, stay in
one module on purpose: masks, ``go_backwards`` and state carries are written (and fixed) once,
the backward beside the forward it differentiates.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import _threads
from .. import _validation as v
from .. import activations, initializers
from .base import Layer, _features_of
from .backprop import Tape, check_grad_output

Step = Callable[[np.ndarray, list], "tuple[np.ndarray, list[np.ndarray]]"]


def rnn_loop(
    step: Step,
    projected: np.ndarray,
    states: list[np.ndarray],
    *,
    output_size: int,
    mask: np.ndarray | None = None,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    return_sequences: bool = True,
    tape: list | None = None,
) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    """Run ``step`` over time.

    Args:
        step: one timestep, ``(xp_t (batch, G), states) -> (out (batch, units), new_states)``.
        projected: projected inputs ``(batch, timesteps, G)``.
        states: initial states, each ``(batch, state_size)``.
        output_size: width of the per-step output.
        mask: optional boolean ``(batch, timesteps)``; a masked step leaves the states unchanged
            and outputs the previous output (zeros before the first valid step), or zeros with
            ``zero_output_for_mask``.
        go_backwards: process timesteps in reverse; outputs stay in processing order.
        tape: when a list (training), one ``(prev_states, cache)`` per step is appended, in
            processing order, for :func:`rnn_loop_backward`; None (inference) records nothing.

    Returns:
        ``(last_output (batch, units), outputs (batch, timesteps, units) or None, final_states)``;
        ``last_output`` is the output of the last processed step (Keras's ``outputs[:, -1]``).
    """
    batch, timesteps = projected.shape[:2]
    dtype = projected.dtype
    outputs = np.empty((batch, timesteps, output_size), dtype) if return_sequences else None
    xs = projected.transpose(1, 0, 2)  # (T, batch, G) view: xs[t] is cheaper than [:, t]
    order = range(timesteps - 1, -1, -1) if go_backwards else range(timesteps)
    if mask is None and tape is None:  # inference without a mask: nothing but the steps
        if outputs is None:
            for t in order:
                out, states = step(xs[t], states)
        else:
            for k, t in enumerate(order):
                out, states = step(xs[t], states)
                outputs[:, k] = out
        return out, outputs, states
    prev_out = np.zeros((batch, output_size), dtype)
    for k, t in enumerate(order):
        if tape is None:
            out, new_states = step(xs[t], states)
        else:
            cache: dict = {}
            out, new_states = step(xs[t], states, cache)
            tape.append((states, cache))
        if mask is not None:
            m = mask[:, t, None]  # (batch, 1)
            new_states = [np.where(m, new, old) for new, old in zip(new_states, states)]
            out = np.where(m, out, 0 if zero_output_for_mask else prev_out).astype(dtype, copy=False)
        states = new_states
        if outputs is not None:
            outputs[:, k] = out
        prev_out = out
    return prev_out, outputs, states


StepBackward = Callable[[dict, list, "np.ndarray | None", list, np.ndarray],
                        "tuple[np.ndarray, list[np.ndarray]]"]


def rnn_loop_backward(
    step_backward: StepBackward,
    tape: list,
    *,
    input_width: int,
    grad_sequence: np.ndarray | None = None,
    grad_last: np.ndarray | None = None,
    grad_states: Sequence[np.ndarray | None] = (),
    mask: np.ndarray | None = None,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Backpropagate through the time loop recorded by :func:`rnn_loop` (``tape``).

    Args:
        step_backward: ``(cache, prev_states, d_out (batch, units) or None, d_states, dst) ->
            (d_projected_t (batch, G), d_prev_states)`` for one step; ``dst`` is the step's
            row block of the result (``d_projected[:, t]``, a strided view) and may be written
            and returned as ``d_projected_t`` (no copy then).
        tape: the ``(prev_states, cache)`` pairs :func:`rnn_loop` recorded, in processing order.
        input_width: ``G``, the width of a projected step.
        grad_sequence: gradient of the output sequence ``(batch, timesteps, units)``, in
            processing order as returned, or None.
        grad_last: gradient of the last output ``(batch, units)``, or None.
        grad_states: gradients of the final states, one per state (None stands for zeros).
        mask, go_backwards, zero_output_for_mask: as given to :func:`rnn_loop`.

    Returns:
        ``(d_projected (batch, timesteps, G) in input time order, d_initial_states)``; rows of
        masked steps in ``d_projected`` are exactly zero.
    """
    timesteps = len(tape)
    first_states = tape[0][0]
    batch, dtype = first_states[0].shape[0], first_states[0].dtype
    d_projected = np.empty((batch, timesteps, input_width), dtype)
    grad_states = list(grad_states) + [None] * (len(first_states) - len(grad_states))
    d_states = [np.zeros_like(s) if g is None else g for s, g in zip(first_states, grad_states)]
    d_carry = None  # gradient reaching the previous output through masked steps
    order = range(timesteps - 1, -1, -1) if go_backwards else range(timesteps)
    for k in range(timesteps - 1, -1, -1):
        t = order[k]
        prev_states, cache = tape[k]
        dst = d_projected[:, t]  # (batch, G)
        d_out = _sum_or_none(grad_sequence[:, k] if grad_sequence is not None else None,
                             grad_last if k == timesteps - 1 else None, d_carry)
        if mask is None:
            d_xp, d_states = step_backward(cache, prev_states, d_out, d_states, dst)
            if d_xp is not dst:
                dst[...] = d_xp
        else:
            m = mask[:, t, None]  # (batch, 1)
            # out = where(m, cell_out, prev_out or 0); new_states = where(m, new, old)
            d_carry = None if d_out is None or zero_output_for_mask else np.where(m, 0, d_out)
            d_cell = None if d_out is None else np.where(m, d_out, 0)  # (batch, units)
            d_new = [np.where(m, d, 0) for d in d_states]
            d_xp, d_prev = step_backward(cache, prev_states, d_cell, d_new, dst)
            d_states = [np.where(m, dp, d) for dp, d in zip(d_prev, d_states)]  # carried as is
            if d_xp is not dst:
                dst[...] = d_xp
            np.copyto(dst, 0, where=~m)  # (batch, G): exactly zero at masked steps
    return d_projected, d_states


def in_time_order(tape: list, get: Callable[[list, dict], np.ndarray],
                  go_backwards: bool) -> np.ndarray:
    """``get(prev_states, cache)`` of every recorded step stacked in input time order,
    ``(batch, timesteps, n)``: the layout of :func:`rnn_loop_backward`'s ``d_projected``, so a
    weight gradient summed over steps is one matrix product over ``batch * timesteps`` rows."""
    first = get(*tape[0])
    out = np.empty((first.shape[0], len(tape), first.shape[1]), first.dtype)
    order = range(len(tape) - 1, -1, -1) if go_backwards else range(len(tape))
    for k, (prev_states, cache) in enumerate(tape):
        out[:, order[k]] = get(prev_states, cache)
    return out


def _sum_or_none(*parts: np.ndarray | None) -> np.ndarray | None:
    """The sum of the parts that are not None (None when all are)."""
    out = None
    for p in parts:
        if p is not None:
            out = p if out is None else out + p
    return out


class RNNBase(Layer):
    """Options and call protocol shared by LSTM, GRU and SimpleRNN.

    ``__call__(inputs, mask=None, initial_state=None, training=False)`` is the same as
    ``forward``; after a call with ``training=True``, :meth:`backward` gives the gradients.
    """

    supports_masking = True
    #: False while a training step differentiates this layer for its weights alone (the
    #: bottom trainable layer: nothing reads its input gradient); ``backward`` returns None.
    _input_gradient_needed = True
    #: Whether an empty batch ``(0, T, F)`` gives empty outputs (Keras's GRU and SimpleRNN) or
    #: raises (Keras 3's LSTM).
    _empty_batch_ok = True

    def __init__(
        self,
        units: int,
        features: int | None = None,
        *,
        activation: Any = "tanh",
        use_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        zero_output_for_mask: bool = False,
        unroll: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        **base: Any,
    ) -> None:
        super().__init__(**base)
        self._set_regularizers({"kernel_regularizer": ("kernel", kernel_regularizer),
                                "recurrent_regularizer": ("recurrent_kernel",
                                                          recurrent_regularizer),
                                "bias_regularizer": ("bias", bias_regularizer)})
        self._init_names = {
            "kernel_initializer": kernel_initializer,
            "recurrent_initializer": recurrent_initializer,
            "bias_initializer": bias_initializer,
        }
        self._inits = {k: initializers.get(val, k) for k, val in self._init_names.items()}
        self.units = v.positive_int("units", units)
        features = v.positive_int("features", features, allow_none=True)
        self.activation = self._activation("activation", activation)
        self.use_bias = v.boolean("use_bias", use_bias)
        self.return_sequences = v.boolean("return_sequences", return_sequences)
        self.return_state = v.boolean("return_state", return_state)
        self.go_backwards = v.boolean("go_backwards", go_backwards)
        self.stateful = v.boolean("stateful", stateful)
        self.zero_output_for_mask = v.boolean("zero_output_for_mask", zero_output_for_mask)
        # unroll only changes how Keras builds its graph; results are identical (spec 1.4).
        self.unroll = v.boolean("unroll", unroll)
        self.dropout = self._rate("dropout", dropout)
        self.recurrent_dropout = self._rate("recurrent_dropout", recurrent_dropout)
        self.features: int | None = None
        self.states: list[np.ndarray] | None = None
        if features is not None:
            self.build(features)

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _activation(name: str, value: Any):
        fn = activations.get(value, name)
        if isinstance(value, str) and value in activations.SHAPE_CHANGING:
            raise ValueError(
                f"`{name}`={value!r} changes the shape of its input and cannot be used in a "
                f"recurrent cell. Expected an element-wise activation such as 'tanh'."
            )
        return fn

    @staticmethod
    def _rate(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"`{name}` must be a float in [0, 1]. Received: {name}={value!r}")
        return float(value)

    @property
    def state_size(self) -> list[int]:
        raise NotImplementedError

    # -- cell protocol (subclasses) ---------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        """Build for ``features`` = ``input_shape[-1]`` (an int is the features).

        The weights are drawn from the layer's generator on first use (a call, a read of
        ``kernel`` etc., ``get_weights``), so a layer built only to receive ``set_weights``
        never allocates initial weights.  A call that raises changes nothing."""
        self.features = _features_of(input_shape)
        self.built = True
        self._drop_weights()

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def project_inputs(self, x: np.ndarray) -> np.ndarray:
        """``(batch, timesteps, features)`` -> ``(batch, timesteps, G)``."""
        raise NotImplementedError

    def step(self, xp_t: np.ndarray, states: list[np.ndarray], cache: dict | None = None):
        raise NotImplementedError

    def make_step(self, batch: int, training: bool = False) -> Step:
        """The step function the loop runs for one call on a block of ``batch`` rows: here
        :meth:`step`; a cell may return a closure over buffers made once per call (same
        numbers as :meth:`step`, fewer allocations and NumPy calls per step)."""
        return self.step

    def step_backward(self, cache: dict, prev_states: list[np.ndarray],
                      d_out: np.ndarray | None, d_states: list[np.ndarray], acc: dict):
        """``(d_projected_t (batch, G), d_prev_states)`` of one step; adds into ``acc``."""
        raise NotImplementedError

    def make_step_backward(self, tape: Tape, acc: dict) -> StepBackward:
        """The step backward :func:`rnn_loop_backward` runs for one ``backward``: here
        :meth:`step_backward` (the reference, one step at a time, recurrent-weight gradients
        added into ``acc`` per step); a cell may return a closure over buffers made once per
        call that writes ``d_projected`` in place and leaves the recurrent-weight gradients to
        one matrix product over all steps in :meth:`_input_gradients` (noting so in ``acc``)."""
        def step_backward(cache, prev_states, d_out, d_new, dst):
            return self.step_backward(cache, prev_states, d_out, d_new, acc)
        return step_backward

    def _input_gradients(self, x: np.ndarray, d_projected: np.ndarray,
                         acc: dict) -> tuple[np.ndarray, list[np.ndarray]]:
        """``(dx (batch, timesteps, features), weight gradients in Keras order)``."""
        raise NotImplementedError

    # -- calling ----------------------------------------------------------------------------
    def __call__(self, inputs: Any, mask: Any = None, initial_state: Any = None,
                 training: bool = False, **kwargs: Any):
        return self.forward(inputs, initial_state=initial_state, mask=mask, training=training,
                            **kwargs)

    def forward(
        self,
        inputs: Any,
        return_sequences: bool | None = None,
        initial_state: Any = None,
        mask: Any = None,
        training: bool = False,
    ):
        """Run the layer.

        Args:
            inputs: ``(batch, timesteps, features)``; cast to the layer dtype.
            return_sequences: overrides the layer's setting for this call when not None.
            initial_state: list of arrays, one per state, each ``(batch, units)``.
            mask: optional ``(batch, timesteps)`` booleans (non-zero means valid).
            training: record what :meth:`backward` needs (inputs, gates and states per
                step); False records nothing. ``dropout`` / ``recurrent_dropout`` > 0 cannot
                train (TensorFlow's random dropout masks cannot be reproduced).

        Returns:
            ``(batch, timesteps, units)`` with return_sequences, else ``(batch, units)``;
            with ``return_state``, the list ``[output, *final_states]``.
        """
        return_sequences = (self.return_sequences if return_sequences is None
                            else v.boolean("return_sequences", return_sequences))
        if training and (self.dropout > 0 or self.recurrent_dropout > 0):
            # Keras draws the dropout masks from TensorFlow's random generators, which NumPy
            # cannot reproduce, so such a training call could never be proven equal to Keras.
            raise NotImplementedError(
                f"Layer '{self.name}': `training=True` with dropout={self.dropout}, "
                f"recurrent_dropout={self.recurrent_dropout} is not supported: Keras draws the "
                "dropout masks from TensorFlow's random generators, which numpy_rnn cannot "
                "reproduce. Train with dropout=0 and recurrent_dropout=0."
            )
        x = self._cast_input("inputs", inputs)
        v.rank("inputs", x, 3, "(batch, timesteps, features)")
        batch, timesteps, features = x.shape
        if timesteps < 1:
            raise ValueError(
                f"`inputs` must have at least one timestep. Received: inputs with shape {x.shape}"
            )
        if batch == 0 and not self._empty_batch_ok:
            raise ValueError(
                f"`inputs` of layer '{self.name}' has an empty batch (0 rows): "
                f"keras.layers.{type(self).__name__} raises on an empty batch, and so does this "
                f"layer. Received: inputs with shape {x.shape}"
            )
        if self.built and features != self.features:
            raise ValueError(
                f"Layer '{self.name}' was built for {self.features} features (kernel shape "
                f"{self.weight_shapes()['kernel']}), but `inputs` has {features} features "
                f"(shape {x.shape})."
            )
        # Everything is checked before the layer changes (built, weights, states).
        mask_arr = self._check_mask(mask, batch, timesteps)
        states = self._initial_states(initial_state, batch)
        snapshot = None if self.built else self._snapshot()
        try:
            if not self.built:
                self.build(features)
            steps: list | None = [] if training else None
            projected = self.project_inputs(x)
            loop = dict(output_size=self.units, go_backwards=self.go_backwards,
                        zero_output_for_mask=self.zero_output_for_mask,
                        return_sequences=return_sequences,
                        **({"tape": steps} if training else {}))

            def run(rows: slice):  # the loop on rows ``rows`` (a view: no copy for all rows)
                with np.errstate(over="ignore"):  # per thread: the exp forms may reach inf
                    return rnn_loop(
                        self.make_step(rows.stop - rows.start, training), projected[rows],
                        [s[rows] for s in states],
                        mask=None if mask_arr is None else mask_arr[rows], **loop)
            blocks = [slice(0, batch)] if training or _threads.get_num_threads() == 1 \
                else _threads.batch_blocks(batch, projected.shape[-1] * projected.itemsize)
            if len(blocks) == 1:
                last, seq, final = run(blocks[0])
            else:  # rows never interact: each block runs the whole loop, on its own thread
                parts = _threads.run_blocks(run, blocks)
                last = np.concatenate([p[0] for p in parts])
                seq = np.concatenate([p[1] for p in parts]) if return_sequences else None
                final = [np.concatenate([p[2][i] for p in parts]) for i in range(len(states))]
        except BaseException:
            if snapshot is not None:  # a call that raises leaves the layer unbuilt
                self._restore(snapshot)
            raise
        # backward differentiates the last call: an inference call forgets a training call
        self._record = Tape(x, mask_arr, steps, return_sequences, self.return_state,
                            self.go_backwards, self.zero_output_for_mask,
                            initial_state is not None) if training else None
        if self.stateful:
            self.states = [s.copy() for s in final]
        output = seq if return_sequences else last
        if self.return_state:
            return [output, *final]
        return output

    # -- training ---------------------------------------------------------------------------
    def _backward(self, tape: Tape, grad_output: Any) -> np.ndarray:
        """Backpropagation through time for the last call, made with ``training=True``
        (``layer.backward(grad_output)``, see ``Layer.backward``).

        Args:
            grad_output: the gradient of the loss with respect to what the call returned:
                ``(batch, timesteps, units)`` or ``(batch, units)``; with ``return_state`` the
                list ``[d_output, d_h, (d_c)]`` where None stands for zeros.

        Returns:
            ``dL/dinputs`` ``(batch, timesteps, features)``, exactly zero at masked steps.
            Sets :attr:`gradients` (aligned with ``get_weights()``, the layer dtype) and
            :attr:`state_gradients` (aligned with the call's ``initial_state``; None when the
            call had none: the stored states of a stateful layer are not trainable, as Keras's
            state variables, and get no gradient).
        """
        d_output, d_states = self._check_grad_output(grad_output, tape)
        # the bottom layer of a training step: nobody reads d inputs (see training.backward)
        acc: dict = {"need_dx": self._input_gradient_needed}
        d_projected, d_initial = rnn_loop_backward(
            self.make_step_backward(tape, acc), tape.steps, input_width=self.gates * self.units,
            grad_sequence=d_output if tape.return_sequences else None,
            grad_last=None if tape.return_sequences else d_output,
            grad_states=d_states, mask=tape.mask, go_backwards=tape.go_backwards,
            zero_output_for_mask=tape.zero_output_for_mask,
        )
        dx, self.gradients = self._input_gradients(tape.x, d_projected, acc)
        self.state_gradients = list(d_initial) if tape.explicit_state else None
        return dx

    def _check_grad_output(self, grad_output: Any,
                           tape: Tape) -> tuple[np.ndarray | None, list[np.ndarray | None]]:
        """``(d_output or None, [d_state or None, ...])`` checked against the call's outputs."""
        batch, timesteps = tape.x.shape[:2]
        out_shape = (batch, timesteps, self.units) if tape.return_sequences else (batch, self.units)
        shapes = [out_shape] + ([(batch, n) for n in self.state_size] if tape.return_state else [])
        labels = ["output", "h", "c"][:len(shapes)]
        checked = check_grad_output(self.name, grad_output, shapes, labels, self.dtype)
        return checked[0], checked[1:]

    def _check_mask(self, mask: Any, batch: int, timesteps: int) -> np.ndarray | None:
        if mask is None:
            return None
        m = v.numeric_array("mask", mask)
        if m.shape != (batch, timesteps):
            raise ValueError(
                f"`mask` must have shape (batch, timesteps) = {(batch, timesteps)} to match "
                f"`inputs`. Received: mask with shape {m.shape}"
            )
        m = m.astype(bool)
        return None if m.all() else m

    def _initial_states(self, initial_state: Any, batch: int) -> list[np.ndarray]:
        sizes = self.state_size
        if initial_state is None:
            if self.stateful and self.states is not None:
                if self.states[0].shape[0] != batch:
                    raise ValueError(
                        f"Stateful layer '{self.name}' holds states for batch size "
                        f"{self.states[0].shape[0]}, but `inputs` has batch size {batch}. "
                        "Call reset_state() first or keep the batch size fixed."
                    )
                return [s.copy() for s in self.states]
            return [np.zeros((batch, n), self.dtype) for n in sizes]
        if isinstance(initial_state, np.ndarray) or not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if len(initial_state) != len(sizes):
            names = "[h, c]" if len(sizes) == 2 else "[h]"
            raise ValueError(
                f"`initial_state` for layer '{self.name}' must be a list of {len(sizes)} "
                f"array(s) {names}, each (batch, units). Received: {len(initial_state)} array(s)"
            )
        out = []
        for i, (s, n) in enumerate(zip(initial_state, sizes)):
            arr = v.numeric_array(f"initial_state[{i}]", s, self.dtype)
            if arr.shape != (batch, n):
                raise ValueError(
                    f"`initial_state[{i}]` must have shape (batch, units) = {(batch, n)}. "
                    f"Received: shape {arr.shape}"
                )
            out.append(arr)
        return out

    def reset_state(self, states: Sequence[Any] | None = None) -> None:
        """Zero the stored states of a stateful layer (or set them to ``states``)."""
        if not self.stateful:
            raise ValueError(f"reset_state() needs a stateful layer; layer '{self.name}' has "
                             "stateful=False.")
        if states is None:
            if self.states is not None:
                self.states = [np.zeros_like(s) for s in self.states]
            return
        self.states = self._checked_states(states)

    def _checked_states(self, states: Any) -> list[np.ndarray]:
        """``states`` for ``reset_state`` checked and cast, changing nothing."""
        if isinstance(states, np.ndarray) or not isinstance(states, (list, tuple)):
            states = [states]
        first = v.numeric_array("states[0]", states[0]) if len(states) else None
        if first is not None and first.ndim != 2:
            raise ValueError(
                f"`states` for layer '{self.name}' must be arrays of shape (batch, units). "
                f"Received: states[0] with shape {first.shape}"
            )
        batch = first.shape[0] if first is not None else 0
        return self._initial_states(list(states), batch)

    reset_states = reset_state

    # -- graphs: shapes and masks (Keras's ``RNN.compute_output_shape`` / ``compute_mask``) ---
    def compute_output_shape(self, input_shape: tuple) -> Any:
        """``(batch, timesteps, features)`` -> ``(batch, [timesteps,] units)``; with
        ``return_state`` the list ``[output shape, (batch, units) per state]``."""
        batch = input_shape[0]
        timesteps = input_shape[1] if len(input_shape) > 1 else None
        out = (batch, timesteps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, n) for n in self.state_size]
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The input mask with ``return_sequences`` (else None); the states have none."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        return [out] + [None] * len(self.state_size) if self.return_state else out

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        cfg = {
            "units": self.units,
            "features": self.features,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "zero_output_for_mask": self.zero_output_for_mask,
            "unroll": self.unroll,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            **{k: (val if isinstance(val, str) else initializers.serialize(self._inits[k]))
               for k, val in self._init_names.items()},
            **self._regularizer_config(),
        }
        return {**cfg, **self._base_config()}

    def _features_from_weights(self, weights: list[np.ndarray]) -> int:
        """Infer ``features`` from a kernel ``(features, gates*units)``, changing nothing."""
        k = weights[0] if weights else None
        gates = self.gates
        if k is None or k.ndim != 2 or k.shape[1] != gates * self.units or k.shape[0] < 1:
            shape = None if k is None else tuple(k.shape)
            raise ValueError(
                f"Weight `kernel` of layer '{self.name}' must have shape (features, "
                f"{gates * self.units}) = (features, {gates}*units). Received: shape {shape}"
            )
        return int(k.shape[0])
