"""Hand edits in the window are kept in the library at once (closing needs no prompt), come back on reopening, can be
reverted, and are not replaced by Parse Again without asking; results parsed in another mode are shown, not lost."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from paperlens.core.library import Library
from paperlens.gui.model_check import ModelCheck
from tests.gui.fakes import PAGE_MARKDOWN, FakeEngineFactory, FakeModels
from tests.gui.helpers import page_image, wait_idle, write_pdf

MINE = "# My own text\n\nTotal 12.00\n"


def _check(folder):
    return ModelCheck(True, text_model="Fake.gguf", models=FakeModels())


@pytest.fixture
def db(tmp_path):
    return tmp_path / "library.sqlite3"


@pytest.fixture
def pdf(tmp_path):
    return write_pdf(tmp_path / "scan.pdf", pages=2)


@pytest.fixture
def open_window(qtbot, make_window, db):
    """A window on the test's library, ready once the library and the model folder are known."""

    def make(factory=None):
        window = make_window(factory, model_check=_check, library_factory=lambda: Library(db))
        qtbot.waitUntil(lambda: window.documents.library is not None, timeout=3000)
        qtbot.waitUntil(lambda: window.documents.models is not None, timeout=3000)
        return window

    return make


def _parse_and_edit(qtbot, window, pdf):
    s = window.open_paths([pdf])[0]
    window.parse_current_page()
    wait_idle(qtbot, window)
    window.toggle_source()
    window.markdown.source.setPlainText(MINE)  # typed: the pane's short debounce is still running
    return s


def _reopen(qtbot, window, pdf):
    again = window.open_paths([pdf])[0]
    qtbot.waitUntil(lambda: 1 in again.results, timeout=5000)
    return again


def test_an_edit_closed_at_once_is_back_when_the_document_is_reopened(qtbot, open_window, pdf, db):
    # GIVEN a parsed page edited by hand
    window = open_window()
    _parse_and_edit(qtbot, window, pdf)
    # WHEN the document is closed right away (no prompt: nothing is ever unsaved) and opened again from Recent
    window.close_current_document()
    assert window.current is None
    again = _reopen(qtbot, window, pdf)
    # THEN the edit is shown, marked as edited, not the model's text from the cache
    assert again.results[1].markdown == MINE and 1 in again.edited
    assert window.markdown.text == MINE
    assert "edited by hand" in window.markdown.info.text()


def test_an_edit_is_committed_once_typing_pauses_without_any_close(qtbot, open_window, pdf, db):
    """A crash after the pause loses nothing: another connection to the file already sees the edit."""
    import sqlite3

    window = open_window()
    with qtbot.waitSignal(window.markdown.edited, timeout=3000):
        _parse_and_edit(qtbot, window, pdf)
    rows = sqlite3.connect(db).execute("SELECT text FROM edits WHERE task='parse'").fetchall()
    assert rows == [(MINE,)]


def test_an_edit_is_back_in_a_new_window_on_the_same_library(qtbot, open_window, pdf):
    first = open_window()
    _parse_and_edit(qtbot, first, pdf)
    first.close()  # straight away, while the edit is still pending in the pane
    factory = FakeEngineFactory()
    second = open_window(factory)
    again = _reopen(qtbot, second, pdf)
    assert again.results[1].markdown == MINE and 1 in again.edited
    assert second.act_revert_edit.isEnabled()
    # Parse Page finds it parsed; nothing runs the model
    assert second.parse_current_page() == 0
    assert factory.engines == [] or factory.engine.runs == []


def test_revert_shows_the_models_text_again_and_forgets_the_edit(qtbot, open_window, pdf):
    window = open_window()
    s = _parse_and_edit(qtbot, window, pdf)
    window.toggle_source()  # back to the rendered view: the edit is flushed
    assert window.act_revert_edit.isEnabled() and not window.markdown.revert_button.isHidden()
    window.act_revert_edit.trigger()
    assert s.results[1].markdown == PAGE_MARKDOWN and 1 not in s.edited
    assert window.markdown.text == PAGE_MARKDOWN
    assert not window.act_revert_edit.isEnabled() and window.markdown.revert_button.isHidden()
    # and it stays reverted after reopening
    window.close_current_document()
    again = _reopen(qtbot, window, pdf)
    assert again.results[1].markdown == PAGE_MARKDOWN and 1 not in again.edited


def test_revert_after_a_restart_shows_the_cached_model_text(qtbot, open_window, pdf):
    first = open_window()
    _parse_and_edit(qtbot, first, pdf)
    first.close()
    second = open_window()
    again = _reopen(qtbot, second, pdf)
    second.act_revert_edit.trigger()
    assert again.results[1].markdown == PAGE_MARKDOWN and 1 not in again.edited


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
def test_parse_again_asks_before_replacing_an_edit(
    qtbot, open_window, pdf, monkeypatch, fake_factory, answer
):
    window = open_window()
    s = _parse_and_edit(qtbot, window, pdf)
    window.toggle_source()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or answer)
    fake_factory.engine.markdown = "# The model, again\n"
    job = window.reparse_current_page()
    wait_idle(qtbot, window)
    assert len(asked) == 1
    lib = window.documents.library
    edit = lib.get_edit(s.page(1).image_hash, "parse")
    if answer == QMessageBox.StandardButton.No:
        assert job == 0 and s.results[1].markdown == MINE and 1 in s.edited and edit.text == MINE
    else:
        assert job and s.results[1].markdown == "# The model, again\n" and 1 not in s.edited and edit is None


def test_parse_again_on_a_page_not_edited_does_not_ask(qtbot, window, monkeypatch):

    window.open_image(page_image(), "Doc")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("asked"))
    assert window.reparse_current_page()
    wait_idle(qtbot, window)


# -- results from another mode ------------------------------------------------------------------------------------------
def test_results_parsed_in_another_mode_are_shown_with_their_mode(qtbot, open_window, pdf):
    # GIVEN page 1 parsed in 4x
    window = open_window()
    window.mode_box.setCurrentIndex(window.mode_box.findData("4x"))
    window.open_paths([pdf])
    window.parse_current_page()
    wait_idle(qtbot, window)
    window.close_current_document()
    # WHEN the mode is switched to 16x and the document opened again
    window.mode_box.setCurrentIndex(window.mode_box.findData("16x"))
    assert window.settings.mode == "16x"
    again = _reopen(qtbot, window, pdf)
    # THEN the 4x text is shown, said to be 4x, and the model is not run for it
    r = again.results[1]
    assert r.markdown == PAGE_MARKDOWN and r.cached and again.is_parsed(1)
    assert "from the cache (4x)" in window.markdown.info.text()
    assert "1 page(s) parsed earlier" in window.statusBar().currentMessage()
    assert "4x" in window.statusBar().currentMessage()
    assert window.parse_current_page() == 0


# -- small points from the same issue ----------------------------------------------------------------------------------
def test_stopping_before_any_text_does_not_claim_text_was_kept(qtbot, make_window):

    window = make_window(FakeEngineFactory(load_delay=0.3))
    s = window.open_image(page_image(), "Doc")
    window.parse_current_page()
    qtbot.waitUntil(lambda: window.host.busy, timeout=3000)
    window.cancel()
    wait_idle(qtbot, window)
    message = window.statusBar().currentMessage()
    assert 1 not in s.results  # nothing was written: the page is as it was
    assert "not parsed yet" in window.markdown.browser.toPlainText()
    assert "text so far is kept" not in message and "before any text" in message


def test_the_status_bar_says_which_page_of_how_many(qtbot, window, tmp_path):
    s = window.open_paths([write_pdf(tmp_path / "three.pdf", pages=3)])[0]
    assert window.status.page_label.text() == "Page 1 of 3"
    window.next_page()
    assert s.current_page == 2 and window.status.page_label.text() == "Page 2 of 3"
    window.add_captured_pages([page_image("four")])
    assert window.status.page_label.text() == "Page 4 of 4"
    window.close_current_document()
    assert window.status.page_label.text() == ""
