"""The JSON export: source, title, totals, every page's Markdown and stats, the joined Markdown and the tables."""

from __future__ import annotations

import json
from collections import Counter

from paperlens.core.names import printable
from paperlens.core.results.export.markdown import render_markdown
from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import document_tables, stop_reason
from paperlens.core.runs import DocumentResult

JSON_FORMAT_VERSION = 1


def document_stats(doc: DocumentResult) -> dict:
    """Totals over the document's pages (each page keeps its own run stats)."""
    pages = doc.pages
    return {
        "pages": len(pages),
        "pages_from_cache": sum(1 for p in pages if p.cached),
        "pages_failed": sum(1 for p in pages if p.error),
        "pages_incomplete": sum(1 for p in pages if stop_reason(p)),
        "image_tokens": sum(p.stats.image_tokens for p in pages),
        "prompt_tokens": sum(p.stats.prompt_tokens for p in pages),
        "generated_tokens": sum(p.stats.generated_tokens for p in pages),
        "wall_s": round(sum(p.stats.wall_s for p in pages if not p.cached), 3),
        # pages read in each image mode (in auto mode both; each page's stats say its own)
        "modes": dict(Counter(p.stats.mode for p in pages if p.stats.mode)),
    }


def to_json_data(doc: DocumentResult) -> dict:
    """The JSON export as a dict: source, title, totals, pages (Markdown + stats each), the joined Markdown, tables,
    and the document's page count with the pages that have no result (`missing_pages`; [] when the page count is
    None, as for a chosen page range)."""
    return {
        "format": "paperlens-document",
        "version": JSON_FORMAT_VERSION,
        "source": printable(doc.source),  # a file name that is not UTF-8 has U+FFFD for its odd bytes
        "title": printable(doc.title),
        "stats": document_stats(doc),
        "pages": [p.to_dict() for p in doc.pages],
        "markdown": render_markdown(doc),
        "tables": [
            {
                "page": t.page,
                "index": t.index,
                "pages": t.pages,
                "row_pages": t.row_pages,
                **t.table.to_dict(),
            }
            for t in document_tables(doc)
        ],
        # added after version 1, without changing what was there: a partly parsed document's unparsed pages
        "page_count": doc.page_count,
        "missing_pages": doc.missing_pages(),
    }


def to_json(doc: DocumentResult) -> str:
    """The JSON export as text (what `-o r.json` writes and stdout gets)."""
    return json.dumps(to_json_data(doc), ensure_ascii=False, indent=2) + "\n"


FORMAT = register(ExportFormat("json", "JSON", (".json",), render=to_json))
