"""The export format registry: a new format is one module plus one `register` line, and everything picks it up."""

from __future__ import annotations

import json

import pytest

from paperlens.core.errors import ExportError
from paperlens.core.results import export
from paperlens.core.results.export import ExportFormat, register, unregister
from paperlens.core.runs import DocumentResult, PageResult


# --- a throwaway format, written the way a new writer module would be ------------------------------------------------
def render_jsonl(doc: DocumentResult) -> str:
    return "".join(json.dumps({"page": p.page, "markdown": p.markdown}) + "\n" for p in doc.pages)


def write_page_files(doc: DocumentResult, path):
    return [(path.with_name(f"{path.stem}-{p.page}{path.suffix}"), p.markdown.encode()) for p in doc.pages]


JSONL = ExportFormat(
    "jsonl", "JSON lines", (".jsonl", ".ndjson"), render=render_jsonl, aliases=("json-lines",)
)
PAGES = ExportFormat("pagefiles", "One file per page", (".page",), write=write_page_files)


@pytest.fixture
def registered():
    register(JSONL)
    register(PAGES)
    yield
    unregister(JSONL.name)
    unregister(PAGES.name)


@pytest.fixture
def doc() -> DocumentResult:
    return DocumentResult("x.pdf", [PageResult(1, "# One"), PageResult(2, "Two")], title="Letter")


def test_a_registered_text_format_exports_renders_and_is_found_by_every_name(
    registered, doc, tmp_path
) -> None:
    # GIVEN the throwaway format registered WHEN exporting through it THEN its writer made the file
    (out,) = export.export(doc, "jsonl", tmp_path / "r.jsonl")
    assert [json.loads(line)["page"] for line in out.read_text().splitlines()] == [1, 2]
    assert export.render(doc, "JSON-Lines") == render_jsonl(doc)
    assert export.normalize_format(".ndjson") == "jsonl" and export.guess_format("a/b.NDJSON") == "jsonl"
    assert export.get("json-lines") is JSONL and not JSONL.file_only
    assert export.export(doc, "jsonl", tmp_path) == [
        tmp_path / "Letter.jsonl"
    ]  # a folder: named by the title
    assert export.formats()[-2:] == (JSONL, PAGES)
    assert JSONL.file_filter == "JSON lines (*.jsonl *.ndjson)"


def test_a_registered_file_format_writes_its_files_atomically(registered, doc, tmp_path) -> None:
    written = export.export(doc, "pagefiles", tmp_path / "p.page")
    assert written == [tmp_path / "p-1.page", tmp_path / "p-2.page"]
    assert (tmp_path / "p-2.page").read_text() == "Two"
    assert PAGES.file_only
    with pytest.raises(ExportError, match="is a file"):
        export.render(doc, "pagefiles")


def test_the_cli_lists_registered_formats(registered) -> None:
    from paperlens.cli import build_parser

    parse = build_parser()._subparsers._group_actions[0].choices["parse"]
    helps = {a.dest: a.help for a in parse._actions}
    assert helps["format"].startswith("md (default), json, html, txt, docx") and "jsonl" in helps["format"]
    assert "pagefiles" in helps["output"] and "jsonl" not in helps["output"]


def test_unregistered_formats_are_gone_and_names_cannot_be_taken_twice(doc) -> None:
    assert "jsonl" not in {f.name for f in export.formats()}
    with pytest.raises(ExportError, match="cannot export to 'jsonl'"):
        export.normalize_format("jsonl")
    with pytest.raises(ValueError, match="already name another format"):
        register(ExportFormat("markdown2", "Markdown again", (".md",), render=render_jsonl))
    assert export.get("md").label == "Markdown"


def test_a_format_needs_exactly_one_writer() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ExportFormat("bad", "Bad", (".bad",))
    with pytest.raises(ValueError, match="exactly one"):
        ExportFormat("bad", "Bad", (".bad",), render=render_jsonl, write=write_page_files)
