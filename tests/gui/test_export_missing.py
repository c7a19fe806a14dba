"""File > Export of a partly parsed document: asked first, the file names the missing pages, the status bar says so."""

from __future__ import annotations

from paperlens.gui.export_dialog import CANCEL, EXPORT_PARTIAL, PARSE_FIRST
from tests.gui.fakes import FakeEngineFactory
from tests.gui.helpers import page_image, wait_idle


def three_pages_one_parsed(qtbot, window):
    s = window.open_image(page_image("one"), "long.png")
    window.add_captured_pages([page_image("two"), page_image("three")])
    window.select_page(1)
    window.parse_current_page()
    wait_idle(qtbot, window)
    assert s.unparsed() == [2, 3]
    return s


def answer(window, choice, target, asked):
    """Replace the two modal questions: the missing-pages box answers `choice`, the file dialog gives `target`."""

    def ask_missing(_parent, s, unparsed):
        asked.append(("missing", list(unparsed)))
        return choice

    def ask_target(_parent, _suggested, filters):
        asked.append(("target", str(target)))
        return str(target), filters[0]

    window.exporter.ask_missing = ask_missing
    window.exporter.ask_target = ask_target


def test_export_what_exists_names_the_missing_pages_in_the_file_and_the_status(qtbot, window, tmp_path):
    three_pages_one_parsed(qtbot, window)
    out, asked = tmp_path / "long.md", []
    answer(window, EXPORT_PARTIAL, out, asked)
    window.export_dialog()
    assert asked == [("missing", [2, 3]), ("target", str(out))]  # asked about the pages before the file
    qtbot.waitUntil(lambda: "Wrote" in window.statusBar().currentMessage(), timeout=5000)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!-- Pages 2-3 were not parsed yet") and "<!-- Page 1 -->" in text
    assert window.statusBar().currentMessage() == f"Wrote {out} (1 of 3 pages; pages 2-3 not parsed)"


def test_cancel_writes_nothing_and_asks_no_file(qtbot, window, tmp_path):
    three_pages_one_parsed(qtbot, window)
    out, asked = tmp_path / "long.md", []
    answer(window, CANCEL, out, asked)
    window.export_dialog()
    assert asked == [("missing", [2, 3])]
    window.jobs.wait(2000)
    assert not out.exists()


def test_parse_the_rest_first_then_the_file_is_complete(qtbot, window, tmp_path):
    s = three_pages_one_parsed(qtbot, window)
    out, asked = tmp_path / "long.md", []
    answer(window, PARSE_FIRST, out, asked)
    window.export_dialog()
    assert "is written when they are done" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: out.exists() and "Wrote" in window.statusBar().currentMessage(), timeout=10_000)
    assert s.unparsed() == []
    text = out.read_text(encoding="utf-8")
    assert "not parsed" not in text and all(f"<!-- Page {n} -->" in text for n in (1, 2, 3))
    assert window.statusBar().currentMessage() == f"Wrote {out}"
    assert window.exporter.waiting == []


def test_a_stopped_parse_writes_nothing_and_says_so(qtbot, make_window, tmp_path):
    window = make_window(FakeEngineFactory(delay=0.05))
    window.open_image(page_image("one"), "long.png")
    window.add_captured_pages([page_image("two")])
    window.select_page(1)
    window.current.set_markdown(1, "# typed by hand")  # one page has text, so there is something to export
    out, asked = tmp_path / "long.md", []
    answer(window, PARSE_FIRST, out, asked)
    window.export_dialog()
    qtbot.waitUntil(lambda: bool(window.current.streaming), timeout=5000)
    window.cancel()
    qtbot.waitUntil(lambda: "was not written" in window.notice.text, timeout=5000)
    window.jobs.wait(2000)
    assert not out.exists() and window.exporter.waiting == []


def test_a_spreadsheet_cannot_hold_the_note_so_the_window_says_it(qtbot, window, tmp_path):
    three_pages_one_parsed(qtbot, window)
    out, asked = tmp_path / "long.xlsx", []
    answer(window, EXPORT_PARTIAL, out, asked)
    window.export_dialog()
    qtbot.waitUntil(lambda: "Wrote" in window.statusBar().currentMessage(), timeout=5000)
    assert out.exists()
    assert "pages 2-3 not parsed" in window.statusBar().currentMessage()
    assert "long.xlsx holds the tables of 1 of 3 pages; pages 2-3 not parsed" in window.notice.text
