"""What several writers share: the document's tables, why a page stopped early, its title, text XML can hold."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from paperlens.core.errors import ExportError
from paperlens.core.names import printable
from paperlens.core.results.tables import Table
from paperlens.core.results.tables.merge import PlacedTable, merge_across_pages, page_tables
from paperlens.core.runs import DocumentResult, PageResult, missing_pages_note


@dataclass
class PageTable:
    """A table with where it came from: the page and its 1-based index on that page.

    A table joined across pages (see `tables.merge`) keeps the page and index of its first piece; `row_pages` says
    which page each row came from and `pages` which pages it spans.
    """

    page: int
    index: int
    table: Table
    row_pages: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.row_pages:
            self.row_pages = [self.page] * self.table.n_rows

    @property
    def pages(self) -> list[int]:
        return sorted(set(self.row_pages)) or [self.page]

    @property
    def name(self) -> str:
        pages = self.pages
        if len(pages) > 1:
            return f"Pages {pages[0]}-{pages[-1]} Table {self.index}"
        return f"Page {self.page} Table {self.index}"


# Whether exports join a table continued on the next page to the one it continues (`export(..., merge_tables=)`
# sets it for one export; the writers' signature stays (doc, path)).
_MERGE_TABLES: ContextVar[bool] = ContextVar("paperlens_merge_tables", default=True)


@contextlib.contextmanager
def table_merging(on: bool) -> Iterator[None]:
    """Within the block, `document_tables` (and so every export) joins tables across pages only when `on`."""
    token = _MERGE_TABLES.set(on)
    try:
        yield
    finally:
        _MERGE_TABLES.reset(token)


def placed_tables(doc: DocumentResult, merge: bool | None = None) -> list[PlacedTable]:
    """Every table of every page that produced text, in page order, joined across pages unless `merge` is False
    (None: the current `table_merging` setting, on by default)."""
    out: list[PlacedTable] = []
    for page in doc.pages:
        if page.error or not page.markdown:
            continue
        out.extend(page_tables(page.page, page.markdown))
    if _MERGE_TABLES.get() if merge is None else merge:
        out = merge_across_pages(out)
    return out


def document_tables(doc: DocumentResult, merge: bool | None = None) -> list[PageTable]:
    """Every table of every page that produced text (failed pages have none), in page order; a table that goes on
    at the top of the next page is given once, joined (see `tables.merge`), unless `merge` is False.

    Tables come from `tables.parse_blocks`, the same code the table view uses, so what the user sees in the window
    is what a spreadsheet gets.
    """
    return [PageTable(t.page, t.index, t.table, list(t.row_pages)) for t in placed_tables(doc, merge)]


def table_plan(doc: DocumentResult, merge: bool | None = None) -> dict[tuple[int, int], Table | None]:
    """For writers that walk the pages (Word): (page, index on page) -> the table to draw there, or None where the
    table was drawn already as the continuation of one on an earlier page."""
    plan: dict[tuple[int, int], Table | None] = {}
    for t in placed_tables(doc, merge):
        plan[(t.page, t.index)] = t.table
        for page in t.pieces[1:]:
            plan[(page, 1)] = None  # a continuation is always the first table of its page
    return plan


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
    """The document's title as a person reads it (a file name's bytes that are not UTF-8 shown as U+FFFD)."""
    return printable(doc.title or (Path(doc.source).stem if doc.source else "") or "Document")


def no_tables_error(doc: DocumentResult, fmt: str) -> ExportError:
    return ExportError(
        f"{doc_title(doc)} has no tables, so there is nothing to put in {article(fmt.upper())} {fmt.upper()} file.",
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


def cell_value(text: str) -> str | int | float:
    """A cell's value for a spreadsheet: plain numbers become numbers (so they sum), everything else stays text.

    Only unambiguous forms count: 12, -3.5, 1,204, 1,388.75. Leading zeros (postcodes, IDs), more than 15 digits
    (Excel would round them), decimal commas, currency signs and percentages stay text: a wrong number is worse than
    a string the user can convert.
    """
    s = text.strip()
    if not s or len(s) > 24:
        return text
    sign = ""
    if s[0] in "+-\u2212":
        sign, s = ("-" if s[0] != "+" else ""), s[1:]
    whole, dot, frac = s.partition(".")
    if dot and (not frac or not frac.isdigit()):
        return text
    groups = whole.split(",")
    if not all(g.isascii() and g.isdigit() for g in groups):
        return text
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        return text
    digits = "".join(groups)
    if (len(digits) > 1 and digits[0] == "0") or len(digits) + len(frac) > 15:
        return text
    if dot:
        return float(f"{sign}{digits}.{frac}")
    return int(f"{sign}{digits}")


FORMULA_STARTS = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
)  # what makes Excel, LibreOffice or Sheets read a cell as a formula
_SIGNED_NUMBER = re.compile(r"[+\-\u2212]\s*[\d.,]*\d[\d.,]*\s*%?")  # -12.5, +1.5 %, -1,204: no formula in it


def spreadsheet_text(text: str) -> str:
    """A cell's text for a CSV or TSV a spreadsheet will open: never a formula, signed numbers untouched.

    A scanned page is data from anyone: a cell reading `=HYPERLINK(...)` must not run when the file is opened. Text
    starting with = + - @, a tab or a carriage return gets a leading apostrophe (OWASP's advice; the XLSX writer needs
    none, as it writes every cell as a value). A signed number (-12.5, +3, +1.5%) holds no formula and stays as it is.
    """
    if text.startswith(FORMULA_STARTS) and not _SIGNED_NUMBER.fullmatch(text):
        return "'" + text
    return text


def article(word: str) -> str:
    """ "a" or "an" before a format's name as it is read aloud: an XLSX, an HTML, a CSV, a DOCX."""
    spoken_vowel = word[:1].upper() in "AEFHILMNORSX" if word.isupper() else word[:1].lower() in "aeiou"
    return "an" if spoken_vowel else "a"
