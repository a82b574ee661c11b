"""Copy one module of a course into a stand-alone course folder, keeping only the module's items
that exist yet. For authors working on one module while others are unfinished:

    python tools/course_subset.py content/zero-to-gpt 02-names /tmp/names-only
    python manage.py course test /tmp/names-only --exercise bigram
"""

import re
import shutil
import sys
import tomllib
from pathlib import Path


def main(src, module, dst):
    src, dst = Path(src), Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    (dst / "modules").mkdir(parents=True)
    text = (src / "course.toml").read_text()
    text = re.sub(r"^modules\s*=.*$", f'modules = ["{module}"]', text, flags=re.M)
    (dst / "course.toml").write_text(text)
    shutil.copytree(src / "modules" / module, dst / "modules" / module)
    if (src / "shared").is_dir():
        shutil.copytree(src / "shared", dst / "shared")
    mod = dst / "modules" / module
    data = tomllib.loads((mod / "module.toml").read_text())
    lessons = (
        {re.sub(r"^\d+[-_]", "", p.stem) for p in (mod / "lessons").glob("*.md")}
        if (mod / "lessons").exists()
        else set()
    )
    exercises = (
        {p.name for p in (mod / "exercises").iterdir() if (p / "exercise.toml").is_file()}
        if (mod / "exercises").exists()
        else set()
    )
    keep = [
        i
        for i in data.get("items", [])
        if (i.startswith("lesson:") and i[7:] in lessons) or (i.startswith("exercise:") and i[9:] in exercises)
    ]
    body = (mod / "module.toml").read_text()
    body = re.sub(
        r"^items\s*=\s*\[.*?\]", "items = [" + ", ".join(f'"{i}"' for i in keep) + "]", body, flags=re.M | re.S
    )
    (mod / "module.toml").write_text(body)
    print(f"{dst}: module {module} with {len(keep)} items")


if __name__ == "__main__":
    main(*sys.argv[1:4])
