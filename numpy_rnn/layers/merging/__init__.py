"""Merge layers, one short module each, as Keras's ``keras/src/layers/merging/``."""
from .base_merge import Merge
from .add import Add
from .subtract import Subtract
from .multiply import Multiply
from .average import Average
from .maximum import Maximum
from .minimum import Minimum
from .concatenate import Concatenate
from .dot import Dot

__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot"]
