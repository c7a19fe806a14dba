"""A partly parsed document's export says, in the file itself, which pages are missing (every format that can)."""

from __future__ import annotations

import json

import docx
import pytest

from paperlens.core.results import export
from paperlens.core.runs import DocumentResult, Finish, PageResult, missing_pages_note, page_ranges
from paperlens.core.session import DocumentSession

NOTE = "Pages 24-40 were not parsed yet"


def partial(page_count: int | None = 40, parsed: int = 23) -> DocumentResult:
    pages = [PageResult(n, f"# Page {n}\n\nText of page {n}.") for n in range(1, parsed + 1)]
    return DocumentResult("/scans/long.pdf", pages, title="long", page_count=page_count)


def test_page_ranges_and_the_note() -> None:
    assert page_ranges([9, 3, 5, 6, 7]) == "3, 5-7, 9"
    assert missing_pages_note(partial()) == "Pages 24-40 were not parsed yet."
    doc = DocumentResult("x.pdf", [PageResult(1, "a"), PageResult(3, "c")], page_count=3)
    assert doc.missing_pages() == [2] and missing_pages_note(doc) == "Page 2 was not parsed yet."
    assert partial(page_count=23).missing_pages() == [] and missing_pages_note(partial(page_count=23)) is None


def test_markdown_says_which_pages_are_missing(tmp_path) -> None:
    (out,) = export.export(partial(), "md", tmp_path / "long.md")
    text = out.read_text(encoding="utf-8")
    assert text.startswith(f"<!-- {NOTE}")  # first thing a reader sees
    assert "23 of 40 pages" in text
    assert "<!-- Page 23 -->" in text and "<!-- Page 24 -->" not in text


def test_html_text_and_docx_say_which_pages_are_missing(tmp_path) -> None:
    doc = partial()
    assert NOTE in export.render_html(doc)
    assert export.render_text(doc).startswith(f"({NOTE}")
    (out,) = export.export(doc, "docx", tmp_path / "long.docx")
    paragraphs = [p.text for p in docx.Document(str(out)).paragraphs]
    assert any(NOTE in p for p in paragraphs[:2])


def test_json_lists_the_missing_pages_and_keeps_its_keys(tmp_path) -> None:
    complete = json.loads(export.to_json(partial(page_count=None)))
    data = json.loads(export.to_json(partial()))
    assert data["missing_pages"] == list(range(24, 41)) and data["page_count"] == 40
    for key, value in complete.items():  # nothing that was there changes, but the Markdown's note
        if key not in ("markdown", "page_count", "missing_pages"):
            assert data[key] == value, key
    assert complete["missing_pages"] == [] and complete["page_count"] is None


@pytest.mark.parametrize("fmt", ["md", "html", "txt", "json"])
def test_a_chosen_page_range_is_not_reported_as_missing(fmt) -> None:
    """The CLI's `--pages 1-3` is a choice: its result has no page_count, and no format claims missing pages."""
    assert "not parsed" not in export.render(partial(page_count=None), fmt)


def test_a_complete_document_has_no_note() -> None:
    assert "not parsed" not in export.render_markdown(partial(page_count=23))


def test_the_session_export_knows_the_page_count() -> None:
    s = DocumentSession("long.pdf", path="/scans/long.pdf")
    s._slots = [object()] * 5  # five pages; only their count matters here
    s.results = {
        1: PageResult(1, "one"),
        2: PageResult(2, error="broke"),
        3: PageResult(3, "x", Finish.CANCELLED),
    }
    result = s.to_document_result()
    assert result.page_count == 5
    assert result.missing_pages() == [
        2,
        4,
        5,
    ]  # a failed page is left out of the export, so it is missing too
