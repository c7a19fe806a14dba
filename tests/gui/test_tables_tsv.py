"""Copy as TSV: what goes on the clipboard for a spreadsheet never carries a formula."""

from __future__ import annotations

from paperlens.core.results.tables import extract_tables
from paperlens.gui.tables_view import table_tsv


def test_copy_as_tsv_neutralises_formulas() -> None:
    # GIVEN a table whose cells a spreadsheet would run as formulas
    (table,) = extract_tables(
        '| Name | Amount |\n|---|---|\n| =HYPERLINK("http://x","y") | -12.5 |\n| @SUM(A1) | -x |\n'
    )
    # WHEN it is copied as TSV
    lines = table_tsv(table).split("\n")
    # THEN text cells are quoted with an apostrophe and numbers stay numbers
    assert lines[1].split("\t") == ['\'=HYPERLINK("http://x","y")', "-12.5"]
    assert lines[2].split("\t") == ["'@SUM(A1)", "'-x"]
