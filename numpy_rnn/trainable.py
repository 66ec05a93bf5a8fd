"""The Keras training and lookup methods ``Sequential`` and the functional ``Model`` share
(``train_on_batch``, ``fit``, ``evaluate``, ``save``, ``get_layer``): one definition, the loops in
:mod:`numpy_rnn.fitting`.  Each model class keeps its own ``compile`` (a functional model takes a
loss per output and ``loss_weights``)."""
from __future__ import annotations

import importlib
from typing import Any

from . import fitting as _fit
from .naming import find_layer

__all__ = ["TrainingMethods"]


class TrainingMethods:
    """Mixed into ``Sequential`` and ``Model``."""

    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on the batch ``(x, y)``; returns the batch loss computed in the
        forward pass, before the update (Keras's value), with the compiled metrics of this
        batch as Keras returns them (``[loss, metrics...]``, a dict with ``return_dict``)."""
        return _fit.train_on_batch(self, x, y, sample_weight, return_dict)

    def fit(self, x: Any, y: Any, batch_size: int = 32, epochs: int = 1, shuffle: bool = True,
            verbose: Any = "auto", validation_data: Any = None, seed: int | None = None,
            validation_split: float = 0.0, sample_weight: Any = None, class_weight: Any = None,
            callbacks: Any = None, initial_epoch: int = 0) -> "_fit.History":
        """Train for ``epochs`` passes over ``(x, y)``; ``history.history["loss"]`` holds each
        epoch's loss (the batch losses' mean weighted by batch size, as Keras reports it) and
        ``"val_loss"`` with ``validation_data=(x_val, y_val)``; a model with several losses also
        ``<output>_loss`` per output.

        ``shuffle=True`` permutes the samples each epoch with ``numpy.random.default_rng(seed)``
        (deterministic for a ``seed``; Keras's own order cannot be reproduced, so compare with
        Keras using ``shuffle=False``).  ``verbose``: ``"auto"`` is 1, as Keras: a progress bar
        redrawn per batch on a terminal, the final line of each epoch elsewhere; 2 writes one
        line per epoch.  ``validation_split`` validates on the last fraction of the samples;
        ``sample_weight`` (one per sample) or ``class_weight`` ({class: weight}) weigh the loss;
        ``callbacks``: ``numpy_rnn.callbacks``; epochs run from ``initial_epoch``."""
        return _fit.fit(self, x, y, batch_size=batch_size, epochs=epochs, shuffle=shuffle,
                          verbose=verbose, validation_data=validation_data, seed=seed,
                          validation_split=validation_split, sample_weight=sample_weight,
                          class_weight=class_weight, callbacks=callbacks,
                          initial_epoch=initial_epoch)

    def evaluate(self, x: Any, y: Any, batch_size: int = 32, verbose: Any = "auto",
                 sample_weight: Any = None, return_dict: bool = False) -> Any:
        """The loss on ``(x, y)`` at inference: the batch losses' mean weighted by batch size;
        with compiled metrics ``[loss, metrics...]``; a dict by name with ``return_dict``."""
        return _fit.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                               sample_weight=sample_weight, return_dict=return_dict)

    def save(self, path: Any, **options: Any) -> str:
        """Write the model as a numpy_rnn bundle (``numpy_rnn.save(self, path, **options)``)
        that ``numpy_rnn.load(path)`` reads back; returns the path written."""
        return importlib.import_module("numpy_rnn.formats.bundle_write").save(self, path,
                                                                              **options)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        """The layer called ``name`` (or at ``index`` of ``layers``); ValueError otherwise."""
        return find_layer(self, name, index)
