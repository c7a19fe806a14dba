"""What several writers share: the document's tables, why a page stopped early, its title, text XML can hold."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from paperlens.core.errors import ExportError
from paperlens.core.results.tables import Table, extract_tables
from paperlens.core.runs import DocumentResult, PageResult, missing_pages_note


@dataclass
class PageTable:
    """A table with where it came from: the page and its 1-based index on that page."""

    page: int
    index: int
    table: Table

    @property
    def name(self) -> str:
        return f"Page {self.page} Table {self.index}"


def document_tables(doc: DocumentResult) -> list[PageTable]:
    """Every table of every page that produced text (failed pages have none), in page order.

    Tables come from `tables.extract_tables`, the same code the table view uses, so what the user sees in the window
    is what a spreadsheet gets.
    """
    out = []
    for page in doc.pages:
        if page.error or not page.markdown:
            continue
        for k, table in enumerate(extract_tables(page.markdown), 1):
            out.append(PageTable(page.page, k, table))
    return out


def skip_note(page: PageResult) -> str | None:
    """What an export writes where a skipped page's text would be ("Page 3 was skipped (blank)."), or None."""
    return f"Page {page.page} was skipped ({page.skipped})." if page.skipped else None


def missing_note(doc: DocumentResult) -> str | None:
    """What an export of a partly parsed document says first: "Pages 24-40 were not parsed yet: this file holds 23
    of 40 pages." None when the result stands for the whole document or its page count is unknown (a chosen range).
    """
    note = missing_pages_note(doc)
    if note is None or doc.page_count is None:
        return None
    return f"{note[:-1]}: this file holds {len(doc.pages)} of {doc.page_count} pages."


def stop_reason(page: PageResult) -> str | None:
    """Why a page's text may be incomplete, or None when the model finished it."""
    if page.error or page.edited:  # a hand edit is the user's own text: the model's stop no longer applies
        return None
    return page.finish.reason or None


def doc_title(doc: DocumentResult) -> str:
    return doc.title or (Path(doc.source).stem if doc.source else "") or "Document"


def no_tables_error(doc: DocumentResult, fmt: str) -> ExportError:
    return ExportError(
        f"{doc_title(doc)} has no tables, so there is nothing to put in a {fmt.upper()} file.",
        hint="Export it as Markdown, Word or text instead.",
    )


def display_width(text: str) -> int:
    """Display width in a monospaced font: East Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


_ILLEGAL_XML = {c for c in range(32) if c not in (9, 10, 13)} | {0xFFFE, 0xFFFF}


def xml_safe(text: str) -> str:
    """Text XML (and so XLSX and DOCX) can hold: control characters dropped, lone surrogates replaced."""
    if any(ord(ch) in _ILLEGAL_XML or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return "".join(
            "\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text if ord(ch) not in _ILLEGAL_XML
        )
    return text
