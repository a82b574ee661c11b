"""`--from-notebook file.ipynb --cell-tag solution`: the code cells carrying the tag become the
learner's file (in notebook order). A cell may start with `# file: path.py` to go to another of
the exercise's files."""

import json
from pathlib import Path


class NotebookError(ValueError):
    pass


def extract(path: Path, *, tag: str, files: list[str]) -> dict[str, str]:
    try:
        nb = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise NotebookError(f"{path}: not a readable notebook ({exc})") from None
    out: dict[str, list[str]] = {}
    for cell in nb.get("cells") or []:
        if cell.get("cell_type") != "code" or tag not in ((cell.get("metadata") or {}).get("tags") or []):
            continue
        source = cell.get("source") or ""
        text = "".join(source) if isinstance(source, list) else str(source)
        first, _, rest = text.partition("\n")
        target = files[0]
        if first.strip().startswith("# file:"):
            target, text = first.split(":", 1)[1].strip(), rest
            if target not in files:
                raise NotebookError(f"a cell tagged {tag!r} names {target}, which is not one of {', '.join(files)}")
        # IPython magics and shell escapes are notebook-only: they are not Python.
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        out.setdefault(target, []).append("\n".join(lines).rstrip() + "\n")
    if not out:
        raise NotebookError(
            f"{path}: no code cell is tagged {tag!r} (add the tag in Jupyter: View → Cell toolbar → Tags, "
            f"or in Colab: the cell's … menu)"
        )
    return {name: "\n\n".join(parts) for name, parts in out.items()}
