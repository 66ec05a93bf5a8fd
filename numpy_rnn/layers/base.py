"""The base class every NumPy layer shares: dtype, seed, weights in Keras order, configs."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

import numpy as np

from .. import _validation as v
from ..graph import symbolic
from .. import regularizers as _regularizers
from ..naming import auto_name

_MATERIALISE_LOCK = threading.Lock()


def _graph_aware(call: Callable) -> Callable:
    """``call`` (a layer class's ``__call__``), sending a call on symbolic tensors (from
    ``numpy_rnn.Input``) to the graph builder; a call on arrays goes straight to ``call``."""
    params = list(symbolic.signature(call).parameters)
    first_name = params[1] if len(params) > 1 else None

    @functools.wraps(call)
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        first = args[0] if args else kwargs.get(first_name)
        if isinstance(first, symbolic.SymbolicTensor) or (
                type(first) in (list, tuple) and symbolic.is_symbolic(first)):
            return symbolic.call_layer(self, call, args, kwargs)
        return call(self, *args, **kwargs)
    __call__._graph_aware = True  # type: ignore[attr-defined]
    return __call__


def _features_of(input_shape: Any) -> int:
    """``input_shape[-1]`` (or the int itself) as a positive int; ValueError otherwise."""
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        return v.positive_int("features", input_shape)
    try:
        features = tuple(input_shape)[-1]
    except (TypeError, IndexError):
        raise ValueError(
            "`input_shape` must be a shape tuple ending in the number of features, or that "
            f"number. Received: input_shape={input_shape!r}"
        ) from None
    return v.positive_int("features", features)


class Layer:
    """Base layer.

    Subclasses set ``weight_names()`` (Keras order) and ``weight_shapes()`` (after build) and
    implement ``build(input_shape)`` and ``call``.  ``get_config()`` returns the constructor
    arguments; ``from_config`` is ``cls(**config)``.
    """

    #: Set to True by layers that accept and propagate a mask (Keras's ``supports_masking``).
    supports_masking = False
    #: True for layers whose ``build(input_shape)`` takes the whole input shape (batch first)
    #: and records it as ``build_input_shape``: the bridge then builds a twin from the shape
    #: its Keras counterpart was built for (``get_build_config()``), and the reverse.
    builds_from_shape = False
    #: The input shape (batch first, None for unknown sizes) of the last ``build``, for layers
    #: with ``builds_from_shape``.
    build_input_shape: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # One place where layers meet graphs: every class's own ``__call__`` is wrapped so that
        # a call on symbolic tensors builds a graph node (numpy_rnn.graph.symbolic) and a call
        # on arrays runs as written.
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is not None and not getattr(call, "_graph_aware", False):
            cls.__call__ = _graph_aware(call)

    def __init__(self, *, name: str | None = None, dtype: Any = "float32", seed: int | None = None,
                 trainable: bool = True) -> None:
        self.dtype = v.float_dtype("dtype", dtype)
        self.seed = v.seed("seed", seed)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string or None. Received: name={name!r}")
        self.name = name or auto_name(type(self).__name__)
        self.trainable = v.boolean("trainable", trainable)
        self.built = False
        self._rng = np.random.default_rng(self.seed)

    # -- weights -------------------------------------------------------------------------
    #: Attribute names any layer may use for its weights; ``__getattr__`` materialises them.
    #: A layer whose weights have other names extends it in its own class
    #: (``_WEIGHT_ATTRS = Layer._WEIGHT_ATTRS | {"gamma", "beta"}``).
    _WEIGHT_ATTRS = frozenset({"kernel", "recurrent_kernel", "bias", "embeddings"})

    def weight_names(self) -> list[str]:
        """Names of this layer's weights in Keras's order (empty for weightless layers)."""
        return []

    def trainable_weight_names(self) -> list[str]:
        """The weights an optimizer updates (Keras's ``trainable_weights``), in
        ``weight_names()`` order: all of them, unless the layer keeps statistics of its own
        (BatchNormalization's moving mean and variance, which its training calls move)."""
        return self.weight_names()

    def weight_shapes(self) -> dict[str, tuple]:
        """Expected shape of each weight; only meaningful once built."""
        return self._shapes_for(getattr(self, "features", None))

    def _shapes_for(self, features: int | None) -> dict[str, tuple]:
        """The weight shapes for an input size ``features`` (layers with weights override)."""
        return {}

    def _initial_weights(self, features: int | None) -> dict[str, np.ndarray]:
        """Fresh initial weights drawn from the layer's generator (layers with weights override)."""
        return {}

    def __getattr__(self, name: str) -> Any:
        # Only reached when ``name`` is not an instance attribute: a built layer whose weights
        # were never set is given its initial weights on the first read, so that a layer built
        # only to receive weights (set_weights, bundles, .keras files) never allocates them.
        if name in type(self)._WEIGHT_ATTRS and self.__dict__.get("built") and \
                name in self.weight_names():
            self._materialise()
            return self.__dict__[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _materialise(self) -> None:
        """Create the initial weights that were not set yet (all drawn, in the same order, so a
        seed gives the same weights however they are first reached; one thread at a time)."""
        with _MATERIALISE_LOCK:
            missing = [n for n in self.weight_names() if n not in self.__dict__]
            if not missing:
                return
            fresh = self._initial_weights(getattr(self, "features", None))
            for name in missing:
                self.__dict__[name] = fresh[name]

    def _drop_weights(self) -> None:
        """Forget the weights (a new build draws them afresh on first use)."""
        for name in type(self)._WEIGHT_ATTRS:
            self.__dict__.pop(name, None)

    @property
    def weights(self) -> list[np.ndarray]:
        return [getattr(self, n) for n in self.weight_names()] if self.built else []

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in Keras's order (``keras_layer.get_weights()`` order)."""
        return [w.copy() for w in self.weights]

    def _features_from_weights(self, weights: list[np.ndarray]) -> int | None:
        """The input size an unbuilt layer would get from ``weights`` (layers override if
        possible); raises ValueError, changing nothing."""
        raise ValueError(
            f"Layer '{self.name}' is not built yet, so it cannot take weights. Call it on an "
            f"input (or call build) first. Received: {len(weights)} weight(s)"
        )

    def build_from_weights(self, weights: list[np.ndarray]) -> None:
        """Build an unbuilt layer from the shapes of ``weights`` (no weights are allocated)."""
        self.build(self._features_from_weights(list(weights)))

    def _prepare_weights(self, weights: Any) -> Any:
        """Check ``weights`` completely (type, count, every shape) and cast them, changing
        nothing; ``_commit_weights`` of the result then installs them and cannot fail."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(
                f"`weights` must be a list of arrays. Received: {type(weights).__name__}"
            )
        arrays = [v.numeric_array(f"weights[{i}]", w) for i, w in enumerate(weights)]
        names = self.weight_names()
        if len(arrays) != len(names):
            raise ValueError(
                f"Layer '{self.name}' expected {len(names)} weights {names}, "
                f"but received {len(arrays)} weight(s)."
            )
        features = getattr(self, "features", None)
        if not self.built:
            features = self._features_from_weights(arrays)
        shapes = self._shapes_for(features)
        for name, arr in zip(names, arrays):
            if tuple(arr.shape) != tuple(shapes[name]):
                raise ValueError(
                    f"Weight `{name}` of layer '{self.name}' must have shape {tuple(shapes[name])}. "
                    f"Received: shape {tuple(arr.shape)}"
                )
        cast = {name: np.array(arr, dtype=self.dtype) for name, arr in zip(names, arrays)}
        return features, cast

    def _commit_weights(self, prepared: Any) -> None:
        features, cast = prepared
        if not self.built:
            self.features = features
            self.built = True
        self.__dict__.update(cast)

    def set_weights(self, weights: list) -> None:
        """Set the weights from a list of arrays in Keras's order, checking count and shapes.

        All or nothing: a call that raises leaves the layer exactly as it was. An unbuilt layer
        is built from the weights' shapes without drawing initial weights first."""
        self._commit_weights(self._prepare_weights(weights))

    @property
    def count_params(self) -> int:
        if not self.built:
            return 0
        shapes = self.weight_shapes()
        return int(sum(int(np.prod(shapes[n], dtype=np.int64)) for n in self.weight_names()))

    # -- all-or-nothing calls ------------------------------------------------------------------
    def _snapshot(self) -> tuple:
        """Everything a call may change (attributes are replaced, never mutated in place,
        except the generator, whose state is saved)."""
        return dict(self.__dict__), self._rng.bit_generator.state

    def _restore(self, snapshot: tuple) -> None:
        attrs, rng_state = snapshot
        self.__dict__.clear()
        self.__dict__.update(attrs)
        self._rng.bit_generator.state = rng_state

    # -- training: the backward protocol ------------------------------------------------------
    #: What the last ``training=True`` call kept for ``backward`` (None: nothing recorded).
    _record: Any = None
    #: After ``backward``: one gradient per weight, aligned with ``get_weights()`` (layer dtype).
    gradients: list[np.ndarray] | None = None
    #: After ``backward``: gradients aligned with the call's ``initial_state`` (None if it had none).
    state_gradients: list[np.ndarray] | None = None

    def backward(self, grad_output: Any) -> Any:
        """dLoss/d(input of the last ``training=True`` call), given ``grad_output`` =
        dLoss/d(what that call returned); also sets ``gradients`` (and ``state_gradients``).
        Raises RuntimeError, naming the layer, when no training call was recorded."""
        if self._record is None:
            raise RuntimeError(
                f"Layer '{self.name}' has no recorded call to differentiate: call it with "
                "`training=True` before `backward`."
            )
        return self._backward(self._record, grad_output)

    def _backward(self, record: Any, grad_output: Any) -> Any:
        """The layer's backward pass from what its training call recorded (layers override)."""
        raise NotImplementedError(f"Layer '{self.name}' ({type(self).__name__}) has no backward pass.")

    def _grad_output(self, grad_output: Any, shape: tuple, name: str = "grad_output") -> np.ndarray:
        """``grad_output`` checked (a float array of ``shape``) and cast to the layer dtype:
        TypeError for a non-float array, ValueError for the wrong shape, both naming ``name``."""
        g = v.numeric_array(name, grad_output)
        if not np.issubdtype(g.dtype, np.floating):
            raise TypeError(
                f"`{name}` of layer '{self.name}' must be a float array (a gradient). "
                f"Received: {name} with dtype {g.dtype}"
            )
        if g.shape != tuple(shape):
            raise ValueError(
                f"`{name}` of layer '{self.name}' must have the shape of the output of the "
                f"recorded call, {tuple(shape)}. Received: {name} with shape {g.shape}"
            )
        return g.astype(self.dtype, copy=False)

    # -- regularization: Keras's weight regularizers and activity penalties (training only) ----
    #: ``{constructor argument: (weight name, regularizer or None)}``, set by ``_set_regularizers``
    #: in layers that take ``*_regularizer`` arguments (Keras's ``add_weight(regularizer=...)``).
    _regularizer_args: dict = {}
    #: The penalties the last call added (Keras's activity regularization, ``add_loss``): 0-d
    #: arrays in the layer dtype; set by layers that compute one (ActivityRegularization).
    _activity_losses: tuple = ()

    def _set_regularizers(self, args: dict) -> None:
        """``{"kernel_regularizer": ("kernel", identifier), ...}``: each identifier read by
        ``numpy_rnn.regularizers.get`` (a Keras name, a serialized dict, an instance or None)."""
        self._regularizer_args = {arg: (weight, _regularizers.get(value, arg))
                                  for arg, (weight, value) in args.items()}

    def _regularizer_config(self) -> dict:
        """The ``*_regularizer`` arguments as Keras serializes them (None when unset)."""
        return {arg: _regularizers.serialize(reg)
                for arg, (_, reg) in self._regularizer_args.items()}

    def weight_regularizers(self) -> list:
        """The regularizer of each weight (None where it has none), aligned with
        ``get_weights()``."""
        by_weight = {w: reg for w, reg in self._regularizer_args.values() if reg is not None}
        return [by_weight.get(n) for n in self.weight_names()]

    def weight_penalties(self) -> list[np.ndarray]:
        """The penalty of every regularized weight, in weight order (Keras's
        ``_get_regularization_losses``: trainable weights only)."""
        if not (self.trainable and self.built):
            return []
        return [reg(w) for w, reg in zip(self.weights, self.weight_regularizers())
                if reg is not None]

    @property
    def losses(self) -> list[np.ndarray]:
        """Keras's ``layer.losses``: the activity penalties of the last call, then the
        penalty of every regularized trainable weight."""
        return list(self._activity_losses) + self.weight_penalties()

    def _activity_gradient(self) -> np.ndarray | None:
        """d(sum of the last call's activity penalties) / d(the call's output), or None."""
        return None

    # -- config ----------------------------------------------------------------------------
    def _base_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                "trainable": self.trainable}

    def get_config(self) -> dict:
        return self._base_config()

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict. Received: {type(config).__name__}")
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"

    def _cast_input(self, name: str, x: Any) -> np.ndarray:
        return v.numeric_array(name, x, self.dtype)
