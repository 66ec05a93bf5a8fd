"""Checks for tokenizer JSON (the format of tf_keras ``Tokenizer.to_json()``), used by
:meth:`numpy_rnn.text.Vocabulary.from_json`: every id, count and table is validated before a
vocabulary is built from it, and a bad file raises ``ValueError`` naming the field.
"""
from __future__ import annotations

import collections
import json
import re
from typing import Any, NamedTuple

from .. import _validation as _v

# -- tokenizer JSON checks ------------------------------------------------------------------------
#: Largest word id a tokenizer JSON may give (Keras / TensorFlow ids are int32).
_MAX_JSON_ID = 2**31 - 1
#: Largest count (word_counts, word_docs, index_docs, document_count) a tokenizer JSON may hold.
_MAX_JSON_COUNT = 2**63 - 1
_INT_KEY = re.compile(r"-?[1-9][0-9]*|0")


class BadTokenizerJSON(Exception):
    """Internal: why a text is not tokenizer JSON (turned into ValueError by from_json)."""


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    kind = names.get(type(value), type(value).__name__)
    return kind if value is None or isinstance(value, (dict, list)) else f"{kind} {_v._show(value)}"


def _json_loads(text: str | bytes, what: str, object_pairs_hook: Any = None) -> Any:
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except RecursionError:
        raise BadTokenizerJSON(f"{what} is nested too deeply to be tokenizer JSON") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise BadTokenizerJSON(f"{what} is not valid JSON ({exc})") from None


def _is_json_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _where(field: str, key: Any = None) -> str:
    return f"config[{field!r}]" if key is None else f"config[{field!r}][{_v._show(key)}]"


def _check_count(field: str, key: Any, value: Any) -> int:
    """``value`` is a count; ``field`` and ``key`` (None: the field itself) name it in the error."""
    if type(value) is not int or not 0 <= value <= _MAX_JSON_COUNT:
        raise BadTokenizerJSON(
            f"{_where(field, key)} must be a count (an integer from 0 to 2**63 - 1), "
            f"got {_json_type(value)}"
        )
    return value


def _json_int_key(field: str, key: str) -> int:
    if not _INT_KEY.fullmatch(key):
        raise BadTokenizerJSON(
            f"{_where(field, key)}: the key must be an integer id written in decimal"
        )
    return int(key)


def _json_key(word: Any) -> str:
    """The object key JSON writes for ``word`` (Keras tokens that are not strings become keys)."""
    if isinstance(word, str):
        return word
    return next(iter(json.loads(json.dumps({word: 0}))))


def _check_json_args(args: dict) -> None:
    """Types of the Tokenizer arguments as Tokenizer.to_json() writes them."""
    bad = BadTokenizerJSON
    num_words = args.get("num_words")
    if num_words is not None and (not _is_json_int(num_words) or not 0 <= num_words <= _MAX_JSON_ID):
        raise bad(
            "config['num_words'] must be null or an integer from 0 to 2**31 - 1, "
            f"got {_json_type(num_words)}"
        )
    if "document_count" in args:
        _check_count("document_count", None, args["document_count"])
    if "filters" in args and not isinstance(args["filters"], (str, list)):
        raise bad(
            "config['filters'] must be a string (or a list of characters), "
            f"got {_json_type(args['filters'])}"
        )
    for key in ("lower", "char_level"):
        if key in args and not isinstance(args[key], bool):
            raise bad(f"config[{key!r}] must be true or false, got {_json_type(args[key])}")
    if "split" in args and not (args["split"] is None or isinstance(args["split"], str)):
        raise bad(f"config['split'] must be a string or null, got {_json_type(args['split'])}")
    oov = args.get("oov_token")
    if isinstance(oov, (dict, list)):
        raise bad(f"config['oov_token'] must be a string or null, got {_json_type(oov)}")


def _check_word_index(table: dict) -> dict:
    """word -> id, ids distinct integers in [1, 2**31 - 1]."""
    owner: dict = {}
    for word, i in table.items():
        if type(i) is not int or not 1 <= i <= _MAX_JSON_ID:
            raise BadTokenizerJSON(
                f"config['word_index'][{_v._show(word)}] must be an integer id from 1 to "
                f"2**31 - 1 (0 is reserved for padding), got {_json_type(i)}"
            )
        if i in owner:
            raise BadTokenizerJSON(
                f"config['word_index'] gives the id {i} to both {_v._show(owner[i])} and "
                f"{_v._show(word)}"
            )
        owner[i] = word
    return dict(table)


def _check_index_word(table: dict, word_index: dict) -> dict:
    """id -> word, exactly the inverse of ``word_index`` (as Keras writes both)."""
    index_word: dict = {}
    for key, word in table.items():
        i = _json_int_key("index_word", key)
        if isinstance(word, (dict, list)):
            raise BadTokenizerJSON(
                f"{_where('index_word', key)} must be a word (a string), got {_json_type(word)}"
            )
        key_form = word if type(word) is str else _json_key(word)
        found = word_index.get(key_form)
        if found != i:
            raise BadTokenizerJSON(
                f"{_where('index_word', key)}={_v._show(word)} disagrees with "
                "config['word_index'], which gives "
                + (f"{_v._show(key_form)} the id {found}" if found is not None else "it no id")
                + " (index_word must be the inverse of word_index)"
            )
        index_word[i] = word
    if len(index_word) != len(word_index):
        missing = [w for w, i in word_index.items() if i not in index_word]
        raise BadTokenizerJSON(
            f"config['index_word'] lacks the id {word_index[missing[0]]} of "
            f"{_v._show(missing[0])} (index_word must be the inverse of word_index)"
        )
    return index_word


class ParsedTokenizer(NamedTuple):
    """What :func:`parse_tokenizer_json` found, every field checked."""

    args: dict
    word_counts: dict
    word_docs: dict
    index_docs: dict
    word_index: dict
    index_word: dict


def parse_tokenizer_json(json_string: str | bytes, table_keys: tuple, arg_keys: tuple
                         ) -> ParsedTokenizer:
    """Read and check tokenizer JSON; raises :class:`BadTokenizerJSON` naming what is wrong.

    Args:
        json_string: the text of ``Tokenizer.to_json()``.
        table_keys: the config keys holding JSON-encoded tables.
        arg_keys: the config keys that are constructor arguments.
    """
    bad = BadTokenizerJSON
    payload = _json_loads(json_string, "the text")
    if not isinstance(payload, dict):
        raise bad(f"expected a JSON object, got {_json_type(payload)}")
    if payload.get("class_name") != "Tokenizer":
        raise bad(f"expected class_name 'Tokenizer', got {_v._show(payload.get('class_name'))}")
    config = payload.get("config")
    if not isinstance(config, dict):
        raise bad(f"expected a 'config' object, got {_json_type(config)}")
    missing = [key for key in table_keys if key not in config]
    if missing:
        raise bad(f"missing config keys {missing}")
    unknown = sorted(set(config) - set(table_keys) - set(arg_keys))
    if unknown:
        raise bad(f"unknown config keys {[_v._show(k) for k in unknown]}")

    args = {key: config[key] for key in arg_keys if key in config}
    _check_json_args(args)

    tables = {}
    for key in table_keys:
        if not isinstance(config[key], str):
            raise bad(
                f"config[{key!r}] must be a JSON object encoded as a string, "
                f"got {_json_type(config[key])}"
            )
        table = _json_loads(config[key], f"config[{key!r}]", collections.OrderedDict)
        if not isinstance(table, dict):
            raise bad(
                f"config[{key!r}] must be a JSON object encoded as a string, "
                f"got {_json_type(table)}"
            )
        tables[key] = table
    for key in ("word_counts", "word_docs"):
        for word, count in tables[key].items():
            _check_count(key, word, count)
    index_docs = {}
    for key, count in tables["index_docs"].items():
        index_docs[_json_int_key("index_docs", key)] = _check_count("index_docs", key, count)
    extra_docs = [word for word in tables["word_docs"] if word not in tables["word_counts"]]
    if extra_docs:
        raise bad(
            f"config['word_docs'] counts documents for {_v._show(extra_docs[0])}, which is not "
            "in config['word_counts'] (Keras counts documents only for counted words)"
        )
    word_index = _check_word_index(tables["word_index"])
    index_word = _check_index_word(tables["index_word"], word_index)
    oov_token = args.get("oov_token")
    if word_index and oov_token is not None and _json_key(oov_token) not in word_index:
        raise bad(
            f"config['oov_token']={_v._show(oov_token)} is not in config['word_index'] "
            "(a fitted Tokenizer always indexes its oov token)"
        )

    return ParsedTokenizer(args, tables["word_counts"], tables["word_docs"], index_docs,
                           word_index, index_word)
