"""The session summary as PDF: the HTML report rendered by WeasyPrint (a normal dependency).

WeasyPrint lays out with Pango and embeds the subset of Noto Sans CJK TC it uses (Debian's
fonts-noto-cjk), so Chinese text is real, searchable text in the PDF, not tofu boxes. It needs Debian's
libpango-1.0-0 and libpangoft2-1.0-0 at run time; when it cannot load, :class:`PdfUnavailable` says
exactly what to install, and the HTTP export answers 503 ``pdf_unavailable`` with that hint.
"""

from __future__ import annotations

from facilitation.export.html import render_html
from facilitation.export.summary import Summary

__all__ = ["PdfUnavailable", "pdf_available", "render_pdf"]

SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"


class PdfUnavailable(RuntimeError):
    """WeasyPrint, or the Pango libraries it loads, cannot be imported on this server."""

    code = "pdf_unavailable"

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause

    def __str__(self) -> str:
        if isinstance(self.cause, ImportError) and not isinstance(self.cause, OSError):
            fix = "pip install weasyprint (a dependency of facilitation: reinstall it with `pip install -e .`)"
        else:
            fix = f"sudo apt-get install {SYSTEM_PACKAGES} (the system libraries WeasyPrint loads)"
        return f"PDF export is not available on this server: {fix}. The other formats work. ({self.cause})"


def _weasyprint_html() -> type:
    try:
        from weasyprint import HTML  # type: ignore[import-untyped,unused-ignore]
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(exc) from exc
    return HTML  # type: ignore[no-any-return,unused-ignore]


def pdf_available() -> bool:
    """Whether this server can render PDF (WeasyPrint and its libraries load)."""
    try:
        _weasyprint_html()
    except PdfUnavailable:
        return False
    return True


def render_pdf(summary: Summary) -> bytes:
    html = _weasyprint_html()
    pdf = html(string=render_html(summary)).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
