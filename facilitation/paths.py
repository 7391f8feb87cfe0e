"""Where the package's own files are: the pages, scripts and catalogues the server serves and the exports read.

``static/`` in a checkout, ``facilitation/_static`` in an installed wheel (pyproject.toml force-includes it).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR"]


def _static_dir() -> Path:
    package = Path(__file__).resolve().parent
    installed = package / "_static"
    if installed.is_dir():
        return installed
    return package.parent / "static"


STATIC_DIR = _static_dir()
