"""A minimal byte-level BPE tokenizer (the interface follows karpathy/minbpe).

This file is given to you read-only: it only re-exports the two classes.
"""

from .base import Tokenizer
from .basic import BasicTokenizer

__all__ = ["Tokenizer", "BasicTokenizer"]
