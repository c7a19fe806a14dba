"""The Tables tab joins a table that goes on across pages, as the exports do; the switch is kept and used by exports."""

from __future__ import annotations

import json

from paperlens.gui.main_window import TAB_TABLES
from tests.gui.fakes import FakeEngineFactory
from tests.gui.helpers import wait_idle, write_pdf

PAGE_1 = (
    "# Sales\n\nIntro.\n\n| Region | Q1 | Q2 |\n|---|---|---|\n| North | 10 | 11 |\n| South | 20 | 21 |\n"
)
PAGE_2 = (
    "| Region | Q1 | Q2 |\n|---|---|---|\n| East | 30 | 31 |\n| West | 40 | 41 |\n\nEnd of the sales table.\n"
)
PAGE_3 = "# Staff\n\n| Name | Role |\n|---|---|\n| Ann | Clerk |\n"


def _parsed_window(make_window, tmp_path, qtbot, settings=None):
    window = make_window(FakeEngineFactory(markdown=[PAGE_1, PAGE_2, PAGE_3]))
    window.open_paths([write_pdf(tmp_path / "sales.pdf", pages=3)])
    window.parse_all_pages()
    wait_idle(qtbot, window)
    window.right_tabs.setCurrentIndex(TAB_TABLES)
    return window


def _cells(grid) -> list[list[str]]:
    g = grid.grid
    return [[g.item(r, c).text() for c in range(g.columnCount())] for r in range(g.rowCount())]


def test_a_table_continued_on_the_next_page_is_shown_whole_on_both_pages(make_window, tmp_path, qtbot):
    window = _parsed_window(make_window, tmp_path, qtbot)
    whole = [
        ["Region", "Q1", "Q2"],
        ["North", "10", "11"],
        ["South", "20", "21"],
        ["East", "30", "31"],
        ["West", "40", "41"],
    ]
    for page in (1, 2):
        window.select_page(page)
        window.view.refresh_tables()
        (grid,) = window.tables.grids
        assert _cells(grid) == whole  # one header (the repeated one dropped), every row in order
        assert grid.pages == [1, 2]
        assert "joined across pages 1–2" in grid.label.text()
        labels = [grid.grid.verticalHeaderItem(r).text() for r in range(5)]
        assert labels == ["", "p. 1", "p. 1", "p. 2", "p. 2"]
    window.select_page(3)  # a different table (a header of words, other columns) stays apart
    window.view.refresh_tables()
    (grid,) = window.tables.grids
    assert _cells(grid) == [["Name", "Role"], ["Ann", "Clerk"]] and grid.pages == [3]


def test_switching_joining_off_shows_pieces_and_exports_them_apart(make_window, tmp_path, qtbot, settings):
    window = _parsed_window(make_window, tmp_path, qtbot)
    window.select_page(2)
    window.tables.join.setChecked(False)
    (grid,) = window.tables.grids
    assert _cells(grid) == [["Region", "Q1", "Q2"], ["East", "30", "31"], ["West", "40", "41"]]
    assert settings.join_tables is False  # kept for the next start

    out = tmp_path / "apart.json"
    window.export_to(window.current.to_document_result(), "json", out)
    qtbot.waitUntil(out.exists, timeout=10_000)
    assert [t["pages"] for t in json.loads(out.read_text())["tables"]] == [[1], [2], [3]]

    window.tables.join.setChecked(True)
    assert window.tables.grids[0].grid.rowCount() == 5 and settings.join_tables is True
    out = tmp_path / "joined.json"
    window.export_to(window.current.to_document_result(), "json", out)
    qtbot.waitUntil(out.exists, timeout=10_000)
    tables = json.loads(out.read_text())["tables"]
    assert [t["pages"] for t in tables] == [[1, 2], [3]]
    assert tables[0]["row_pages"] == [1, 1, 1, 2, 2]


def test_the_switch_is_restored_from_the_settings(make_window, settings):
    settings.join_tables = False
    window = make_window(settings=settings)
    assert not window.tables.join.isChecked()


def test_showing_a_page_of_a_long_document_reads_only_the_pages_its_table_can_reach():
    from paperlens.gui import tables_view

    pages = [(n, f"# Page {n}\n\nText.\n") for n in range(1, 501)]
    pages[99], pages[100] = (100, PAGE_1), (101, PAGE_2)  # a table over pages 100-101
    tables_view._page_tables.cache_clear()
    (joined,) = tables_view.tables_on_page(pages, 101)
    assert joined.pieces == [100, 101] and joined.table.n_rows == 5
    assert tables_view._page_tables.cache_info().misses <= 4  # pages 99-102, not 500
