"""bench/web.py's settings: production's, plus one URL and template for the bare comparison page."""

from pathlib import Path

from config.settings.prod import *  # noqa: F403
from config.settings.prod import TEMPLATES

ROOT_URLCONF = "urls"
TEMPLATES[0]["DIRS"] = [Path(__file__).resolve().parent / "templates"]
