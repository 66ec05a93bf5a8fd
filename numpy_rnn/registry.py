"""Users' own layers: the NumPy twin of a Keras layer the user wrote, registered by its Keras name.

A Keras model that uses a layer class of its user's (``@keras.saving.register_keras_serializable(
package="my_package") class TransformerBlock(keras.layers.Layer)``) can still be ported when the
user says which numpy_rnn layer computes the same::

    import numpy_rnn

    def transformer_block(config):          # the Keras layer's get_config()
        return MyNumpyBlock(units=config["units"], name=config["name"])

    numpy_rnn.register_layer("my_package>TransformerBlock", transformer_block)

``keras_name`` is the name Keras registered the class under (``"package>ClassName"``, what a
``.keras`` file stores as ``registered_name``), or the bare class name.  ``factory(config)``
returns a numpy_rnn layer (or a ``numpy_rnn.Model`` / ``Sequential`` built from numpy_rnn
layers) whose ``get_weights()`` follow the Keras layer's ``get_weights()`` order: the readers
(``.keras``, ``.h5``) and ``parity``'s bridge (``from_keras``) consult this registry for every
layer class the one table (``numpy_rnn.formats.keras_layers``) does not know, and copy the
weights in that order.  ``parity.compare`` / ``compare_gradients`` then prove the twin.

``weight_paths`` (optional) says where a ``.keras`` file keeps each weight of the layer,
relative to the layer's group in ``model.weights.h5``, in the twin's weight order (e.g.
``["dense/vars/0", "dense/vars/1", "norm/vars/0"]``); by default the layer's own ``vars/0, 1...``
come first, then every sub-layer's group in the order Keras saves them (attribute names, sorted
as Keras sorts them).  Legacy ``.h5`` files and live models need no paths: their weights come in
``get_weights()`` order.

A layer that is neither in the table nor registered is refused with an
:class:`~numpy_rnn.UnsupportedModelError` naming it and saying how to register a twin.
NumPy only: nothing here imports Keras.
"""
from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable

__all__ = ["register_layer", "unregister_layer", "registered_layers", "lookup",
           "Registration", "how_to_register"]

_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Registration:
    """One registered twin: the Keras name, the factory and (optionally) the weight paths."""

    keras_name: str
    factory: Callable[[dict], Any]
    weight_paths: tuple | None = None

    def make(self, config: dict) -> Any:
        """The numpy_rnn twin for one Keras config (``TypeError`` when the factory does not
        return a numpy_rnn layer or model)."""
        layer = self.factory(dict(config))
        if not (hasattr(layer, "weight_names") and hasattr(layer, "set_weights")
                and callable(layer)):
            raise TypeError(f"The factory registered for {self.keras_name!r} must return a "
                            "numpy_rnn layer (or Model / Sequential). Received: "
                            f"{type(layer).__name__}")
        name = config.get("name")
        if isinstance(name, str) and getattr(layer, "name", None) != name:
            layer.name = name  # the Keras layer's name, so the graph and the weights agree
        return layer


_REGISTRY: dict[str, Registration] = {}


def register_layer(keras_name: str, factory: Callable[[dict], Any], *,
                   weight_paths: Any = None) -> None:
    """Register ``factory`` as the maker of the NumPy twin of the Keras layer ``keras_name``.

    Args:
        keras_name: ``"package>ClassName"`` (``keras.saving.register_keras_serializable``'s
            name) or the class name.
        factory: ``factory(config) -> numpy_rnn layer``; ``config`` is the Keras layer's
            ``get_config()``.  The twin's weights follow the Keras layer's weight order.
        weight_paths: optional, where a ``.keras`` file keeps each weight (module docstring).

    Registering a name again replaces the earlier factory.

    Raises:
        TypeError: ``keras_name`` is not a non-empty string, ``factory`` is not callable, or
            ``weight_paths`` is not a list of strings.
    """
    if not isinstance(keras_name, str) or not keras_name.strip():
        raise TypeError("`keras_name` must be the Keras name of the layer ('package>ClassName' "
                        f"or 'ClassName'). Received: keras_name={keras_name!r}")
    if not callable(factory):
        raise TypeError("`factory` must be callable: factory(config) -> numpy_rnn layer. "
                        f"Received: factory={factory!r}")
    if weight_paths is not None:
        if isinstance(weight_paths, str) or not all(
                isinstance(p, str) and p for p in weight_paths):
            raise TypeError("`weight_paths` must be a list of paths (strings) inside the "
                            f"layer's weights group. Received: weight_paths={weight_paths!r}")
        weight_paths = tuple(weight_paths)
    with _LOCK:
        _REGISTRY[keras_name] = Registration(keras_name, factory, weight_paths)


def unregister_layer(keras_name: str) -> None:
    """Forget the twin registered under ``keras_name`` (nothing when there is none)."""
    with _LOCK:
        _REGISTRY.pop(keras_name, None)


def registered_layers() -> list[str]:
    """The registered Keras names, sorted."""
    with _LOCK:
        return sorted(_REGISTRY)


def lookup(class_name: Any, registered_name: Any = None) -> Registration | None:
    """The registration for a Keras layer config: by its ``registered_name`` first
    (``"package>ClassName"``), then by its class name; None when neither is registered."""
    with _LOCK:
        for key in (registered_name, class_name):
            if isinstance(key, str) and key in _REGISTRY:
                return _REGISTRY[key]
    return None


def how_to_register(class_name: Any, registered_name: Any = None) -> str:
    """The sentence an error adds for an unknown layer: how to register a twin for it."""
    name = registered_name if isinstance(registered_name, str) and registered_name else class_name
    return (f"to port it, register its NumPy twin: numpy_rnn.register_layer({name!r}, factory) "
            "with factory(config) returning a numpy_rnn layer whose weights follow the Keras "
            "layer's weight order (then prove it with parity.compare / compare_gradients)")
