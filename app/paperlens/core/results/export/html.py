"""The HTML export: a standalone page per document, the model's raw HTML sanitised.

The model's output comes from a scanned page, which anyone can write: an exported HTML file must not run a script or
load anything from the network because a document said `<script>` or `<img src=...>`. The Markdown is drawn by the
shared dialect (`results.markdown`), which passes the model's raw HTML through `results.sanitize` (the same allow-list
the window's views use) and draws images as their alt text, so nothing is fetched from anywhere.
"""

from __future__ import annotations

import html

from paperlens.core.results.export.markdown import close_open_blocks
from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import doc_title, missing_note, skip_note, stop_reason
from paperlens.core.results.markdown import markdown_to_html
from paperlens.core.runs import DocumentResult

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #999; padding: .25rem .5rem; vertical-align: top; }
th { background: #f0f0f0; }
caption { font-weight: bold; padding: .25rem; }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; }
.page-label { color: #777; font-size: .85rem; border-top: 1px solid #ccc; padding-top: .5rem; margin-top: 2rem; }
.note { color: #9a3d00; font-style: italic; }
.math { font-family: "Cambria Math", "STIX Two Math", serif; }
@media print { section.page { break-after: page; } .page-label { display: none; } }
"""


def render_html(doc: DocumentResult) -> str:
    """A standalone HTML file: one <section> per page, a small stylesheet, no scripts and no remote resources."""
    title = html.escape(doc_title(doc))
    body: list[str] = []
    missing = missing_note(doc)
    if missing:
        body.append(f'<p class="note missing-pages">{html.escape(missing)}</p>')
    for page in doc.pages:
        body.append(f'<section class="page" id="page-{page.page}">')
        edited = " · edited by hand" if page.edited else ""
        body.append(f'<p class="page-label">Page {page.page}{edited}</p>')
        if page.error:
            body.append(f'<p class="note">This page could not be converted: {html.escape(page.error)}</p>')
        elif page.skipped:
            body.append(f'<p class="note">{html.escape(skip_note(page) or "")}</p>')
        else:
            body.append(markdown_to_html(close_open_blocks(page.markdown)))
            reason = stop_reason(page)
            if reason:
                body.append(
                    f'<p class="note">This page stopped early because {reason}; its text may be incomplete.</p>'
                )
        body.append("</section>")
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="generator" content="PaperLens">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


FORMAT = register(ExportFormat("html", "HTML", (".html", ".htm"), render=render_html))
