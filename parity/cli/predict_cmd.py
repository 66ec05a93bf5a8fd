"""``numpy-rnn predict MODEL.npz``: run any bundle on inputs from the command line, a file or
stdin, and say what the outputs mean.

Inputs: ``--text "..."`` (repeatable) for a model that reads token ids and was bundled with its
vocabulary, or for a model that reads strings itself (a ``TextVectorization`` inside it); ``--input PATH`` (``-`` for stdin): a ``.npy`` array (never pickles), JSON (a list of
samples: numbers, nested lists, or strings for a text model), or text with one sample a line
(numbers separated by commas or spaces; for a text model, the line is the text).

What the outputs are read as (``--as`` overrides; the default is worked out from the model):

* ``next-word``: an ``Embedding -> ... -> Dense(softmax)`` model whose outputs cover its
  vocabulary, given ``--text``: the most likely next words (``--generate N`` continues the text);
* ``classes``: a softmax (or a sigmoid) output ``(batch, classes)``: the ``--top`` classes with
  their probabilities, named by the bundle's labels (``port --labels``) when it has them; a
  single sigmoid output is a binary classifier;
* ``values``: anything else ``(batch, ...)``: the numbers (a regressor, logits, a sequence).

A functional model (``numpy_rnn.Model``) with several inputs takes ``--input`` as a JSON
object (or an ``.npz``) holding one list of samples per input name; one with several outputs
shows each output under its name, each read as above (``--json``: ``"outputs"`` by name).

``--json`` prints one JSON document instead of the table.  Exit 0, or 2 with one line naming
what is wrong (a bundle that fails its check: 1).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

import numpy_rnn
from numpy_rnn import activations
from numpy_rnn import generate as nextword

from .common import EXIT_OK, EXIT_USAGE, int_at_least

__all__ = ["add_predict_command", "cmd_predict", "read_inputs", "output_kind"]

MODES = ("auto", "next-word", "classes", "values")


class PredictError(ValueError):
    """A usage problem: exit 2 with the message."""


def _err(message: str) -> int:
    print(f"numpy-rnn predict: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


# -- what the model is ----------------------------------------------------------------------------
def _is_graph(model: Any) -> bool:
    return isinstance(model, numpy_rnn.Model)


def input_shape(model: Any) -> tuple | None:
    """The shape of one sample (no batch axis) of the model's only input, or None."""
    if _is_graph(model):
        return tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else None
    return model.input_shape


def output_layers(model: Any) -> list:
    """The layer that makes each output (a Sequential's last layer)."""
    if _is_graph(model):
        return [t.node.layer for t in model.outputs]
    return [model.layers[-1]] if getattr(model, "layers", None) else [None]


def _last_activation(model: Any, layer: Any = None) -> str | None:
    """The name of the activation that makes the model's output (or ``layer``'s), when one
    layer states it."""
    if layer is None:
        layer = output_layers(model)[0]
    if layer is not None and hasattr(layer, "layers") and not hasattr(layer, "nodes"):
        layer = layer.layers[-1] if layer.layers else None  # a nested Sequential
    layer = getattr(layer, "layer", layer)  # a wrapper (TimeDistributed): its inner layer
    if layer is None:
        return None
    if type(layer).__name__ == "Softmax":
        return "softmax"
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    try:
        return activations.serialize(act)
    except (TypeError, ValueError):
        return None


def reads_text(model: Any) -> bool:
    """True when the model's first layer reads token ids (an Embedding); a functional model:
    when it has one integer input that an Embedding reads."""
    if _is_graph(model):
        if len(model.inputs) != 1 or np.dtype(model.inputs[0].dtype).kind not in "iu":
            return False
        return any(isinstance(n.layer, numpy_rnn.Embedding) for n in model.nodes
                   if not n.is_input and model.inputs[0] in n.input_tensors)
    return bool(getattr(model, "layers", None)) and isinstance(model.layers[0],
                                                               numpy_rnn.Embedding)


def reads_strings(model: Any) -> bool:
    """True for a functional model whose one input is text (a TextVectorization reads it)."""
    return _is_graph(model) and len(model.inputs) == 1 and model.inputs[0].dtype == "object"


def _is_next_word(model: Any, vocab: Any, labels: Any) -> bool:
    if _is_graph(model) or labels is not None or vocab is None or \
            nextword.next_word_problem(model) is not None:
        return False
    units = model.layers[-1].units
    covered = vocab.size if vocab.num_words is None else min(vocab.size, vocab.num_words)
    return units >= covered


def output_kind(model: Any, y: np.ndarray, labels: Any, layer: Any = None) -> str:
    """``"classes"`` or ``"values"`` for outputs ``y`` (batch first) of ``model`` (made by
    ``layer``, default the model's output layer)."""
    act = _last_activation(model, layer)
    if y.ndim >= 2 and (act == "softmax" or (act == "sigmoid") or labels is not None):
        return "classes"
    return "values"


# -- inputs ---------------------------------------------------------------------------------------
def _parse_lines(text: str, as_text: bool) -> list:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if as_text:
        return lines
    rows = []
    for i, line in enumerate(lines, 1):
        try:
            rows.append([float(tok) for tok in line.replace(",", " ").split()])
        except ValueError:
            raise PredictError(f"--input line {i} is not numbers separated by commas or spaces: "
                               f"{line[:60]!r}") from None
    return rows


def read_inputs(source: str, as_text: bool, stdin: Any = None,
                by_name: bool = False) -> list | np.ndarray | dict:
    """The samples of ``--input source`` (``-``: stdin): an array, or texts for a text model;
    ``by_name`` (a model with several inputs): a dict of samples by input name (a JSON object
    or an ``.npz``)."""
    if source == "-":
        data = (stdin if stdin is not None else sys.stdin).read()
    elif source.lower().endswith(".npz") and by_name:
        try:
            with np.load(source, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise PredictError(f"--input {source!r} is not a readable .npz: {exc}") from None
    elif source.lower().endswith(".npy"):
        try:
            return np.load(source, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise PredictError(f"--input {source!r} is not a readable .npy array: {exc}") from None
    else:
        try:
            with open(source, encoding="utf-8") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise PredictError(f"--input {source!r}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PredictError(f"--input {source!r} cannot be read as text: {exc}") from None
    stripped = data.lstrip()
    if stripped[:1] in ("[", "{", '"'):
        try:
            value = json.loads(data)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise PredictError(f"--input {source!r} looks like JSON but is not valid: "
                               f"{exc}") from None
        if isinstance(value, dict) and not by_name:
            raise PredictError(f"--input {source!r}: expected a JSON list of samples, received "
                               "an object")
        if by_name and not isinstance(value, dict):
            raise PredictError(f"--input {source!r}: the model has several inputs; expected a "
                               "JSON object with one list of samples per input name")
        if isinstance(value, dict):
            return value
        return value if isinstance(value, list) else [value]
    return _parse_lines(data, as_text)


def _text_batch(model: Any, vocab: Any, texts: list, padding: str) -> np.ndarray:
    if vocab is None:
        raise PredictError("the bundle has no vocabulary, so text cannot be turned into ids; "
                           "port the model with --vocabulary tokenizer.json")
    if not all(isinstance(t, str) for t in texts):
        raise PredictError("a text model takes texts (strings); received "
                           f"{[type(t).__name__ for t in texts if not isinstance(t, str)][:3]}")
    seqs = vocab.texts_to_sequences(texts)
    if not any(seqs):
        raise PredictError(f"none of the words of {texts[0]!r} are in the vocabulary "
                           f"({len(vocab.word_index)} words, e.g. {list(vocab.word_index)[:8]})")
    shape = input_shape(model)
    window = shape[0] if shape else None
    return numpy_rnn.pad_sequences(seqs, maxlen=window, padding=padding, truncating=padding)


def _array_batch(model: Any, samples: Any) -> Any:
    if _is_graph(model) and len(model.inputs) > 1:
        if not isinstance(samples, dict):
            raise PredictError(f"the model has {len(model.inputs)} inputs "
                               f"{model.input_names}; give --input as a JSON object or .npz "
                               "with one list of samples per input name")
        missing = [n for n in model.input_names if n not in samples]
        if missing:
            raise PredictError(f"--input lacks the model input(s) {missing}; it has "
                               f"{sorted(samples)}")
        return {t.name: _one_batch(samples[t.name], tuple(t.shape[1:]), t.name)
                for t in model.inputs}
    return _one_batch(samples, input_shape(model), None)


def _one_batch(samples: Any, want: tuple | None, name: str | None) -> np.ndarray:
    what = "--input samples" if name is None else f"--input samples of '{name}'"
    try:
        x = np.asarray(samples, dtype=np.float64)
    except (ValueError, TypeError):
        raise PredictError(f"{what} must be numbers of one shape (a rectangular "
                           "array)") from None
    if want is not None and x.ndim == len(want):  # one sample without its batch axis
        x = x[None]
    if want is not None and (x.ndim != len(want) + 1 or any(
            w is not None and w != d for w, d in zip(want, x.shape[1:]))):
        shape = "(n, " + ", ".join("?" if w is None else str(w) for w in want) + ")"
        raise PredictError(f"the model takes {'inputs' if name is None else repr(name)} of "
                           f"shape {shape}; received an array of shape {x.shape}")
    return x


# -- the command ----------------------------------------------------------------------------------
def _class_rows(p: np.ndarray, labels: list | None, top: int) -> list[dict]:
    if p.shape[-1] == 1:  # one sigmoid: a binary classifier
        names = labels or ["0", "1"]
        q = float(p[0])
        return [{"class": 1, "label": names[1], "probability": q},
                {"class": 0, "label": names[0], "probability": 1.0 - q}][:top]
    order = np.argsort(-p, kind="stable")[:top]
    return [{"class": int(i), "label": labels[i] if labels else str(int(i)),
             "probability": float(p[i])} for i in order]


def named_outputs(model: Any, y: Any) -> list[tuple[str, np.ndarray, Any]]:
    """``(name, array, layer)`` for each output of ``model.predict`` (one for a Sequential)."""
    if not _is_graph(model):
        return [("output", np.asarray(y), output_layers(model)[0])]
    flat = [y[k] for k in sorted(y)] if isinstance(y, dict) else (
        list(y) if isinstance(y, (list, tuple)) else [y])
    names = [t.node.layer.name if len(t.node.outputs) == 1 else
             f"{t.node.layer.name}[{t.index}]" for t in model.outputs]
    return [(n, np.asarray(a), lay) for n, a, lay in zip(names, flat, output_layers(model))]


def _rows(y: np.ndarray, kind: str, labels: Any, top: int) -> list[dict]:
    rows = []
    for i in range(y.shape[0]):
        if kind == "classes" and y.ndim == 2:
            rows.append({"sample": i, "top": _class_rows(y[i], labels, top)})
        elif kind == "classes":  # a sequence of class distributions: the best class per step
            flat = y[i].reshape(-1, y.shape[-1])
            best = [_class_rows(step, labels, 1)[0] for step in flat]
            rows.append({"sample": i, "shape": list(y.shape[1:-1]), "steps": best})
        else:
            rows.append({"sample": i, "shape": list(y.shape[1:]), "values": y[i].tolist()})
    return rows


def _print_rows(rows: list[dict], kind: str, texts: list | None) -> None:
    for row in rows:
        head = f"sample {row['sample']}"
        if texts is not None:
            head += f': "{texts[row["sample"]]}"'
        if kind == "classes" and "top" in row:
            print(head)
            width = max(len(r["label"]) for r in row["top"])
            for rank, r in enumerate(row["top"], 1):
                print(f"  {rank:>2}. {r['label']:<{width}}  {r['probability']:.4f}")
        elif kind == "classes":
            labels = " ".join(r["label"] for r in row["steps"])
            print(f"{head}: {labels}")
        else:
            values = np.asarray(row["values"])
            text = np.array2string(values, precision=6, threshold=64, max_line_width=96)
            print(f"{head} {tuple(row['shape'])}: {text}")


def _next_word(args: argparse.Namespace, model: Any, vocab: Any) -> int:
    text = args.text[0]
    ids = nextword.text_ids(vocab, text)
    if not ids:
        return _err(f"none of the words of --text {text!r} are in the vocabulary "
                    f"({len(vocab.word_index)} words, e.g. {list(vocab.word_index)[:8]})")
    n_words = int(nextword.predictable_words(model, vocab).sum())
    if not n_words:
        return _err("no output of the model corresponds to a vocabulary word")
    top = nextword.top_k_next(model, vocab, text, args.top)
    words = (nextword.generate(model, vocab, text, args.generate, args.temperature, args.seed)
             if args.generate else None)
    known = vocab.sequences_to_texts([ids])[0]
    if args.json:
        print(json.dumps({"bundle": args.bundle, "as": "next-word", "text": text,
                          "known": known, "top": [{"word": w, "probability": p}
                                                  for w, p in top],
                          "generated": words}))
        return EXIT_OK
    window = model.input_shape[0] if model.input_shape else None
    note = (f"last {window} of {len(ids)} known words" if window and len(ids) > window
            else f"{len(ids)} known word(s)" + (f", padded to {window}" if window and
                                                 len(ids) < window else ""))
    print(f'text: "{text}" -> "{known}" ({note})')
    print(f"top {len(top)} next words"
          + (f" (--top {args.top}, but the model can predict only {n_words} words):"
             if args.top > n_words else ":"))
    width = max(len(word) for word, _ in top)
    for rank, (word, p) in enumerate(top, 1):
        print(f"  {rank:>2}. {word:<{width}}  {p:.4f}")
    if words is not None:
        how = (f"sampled at temperature {args.temperature}, seed {args.seed}"
               if args.temperature and args.temperature > 0 else "greedy")
        print(f"generated ({how}): {known} {' '.join(words)}")
    return EXIT_OK


def cmd_predict(args: argparse.Namespace, open_bundle: Any) -> int:
    if not args.text and args.input is None:
        return _err("give the inputs: --text \"...\" (a text model) or --input FILE|- (see "
                    "numpy-rnn predict --help)")
    if args.text and args.input is not None:
        return _err("give either --text or --input, not both")
    bundle, code = open_bundle("predict", args.bundle, verify=not args.no_verify)
    if bundle is None:
        return code
    model, vocab, labels = bundle.model, bundle.vocabulary, bundle.labels
    try:
        texts = None
        if args.text:
            if not reads_text(model) and not reads_strings(model):
                raise PredictError("the bundle's model does not read token ids (its first "
                                   "layer is not an Embedding); give --input with numbers")
            if args.mode == "next-word" or (args.mode == "auto" and len(args.text) == 1
                                            and _is_next_word(model, vocab, labels)):
                why = nextword.next_word_problem(model)
                if why is not None:
                    raise PredictError(f"the bundle's model is not a next-word model: {why}")
                if vocab is None:
                    raise PredictError("the bundle has no vocabulary, so text cannot be turned "
                                       "into ids; port the model with --vocabulary "
                                       "tokenizer.json")
                return _next_word(args, model, vocab)
            texts = list(args.text)
        else:
            if args.mode == "next-word":
                raise PredictError("--as next-word takes --text")
            samples = read_inputs(args.input, as_text=reads_strings(model) or (
                                      reads_text(model) and vocab is not None),
                                  by_name=_is_graph(model) and len(model.inputs) > 1)
            if isinstance(samples, list) and samples and all(isinstance(s, str)
                                                             for s in samples):
                texts = samples
            elif isinstance(samples, list) and not samples:
                raise PredictError(f"--input {args.input!r} holds no samples")
        if args.generate:
            raise PredictError("--generate needs a next-word model and one --text")
        if texts is not None and reads_strings(model):  # the model vectorizes them itself
            x = np.array(texts, dtype=object).reshape((len(texts),) + tuple(
                1 for _ in model.inputs[0].shape[1:]))
        else:
            x = (_text_batch(model, vocab, texts, args.padding) if texts is not None
                 else _array_batch(model, samples))
        outputs = []
        for name, y, layer in named_outputs(model, model.predict(x)):
            kind = args.mode if args.mode in ("classes", "values") else output_kind(
                model, y, labels, layer)
            outputs.append((name, kind, _rows(y, kind, labels, args.top)))
    except PredictError as exc:
        return _err(str(exc))
    except (ValueError, TypeError) as exc:  # the model refused the inputs: say so in one line
        return _err(f"the model cannot run on these inputs: {exc}")
    if args.json:
        doc = {"bundle": args.bundle, "labels": labels, "texts": texts}
        if len(outputs) == 1:
            doc.update({"as": outputs[0][1], "predictions": outputs[0][2]})
        else:
            doc["outputs"] = {name: {"as": kind, "predictions": rows}
                              for name, kind, rows in outputs}
        print(json.dumps(doc))
    else:
        for name, kind, rows in outputs:
            if len(outputs) > 1:
                print(f"output '{name}':")
            _print_rows(rows, kind, texts)
    return EXIT_OK


def add_predict_command(subparsers: Any, open_bundle: Any) -> None:
    """Add ``predict`` to the ``numpy-rnn`` sub-command parser."""
    q = subparsers.add_parser(
        "predict", help="run a bundle on inputs: next words, classes or values",
        description="Run any bundle on inputs from --text or --input (a file or - for stdin) "
                    "and show what its outputs mean: the next words of a next-word model, the "
                    "top classes of a classifier (with the bundle's labels), or the values.")
    q.add_argument("bundle", metavar="MODEL.npz")
    q.add_argument("--text", action="append", default=[],
                   help="a text for a model that reads token ids (repeat for several)")
    q.add_argument("--input", metavar="FILE|-",
                   help="samples from a .npy array, JSON (a list of samples) or text (one "
                        "sample a line); - reads stdin")
    q.add_argument("--as", dest="mode", choices=MODES, default="auto",
                   help="how to read the outputs (default: worked out from the model)")
    q.add_argument("--top", type=int_at_least(1), default=5,
                   help="how many words or classes to list (default 5)")
    q.add_argument("--padding", choices=("pre", "post"), default="pre",
                   help="where texts are padded / truncated to the model's input length "
                        "(default pre, as keras pad_sequences)")
    q.add_argument("--json", action="store_true", help="print one JSON document")
    q.add_argument("--generate", type=int_at_least(0), default=0, metavar="N",
                   help="continue the text with N words (next-word models; greedy, or sampled "
                        "with --temperature)")
    q.add_argument("--temperature", type=_temperature, default=0.0,
                   help="sampling temperature for --generate; 0 (default) is greedy")
    q.add_argument("--seed", type=int, default=0, help="seed for sampling (default 0)")
    q.add_argument("--no-verify", action="store_true",
                   help="skip recomputing the bundle's test vectors on load")
    q.set_defaults(func=lambda args: cmd_predict(args, open_bundle))
