"""TOML with line numbers. `tomllib` gives values but no positions; validation errors must say
`file:line`, so this scans the text for where each key is defined."""

import re
import tomllib

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(text: str) -> tuple:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return tuple(p.strip("\"'") for p in parts)


class TomlDoc:
    """Parsed TOML plus `line(path)` for any key path, e.g. ("tests", "test_x", "points")."""

    def __init__(self, text: str):
        self.text = text
        self.data = tomllib.loads(text)
        self.lines: dict[tuple, int] = {}
        self._scan()

    def _scan(self):
        prefix: tuple = ()
        arrays: dict[tuple, int] = {}
        string = None  # the open multi-line string's delimiter, if any
        depth = 0  # bracket depth of an unfinished array or inline table
        for number, line in enumerate(self.text.splitlines(), start=1):
            if string is None and depth == 0:
                header = _HEADER.match(line)
                key = _KEY.match(line)
                if header and not key:
                    path = _split_key(header.group(2))
                    if header.group(1) == "[[":
                        arrays[path] = arrays.get(path, -1) + 1
                        prefix = (*path, arrays[path])
                    else:
                        prefix = path
                    self.lines.setdefault(prefix, number)
                    continue
                if key:
                    self.lines.setdefault((*prefix, *_split_key(key.group(1))), number)
            string, depth = _advance(line, string, depth)

    def line(self, path: tuple, default: int = 1) -> int:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return default


def _advance(line: str, string, depth):
    """Carry string and bracket state across one line (comments and escapes respected)."""
    i, n = 0, len(line)
    while i < n:
        if string:
            if string in ('"', '"""') and line[i] == "\\":
                i += 2
                continue
            if line.startswith(string, i):
                i += len(string)
                string = None
                continue
            i += 1
            continue
        ch = line[i]
        if ch == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            string = line[i : i + 3]
            i += 3
            continue
        if ch in "\"'":
            string = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(depth - 1, 0)
        i += 1
    if string in ('"', "'"):
        string = None  # single-line strings cannot span lines
    return string, depth


def parse(text: str) -> TomlDoc:
    """Raises `TomlError(line, message)` for malformed TOML."""
    try:
        return TomlDoc(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise TomlError(line, f"invalid TOML: {message}") from None


class TomlError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message
