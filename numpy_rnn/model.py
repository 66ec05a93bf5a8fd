"""Sequential: a stack of numpy_rnn layers, with masks flowing between them as in Keras.

Long because Sequential carries Keras's whole model API in one class (build, masks, predict,
the training front-ends, weights, summary, config, save / get_layer); the work itself lives in
``numpy_rnn.training`` / ``numpy_rnn.fitting`` and the layers.

Mask rules (``keras/src/layers/layer.py`` ``_set_mask_metadata`` and each layer's
``compute_mask``, Keras 3.15):

* ``Embedding(mask_zero=True)`` creates the mask ``ids != 0``; ``Masking`` creates
  ``any(x != mask_value, axis=-1)``; both ignore an incoming mask.
* ``Dense`` and ``Dropout`` pass the incoming mask on unchanged (on 3-D inputs that is the
  ``(batch, timesteps)`` mask the next recurrent layer consumes).
* A recurrent layer (``LSTM``, ``GRU``, ``SimpleRNN``, ``Bidirectional``) consumes the mask and
  passes it on only with ``return_sequences=True``.

Layers with several outputs (``return_state=True``, ``Bidirectional(merge_mode=None)``) are not
allowed in a Sequential model: the next layer would receive a list.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import _validation as v
from ._validation import cast_model_input
from .naming import auto_name
from .trainable import TrainingMethods
from . import fitting as _fit
from . import training as _train
from . import layers as _layers
from .layers import Bidirectional, Dense, Dropout, Embedding, Layer, Masking
from .graph import symbolic
from .layers.base import _graph_aware
from .layers.recurrent import RNNBase


#: Class name -> class, for ``Sequential.from_config`` (and bundles): every layer class
#: ``numpy_rnn.layers`` exports, but the abstract bases (a new layer is one export, no row here).
_BASES = ("Layer", "RNNBase", "Merge")
LAYER_CLASSES: dict[str, type] = {
    name: getattr(_layers, name) for name in _layers.__all__
    if isinstance(getattr(_layers, name), type) and issubclass(getattr(_layers, name), Layer)
    and name not in _BASES
}

def _multi_output_reason(layer: Any) -> str | None:
    if getattr(layer, "return_state", False):
        return "return_state=True"
    if isinstance(layer, Bidirectional) and layer.merge_mode is None:
        return "merge_mode=None"
    return None


def output_shape(layer: Any, input_shape: tuple | None) -> tuple | None:
    """The output shape of ``layer`` for ``input_shape`` (batch first; None = unknown)."""
    if input_shape is None:
        return None
    if isinstance(layer, Embedding):
        return tuple(input_shape) + (layer.output_dim,)
    if isinstance(layer, (Masking, Dropout)):
        return tuple(input_shape)
    if isinstance(layer, Dense):
        return tuple(input_shape[:-1]) + (layer.units,)
    if isinstance(layer, (RNNBase, Bidirectional)):
        inner = layer.forward_layer if isinstance(layer, Bidirectional) else layer
        width = inner.units * (2 if getattr(layer, "merge_mode", None) == "concat" else 1)
        batch, timesteps = input_shape[0], (input_shape[1] if len(input_shape) > 1 else None)
        return (batch, timesteps, width) if layer.return_sequences else (batch, width)
    compute = getattr(layer, "compute_output_shape", None)
    if compute is not None:  # every other layer states its own (Keras's compute_output_shape)
        return tuple(compute(tuple(input_shape)))
    return None


def _first_input_shape(layer: Any) -> tuple | None:
    """A guess at the model input shape from the first layer alone (batch and time unknown)."""
    if isinstance(layer, Embedding):
        return (None, None)
    if isinstance(layer, (RNNBase, Bidirectional)) and layer.features is not None:
        return (None, None, layer.features)
    if isinstance(layer, Dense) and layer.features is not None:
        return (None, layer.features)
    if getattr(layer, "builds_from_shape", False) and layer.build_input_shape is not None:
        return (None,) + tuple(layer.build_input_shape)[1:]  # e.g. a Conv1D built on a shape
    return None


class Sequential(TrainingMethods):
    """A linear stack of numpy_rnn layers, as ``keras.Sequential`` at inference.

    Args:
        layers: layers to add, in order.
        name: the model name.
        input_shape: optional input shape *without* the batch axis, as ``keras.Input(shape)``:
            ``(timesteps,)`` for token ids, ``(timesteps, features)`` for vectors; ``None``
            entries are unknown.  Used by ``summary``, ``build`` and bundles.
        input_dtype: optional dtype of the model input (``"int32"`` for token ids).

    ``__call__(x)`` / ``predict(x, batch_size=32)`` run the stack; a mask made by
    ``Embedding(mask_zero=True)`` or ``Masking`` flows to the recurrent layers (module docstring).
    """

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None, *,
                 input_shape: Sequence[int | None] | None = None,
                 input_dtype: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string or None. Received: name={name!r}")
        self.name = name or auto_name("sequential")
        self.layers: list[Layer] = []
        self.input_shape = self._check_input_shape(input_shape)
        self.input_dtype = None if input_dtype is None else np.dtype(input_dtype).name
        #: The vocabulary a bundle carried (``numpy_rnn.load``), else None.
        self.vocabulary = None
        #: Set by ``compile``: the optimizer and loss objects (Keras's attribute names).
        self.compiled, self.optimizer, self.loss = False, None, None
        self._metric_specs: list = []
        self._weighted_specs: list = []
        self.compiled_metrics: list | None = None
        self.stop_training = False
        if layers is not None:
            if isinstance(layers, Layer) or not hasattr(layers, "__iter__"):
                raise TypeError(f"`layers` must be a list of layers or None. Received: {layers!r}")
            for layer in layers:
                self.add(layer)

    @staticmethod
    def _check_input_shape(shape: Any) -> tuple | None:
        if shape is None:
            return None
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        try:
            dims = tuple(shape)
        except TypeError:
            raise TypeError("`input_shape` must be a tuple of positive ints or None (no batch "
                            f"axis). Received: input_shape={shape!r}") from None
        for i, d in enumerate(dims):
            if d is not None:
                v.positive_int(f"input_shape[{i}]", d)
        if not dims:
            raise ValueError("`input_shape` must have at least one axis (no batch axis). "
                             f"Received: input_shape={shape!r}")
        return tuple(None if d is None else int(d) for d in dims)

    # -- building the stack -------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        """Append ``layer``; names must be unique and the layer must have a single output.
        ``numpy_rnn.Input(shape, dtype)`` first, as in Keras, sets the model's input shape and
        dtype."""
        if isinstance(layer, symbolic.SymbolicTensor) and layer.node is not None and \
                layer.node.is_input and not self.layers:
            self.input_shape = self._check_input_shape(layer.shape[1:])
            self.input_dtype = np.dtype(layer.dtype).name
            return
        if isinstance(layer, Sequential):
            raise TypeError("Nested Sequential models are not supported: add the inner model's "
                            f"layers instead. Received: {layer!r}")
        if not isinstance(layer, Layer):
            raise TypeError(f"`layer` must be a numpy_rnn layer (one of {sorted(LAYER_CLASSES)}). "
                            f"Received: {layer!r} of type {type(layer).__name__}")
        reason = _multi_output_reason(layer)
        if reason is not None:
            raise ValueError(
                f"Layer '{layer.name}' has {reason}, so it returns several outputs; a Sequential "
                "model needs layers with a single output."
            )
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"All layers of a Sequential model must have unique names; "
                             f"'{layer.name}' is already in model '{self.name}'.")
        self.layers.append(layer)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise IndexError(f"Model '{self.name}' has no layers to pop.")
        return self.layers.pop()

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def _model_input_shape(self) -> tuple | None:
        if self.input_shape is not None:
            return (None,) + self.input_shape
        return _first_input_shape(self.layers[0]) if self.layers else None

    def build(self, input_shape: Sequence[int | None] | None = None) -> None:
        """Build every layer from ``input_shape`` (no batch axis; default: ``self.input_shape``).

        All or nothing: every layer's input size is worked out and checked first, so a call
        that raises leaves the model (``input_shape``, every layer) as it was; the weights are
        drawn on first use."""
        model_shape = self.input_shape
        if input_shape is not None:
            model_shape = self._check_input_shape(input_shape)
        shape = ((None,) + model_shape if model_shape is not None
                 else _first_input_shape(self.layers[0]) if self.layers else None)
        plan = []
        for layer in self.layers:
            if not layer.built:
                # a layer built from the whole shape checks it itself (a channels_first Conv1D
                # needs axis 1, not the last one)
                whole = getattr(layer, "builds_from_shape", False)
                if shape is None or (shape[-1] is None and not whole) or \
                        not hasattr(layer, "build"):
                    raise ValueError(
                        f"Cannot build layer '{layer.name}': its input shape is unknown. Give "
                        "Sequential(input_shape=...) or call the model on an input first."
                    )
                if whole:
                    layer.compute_output_shape(shape)  # raises now: nothing built yet
                else:
                    v.positive_int(f"input size of layer '{layer.name}'", shape[-1])
                plan.append((layer, shape))
            shape = output_shape(layer, shape)
        self.input_shape = model_shape
        for layer, layer_shape in plan:
            layer.build(layer_shape)

    # -- running ------------------------------------------------------------------------------
    @staticmethod
    def _apply(layer: Layer, x: Any, mask: np.ndarray | None, training: bool):
        """Run one layer; return ``(output, mask for the next layer)`` (Keras's rules)."""
        if isinstance(layer, (RNNBase, Bidirectional)):
            y = layer(x, mask=mask, training=training)
            return y, (mask if layer.return_sequences else None)
        if isinstance(layer, (Embedding, Masking)):
            y = layer(x, training=True) if training else layer(x)
            return y, layer.compute_mask(x)
        if isinstance(layer, (Dense, Dropout)):
            y = layer(x, mask=mask, training=training)
            return y, layer.compute_mask(x, mask)
        # Any other layer: the mask goes in when it supports masking (Keras's
        # ``supports_masking``), and out as its ``compute_mask`` says.
        kwargs = {"mask": mask} if getattr(layer, "supports_masking", False) else {}
        y = layer(x, training=True, **kwargs) if training else layer(x, **kwargs)
        compute = getattr(layer, "compute_mask", None)
        return y, (compute(x, mask) if compute is not None else None)

    def _cast_model_input(self, inputs: Any) -> np.ndarray:
        """The input as the model's ``input_dtype`` when one is set (Keras converts the input
        to its ``keras.Input`` dtype first: float ids given to an int32 model are truncated
        before the Embedding computes its mask)."""
        return cast_model_input(self.name, inputs, self.input_dtype)

    def _snapshot(self) -> list:
        return [layer._snapshot() for layer in self.layers]

    def _restore(self, snapshot: list) -> None:
        for layer, snap in zip(self.layers, snapshot):
            layer._restore(snap)

    def _run(self, x: np.ndarray, m: np.ndarray | None, training: bool) -> np.ndarray:
        return self._run_masked(x, m, training)[0]

    def _run_masked(self, x: np.ndarray, m: np.ndarray | None,
                    training: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """``(output, output mask)``: the mask the last layer passes on (what Keras's loss
        applies), or None."""
        for layer in self.layers:
            x, m = self._apply(layer, x, m, training)
            if isinstance(x, list):  # pragma: no cover - guarded by add()
                raise ValueError(f"Layer '{layer.name}' returned several outputs.")
        return x, m

    def _forward(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """One batch for training / evaluation: ``(output, output mask)`` (no snapshot)."""
        return self._run_masked(self._cast_model_input(x), None, training)

    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """Run every layer on ``inputs`` ``(batch, ...)``; ``mask`` is an optional input mask.

        All or nothing: a call that raises leaves every layer (built flag, weights, stored
        states) as it was."""
        if not self.layers:
            raise ValueError(f"Model '{self.name}' has no layers; add() some first.")
        x = self._cast_model_input(inputs)
        m = None if mask is None else v.numeric_array("mask", mask).astype(bool)
        snapshot = self._snapshot()
        try:
            return self._run(x, m, training)
        except BaseException:
            self._restore(snapshot)
            raise

    def predict(self, x: Any, batch_size: int = 32, verbose: Any = None) -> np.ndarray:
        """Run the model on ``x`` ``(n, ...)`` in batches of ``batch_size``; concatenated result.

        Each row is computed independently (a stateful layer carries its state from batch to
        batch, as Keras's ``predict`` does).  ``verbose`` is accepted for Keras compatibility.
        All or nothing: if a batch raises, every layer is put back as it was before the call.
        ``x`` with 0 rows gives what ``model(x)`` gives (Keras's own ``predict`` fails on 0 rows).
        """
        batch_size = v.positive_int("batch_size", batch_size)
        if not self.layers:
            raise ValueError(f"Model '{self.name}' has no layers; add() some first.")
        arr = v.numeric_array("x", x)
        if arr.ndim < 1:
            raise ValueError(f"`x` must have a batch axis. Received: x with shape {arr.shape}")
        arr = self._cast_model_input(arr)
        n = arr.shape[0]
        snapshot = self._snapshot()
        try:
            if n <= batch_size:
                return self._run(arr, None, False)
            parts = [self._run(arr[i:i + batch_size], None, False)
                     for i in range(0, n, batch_size)]
        except BaseException:
            self._restore(snapshot)
            raise
        return np.concatenate(parts, axis=0)

    # -- training (numpy_rnn.training) ---------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                metrics: Any = None, weighted_metrics: Any = None) -> None:
        """Set the optimizer and the loss: Keras names (``"adam"``, ``"mse"``,
        ``"sparse_categorical_crossentropy"``...) or ``numpy_rnn.optimizers`` /
        ``numpy_rnn.losses`` instances.  A string loss computes in float32, as Keras's does
        unless floatx is float64 (give ``losses.X(dtype="float64")`` for a float64 loss).
        ``metrics``: Keras metric names (``"accuracy"``, ``"mae"``...) or
        ``numpy_rnn.metrics`` objects, reported by ``fit`` / ``evaluate`` under their names;
        ``weighted_metrics`` likewise, given the sample weights."""
        optimizer = _train.resolve("optimizer", optimizer)
        loss = _train.resolve("loss", loss)
        specs = _fit.check_metrics(loss, metrics)
        weighted = _fit.check_metrics(loss, weighted_metrics, "weighted_metrics")
        self.optimizer, self.loss, self.compiled = optimizer, loss, True
        self._metric_specs, self.compiled_metrics = specs, None
        self._weighted_specs = weighted

    @property
    def losses(self) -> list[np.ndarray]:
        """Keras's ``model.losses``: the activity penalties of the last call (layer order), then
        the penalty of every regularized trainable weight; training adds them to the loss."""
        return _train.penalties(self)

    # -- weights ------------------------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's weights, layer by layer, each in Keras's order."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def weight_names(self) -> list[str]:
        """``layer_name/weight_name`` for every entry of ``get_weights()``."""
        return [f"{layer.name}/{n}" for layer in self.layers for n in layer.weight_names()]

    def set_weights(self, weights: list) -> None:
        """Set every layer's weights from one list (``get_weights()`` order); all or nothing."""
        self._commit_weights(self._prepare_weights(weights), in_place=self.compiled)

    def _prepare_weights(self, weights: Any) -> list:
        """Check (and cast) ``weights`` for every layer, changing nothing."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"`weights` must be a list of arrays. Received: "
                            f"{type(weights).__name__}")
        counts = [len(layer.weight_names()) for layer in self.layers]
        if len(weights) != sum(counts):
            raise ValueError(
                f"Model '{self.name}' expects {sum(counts)} weights {self.weight_names()}, but "
                f"received {len(weights)} weight(s)."
            )
        # Every layer's weights are checked (and cast) before any layer changes; installing
        # them cannot fail. A layer built from its weights never draws initial weights.
        prepared, start = [], 0
        for layer, count in zip(self.layers, counts):
            if count:
                given = list(weights[start:start + count])
                prepared.append((layer, layer._prepare_weights(given), given))
            start += count
        return prepared

    def _commit_weights(self, prepared: list, in_place: bool = False) -> None:
        """Install what ``_prepare_weights`` checked (cannot fail); a compiled model (or one
        inside a compiled model: ``in_place``) copies into the arrays the optimizer holds."""
        for layer, ready, given in prepared:
            if not (in_place and layer.built and _train.copy_into(layer, given)):
                layer._commit_weights(ready)

    def count_params(self) -> int:
        return int(sum(layer.count_params for layer in self.layers))

    # -- graphs: a Sequential called as a layer inside a functional Model --------------------
    def compute_output_shape(self, input_shape: tuple) -> tuple | None:
        """The output shape for ``input_shape`` (batch first)."""
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = output_shape(layer, shape)
        return shape

    def output_dtypes(self) -> list[str]:
        return [self.layers[-1].dtype.name] if self.layers else ["float32"]

    def _build_for_graph(self, input_shape: tuple) -> None:
        self.build(tuple(input_shape)[1:])

    # -- description --------------------------------------------------------------------------
    def summary(self, print_fn: Callable[[str], Any] | None = print) -> str:
        """Print (and return) a table: layer (type), output shape, mask, params."""
        def fmt(shape: tuple | None) -> str:
            if shape is None:
                return "?"
            return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
                ("," if len(shape) == 1 else "") + ")"

        rows = []
        shape = self._model_input_shape()
        masked = False
        for layer in self.layers:
            shape = output_shape(layer, shape)
            if isinstance(layer, Embedding):
                masked = layer.mask_zero
            elif isinstance(layer, Masking):
                masked = True
            elif isinstance(layer, (RNNBase, Bidirectional)):
                masked = masked and layer.return_sequences
            params = f"{layer.count_params:,}" if layer.built else "(unbuilt)"
            rows.append((f"{layer.name} ({type(layer).__name__})", fmt(shape),
                         "yes" if masked else "", params))
        head = ("Layer (type)", "Output Shape", "Mask", "Param #")
        widths = [max(len(r[i]) for r in rows + [head]) + 2 for i in range(4)]
        rule = "-" * sum(widths)

        def line(r):
            return "".join(c.ljust(w) if i < 3 else c.rjust(w - 2)
                           for i, (c, w) in enumerate(zip(r, widths)))

        in_shape = self._model_input_shape()
        lines = [f'Model: "{self.name}"', rule, line(head), "=" * len(rule)]
        lines += [line(r) for r in rows]
        lines += ["=" * len(rule), f"Input: {fmt(in_shape)} {self.input_dtype or ''}".rstrip(),
                  f"Total params: {self.count_params():,}", rule]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        kinds = ", ".join(type(layer).__name__ for layer in self.layers)
        return f"<Sequential name={self.name!r} layers=[{kinds}]>"

    # -- config -------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """JSON-serialisable: the name, input spec and each layer's class name and config."""
        return {
            "name": self.name,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "input_dtype": self.input_dtype,
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                       for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        """Rebuild a model from ``get_config()`` (weights are freshly initialised)."""
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict. Received: {type(config).__name__}")
        items = config.get("layers")
        if not isinstance(items, list):
            raise ValueError("`config['layers']` must be a list of {'class_name', 'config'} "
                             f"dicts. Received: {items!r}")
        layers = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
                raise ValueError(f"`config['layers'][{i}]` must be a dict with 'class_name' and "
                                 f"'config'. Received: {item!r}")
            name = item.get("class_name")
            layer_cls = LAYER_CLASSES.get(name)
            if layer_cls is None:
                raise ValueError(f"`config['layers'][{i}]['class_name']` must be one of "
                                 f"{sorted(LAYER_CLASSES)}. Received: {name!r}")
            layers.append(layer_cls.from_config(dict(item["config"])))
        return cls(layers, name=config.get("name"), input_shape=config.get("input_shape"),
                   input_dtype=config.get("input_dtype"))


# ``model(x)`` on symbolic tensors records a node (a Sequential nested in a functional Model).
Sequential.__call__ = _graph_aware(Sequential.__call__)  # type: ignore[method-assign]
