"""Every export format written, then opened again with its own library and checked; and every way writing can fail."""

from __future__ import annotations

import csv
import errno
import json
import os
import stat
import sys
from html.parser import HTMLParser
from pathlib import Path

import docx
import openpyxl
import pytest

from paperlens.core.errors import ExportError
from paperlens.core.results import export
from paperlens.core.results.export import docx as docx_writer
from paperlens.core.results.export import files
from paperlens.core.runs import DocumentResult, Finish, PageResult, RunStats

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "model_outputs"


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.md").read_text(encoding="utf-8")


@pytest.fixture
def doc() -> DocumentResult:
    """A five-page result: pipe tables, HTML tables with spans, formulas and lists, a cut table, a failed page."""
    stats = RunStats(mode="4x", image_tokens=64, prompt_tokens=90, generated_tokens=300, wall_s=2.0)
    pages = [
        PageResult(1, fixture("pipe_tables"), Finish.STOP, stats),
        PageResult(2, fixture("html_spans"), Finish.STOP, stats, cached=True),
        PageResult(3, fixture("formulas_lists"), Finish.STOP, stats),
        PageResult(4, fixture("cut_pipe_table"), Finish.CANCELLED, stats),
        PageResult(5, error="The page could not be rendered."),
    ]
    return DocumentResult(source="/scans/Quarterly report.pdf", pages=pages, title="Quarterly report")


def no_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


# --- the formats, read back ------------------------------------------------------------------------------------------
def test_formats_are_the_issue_list() -> None:
    assert {f.name for f in export.formats()} == {"md", "json", "html", "txt", "docx", "xlsx", "csv", "pdf"}


def test_markdown_one_file_with_page_markers(doc, tmp_path) -> None:
    (out,) = export.export(doc, "md", tmp_path / "r.md")
    text = out.read_text(encoding="utf-8")
    for n in range(1, 6):
        assert f"<!-- Page {n} -->" in text
    assert text.index("<!-- Page 1 -->") < text.index("# Quarterly Report") < text.index("<!-- Page 2 -->")
    assert "<!-- Page 4 stopped early because it was cancelled" in text
    assert "<!-- Page 5 could not be converted: The page could not be rendered. -->" in text
    assert "| South \\| Coast | 987 |" in text  # the model's Markdown, untouched
    assert text == export.render_markdown(doc)


def test_markdown_closes_a_fence_a_stopped_run_left_open() -> None:
    pages = [
        PageResult(1, "Intro\n\n```python\nx = 1", Finish.CANCELLED),
        PageResult(2, "# Second page"),
    ]
    text = export.render_markdown(DocumentResult("x.pdf", pages))
    # the heading of page 2 must still be a heading, not code
    from paperlens.core.results.markdown import tokens as markdown_tokens

    tokens = markdown_tokens(text)
    assert any(t.type == "heading_open" for t in tokens)
    assert "x = 1\n```" in text


def test_close_open_blocks_handles_nested_fences_and_html() -> None:
    assert export.close_open_blocks("- item\n  ~~~~\n  code").endswith("  ~~~~\n  code")  # closed by the list
    assert export.close_open_blocks("> ```\n> code") == "> ```\n> code"  # closed by the quote's end
    assert export.close_open_blocks("<!-- a comment that never").endswith("\n-->")
    assert export.close_open_blocks("<pre>\nx").endswith("\n</pre>")
    assert export.close_open_blocks("plain") == "plain"


def test_json_has_pages_markdown_tables_and_stats(doc, tmp_path) -> None:
    (out,) = export.export(doc, "json", tmp_path / "r.json")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["format"] == "paperlens-document" and data["version"] == 1
    assert data["source"] == doc.source and data["title"] == "Quarterly report"
    assert [p["page"] for p in data["pages"]] == [1, 2, 3, 4, 5]
    assert data["pages"][0]["stats"]["image_tokens"] == 64
    assert data["pages"][1]["cached"] is True
    assert data["pages"][3]["finish"] == "cancelled"
    assert data["pages"][4]["error"]
    assert data["markdown"] == export.render_markdown(doc)
    assert [(t["page"], t["index"]) for t in data["tables"]] == [(1, 1), (1, 2), (2, 1), (2, 2), (4, 1)]
    assert data["tables"][2]["spans"][0] == [0, 0, 2, 1]
    assert data["tables"][4]["truncated"] is True
    assert data["stats"] == {
        "pages": 5,
        "pages_from_cache": 1,
        "pages_failed": 1,
        "pages_incomplete": 1,
        "image_tokens": 256,
        "prompt_tokens": 360,
        "generated_tokens": 1200,
        "wall_s": 6.0,  # the cached page cost nothing
        "modes": {"4x": 4},  # pages read in each image mode (the failed page has none)
    }


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_a_page_per_section_with_real_tables(doc, tmp_path) -> None:
    (out,) = export.export(doc, "html", tmp_path / "r.html")
    parser = _Html()
    parser.feed(out.read_text(encoding="utf-8"))
    sections = [a["id"] for t, a in parser.tags if t == "section"]
    assert sections == [f"page-{n}" for n in range(1, 6)]
    spans = [(a.get("rowspan"), a.get("colspan")) for t, a in parser.tags if t in ("td", "th") and a]
    assert ("2", None) in spans and (None, "2") in spans
    text = "".join(parser.text)
    assert "Students enrolled, autumn term" in text
    assert r"\(x_i\)" in text  # formulas kept as LaTeX
    assert "could not be converted" in text and "stopped early" in text
    assert ("script", {}) not in parser.tags


def test_html_export_runs_no_script_and_loads_nothing(tmp_path) -> None:
    md = (
        "<script>alert(1)</script>\n\n<div onclick=x><b>ok</b></div>\n\n"
        "Text <img src=http://evil/x.png onerror=alert(1)> <sup>2</sup>\n\n"
        '<table><tr><td onmouseover="x()"><script>y()</script>cell</td></tr></table>\n'
    )
    html = export.render_html(DocumentResult("x", [PageResult(1, md)]))
    assert "alert" not in html and "evil" not in html and "onclick" not in html and "onmouseover" not in html
    assert "<b>ok</b>" in html and "<sup>2</sup>" in html and "<td>cell</td>" in html
    assert "Content-Security-Policy" in html


def test_plain_text(doc, tmp_path) -> None:
    (out,) = export.export(doc, "txt", tmp_path / "r.txt")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("[Page 1]\n")
    assert "**" not in text and "<td>" not in text and "<!--" not in text
    lines = text.splitlines()
    assert "1. The errors have mean zero:" in lines
    assert "   - $\\mathbb{E}[\\varepsilon_i] = 0$" in lines
    assert any(line.startswith("South | Coast  987") for line in lines)
    assert "(The table is cut off: the text ended before the table did.)" in lines
    assert "the price of one unit is $5 and of two $9." in text  # prices are not formulas


def test_plain_text_aligns_wide_characters() -> None:
    from paperlens.core.results.tables import Table

    text = export.table_to_text(Table(rows=[["名前", "x"], ["ab", "y"]], header_rows=1))
    first, rule, second = text.splitlines()
    assert first == "名前  x" and second == "ab    y" and rule == "----  -"


def test_csv_one_file_per_table_named_by_page(doc, tmp_path) -> None:
    written = export.export(doc, "csv", tmp_path / "report.csv")
    assert [p.name for p in written] == [
        "report-p1-1.csv",
        "report-p1-2.csv",
        "report-p2-1.csv",
        "report-p2-2.csv",
        "report-p4-1.csv",
    ]
    with open(written[0], encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Region", "Q1", "Q2", "Change"]
    assert rows[2] == ["South | Coast", "987", "1,002", "+1.5%"]
    with open(written[2], encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[4] == ["Arts & Humanities", "512", "230", "530\n(est.)", "219"]
    assert written[0].read_bytes().startswith(b"\xef\xbb\xbf")  # so Excel reads UTF-8


def test_csv_single_table_goes_exactly_where_asked(tmp_path) -> None:
    one = DocumentResult("x", [PageResult(1, fixture("cut_pipe_table"))])
    assert export.export(one, "csv", tmp_path / "invoice.csv") == [tmp_path / "invoice.csv"]


def test_xlsx_sheet_per_table_numbers_merges_and_no_formulas(doc, tmp_path) -> None:
    (out,) = export.export(doc, "xlsx", tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [
        "Page 1 Table 1",
        "Page 1 Table 2",
        "Page 2 Table 1",
        "Page 2 Table 2",
        "Page 4 Table 1 (cut)",
    ]
    ws = wb["Page 1 Table 1"]
    assert [c.value for c in ws[1]] == ["Region", "Q1", "Q2", "Change"]
    assert [c.value for c in ws[2]] == ["North", 1204, 1388, "+15.3%"]
    assert ws["A1"].font.bold and ws.freeze_panes == "A2"
    ws = wb["Page 2 Table 1"]
    merged = sorted(str(r) for r in ws.merged_cells.ranges)
    assert merged == sorted(["A1:A2", "B1:C1", "D1:E1", "A3:A4", "B4:C4", "D4:E4"])
    assert ws["A1"].value == "Faculty" and ws["B4"].value == "798 (total)" and ws["E3"].value == 401
    assert ws["D5"].value == "530\n(est.)"
    assert wb["Page 1 Table 2"]["B2"].value == 4.5


def test_xlsx_never_stores_text_as_a_formula(tmp_path) -> None:
    md = '| a | b |\n|---|---|\n| =HYPERLINK("http://x") | =1+1 |\n'
    (out,) = export.export(DocumentResult("x", [PageResult(1, md)]), "xlsx", tmp_path / "f.xlsx")
    ws = openpyxl.load_workbook(out).active
    assert ws["A2"].value == '=HYPERLINK("http://x")' and ws["A2"].data_type == "s"
    assert ws["B2"].data_type == "s"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("-3.5", -3.5),
        ("1,204", 1204),
        ("1,388.75", 1388.75),
        ("\u22127", -7),
        ("007", "007"),
        ("0.5", 0.5),
        ("12,34", "12,34"),
        ("1.2.3", "1.2.3"),
        ("12%", "12%"),
        ("$5", "$5"),
        ("1234567890123456", "1234567890123456"),
        ("", ""),
        ("n/a", "n/a"),
    ],
)
def test_cell_values(text, value) -> None:
    got = export.cell_value(text)
    assert got == value and type(got) is type(value)


def test_docx_headings_paragraphs_lists_tables(doc, tmp_path) -> None:
    (out,) = export.export(doc, "docx", tmp_path / "r.docx")
    d = docx.Document(str(out))
    paras = [(p.style.name, p.text) for p in d.paragraphs if p.text]
    assert ("Heading 1", "Quarterly Report") in paras
    assert ("Heading 2", "2.1 Assumptions") in paras
    assert ("List Number", "The errors have mean zero:") in paras
    assert ("List Bullet 2", "independent of $X$") in paras
    assert ("Quote", "Note: the assumptions are sufficient, not necessary.") in paras
    assert any(s == "Normal" and "$x_i$ and $y_i$" in t for s, t in paras)
    assert any("stopped early" in t for _, t in paras) and any(
        "could not be converted" in t for _, t in paras
    )
    bold_runs = [r.text for p in d.paragraphs for r in p.runs if r.bold]
    assert "perfect" in bold_runs
    assert len(d.tables) == 5
    t = d.tables[2]  # the enrolment table, spans merged again
    assert t.cell(0, 0).text == "Faculty" and t.cell(1, 0)._tc is t.cell(0, 0)._tc
    assert t.cell(0, 1)._tc is t.cell(0, 2)._tc and t.cell(0, 1).text == "2023"
    assert t.cell(4, 3).text == "530\n(est.)"
    assert d.tables[0].cell(2, 0).text == "South | Coast"
    assert d.core_properties.title == "Quarterly report"


def test_docx_restarts_numbering_for_each_ordered_list(tmp_path) -> None:
    md = "1. a\n2. b\n\ntext\n\n1. c\n2. d\n"
    (out,) = export.export(DocumentResult("x", [PageResult(1, md)]), "docx", tmp_path / "n.docx")
    d = docx.Document(str(out))
    num_ids = [p._p.pPr.numPr.numId.val for p in d.paragraphs if p.style.name == "List Number"]
    assert len(num_ids) == 4 and num_ids[0] == num_ids[1] != num_ids[2] == num_ids[3]


def test_control_characters_do_not_break_xml_formats(tmp_path) -> None:
    md = "Bad \x01char\x0b here\n\n| a\x02 | b |\n|---|---|\n| 1 | 2 |\n"
    d = DocumentResult("x", [PageResult(1, md)])
    (x,) = export.export(d, "xlsx", tmp_path / "c.xlsx")
    (w,) = export.export(d, "docx", tmp_path / "c.docx")
    assert openpyxl.load_workbook(x).active["A1"].value == "a"
    assert "Bad char here" in docx.Document(str(w)).paragraphs[0].text


def test_spreadsheet_formats_need_a_table(tmp_path) -> None:
    d = DocumentResult("x", [PageResult(1, "# Only text")], title="Letter")
    for fmt in ("xlsx", "csv"):
        with pytest.raises(ExportError, match="Letter has no tables"):
            export.export(d, fmt, tmp_path / f"o.{fmt}")
    assert list(tmp_path.iterdir()) == []


def test_render_is_text_only_and_formats_are_normalised(doc) -> None:
    assert export.render(doc, "markdown") == export.render_markdown(doc)
    assert json.loads(export.render(doc, "json"))["title"] == "Quarterly report"
    with pytest.raises(ExportError, match="is a file"):
        export.render(doc, "docx")
    with pytest.raises(ExportError, match="cannot export to 'odt'"):
        export.normalize_format("odt")
    assert export.normalize_format(".PDF") == "pdf"
    assert export.guess_format("a/b.HTM") == "html" and export.guess_format("x") is None


def test_a_folder_as_target_names_the_file_after_the_document(doc, tmp_path) -> None:
    assert export.export(doc, "md", tmp_path) == [tmp_path / "Quarterly report.md"]


def test_empty_document(tmp_path) -> None:
    empty = DocumentResult("x", [])
    for fmt in ("md", "json", "html", "txt", "docx"):
        export.export(empty, fmt, tmp_path / f"e.{fmt}")


# --- bad targets: a clear error and no half-written file -------------------------------------------------------------
def test_missing_folder(doc, tmp_path) -> None:
    target = tmp_path / "nope" / "r.docx"
    with pytest.raises(ExportError) as err:
        export.export(doc, "docx", target)
    assert (
        str(err.value)
        == f"The folder {target.parent} does not exist. Create it or choose another folder; nothing was written."
    )


def test_parent_is_a_file(doc, tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="is not a folder"):
        export.export(doc, "md", tmp_path / "file" / "r.md")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder(doc, tmp_path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(ExportError, match="may not write"):
            export.export(doc, "xlsx", folder / "r.xlsx")
    finally:
        folder.chmod(stat.S_IRWXU)
    assert list(folder.iterdir()) == []


def test_permission_denied_is_explained(doc, tmp_path, monkeypatch) -> None:
    # the same as above, for root (CI) too: the OS refuses to create the file
    def refuse(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files.os, "open", refuse)
    with pytest.raises(ExportError) as err:
        export.export(doc, "md", tmp_path / "r.md")
    assert "may not write" in str(err.value) and "nothing was written" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_full_disk_mid_write_leaves_nothing(doc, tmp_path, monkeypatch) -> None:
    # GIVEN an existing export and a disk that fills up halfway through writing the new one
    target = tmp_path / "r.docx"
    target.write_bytes(b"the previous export")
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "write", half_then_full)
    # WHEN exporting THEN a clear sentence, the old file untouched, no temporary file left
    with pytest.raises(ExportError) as err:
        export.export(doc, "docx", target)
    assert str(err.value).startswith(f"The disk holding {tmp_path} is full.")
    assert target.read_bytes() == b"the previous export"
    assert no_leftovers(tmp_path) == []


def test_full_disk_on_sync(doc, tmp_path, monkeypatch) -> None:
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(ExportError, match="is full"):
        export.export(doc, "xlsx", tmp_path / "r.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_failure_while_rendering_writes_nothing(doc, tmp_path, monkeypatch) -> None:
    def boom(*a, **k):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(docx_writer, "docx_bytes", boom)
    with pytest.raises(RuntimeError):
        export.export(doc, "docx", tmp_path / "r.docx")
    assert list(tmp_path.iterdir()) == []


def test_csv_is_all_or_nothing(doc, tmp_path, monkeypatch) -> None:
    # the third table's file fails: the first two must not be left behind either
    calls = {"n": 0}
    real = files._write_temp

    def third_fails(path, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(files, "_write_temp", third_fails)
    with pytest.raises(ExportError, match="is full"):
        export.export(doc, "csv", tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


def test_odd_but_valid_names_work(doc, tmp_path) -> None:
    name = "Résumé — 表 (1) 'final' #2 😀.md"
    (out,) = export.export(doc, "md", tmp_path / name)
    assert out.name == name and out.read_text(encoding="utf-8").startswith("<!-- Page 1 -->")


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("a\x00b.md", "contains a character no file name may have"),
        ("x" * 300 + ".md", "is too long"),
    ],
)
def test_impossible_names_are_refused_before_writing(doc, tmp_path, name, says) -> None:
    with pytest.raises(ExportError) as err:
        export.export(doc, "md", tmp_path / name)
    assert says in str(err.value) and "nothing was written" in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("what?.md", "Windows does not allow"),
        ('a<b>:"c|d*.csv', "Windows does not allow"),
        ("CON.txt", "reserves for a device"),
        ("report.", "ends with a space or a dot"),
        ("ok name (1).md", None),
    ],
)
def test_windows_names(name, says) -> None:
    problem = export.name_problem(name, windows=True)
    assert (problem is None) if says is None else (says in problem)


def test_target_is_a_folder_inside_a_folder(doc, tmp_path) -> None:
    (tmp_path / "sub.md").mkdir()
    # a folder given as the target is written into; a folder named like the derived file name is refused
    (tmp_path / "sub.md" / "Quarterly report.md").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        export.export(doc, "md", tmp_path / "sub.md")


def test_os_errors_become_sentences(tmp_path) -> None:
    p = tmp_path / "x.md"
    cases = {
        errno.EROFS: "read-only disk",
        errno.ENAMETOOLONG: "too long",
        errno.EINVAL: "does not accept the file name",
        errno.EIO: "Could not write",
    }
    for code, words in cases.items():
        assert words in str(files._os_error(OSError(code, os.strerror(code)), p))


def test_written_files_get_normal_permissions(doc, tmp_path) -> None:
    (out,) = export.export(doc, "md", tmp_path / "r.md")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


# --- spreadsheet formula injection ------------------------------------------------------------------------------------
HOSTILE_CELLS = '| Name | Amount | Note |\n|---|---|---|\n| =HYPERLINK("http://x","y") | -12.5 | +1 |\n| @SUM(A1) | 3 | -x |\n'


def test_csv_neutralises_formulas_and_keeps_numbers(tmp_path) -> None:
    # GIVEN a scanned page whose table has cells a spreadsheet would run as formulas
    hostile = DocumentResult("x", [PageResult(1, HOSTILE_CELLS)])
    # WHEN it is exported as CSV
    (out,) = export.export(hostile, "csv", tmp_path / "t.csv")
    # THEN no text cell starts with = + - @, and numbers stay numbers
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1] == ['\'=HYPERLINK("http://x","y")', "-12.5", "+1"]
    assert rows[2] == ["'@SUM(A1)", "3", "'-x"]


@pytest.mark.parametrize(
    "text, safe",
    [
        ("=1+1", "'=1+1"),
        ("+1", "+1"),
        ("+x", "'+x"),
        ("+1.5%", "+1.5%"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("-x", "'-x"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("1,204", "1,204"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_spreadsheet_text(text, safe) -> None:
    assert export.spreadsheet_text(text) == safe


def test_no_tables_sentence_reads_well_for_each_spreadsheet_format() -> None:
    from paperlens.core.results.export.shared import article

    assert [f"{article(f)} {f}" for f in ("XLSX", "CSV", "HTML", "DOCX")] == [
        "an XLSX",
        "a CSV",
        "an HTML",
        "a DOCX",
    ]


def test_html_export_has_no_remote_image_even_without_its_csp() -> None:
    # GIVEN a page whose text names remote images (Word and mail clients ignore the export's CSP, so only their
    # absence protects the reader)
    md = (
        '![Company logo](https://track.example/logo.png)\n\n<img src="http://track.example/pixel.gif" alt="Seal '
        'of the\n city"> and <IMG SRC=//track.example/x.png>\n\n'
        '<table><tr><td><img src="http://track.example/t.png" alt="signature"></td></tr></table>\n'
    )
    html = export.render_html(DocumentResult("x", [PageResult(1, md)]))
    # THEN nothing in the file points at a server, and the alt texts the model wrote are kept as text
    assert "track.example" not in html and "<img" not in html.lower()
    assert "[Company logo]" in html and "[Seal of the city]" in html
