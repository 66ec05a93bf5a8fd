"""The functional ``Model``: layers called on symbolic tensors, run in topological order, as
``keras.Model(inputs, outputs)`` (``keras/src/models/functional.py``).

Building a graph::

    ids = numpy_rnn.Input((None,), dtype="int32", name="ids")
    x = numpy_rnn.Embedding(100, 16, mask_zero=True)(ids)
    seq, h, c = numpy_rnn.LSTM(32, return_sequences=True, return_state=True)(x)
    y = numpy_rnn.Dense(4)(numpy_rnn.layers.Add()([seq, numpy_rnn.Dense(32)(x)]))
    model = numpy_rnn.Model(ids, [y, h])

Walking a model's graph (the public, stable API the readers and bridges build on):

* ``model.inputs`` / ``model.outputs``: the symbolic tensors, flat (a dict by sorted key);
  ``model.input_names`` / ``model.output_names`` (the output layers' names, as Keras).
* ``model.layers``: every layer once, ``InputLayer``\\s included, in Keras's ``model.layers``
  order (which is also the order of ``get_weights()``; see ``numpy_rnn.graph.topology``).
* ``model.nodes``: the calls, in running order (every input a node reads is made by an
  earlier node); input nodes have ``node.is_input``.  Each ``Node`` has ``.layer``;
  ``.inbound`` (the symbolic tensors of the first argument: one, or a merge's list);
  ``.input_tensors`` (every symbolic tensor it reads: the first argument, then ``initial_state``
  / ``mask`` tensors); ``.args`` / ``.kwargs`` (the call as given, symbolic tensors in place;
  ``.call_kwargs`` is ``kwargs``: ``mask=``, ``initial_state=``, ``training=``); ``.outputs`` (flat
  list of output tensors).  A tensor's producer is ``tensor.node`` and its place
  ``tensor.index`` (``tensor.layer`` is ``tensor.node.layer``).

Masks flow as Keras flows them: a node whose layer takes ``mask`` receives its inputs' masks
when it reads no other tensor (so an ``LSTM`` called with ``initial_state`` tensors gets no
mask, as in Keras 3.15); the output masks are the layer's ``compute_mask`` of the inputs' masks
(or of the explicit ``mask=``) when it ``supports_masking``, else none; a nested model's output
masks are those its own layers made.

Training (``compile`` / ``train_on_batch`` / ``fit`` / ``evaluate``) is ``numpy_rnn.training``'s,
with a loss per output; the backward pass through the graph is ``numpy_rnn.graph.backward``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _validation as v
from . import training as _train
from .graph import backward as _backward
from .graph import config as _config
from .graph import steps as _steps
from .graph.input_layer import Input, InputLayer
from .graph.run import fill, run_node
from .graph.symbolic import SymbolicTensor, flatten, pack_like
from .graph.topology import map_graph
from .layers.base import Layer
from ._strings import string_input
from .naming import auto_name
from .trainable import TrainingMethods
from . import fitting as _fit
from ._validation import cast_model_input
from .model import Sequential

__all__ = ["Model", "Input", "InputLayer"]



class _ParamCount(int):
    """An int that can also be called: ``model.count_params`` (as layers) and
    ``model.count_params()`` (as Keras and ``Sequential``) both give the number."""

    def __call__(self) -> int:
        return int(self)


class Model(Layer, TrainingMethods):
    """A functional model: ``Model(inputs, outputs, name=None)``.

    Args:
        inputs: a symbolic tensor from ``numpy_rnn.Input``, or a list / dict of them.
        outputs: symbolic tensor(s) computed from ``inputs``: one, a list, or a dict.
        name: the model name (default ``functional``, ``functional_1``...).

    Calling (``model(x)``, ``predict``): ``x`` is an array (one input), a list in the order of
    ``inputs``, or a dict by input name; the result has the structure of ``outputs`` (an array
    for one output or a one-element list, as Keras unpacks it).
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 trainable: bool = True) -> None:
        if name is None:
            name = auto_name("functional")
        super().__init__(name=name, trainable=trainable)
        flat_in, flat_out = flatten(inputs), flatten(outputs)
        for what, flat, given in (("inputs", flat_in, inputs), ("outputs", flat_out, outputs)):
            if not flat:
                raise ValueError(f"`{what}` argument cannot be empty. Received: {what}={given!r}")
            for x in flat:
                if not isinstance(x, SymbolicTensor):
                    raise ValueError(
                        f"All `{what}` values must be symbolic tensors (from numpy_rnn.Input or "
                        f"a layer called on one). Received: {what}={given!r} including invalid "
                        f"value {x!r} of type {type(x).__name__}")
        for x in flat_in:
            if x.node is None or not x.node.is_input:
                raise ValueError(f"Every model input must come straight from numpy_rnn.Input. "
                                 f"Received: {x!r} (made by layer '{x.layer.name}')")
        if isinstance(inputs, dict):
            for key, x in inputs.items():
                if key != x.name:
                    raise ValueError(f"When `inputs` is a dict, each key must be the name of "
                                     f"its Input. Received: key {key!r} for input {x.name!r}")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs: list[SymbolicTensor] = flat_in
        self.outputs: list[SymbolicTensor] = flat_out
        self.nodes, self.layers = map_graph(flat_in, flat_out)
        self.input_names = [x.name for x in flat_in]
        self.output_names = [x.node.layer.name for x in flat_out]
        self.built = True
        #: Set by ``compile``: the optimizer, the loss(es) and ``loss_weights``.
        self.compiled, self.optimizer, self.loss, self.loss_weights = False, None, None, None
        self._metric_specs: list = []
        self._weighted_specs: list = []
        self.compiled_metrics: list | None = None
        self.stop_training = False

    # -- structure -------------------------------------------------------------------------
    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    @property
    def input_shape(self) -> Any:
        shapes = [x.shape for x in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [x.shape for x in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape(s) for ``input_shape`` (one shape, or a list for several inputs):
        each node's ``compute_output_shape`` in running order."""
        given = [input_shape] if len(self.inputs) == 1 else list(input_shape)
        if len(given) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input shape(s). "
                             f"Received: {input_shape!r}")
        shapes = {id(t): tuple(s) for t, s in zip(self.inputs, given)}
        for node in self.nodes:
            if node.is_input:
                continue
            ins = [fill(a, shapes) for a in node.args]
            out = node.layer.compute_output_shape(*ins)
            outs = [out] if node.single_output else list(out)
            shapes.update((id(t), tuple(s)) for t, s in zip(node.outputs, outs))
        result = [shapes[id(t)] for t in self.outputs]
        return result[0] if len(result) == 1 else result

    def output_dtypes(self) -> list[str]:
        return [t.dtype for t in self.outputs]

    # -- weights ---------------------------------------------------------------------------
    def _weight_layers(self) -> list:
        return [layer for layer in self.layers if not isinstance(layer, InputLayer)]

    @property
    def weights(self) -> list[np.ndarray]:
        """Every weight once (a shared layer's once), layer by layer in ``layers`` order."""
        out, seen = [], set()
        for layer in self._weight_layers():
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights in Keras's order (``keras_model.get_weights()``)."""
        return [w.copy() for w in self.weights]

    def weight_names(self) -> list[str]:
        """``layer_name/weight_name`` for every entry of ``get_weights()`` (a nested model's
        weights under its own layers' names)."""
        return [n if "/" in n else f"{layer.name}/{n}"
                for layer in self._weight_layers() for n in layer.weight_names()]

    def _counts(self) -> list[int]:
        return [len(layer.weight_names()) for layer in self._weight_layers()]

    def _prepare_weights(self, weights: Any) -> list:
        """Check (and cast) every layer's share of ``weights``, changing nothing."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"`weights` must be a list of arrays. Received: "
                            f"{type(weights).__name__}")
        counts = self._counts()
        if len(weights) != sum(counts):
            raise ValueError(f"Model '{self.name}' expects {sum(counts)} weights "
                             f"{self.weight_names()}, but received {len(weights)} weight(s).")
        prepared, start = [], 0
        for layer, count in zip(self._weight_layers(), counts):
            if count:
                given = list(weights[start:start + count])
                prepared.append((layer, layer._prepare_weights(given), given))
            start += count
        return prepared

    def _commit_weights(self, prepared: list, in_place: bool = False) -> None:
        in_place = in_place or self.compiled
        for layer, ready, given in prepared:
            if isinstance(layer, (Model, Sequential)):
                layer._commit_weights(ready, in_place=in_place)
            elif not (in_place and layer.built and _train.copy_into(layer, given)):
                layer._commit_weights(ready)

    def set_weights(self, weights: list) -> None:
        """Set every weight from one list in ``get_weights()`` order; all or nothing: every
        layer's share is checked before any layer changes."""
        self._commit_weights(self._prepare_weights(weights))

    @property
    def count_params(self) -> _ParamCount:  # type: ignore[override]
        return _ParamCount(sum(int(np.prod(w.shape, dtype=np.int64)) for w in self.weights))

    def _snapshot(self) -> tuple:
        return super()._snapshot(), [layer._snapshot() for layer in self._weight_layers()]

    def _restore(self, snapshot: tuple) -> None:
        own, layers = snapshot
        super()._restore(own)
        for layer, snap in zip(self._weight_layers(), layers):
            layer._restore(snap)

    # -- inputs and outputs ------------------------------------------------------------------
    def _standardize_inputs(self, x: Any, what: str = "inputs") -> list[np.ndarray]:
        """``x`` (an array, a list, or a dict by input name) as one array per input, in
        ``inputs`` order, each cast to its Input's dtype (Keras's rules)."""
        names = self.input_names
        struct = self._inputs_struct
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"Model '{self.name}' is missing input(s) {missing} in the "
                                 f"dict `{what}`: expected keys {names}. Received keys "
                                 f"{sorted(map(str, x))}")
            flat = [x[n] for n in names]
        elif isinstance(x, (list, tuple)) and not (
                len(names) == 1 and not all(isinstance(i, np.ndarray) for i in x)):
            if isinstance(struct, dict) and list(struct) != sorted(struct):
                raise ValueError(f"Model '{self.name}' takes a dict of inputs {names}; give "
                                 f"`{what}` as a dict by input name. Received: a "
                                 f"{type(x).__name__} of {len(x)} item(s)")
            flat = list(x)
            if len(flat) != len(names):
                raise ValueError(f"Model '{self.name}' expects {len(names)} input(s) {names}, "
                                 f"but received {len(flat)} input(s) in `{what}`.")
        else:
            if len(names) != 1:
                raise ValueError(f"Model '{self.name}' expects {len(names)} inputs {names} as a "
                                 f"list or a dict by name, but received a single array in "
                                 f"`{what}`.")
            flat = [x]
        out = []
        for t, arr in zip(self.inputs, flat):
            a = (string_input if t.dtype == "object" else cast_model_input)(  # (graphio: text)
                self.name, arr, t.dtype, what=f"{what}['{t.name}']")
            if a.ndim != len(t.shape):
                raise ValueError(f"Input '{t.name}' of model '{self.name}' expects shape "
                                 f"{t.shape}, but received an array of shape {a.shape}.")
            for d, ref in zip(a.shape[1:], t.shape[1:]):
                if ref is not None and d != ref:
                    raise ValueError(f"Input '{t.name}' of model '{self.name}' expects shape "
                                     f"{t.shape}, but received an array of shape {a.shape}.")
            out.append(a)
        rows = {a.shape[0] for a in out}
        if len(rows) > 1:
            raise ValueError(f"All inputs of model '{self.name}' must have the same number of "
                             f"samples. Received shapes {[a.shape for a in out]}")
        return out

    def _pack_outputs(self, flat: list) -> Any:
        out = pack_like(self._outputs_struct, flat)
        if isinstance(out, (list, tuple)) and len(out) == 1:  # Keras's unpack_singleton
            return out[0]
        return out

    # -- running -----------------------------------------------------------------------------
    def _run_graph(self, xs: list, masks: list | None, training: bool) -> tuple[list, list]:
        """Run every node on ``xs`` (one array per input, already cast); returns the flat
        outputs and their masks.  ``training=True`` keeps, per node, what its backward needs
        (``self._record``)."""
        values = {id(t): x for t, x in zip(self.inputs, xs)}
        mask_of = {id(t): m for t, m in zip(self.inputs, masks or [None] * len(xs))}
        records: dict[int, Any] | None = {} if training else None
        for node in self.nodes:
            if node.is_input:
                continue
            outs, out_masks = run_node(node, values, mask_of, training)
            for t, y, m in zip(node.outputs, outs, out_masks):
                values[id(t)] = y
                mask_of[id(t)] = m
            if records is not None:
                records[node.id] = _backward.stash(node.layer)
        self._record = ((records, [x.shape[0] for x in xs[:1]])
                        if records is not None else None)
        return [values[id(t)] for t in self.outputs], [mask_of[id(t)] for t in self.outputs]

    def _forward(self, xs: list, training: bool) -> tuple[list, list]:
        """One batch for training / evaluation: ``(flat outputs, flat output masks)``."""
        return self._run_graph(xs, None, training)

    def __call__(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        """Run the model on ``inputs`` (an array, a list, or a dict by input name); returns
        arrays in the structure of ``outputs``.  ``mask``: optional input mask(s) (one per
        input, or None).  All or nothing: a call that raises leaves every layer as it was."""
        xs = self._standardize_inputs(inputs)
        masks = self._input_masks(mask, xs)
        snapshot = self._snapshot()
        try:
            outs, _ = self._run_graph(xs, masks, v.boolean("training", bool(training)))
        except BaseException:
            self._restore(snapshot)
            raise
        return self._pack_outputs(outs)

    def _input_masks(self, mask: Any, xs: list) -> list | None:
        if mask is None:
            return None
        flat = [mask] if len(xs) == 1 and not isinstance(mask, (list, tuple)) else list(mask)
        if len(flat) != len(xs):
            raise ValueError(f"`mask` of model '{self.name}' must hold one mask (or None) per "
                             f"input, {len(xs)} in all. Received: {len(flat)}")
        return [None if m is None else v.numeric_array("mask", m).astype(bool) for m in flat]

    def predict(self, x: Any, batch_size: int = 32, verbose: Any = None) -> Any:
        """Run the model on ``x`` in batches of ``batch_size``; each output concatenated over
        the batches, in the structure of ``outputs``.  All or nothing, as ``__call__``."""
        batch_size = v.positive_int("batch_size", batch_size)
        xs = self._standardize_inputs(x, what="x")
        n = xs[0].shape[0]
        snapshot = self._snapshot()
        try:
            if n <= batch_size:
                outs, _ = self._run_graph(xs, None, False)
            else:
                parts = [self._run_graph([a[i:i + batch_size] for a in xs], None, False)[0]
                         for i in range(0, n, batch_size)]
                outs = [np.concatenate([p[k] for p in parts], axis=0)
                        for k in range(len(self.outputs))]
        except BaseException:
            self._restore(snapshot)
            raise
        return self._pack_outputs(outs)

    # -- training ----------------------------------------------------------------------------
    def _backward(self, record: Any, grad_output: Any) -> Any:
        """``grad_output``: one gradient per output (an array for a single output; None stands
        for zeros) -> the input gradient(s) (an array for one input, else a list; None for an
        integer input); sets ``gradients`` aligned with ``get_weights()``."""
        grads = [grad_output] if len(self.outputs) == 1 else list(grad_output)
        if len(grads) != len(self.outputs):
            raise ValueError(f"`grad_output` of model '{self.name}' must hold one gradient per "
                             f"output, {len(self.outputs)} in all. Received: {len(grads)}")
        acc = _backward.Accumulator()
        dx = _backward.backward_graph(self, record, grads, acc, trainable=True)
        self.gradients = acc.dense_for(self.weights)
        self.state_gradients = None
        return dx[0] if len(dx) == 1 else dx

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None) -> None:
        """Set the optimizer, the loss(es) and ``loss_weights`` as Keras's ``compile``: a
        single loss for every output, a list (one per output, None for none) or a dict by
        output name; ``loss_weights`` a list or a dict alike (default 1 each).  ``metrics``:
        a list of Keras metric names / ``numpy_rnn.metrics`` objects, for a model with one
        output with a loss (``numpy_rnn.metrics``)."""
        optimizer = _train.resolve("optimizer", optimizer)
        losses, weights = _steps.resolve_losses(self, loss, loss_weights)
        specs = _fit.check_metrics(losses, metrics)
        weighted = _fit.check_metrics(losses, weighted_metrics, "weighted_metrics")
        self.optimizer, self.loss, self.loss_weights = optimizer, losses, weights
        self._metric_specs, self.compiled_metrics = specs, None
        self._weighted_specs = weighted
        self.compiled = True

    # the hooks numpy_rnn.training's loops call (numpy_rnn.graph.steps)
    def _graph_data(self, x: Any, y: Any, xname: str = "x", yname: str = "y") -> tuple:
        xs = self._standardize_inputs(x, what=xname)
        ys = _steps.standardize_targets(self, y, what=yname)
        rows = {a.shape[0] for a in xs} | {a.shape[0] for a in ys if a is not None}
        if len(rows) > 1:
            raise ValueError(f"`{xname}` and `{yname}` must have the same number of samples. "
                             f"Received: {xname} with shapes {[a.shape for a in xs]}, {yname} "
                             f"with shapes {[None if a is None else a.shape for a in ys]}")
        if xs[0].shape[0] == 0:
            raise ValueError(f"`{xname}` is empty: there is nothing to train or evaluate on. "
                             f"Received: {xname} with shapes {[a.shape for a in xs]}")
        return xs, ys

    def _graph_train_step(self, xs: list, ys: list, sample_weight: Any = None) -> tuple:
        return _steps.train_step(self, xs, ys, sample_weight)

    def _graph_eval_step(self, xs: list, ys: list, sample_weight: Any = None) -> tuple:
        return _steps.eval_step(self, xs, ys, sample_weight)

    def _graph_loss_names(self) -> list[str]:
        return _steps.loss_names(self)

    def _graph_loss_dtype(self) -> np.dtype:
        return _steps.loss_dtype(self)

    # -- description -------------------------------------------------------------------------
    def summary(self, print_fn: Callable[[str], Any] | None = print) -> str:
        """Print (and return) a table: layer (type), output shape, params, connected to."""
        def fmt(shape: Any) -> str:
            if isinstance(shape, list):
                return ", ".join(fmt(s) for s in shape)
            return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
                ("," if len(shape) == 1 else "") + ")"

        rows = []
        for layer in self.layers:
            nodes = [n for n in self.nodes if n.layer is layer]
            shapes = [t.shape for n in nodes for t in n.outputs]
            parents = sorted({f"{t.layer.name}[{t.index}]" for n in nodes
                              for t in n.input_tensors})
            params = 0 if isinstance(layer, InputLayer) else int(
                sum(int(np.prod(w.shape, dtype=np.int64)) for w in layer.weights))
            rows.append((f"{layer.name} ({type(layer).__name__})",
                         fmt(shapes[0] if len(shapes) == 1 else shapes), f"{params:,}",
                         ", ".join(parents) or "-"))
        head = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        widths = [max(len(r[i]) for r in rows + [head]) + 2 for i in range(4)]
        rule = "-" * sum(widths)

        def line(r: tuple) -> str:
            return "".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
        lines = [f'Model: "{self.name}"', rule, line(head), "=" * len(rule)]
        lines += [line(r) for r in rows]
        lines += ["=" * len(rule), f"Total params: {int(self.count_params):,}", rule]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        return (f"<Model name={self.name!r} inputs={self.input_names} "
                f"outputs={self.output_names} layers={len(self.layers)}>")

    # -- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """JSON-serialisable: each layer's class and config with the nodes it has in this
        model (tensors as ``{"__tensor__": [layer name, node index, tensor index]}``), the
        inputs and outputs in their structure.  Weights are not included (``get_weights``)."""
        return _config.serialize(self)

    @classmethod
    def from_config(cls, config: dict) -> "Model":
        """Rebuild a model from ``get_config()`` (fresh weights; ``set_weights`` after)."""
        return _config.deserialize(cls, config, {"Model": cls, "Functional": cls})
