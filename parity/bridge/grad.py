"""``compare_gradients``: a numpy_rnn backward pass against its Keras twin's, differentiated by the
backend's own autodiff (``tf.GradientTape``, ``jax.grad``, ``torch.autograd``; ``parity.bridge.backend``).

Both sides differentiate the same scalar: with ``loss=None`` the sum of every element of every
output the call returns (each returned state included), else ``loss(targets, output)`` with the
same loss on both sides (a ``numpy_rnn.losses`` name or instance; Keras gets the class of the same
name with the same ``from_logits`` and dtype, and applies the output mask as its ``Loss`` does).

The NumPy side runs the call with ``training=True`` and ``backward``; the Keras side follows
spec/keras-semantics.md section 4 (the inputs and initial states are watched tensors, the weights
are the layer's variables).  One report row per weight gradient (``d kernel``; in a model
``d lstm/kernel``), one for the input (none for integer ids) and one per initial state
(``d initial_state[i]``), each compared with the ``"gradient"`` tolerance of
``numpy_rnn.testing.TABLE``: relative to the largest Keras element of that gradient.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

import numpy_rnn
from numpy_rnn import losses
from numpy_rnn.testing import lookup

from .. import report as _report  # diff_arrays looked up there: a swapped checker is seen
from ..report import OutputDiff, ParityReport, notify, wants_exact
from . import deviations
from .autodiff import keras_gradients, keras_loss, keras_variables
from .calling import as_list as _as_list
from .float64 import as_float64, keras_float64_copy
from .grad_checks import graph_targets, random_layers
from .run import attach_float64

__all__ = ["compare_gradients", "gradient_comparison", "GradientComparison", "keras_gradients",
           "keras_variables", "keras_weight_name", "pair_layers", "numpy_loss", "keras_loss",
           "is_model", "GradientSides", "exact_gradients"]


def is_model(obj: Any) -> bool:
    """True for a ``numpy_rnn.Sequential`` or a Keras model (a stack of layers)."""
    return isinstance(obj, numpy_rnn.Sequential) or type(obj).__name__ in (
        "Sequential", "Functional", "Model")


def keras_weight_name(layer: Any, variable: Any) -> str:
    """A Keras variable's name inside ``layer``: ``kernel``, or ``forward_gru/kernel`` in a
    Bidirectional (the ``*_cell`` level of a recurrent layer's path is left out)."""
    parts = str(getattr(variable, "path", variable.name)).split(":")[0].split("/")
    if layer.name in parts:
        parts = parts[parts.index(layer.name) + 1:]
    kept = [p for p in parts if not p.endswith("_cell")]
    return "/".join(kept) or parts[-1]


def numpy_loss(loss: Any, dtype: Any) -> Any:
    """A ``numpy_rnn.losses`` instance from a Keras loss name (computed in ``dtype``, the
    outputs' dtype) or an instance (kept as it is)."""
    if isinstance(loss, str):
        made = losses.get(loss)
        return type(made).from_config({**made.get_config(), "dtype": np.dtype(dtype).name})
    if not (callable(loss) and callable(getattr(loss, "gradient", None))):
        raise TypeError("`loss` must be None, a Keras loss name (e.g. \"mse\") or a "
                        f"numpy_rnn.losses instance. Received: loss={loss!r}")
    return loss


def pair_layers(np_obj: Any, keras_obj: Any, what: str = "compare_gradients"
                ) -> tuple[bool, list[tuple[Any, Any]], list[str]]:
    """``(is a model, [(numpy layer, keras layer)], weight names)`` after checking that both
    sides have the same layers with weights of the same shapes and nothing random while
    training.  Names: ``kernel`` for a layer, ``lstm/kernel`` in a model, in ``get_weights``
    order."""
    model = is_model(np_obj)
    if model != is_model(keras_obj):
        raise ValueError(
            f"{what}: `np_obj` and `keras_obj` must both be layers or both be models. "
            f"Received: np_obj={type(np_obj).__name__}, keras_obj={type(keras_obj).__name__}")
    dropped = random_layers(np_obj)
    if dropped:
        raise ValueError(
            f"{what}: layer(s) {dropped} drop units at random while training (dropout > 0) "
            "or add noise at random; the two sides would draw different masks. Compare with "
            "rate 0.")
    if isinstance(np_obj, numpy_rnn.Model):
        return True, [(np_obj, keras_obj)], _graph_weight_names(np_obj, keras_obj, what)
    if model:
        n_layers = list(np_obj.layers)  # a Functional chain lists its InputLayer: not a twin
        k_layers = [lay for lay in keras_obj.layers if type(lay).__name__ != "InputLayer"]
        if len(n_layers) != len(k_layers):
            raise ValueError(
                f"{what}: the models differ: numpy model '{np_obj.name}' has {len(n_layers)} "
                f"layers {[lay.name for lay in n_layers]}, keras model '{keras_obj.name}' has "
                f"{len(k_layers)} {[lay.name for lay in k_layers]}")
        pairs = list(zip(n_layers, k_layers))
    else:
        pairs = [(np_obj, keras_obj)]
    names: list[str] = []
    for n_layer, k_layer in pairs:
        if not k_layer.built:
            raise ValueError(f"{what}: Keras layer '{k_layer.name}' is not built: call it on an "
                             "input first")
        n_shapes = [tuple(w.shape) for w in n_layer.get_weights()]
        k_vars = list(k_layer.weights)
        k_shapes = [tuple(v.shape) for v in k_vars]
        if n_shapes != k_shapes:
            raise ValueError(
                f"{what}: layer '{n_layer.name}' has weights of shapes {n_shapes} in numpy but "
                f"'{k_layer.name}' has {k_shapes} in keras; copy the weights with "
                "parity.from_keras / parity.to_keras")
        prefix = f"{k_layer.name}/" if model else ""
        names += [prefix + keras_weight_name(k_layer, v) for v in k_vars]
    return model, pairs, names


def _graph_weight_names(np_model: Any, keras_model: Any, what: str) -> list[str]:
    """A functional model's weight names (``layer/weight``, in ``get_weights()`` order) after
    checking that the Keras model holds weights of the same shapes in the same order."""
    n_shapes = [tuple(w.shape) for w in np_model.get_weights()]
    k_shapes = [tuple(v.shape) for v in keras_model.weights]
    if n_shapes != k_shapes:
        raise ValueError(
            f"{what}: model '{np_model.name}' has weights of shapes {n_shapes} in numpy but "
            f"'{keras_model.name}' has {k_shapes} in keras; copy the weights with "
            "parity.from_keras / parity.to_keras")
    return np_model.weight_names()


def _graph_numpy_side(model: Any, inputs: Any, targets: Any, loss: Any) -> tuple:
    """A functional model's own training forward and backward through its graph."""
    xs = model._standardize_inputs(inputs)
    outs, out_masks = model._forward(xs, training=True)
    if loss is None:
        grads = [np.ones_like(o) for o in outs]
    else:
        ys = graph_targets(targets, len(outs))
        grads = [np.zeros_like(o) if y is None else loss.gradient(y, o, mask=m)
                 for y, o, m in zip(ys, outs, out_masks)]
    dx = model._backward(model._record, grads if len(grads) > 1 else grads[0])
    dx = list(dx) if isinstance(dx, (list, tuple)) else [dx]
    floats = [d for d, x in zip(dx, xs) if x.dtype.kind == "f"]
    return list(model.gradients or []), (floats if len(xs) > 1 else (floats or [None])[0]), []


class GradientSides:
    """The two gradient computations and the row names; :func:`compare_gradients` joins them."""

    def __init__(self, np_obj: Any, keras_obj: Any) -> None:
        self.np_obj, self.keras_obj = np_obj, keras_obj
        self.model, self.pairs, names = pair_layers(np_obj, keras_obj)
        self.names = [f"d {name}" for name in names]

    # -- NumPy ------------------------------------------------------------------------------
    def numpy_side(self, inputs: Any, targets: Any, loss: Any, mask: Any, initial_state: Any,
                   call_kwargs: dict) -> tuple[list, Any, list]:
        """``(weight gradients, input gradient or None, initial-state gradients)``."""
        if isinstance(self.np_obj, numpy_rnn.Model):
            return _graph_numpy_side(self.np_obj, inputs, targets, loss)
        kwargs = dict(call_kwargs, training=True)
        if mask is not None:
            kwargs["mask"] = mask
        if initial_state is not None:
            kwargs["initial_state"] = initial_state
        out_mask = None
        forward = getattr(self.np_obj, "_forward", None)
        if self.model and forward is not None and set(kwargs) == {"training"}:
            # the model's own training forward (what train_on_batch runs): it also gives the
            # output mask the loss applies
            out, out_mask = forward(np.asarray(inputs), training=True)
        else:
            out = self.np_obj(inputs, **kwargs)
            if (not self.model and mask is not None and not isinstance(mask, (list, tuple))
                    and isinstance(out, np.ndarray) and out.ndim == 3):
                out_mask = np.asarray(mask, bool)  # a sequence output carries the input mask
        outs = _as_list(out)
        if loss is None:
            grads = [np.ones_like(o) for o in outs]
            grad = grads if isinstance(out, (list, tuple)) else grads[0]
        else:
            if len(outs) != 1:
                raise ValueError(f"compare_gradients: `loss` needs a single output; the call "
                                 f"returned {len(outs)}")
            grad = loss.gradient(targets, outs[0], mask=out_mask)
        if self.model:
            for layer in reversed(self.np_obj.layers):
                grad = layer.backward(grad)
            weights = [g for layer in self.np_obj.layers for g in (layer.gradients or [])]
            states: list = []
        else:
            grad = self.np_obj.backward(grad)
            weights = list(self.np_obj.gradients or [])
            states = list(self.np_obj.state_gradients or []) if initial_state is not None else []
        return weights, grad, states

    def keras_side(self, inputs: Any, targets: Any, loss: Any, mask: Any, initial_state: Any,
                   call_kwargs: dict) -> tuple[list, Any, list]:
        """The same three from the backend's autodiff (:func:`keras_gradients`)."""
        return keras_gradients(self.keras_obj, inputs, targets=targets, loss=loss, mask=mask,
                               initial_state=initial_state, call_kwargs=call_kwargs)


def _weight_owners(layer: Any) -> list[tuple[Any, str]]:
    """``(leaf layer, its own weight name)`` for every entry of ``layer.get_weights()``: models
    (functional or Sequential) walked down to the layers that hold the weights, so that a
    weight inside a nested model or a user's block is seen by the layer that made it."""
    if isinstance(layer, numpy_rnn.Model):
        subs = layer._weight_layers()
    elif isinstance(layer, numpy_rnn.Sequential):
        subs = layer.layers
    else:
        return [(layer, n) for n in layer.weight_names()]
    return [owner for sub in subs for owner in _weight_owners(sub)]


def _vanishing_scales(sides: GradientSides, k_w: list, atol_fraction: float) -> dict[str, float]:
    """Row name -> the scale its atol is a fraction of, for gradients a layer declares zero in
    exact arithmetic (``vanishing_gradients``: MultiHeadAttention's key bias, which moves every
    score of a query row alike and so leaves the softmax unchanged): both sides are rounding
    noise around 0, measured on the scale of the named gradient whose terms are of the same size
    (the key kernel's) instead of on their own max|noise|, or, where the layer reports the
    terms it summed (``vanishing_gradient_terms``) and that is larger, within the rounding
    bound of that sum, ``n * eps * sum|terms|`` (``atol_fraction``: the row's atol, a fraction
    of the scale returned).  Every leaf layer is asked, however deep (a layer of a nested model
    or of a user's registered block included)."""
    owners = [o for n_layer, _ in sides.pairs for o in _weight_owners(n_layer)]
    if len(owners) != len(sides.names):  # a layer shared across nesting levels: no rule
        return {}
    row = {(id(leaf), local): i for i, (leaf, local) in enumerate(owners)}
    out: dict[str, float] = {}
    for i, (leaf, local) in enumerate(owners):
        reference = getattr(leaf, "vanishing_gradients", {}).get(local)
        j = row.get((id(leaf), reference))
        if reference is None or j is None or j >= len(k_w):
            continue
        scale = float(np.max(np.abs(k_w[j]))) if np.size(k_w[j]) else 0.0
        terms = getattr(leaf, "vanishing_gradient_terms", {}).get(local)
        if terms is not None and atol_fraction > 0:
            # the rounding bound of a sum of n terms that is 0 exactly: n * eps * sum|terms|
            # (in the weight's dtype), as an absolute atol: atol_fraction * scale
            abs_sum, n = terms
            eps = float(np.finfo(np.dtype(getattr(leaf, "dtype", "float32"))).eps)
            bound = n * eps * float(np.max(abs_sum)) if np.size(abs_sum) else 0.0
            scale = max(scale, bound / atol_fraction)
        out[sides.names[i]] = scale
    return out


def _row(name: str, actual: Any, expected: np.ndarray, want_dtype: Any, rtol, atol,
         scale: float | None = None) -> OutputDiff:
    """One gradient row; a missing gradient, or one not in the dtype of what it differentiates,
    fails the row whatever its values.  ``scale``: what atol is a fraction of (default
    max|expected|)."""
    if actual is None:
        d = _report.diff_arrays(name, np.full(expected.shape, np.nan), expected, kind="gradient")
        d.passed, d.note = False, "numpy gave no gradient (None)"
        return d
    actual = np.asarray(actual)
    d = _report.diff_arrays(name, actual, expected, kind="gradient", rtol=rtol, atol=atol,
                            scale=scale)
    if scale is not None:
        d.note = (d.note + "; " if d.note else "") + (
            f"zero in exact arithmetic: atol is a fraction of {scale:.3g} (see "
            "vanishing_gradients, vanishing_gradient_terms)")
    if want_dtype is not None and actual.dtype != np.dtype(want_dtype):
        d.passed = False
        d.note = (d.note + "; " if d.note else "") + (
            f"numpy gradient is {actual.dtype}, expected {np.dtype(want_dtype)} (the dtype of "
            "what it differentiates)")
    return d


@dataclasses.dataclass
class GradientComparison:
    """What :func:`gradient_comparison` measured: the report, the loss both sides used and
    each side's ``(weight gradients, input gradient, initial-state gradients)`` (the row order
    of the report: weights, inputs when floating, states)."""

    report: ParityReport
    loss: Any
    numpy: tuple
    keras: tuple


def compare_gradients(np_obj: Any, keras_obj: Any, inputs: Any, *, targets: Any = None,
                      loss: Any = None, mask: Any = None, initial_state: Sequence | None = None,
                      case: str | None = None, rtol: float | None = None,
                      atol: float | None = None, **call_kwargs: Any) -> ParityReport:
    """Gradients of a numpy_rnn layer or ``Sequential`` against its Keras twin's.

    Args:
        np_obj, keras_obj: a layer and its Keras twin, or a ``numpy_rnn.Sequential`` and a Keras
            model, with the same weights (``parity.from_keras`` / ``parity.to_keras``).
        inputs: ``(batch, ...)`` floats, or integer ids for an Embedding.
        targets, loss: with ``loss=None`` the scalar is the sum of every output element (every
            returned state included); else ``loss(targets, output)``, ``loss`` a Keras loss name
            (computed in the outputs' dtype) or a ``numpy_rnn.losses`` instance.  A functional
            model with several outputs takes a list of targets, one per output (None: that
            output adds nothing), and the scalar is the sum of the losses.
        mask, initial_state, **call_kwargs: passed to both calls (layers only for the first two).
        case: the report's name; rtol / atol: override the table's ``"gradient"`` entry
            (``atol`` is then a fraction of max|Keras gradient| too).

    Returns:
        A :class:`ParityReport`: ``d <weight>`` for every weight (model: ``d <layer>/<weight>``,
        in model order), ``d inputs`` for float inputs and ``d initial_state[i]`` per state.

    Raises:
        ValueError: layers against a model, models of different layers or weight shapes,
            dropout > 0, ``loss`` on a layer's several outputs (or on a graph's without a
            list of targets), or ``targets`` without ``loss``.
        TypeError: ``loss`` is neither a name nor a loss instance.
    """
    result = gradient_comparison(np_obj, keras_obj, inputs, targets=targets, loss=loss,
                                 mask=mask, initial_state=initial_state, case=case, rtol=rtol,
                                 atol=atol, **call_kwargs)
    notify(result.report)
    return result.report


def gradient_comparison(np_obj: Any, keras_obj: Any, inputs: Any, *, targets: Any = None,
                        loss: Any = None, mask: Any = None, initial_state: Sequence | None = None,
                        case: str | None = None, rtol: float | None = None,
                        atol: float | None = None, **call_kwargs: Any) -> GradientComparison:
    """:func:`compare_gradients` without notifying observers, keeping both sides' gradients."""
    case = case or f"gradients {type(np_obj).__name__} vs {type(keras_obj).__name__}"
    if targets is not None and loss is None:
        raise ValueError("compare_gradients: `targets` given without `loss`; pass loss= (e.g. "
                         "\"mse\") or leave both out to differentiate the sum of the outputs")
    if loss is not None and targets is None:
        raise ValueError("compare_gradients: `loss` needs `targets` (the y_true of the loss)")
    sides = GradientSides(np_obj, keras_obj)
    if sides.model and (mask is not None or initial_state is not None):
        raise ValueError("compare_gradients: `mask` and `initial_state` apply to a layer; a "
                         "model makes its masks from its inputs (Embedding(mask_zero=True), "
                         "Masking)")
    np_loss = None
    if loss is not None and isinstance(np_obj, numpy_rnn.Model):
        np_loss = numpy_loss(loss, np_obj.outputs[0].dtype)
    elif loss is not None:
        dtype = np_obj.layers[-1].dtype if sides.model else np_obj.dtype
        np_loss = numpy_loss(loss, dtype)
    k_w, k_x, k_s = sides.keras_side(inputs, targets, np_loss, mask, initial_state, call_kwargs)
    n_w, n_x, n_s = sides.numpy_side(inputs, targets, np_loss, mask, initial_state, call_kwargs)
    weights = [w for n_layer, _ in sides.pairs for w in n_layer.get_weights()]
    rows = []
    if len(n_w) != len(k_w):
        rows.append(_count_row("weight gradients", len(n_w), len(k_w)))
    w_dtype = weights[0].dtype if weights else np.dtype("float32")
    atol_fraction = lookup(w_dtype.name, "gradient").atol if atol is None else float(atol)
    scales = _vanishing_scales(sides, k_w, atol_fraction)
    for name, a, e, w in zip(sides.names, n_w, k_w, weights):
        rows.append(_row(name, a, e, w.dtype, rtol, atol, scales.get(name)))
    layer_dtype = getattr(sides.pairs[0][0], "dtype", None)  # what the inputs are cast to
    if isinstance(np_obj, numpy_rnn.Model):
        floats = [t for t in np_obj.inputs if np.dtype(t.dtype).kind == "f"]
        n_list = n_x if isinstance(n_x, list) else [n_x]
        k_list = k_x if isinstance(k_x, list) else [k_x]
        for t, a, e in zip(floats, n_list, k_list):
            name = "d inputs" if len(np_obj.inputs) == 1 else f"d inputs['{t.name}']"
            rows.append(_row(name, a, e, t.dtype, rtol, atol))
    elif isinstance(k_x, list):  # one row per input of a multi-input layer
        n_xs = list(n_x) if isinstance(n_x, (list, tuple)) else [n_x] * len(k_x)
        if len(n_xs) != len(k_x):
            rows.append(_count_row("input gradients", len(n_xs), len(k_x)))
        for i, (a, e) in enumerate(zip(n_xs, k_x)):
            rows.append(_row(f"d inputs[{i}]", a, e, layer_dtype, rtol, atol))
    elif k_x is not None:
        rows.append(_row("d inputs", n_x, k_x, layer_dtype, rtol, atol))
    if len(n_s) != len(k_s):
        rows.append(_count_row("initial-state gradients", len(n_s), len(k_s)))
    for i, (a, e) in enumerate(zip(n_s, k_s)):
        rows.append(_row(f"d initial_state[{i}]", a, e, layer_dtype, rtol, atol))
    report = deviations.excuse(ParityReport(case, rows), mask=mask, initial_state=initial_state,
                               float64=any(w.dtype == np.float64 for w in weights))
    if wants_exact():  # the drift report's referee pass: the float64 gradients
        def exact() -> list:
            e_w, e_x, e_s = exact_gradients(keras_obj, inputs, targets=targets, loss=np_loss,
                                            mask=mask, initial_state=initial_state,
                                            call_kwargs=call_kwargs)
            by_name = dict(zip(sides.names, e_w))
            by_name.update({"d inputs": e_x},
                           **{f"d initial_state[{i}]": s for i, s in enumerate(e_s)})
            return [by_name.get(d.name) for d in report.outputs]

        attach_float64(report, exact)
    return GradientComparison(report, np_loss, (n_w, n_x, n_s), (k_w, k_x, k_s))


def exact_gradients(keras_obj: Any, inputs: Any, *, targets: Any = None, loss: Any = None,
                    mask: Any = None, initial_state: Any = None,
                    call_kwargs: dict | None = None) -> tuple[list, Any, list]:
    """:func:`keras_gradients` of the same Keras object rebuilt in float64 (inputs, targets,
    states and the loss in float64 too): what the float64 referees judge by."""
    several = isinstance(inputs, (list, tuple))  # a multi-input layer's [query, value, ...]
    x = [np.asarray(i) for i in inputs] if several else np.asarray(inputs)
    twin = keras_float64_copy(keras_obj, x)
    loss64 = None
    if loss is not None:
        loss64 = type(loss).from_config({**loss.get_config(), "dtype": "float64"})
    return keras_gradients(twin, as_float64(x), targets=as_float64(targets), loss=loss64,
                           mask=mask, initial_state=as_float64(initial_state),
                           call_kwargs={k: as_float64(v) for k, v in (call_kwargs or {}).items()})


def _count_row(what: str, got: int, expected: int) -> OutputDiff:
    return OutputDiff(what, (expected,), "-", float("inf"), float("inf"), float("inf"), (),
                      float("nan"), float("nan"), 0.0, 0.0, False,
                      note=f"numpy gave {got} {what}, keras {expected}")
