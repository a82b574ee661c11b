"""platform/ holds deployment files only. A package named `platform` would shadow the standard
library module of the same name, which Celery, uuid and pytest use (README "Layout")."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_platform_is_the_standard_library_module():
    out = subprocess.run(
        [sys.executable, "-c", "import platform, uuid; print(platform.__file__); print(platform.system())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    path, system = out.stdout.split()
    assert "site-packages" not in path and not path.startswith(str(ROOT)), path
    assert system == "Linux"


def test_platform_folder_is_not_a_package():
    assert (ROOT / "platform").is_dir()
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert not list((ROOT / "platform").rglob("*.py"))
