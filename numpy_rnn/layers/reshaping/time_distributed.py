"""TimeDistributed: one layer applied to every step of axis 1, as
``keras.layers.TimeDistributed`` (``keras/src/layers/rnn/time_distributed.py``).

Keras's rules, all reproduced here:

* the wrapped layer is the one given (not a copy): the wrapper's weights are its weights, in its
  order, and it is built for the per-step shape ``(batch, *input_shape[2:])``;
* Keras runs the layer once per step on ``inputs[:, t]``; every numpy_rnn layer treats the rows
  of a batch independently, so here it runs once on the ``(batch * timesteps, ...)`` merge
  (batch-major: row ``b * timesteps + t`` is step ``t`` of sample ``b``), which gives each step's
  result;
* ``supports_masking``; the mask goes to the layer only when its Keras twin's ``call`` takes one
  (a recurrent layer, Bidirectional, TimeDistributed), one step of it per step (so it must have
  at least 3 axes there: Keras fails on a ``(batch, timesteps)`` mask too); the output mask is
  the input mask, unchanged (Keras's default ``compute_mask``), whatever the layer returns.

Training: the wrapped layer records its merged call; :meth:`TimeDistributed.backward` merges
``grad_output`` the same way, runs the layer's backward and splits the input gradient back;
``gradients`` are the layer's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as v
from ..base import Layer
from ..bidirectional import Bidirectional
from ..core import Dropout, Masking
from ..dense import Dense
from ..embedding import Embedding
from ..recurrent import RNNBase


def layer_class(name: Any) -> type | None:
    """The numpy_rnn layer class called ``name`` (any class deriving from ``Layer`` defined in
    numpy_rnn, whichever module it lives in), or None."""
    todo = list(Layer.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__name__ == name and cls.__module__.startswith("numpy_rnn."):
            return cls
        todo.extend(cls.__subclasses__())
    return None


def _takes_step_mask(layer: Any) -> bool:
    """Whether Keras's twin of ``layer`` takes a ``mask`` in its ``call`` (TimeDistributed then
    gives it one step of the mask)."""
    return isinstance(layer, (RNNBase, Bidirectional, TimeDistributed))


def child_output_shape(layer: Any, shape: tuple) -> tuple:
    """The output shape of ``layer`` for ``shape`` (batch first; None for unknown sizes)."""
    if isinstance(layer, Embedding):
        return tuple(shape) + (layer.output_dim,)
    if isinstance(layer, (Masking, Dropout)):
        return tuple(shape)
    if isinstance(layer, Dense):
        return tuple(shape[:-1]) + (layer.units,)
    if isinstance(layer, (RNNBase, Bidirectional)):
        inner = layer.forward_layer if isinstance(layer, Bidirectional) else layer
        width = inner.units * (2 if getattr(layer, "merge_mode", None) == "concat" else 1)
        return (shape[0], shape[1], width) if layer.return_sequences else (shape[0], width)
    return tuple(layer.compute_output_shape(tuple(shape)))


class TimeDistributed(Layer):
    """Apply ``layer`` to every step: ``(batch, timesteps, *step)`` -> ``(batch, timesteps,
    *layer output)``.

    Args:
        layer: a numpy_rnn layer with a single output (not ``return_state``, not a stateful
            recurrent layer, not ``Bidirectional(merge_mode=None)``).
        dtype: float inputs are cast to it before the layer casts them to its own.

    ``__call__(inputs (batch, timesteps, ...), mask=None, training=False)``.
    """

    supports_masking = True
    builds_from_shape = True
    #: False while a training step differentiates this layer for its weights alone (see
    #: ``numpy_rnn.training.backward``): the wrapped layer then skips d inputs too.
    _input_gradient_needed = True

    def __init__(self, layer: Any, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a numpy_rnn layer "
                             f"instance. Received: layer={layer!r}")
        reason = ("return_state=True" if getattr(layer, "return_state", False) else
                  "merge_mode=None" if isinstance(layer, Bidirectional) and layer.merge_mode is None
                  else "stateful=True" if getattr(layer, "stateful", False) else None)
        if reason is not None:
            raise ValueError(f"`layer` of TimeDistributed must return one output per step and "
                             f"keep no state between calls. Received: layer '{layer.name}' with "
                             f"{reason}")
        super().__init__(**kwargs)
        self.layer = layer

    # -- built follows the wrapped layer ------------------------------------------------------
    @property
    def built(self) -> bool:
        layer = self.__dict__.get("layer")
        return bool(layer is not None and layer.built)

    @built.setter
    def built(self, value: bool) -> None:
        pass  # the wrapped layer's state is the wrapper's

    @property
    def features(self) -> int | None:
        return getattr(self.layer, "features", None)

    def build(self, input_shape: Any) -> None:
        """Build the wrapped layer for ``(batch, *input_shape[2:])``."""
        shape = self._check_shape(input_shape)
        if not self.layer.built:
            self.layer.build((shape[0],) + shape[2:])
        self.build_input_shape = shape

    @staticmethod
    def _check_shape(input_shape: Any) -> tuple:
        try:
            shape = tuple(input_shape)
        except TypeError:
            shape = ()
        if len(shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at "
                             f"least 3 dimensions, received: {input_shape!r}")
        return shape

    # -- weights: the wrapped layer's ---------------------------------------------------------
    def weight_names(self) -> list[str]:
        return self.layer.weight_names()

    def weight_shapes(self) -> dict[str, tuple]:
        return self.layer.weight_shapes()

    @property
    def weights(self) -> list[np.ndarray]:
        return self.layer.weights

    def get_weights(self) -> list[np.ndarray]:
        return self.layer.get_weights()

    def _prepare_weights(self, weights: Any) -> Any:
        return self.layer._prepare_weights(weights)

    def _commit_weights(self, prepared: Any) -> None:
        self.layer._commit_weights(prepared)

    def set_weights(self, weights: list) -> None:
        """The wrapped layer's weights, in its order; all or nothing."""
        self.layer.set_weights(weights)

    def build_from_weights(self, weights: list[np.ndarray]) -> None:
        self.layer.build_from_weights(weights)

    @property
    def count_params(self) -> int:
        return self.layer.count_params

    @property
    def sparse_gradients(self) -> Any:
        """The wrapped layer's ``sparse_gradients`` (an Embedding's table gradient as slices)."""
        return getattr(self.layer, "sparse_gradients", None)

    def _snapshot(self) -> tuple:
        return super()._snapshot(), self.layer._snapshot()

    def _restore(self, snapshot: tuple) -> None:
        own, inner = snapshot
        super()._restore(own)
        self.layer._restore(inner)

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, inputs: Any, mask: Any = None, training: bool = False) -> np.ndarray:
        """``(batch, timesteps, ...)`` -> ``(batch, timesteps, *layer output)``.

        ``mask``: optional booleans whose first two axes are ``(batch, timesteps)``; given to
        the layer step by step when it takes a mask (module docstring)."""
        x = v.numeric_array("inputs", inputs)
        if x.dtype.kind == "f":
            x = x.astype(self.dtype, copy=False)
        shape = self._check_shape(x.shape)
        batch, steps = shape[:2]
        kwargs: dict[str, Any] = {"training": training}
        if mask is not None:
            m = v.numeric_array("mask", mask).astype(bool)
            if m.ndim < 2:
                raise ValueError("The `mask` passed to the `TimeDistributed` layer must be at "
                                 "least 2D (e.g., `(batch_size, timesteps)`), but it has "
                                 f"{m.ndim} dimension(s) with shape {m.shape}.")
            if m.shape[:2] != (batch, steps):
                raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a shape "
                                 f"{m.shape} that is incompatible with the input shape {shape}. "
                                 "The first two dimensions of the mask (batch size and "
                                 "timesteps) must match the input's first two dimensions.")
            if _takes_step_mask(self.layer):
                if m.ndim < 3:
                    raise ValueError(
                        f"The `mask` passed to the `TimeDistributed` layer '{self.name}' has "
                        f"shape {m.shape}: its wrapped layer '{self.layer.name}' takes a mask "
                        "per step, so the mask needs a third axis, (batch, timesteps, "
                        "steps of the layer); Keras fails on it too")
                kwargs["mask"] = self._merge(m)
        merged = self._merge(x)
        snapshot = None if self.layer.built else self._snapshot()
        try:
            if snapshot is not None:
                self.build(shape)
            y = self.layer(merged, **kwargs)
        except BaseException:
            if snapshot is not None:
                self._restore(snapshot)
            raise
        out = self._split(y, batch, steps)
        self._record = (shape, out.shape) if training else None
        return out

    @staticmethod
    def _merge(a: np.ndarray) -> np.ndarray:
        """``(batch, timesteps, ...)`` -> ``(batch * timesteps, ...)``: row ``b * timesteps + t``
        is step ``t`` of sample ``b``."""
        return a.reshape((a.shape[0] * a.shape[1],) + a.shape[2:])

    @staticmethod
    def _split(a: np.ndarray, batch: int, steps: int) -> np.ndarray:
        """The inverse of :meth:`_merge`: ``(batch * timesteps, ...)`` -> ``(batch, timesteps,
        ...)``."""
        return a.reshape((batch, steps) + a.shape[1:])

    def _backward(self, record: tuple, grad_output: Any) -> Any:
        """``grad_output (batch, timesteps, ...)`` -> dL/dinputs ``(batch, timesteps, ...)``
        (None for an Embedding's integer ids); ``gradients`` are the wrapped layer's."""
        in_shape, out_shape = record
        g = self._grad_output(grad_output, out_shape)
        inner = self.layer
        merged = self._merge(g)
        try:
            if not self._input_gradient_needed and hasattr(inner, "_input_gradient_needed"):
                inner._input_gradient_needed = False
            dx = inner.backward(merged.astype(getattr(inner, "dtype", g.dtype), copy=False))
        finally:
            inner.__dict__.pop("_input_gradient_needed", None)
        self.gradients = list(inner.gradients or [])
        if dx is None or not self._input_gradient_needed:
            return None
        return self._split(dx, in_shape[0], in_shape[1]).astype(self.dtype, copy=False)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = self._check_shape(input_shape)
        child = child_output_shape(self.layer, (shape[0],) + shape[2:])
        return (child[0], shape[1]) + tuple(child[1:])

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The input mask, unchanged (Keras's default ``compute_mask``)."""
        return mask

    # -- config --------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"layer": {"class_name": type(self.layer).__name__,
                          "config": self.layer.get_config()}, **self._base_config()}

    @classmethod
    def from_config(cls, config: dict) -> "TimeDistributed":
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict. Received: {type(config).__name__}")
        config = dict(config)
        item = config.get("layer")
        if isinstance(item, dict):
            inner_cls = layer_class(item.get("class_name"))
            if inner_cls is None or not isinstance(item.get("config"), dict):
                raise ValueError("`layer` must be {'class_name': <a numpy_rnn layer class>, "
                                 f"'config': {{...}}}}. Received: {v._show(item)}")
            config["layer"] = inner_cls.from_config(dict(item["config"]))
        return cls(**config)
