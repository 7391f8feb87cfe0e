"""Writers of the session summary: Markdown, HTML, PDF, JSON, a Pol.is CSV folder and an open-data package.

All read one :class:`facilitation.export.summary.Summary`; :func:`render` gives the bytes of a one-file format
and its media type, :func:`facilitation.export.polis.write_polis` writes the Pol.is folder and
:func:`facilitation.export.opendata.write_opendata` the open-data package.
"""

from __future__ import annotations

from facilitation.export.summary import Summary

__all__ = ["FILE_FORMATS", "FOLDER_FORMATS", "FORMATS", "TEXT_FORMATS", "render"]

FILE_FORMATS: dict[str, tuple[str, str]] = {
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
    "json": ("application/json", "json"),
    "record": ("text/markdown; charset=utf-8", "record.md"),
}
"""One-file formats: media type and file extension."""
FOLDER_FORMATS = ("polis", "opendata")
"""Formats written as a folder of files (a zip over HTTP)."""
FORMATS = (*FILE_FORMATS, *FOLDER_FORMATS)
TEXT_FORMATS = tuple(name for name, (media, _) in FILE_FORMATS.items()
                     if media.startswith(("text/", "application/json")))
"""The formats `export --out -` can print."""


def render(summary: Summary, fmt: str) -> bytes:
    """The summary in a one-file format; raises ValueError for anything else (use write_polis for polis)."""
    if fmt == "md":
        from facilitation.export.markdown import render_markdown

        return render_markdown(summary).encode("utf-8")
    if fmt == "html":
        from facilitation.export.html import render_html

        return render_html(summary).encode("utf-8")
    if fmt == "pdf":
        from facilitation.export.pdf import render_pdf

        return render_pdf(summary)
    if fmt == "json":
        from facilitation.export.json import render_json

        return render_json(summary).encode("utf-8")
    if fmt == "record":
        from facilitation.export.record import render_record

        return render_record(summary, published_at=summary.published_at).encode("utf-8")
    raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")
