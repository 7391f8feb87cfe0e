"""The session summary as PDF: the HTML report rendered by WeasyPrint (the optional ``pdf`` extra).

WeasyPrint lays out with Pango and embeds the subset of Noto Sans CJK TC it uses (Debian's
fonts-noto-cjk), so Chinese text is real, searchable text in the PDF, not tofu boxes. It needs Debian's
libpango-1.0-0 and libpangoft2-1.0-0 at run time.
"""

from __future__ import annotations

from facilitation.export.html import render_html
from facilitation.summary import Summary

__all__ = ["PdfUnavailable", "render_pdf"]


class PdfUnavailable(RuntimeError):
    """WeasyPrint (or the Pango libraries it loads) is not installed."""

    def __str__(self) -> str:
        return ("PDF export needs WeasyPrint: pip install 'facilitation[pdf]' "
                f"and apt-get install libpango-1.0-0 libpangoft2-1.0-0 ({self.args[0] if self.args else ''})")


def render_pdf(summary: Summary) -> bytes:
    try:
        from weasyprint import HTML  # type: ignore[import-untyped,unused-ignore]
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(str(exc)) from exc
    pdf = HTML(string=render_html(summary)).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
