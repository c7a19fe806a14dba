"""Property-based tests (hypothesis) for the parsers of untrusted text and bytes: whatever a page, a model or a file
says, these end in a result or our own error with a sentence, never a crash of another kind or a hang."""

from __future__ import annotations

import contextlib
import json
import struct
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperlens.core.documents import parse_page_range, select_pages
from paperlens.core.errors import DocumentError
from paperlens.core.gguf_meta import GGUFFormatError, read_header
from paperlens.core.results.export import render, to_json
from paperlens.core.results.markdown import markdown_to_html
from paperlens.core.results.tables import extract_tables
from paperlens.core.runs import DocumentResult, PageResult

# derandomize: the same examples on every run, so CI never meets a new one by chance (explore locally without it)
FAST = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# Markdown-ish text: the characters tables, HTML and math are made of, plus control characters and any letter
markdownish = st.lists(
    st.sampled_from(
        list("|-:<>/=\"' \n\t$*#`\\abc123")
        + [
            "<table>",
            "<td>",
            "<tr>",
            "</td>",
            "</tr>",
            "</table>",
            "<img src=x onerror=y>",
            "![a](/dev/zero)",
        ]
        + ["\x00", "\x1b", "é", "😀", "| a | b |\n|---|---|\n", "<script>", "colspan=2", "<th>"]
    ),
    max_size=80,
).map("".join)


@FAST
@given(spec=st.text(max_size=30), count=st.integers(min_value=1, max_value=500))
def test_page_ranges_give_pages_of_the_document_or_a_sentence(spec, count):
    try:
        pages, missing = select_pages(spec, count)
    except DocumentError as exc:
        assert str(exc).strip()
        return
    assert pages and all(0 <= p < count for p in pages) and len(set(pages)) == len(pages)
    assert all(n > count for n in missing)
    assert parse_page_range(spec, count) == pages


@FAST
@given(text=markdownish)
def test_the_table_reader_never_crashes_and_keeps_its_tables_rectangular(text):
    for table in extract_tables(text):
        widths = {len(row) for row in table.rows}
        assert len(widths) <= 1


@FAST
@given(text=markdownish)
def test_drawn_markdown_never_carries_a_resource_or_a_script(text):
    from html.parser import HTMLParser

    found: list[tuple[str, list]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Tags().feed(
        markdown_to_html(text)
    )  # text such as "&lt;img src=x&gt;" in a code span is fine: it is not a tag
    assert not [t for t, _ in found if t in ("img", "script", "iframe", "object", "embed", "link", "style")]
    assert not [a for _, attrs in found for a, _ in attrs if a == "src" or a.startswith("on") or a == "style"]


@FAST
@given(pages=st.lists(markdownish, min_size=1, max_size=4))
def test_every_text_export_writes_any_model_output(pages):
    doc = DocumentResult(source="scan.pdf", pages=[PageResult(n + 1, md) for n, md in enumerate(pages)])
    for fmt in ("md", "html", "txt"):
        assert isinstance(render(doc, fmt), str)
    data = json.loads(to_json(doc))
    assert [p["markdown"] for p in data["pages"]] == pages


@FAST
@given(
    blob=st.binary(max_size=300),
    version=st.sampled_from([1, 2, 3, 99]),
    counts=st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)),
)
def test_the_gguf_header_reader_refuses_junk_with_its_own_error(blob, version, counts):
    head = b"GGUF" + struct.pack("<I", version) + struct.pack("<QQ", *counts) + blob
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.gguf"
        path.write_bytes(head)
        # anything else than these (what inspect_gguf turns into "not a complete GGUF file") fails the test
        with contextlib.suppress(GGUFFormatError, ValueError, KeyError, OSError):
            read_header(path)
