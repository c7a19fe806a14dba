"""Tables across pages: a table continued on the next page comes out of every table export as one table."""

from __future__ import annotations

import json

import docx
import openpyxl
import pytest

from paperlens.core.results import export
from paperlens.core.results.tables.merge import looks_numeric, merge_across_pages, page_tables
from paperlens.core.runs import DocumentResult, PageResult

HEADER = "| Item | Qty | Price |\n|---|---|---|\n"


def rows(start: int, stop: int) -> str:
    return "".join(f"| item {i} | {i} | {i * 1.5:.2f} |\n" for i in range(start, stop))


def doc_of(*pages: str) -> DocumentResult:
    return DocumentResult(
        source="/scans/ledger.pdf", pages=[PageResult(i, md) for i, md in enumerate(pages, 1)], title="Ledger"
    )


# GIVEN a table over 2 pages whose second piece repeats the header, and one over 3 pages whose later pieces do not
SPLIT_2 = doc_of(
    "# Ledger\n\nSome text.\n\n" + HEADER + rows(1, 6), HEADER + rows(6, 9) + "\nTotal: 8 items.\n"
)
SPLIT_3 = doc_of(
    "Intro.\n\n" + HEADER + rows(1, 5),
    # no header in the model's Markdown: the first data row became the pipe table's header row
    "| item 5 | 5 | 7.50 |\n|---|---|---|\n" + rows(6, 10),
    "| item 10 | 10 | 15.00 |\n|---|---|---|\n" + rows(11, 13) + "\nThe end.\n",
)


def all_rows(n: int) -> list[list[str]]:
    return [["Item", "Qty", "Price"]] + [[f"item {i}", str(i), f"{i * 1.5:.2f}"] for i in range(1, n + 1)]


@pytest.mark.parametrize(("doc", "n", "pages"), [(SPLIT_2, 8, [1, 2]), (SPLIT_3, 12, [1, 2, 3])])
def test_a_split_table_is_one_sheet_with_one_header(doc, n, pages, tmp_path) -> None:
    # WHEN it is exported to XLSX
    (out,) = export.export(doc, "xlsx", tmp_path / "t.xlsx")
    # THEN there is one sheet, one header row, every row in order
    wb = openpyxl.load_workbook(out)
    assert len(wb.sheetnames) == 1
    assert wb.sheetnames[0] == f"Pages {pages[0]}-{pages[-1]} Table 1"
    got = [[str(c) if c is not None else "" for c in r] for r in wb.active.iter_rows(values_only=True)]
    want = all_rows(n)
    assert [r[0] for r in got] == [r[0] for r in want]
    tables = export.document_tables(doc)
    assert len(tables) == 1 and tables[0].table.rows == want and tables[0].table.header_rows == 1
    assert tables[0].pages == pages


def test_json_gives_each_row_its_page() -> None:
    data = json.loads(export.render(SPLIT_3, "json"))
    (t,) = data["tables"]
    assert t["pages"] == [1, 2, 3]
    assert t["row_pages"] == [1] * 5 + [2] * 5 + [3] * 3  # header + items 1-4 | 5-9 | 10-12
    assert len(t["rows"]) == len(t["row_pages"])


def test_csv_and_docx_hold_the_joined_table_once(tmp_path) -> None:
    (csv_out,) = export.export(SPLIT_2, "csv", tmp_path / "t.csv")
    assert csv_out == tmp_path / "t.csv"  # one table: exactly the file asked for
    assert csv_out.read_text(encoding="utf-8-sig").count("Item,Qty,Price") == 1
    (docx_out,) = export.export(SPLIT_3, "docx", tmp_path / "t.docx")
    (table,) = docx.Document(str(docx_out)).tables
    assert [c.text for c in table.rows[0].cells] == ["Item", "Qty", "Price"]
    assert len(table.rows) == 13
    assert table.rows[-1].cells[0].text == "item 12"


def test_two_different_tables_on_consecutive_pages_stay_apart() -> None:
    # GIVEN page 1 ending with a table and page 2 starting with another table of the same width, its own header
    doc = doc_of(HEADER + rows(1, 4), "| Name | City | Phone |\n|---|---|---|\n| Ann | Oslo | 555 |\n")
    # THEN two tables
    assert [t.name for t in export.document_tables(doc)] == ["Page 1 Table 1", "Page 2 Table 1"]
    # and none where the widths differ, text comes between, or a page is missing
    assert len(export.document_tables(doc_of(HEADER + rows(1, 3), "| a | b |\n|---|---|\n| 1 | 2 |\n"))) == 2
    assert len(export.document_tables(doc_of(HEADER + rows(1, 3) + "\nNotes.\n", HEADER + rows(3, 5)))) == 2
    gap = DocumentResult("x.pdf", [PageResult(1, HEADER + rows(1, 3)), PageResult(3, HEADER + rows(3, 5))])
    assert len(export.document_tables(gap)) == 2


def test_the_switch_turns_merging_off(tmp_path) -> None:
    assert len(export.document_tables(SPLIT_3, merge=False)) == 3
    (out,) = export.export(SPLIT_3, "xlsx", tmp_path / "t.xlsx", merge_tables=False)
    assert len(openpyxl.load_workbook(out).sheetnames) == 3
    data = json.loads(export.render(SPLIT_3, "json", merge_tables=False))
    assert [t["page"] for t in data["tables"]] == [1, 2, 3]
    # and the setting lasts only for that call
    assert len(export.document_tables(SPLIT_3)) == 1


def test_page_tables_know_first_and_last_blocks() -> None:
    first, second = page_tables(1, HEADER + rows(1, 2) + "\ntext\n\n" + HEADER + rows(2, 3))
    assert (first.first_block, first.last_block) == (True, False)
    assert (second.first_block, second.last_block) == (False, True)
    assert merge_across_pages([first, second]) == [first, second]


@pytest.mark.parametrize(
    ("cell", "numeric"),
    [("12", True), ("-3.5", True), ("1,204.50", True), ("$5", True), ("12%", True), ("2024-03-01", True)]
    + [("(42)", True), ("Qty", False), ("", False), ("Q1", False), ("item 5", False)],
)
def test_looks_numeric(cell, numeric) -> None:
    assert looks_numeric(cell) is numeric
