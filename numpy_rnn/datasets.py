"""The small public-domain English corpus shipped with the package.

It holds Lincoln's Gettysburg Address and four of Aesop's fables (public domain); about 940
words, enough for the original example's windows of 26 ids and a small next-word model.
"""
from __future__ import annotations

from importlib import resources


def load_corpus() -> str:
    """The shipped corpus as one string (paragraphs separated by newlines)."""
    return resources.files("numpy_rnn").joinpath("data/corpus.txt").read_text(encoding="utf-8")


def load_corpus_lines() -> list[str]:
    """The shipped corpus as a list of non-empty paragraphs."""
    return [line for line in load_corpus().splitlines() if line.strip()]
