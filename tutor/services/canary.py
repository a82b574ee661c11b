"""The canary: a random marker in the system prompt that must never come back (DESIGN.md §9).

A reply is compared in skeleton form (after Unicode TR39's idea of a skeleton): NFKC, then
look-alike characters folded to ASCII (confusables.tsv, built from Unicode's confusables.txt by
confusables_build.py), lower case, and everything that is not an ASCII letter or digit dropped,
so spaces, hyphens, zero-width characters, Markdown emphasis and punctuation placed between
the characters change nothing. A part of the canary is a leak too:
- any PART characters in a row of its random part (half of it: 24 of its 48 bits), or
- any WINDOW characters in a row of the whole marker (the fixed "FS-CANARY" name included).
While streaming, text stops flowing at shorter pieces (STREAM_WINDOW): holding a sentence back
costs nothing, the final check decides what is shown.
"""

import functools
import secrets
import unicodedata
from pathlib import Path

PREFIX = "FS-CANARY-"
SECRET_HEX = 12
PART = 6
WINDOW = 8
STREAM_WINDOW = 5
TABLE = Path(__file__).resolve().with_name("confusables.tsv")


def new() -> str:
    return PREFIX + secrets.token_hex(SECRET_HEX // 2)


@functools.cache
def _table() -> dict[str, str]:
    table = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, target = line.split("\t")
            table[chr(int(code, 16))] = target
    return table


def skeleton(text: str) -> str:
    table = _table()
    text = "".join(table.get(c, c) for c in unicodedata.normalize("NFKC", text)).lower()
    return "".join(c for c in (table.get(c, c) for c in text) if c.isascii() and c.isalnum())


def _windows(text: str, size: int) -> set[str]:
    return {text[i : i + size] for i in range(max(1, len(text) - size + 1))}


@functools.cache
def _pieces(canary: str, stream: bool) -> frozenset[str]:
    whole = skeleton(canary)
    secret = skeleton(canary[len(PREFIX) :]) if canary.startswith(PREFIX) else whole
    if stream:
        return frozenset(_windows(whole, STREAM_WINDOW))
    return frozenset(_windows(secret, PART) | _windows(whole, WINDOW) | {skeleton(PREFIX)})


def leaked(text: str, canary: str) -> bool:
    """Whether `text` carries the canary, or a part of it, in any spelling above."""
    if not canary:
        return False
    flat = skeleton(text)
    return any(piece in flat for piece in _pieces(canary, False))


class StreamWatch:
    """The skeleton of what has been streamed so far (its tail), to test each new piece with
    the characters just before it."""

    def __init__(self, canary: str):
        self.canary, self.tail = canary, ""

    def clear(self, piece: str) -> bool:
        """True (and remembered) when `piece` may be shown after what was shown before."""
        flat = self.tail + skeleton(piece)
        if self.canary and any(p in flat for p in _pieces(self.canary, True)):
            return False
        self.tail = flat[-(len(skeleton(self.canary)) + 1) :]
        return True
