"""The main window with a fake engine: documents in, parse, stream, cancel, tables, questions, errors, settings."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QKeySequence

from paperlens.core.runs import Finish
from paperlens.gui.main_window import TAB_ASK, TAB_TABLES
from paperlens.gui.model_check import ModelCheck
from paperlens.gui.pages import PARSED_MARK, PARTIAL_MARK
from tests.gui.fakes import ANSWER, PAGE_MARKDOWN, FakeEngineFactory
from tests.gui.helpers import page_image, wait_idle, write_pdf, write_png


# -- empty state, opening ----------------------------------------------------------------------------------------------
def test_starts_empty_with_the_ways_to_get_a_document_in(window):
    assert window.stack.currentWidget() is window.empty
    assert window.current is None
    assert not window.act_parse_page.isEnabled() and not window.act_export.isEnabled()
    assert window.banner.isHidden() and window.notice.isHidden()


def test_opening_files_makes_one_tab_each_and_remembers_them(qtbot, window, tmp_path):
    pdf = write_pdf(tmp_path / "report.pdf", pages=3)
    png = write_png(tmp_path / "scan.png")
    opened = window.open_paths([pdf, png])
    assert [s.page_count for s in opened] == [3, 1]
    assert window.doc_tabs.count() == 2 and window.current is opened[1]
    assert window.stack.currentWidget() is window.splitter
    # the page view and thumbnails fill in from the render pool
    qtbot.waitUntil(lambda: window.page_view.has_image(), timeout=5000)
    qtbot.waitUntil(lambda: len(opened[0].thumbnails) == 3, timeout=5000)
    assert window.settings.recent_files[:2] == [str(png.resolve()), str(pdf.resolve())]


def test_a_file_that_fails_to_open_shows_why_and_the_other_documents_stay(window, tmp_path):
    # GIVEN an open document
    good = window.open_paths([write_png(tmp_path / "good.png")])[0]
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not really a PDF\n")
    missing = tmp_path / "gone.pdf"
    # WHEN a damaged file, a missing one and a good one are opened together
    opened = window.open_paths([broken, missing, write_png(tmp_path / "other.png")])
    # THEN the good one opens, each failure is reported by name with its reason, and nothing open was lost
    assert len(opened) == 1
    text = window.notice.text
    assert "broken.pdf" in text and "gone.pdf" in text and "does not exist" in text
    assert window.notice.level == "error"
    assert good.id in window.sessions and window.doc_tabs.count() == 2


def test_encrypted_pdf_asks_for_the_password_until_it_is_right(window, tmp_path):
    pdf = write_pdf(tmp_path / "secret.pdf", pages=1, password="s3cret")
    asked = []
    answers = iter(["wrong", "s3cret"])

    def ask(name, reason):
        asked.append((name, reason))
        return next(answers)

    window.ask_password = ask
    opened = window.open_paths([pdf])
    assert len(opened) == 1 and opened[0].page_count == 1
    assert asked[0] == ("secret.pdf", "")
    assert "password" in asked[1][1].lower()  # the second prompt says the first one was wrong


def test_three_wrong_passwords_report_the_file_as_not_opened(window, tmp_path):
    asked = []
    window.ask_password = lambda name, reason: asked.append(reason) or "nope"
    assert window.open_paths([write_pdf(tmp_path / "secret.pdf", pages=1, password="pw")]) == []
    assert len(asked) == 3
    assert "secret.pdf" in window.notice.text and "password" in window.notice.text.lower()


def test_cancelling_the_password_dialog_is_not_an_error(window, tmp_path):
    window.ask_password = lambda name, reason: None
    assert window.open_paths([write_pdf(tmp_path / "secret.pdf", pages=1, password="pw")]) == []
    assert window.notice.isHidden()


def test_dropping_files_and_a_folder_of_photos(qtbot, window, tmp_path):
    folder = tmp_path / "receipt"
    folder.mkdir()
    for i in range(3):
        write_png(folder / f"p{i}.png", f"photo {i}")
    pdf = write_pdf(tmp_path / "a.pdf", pages=1)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder)), QUrl.fromLocalFile(str(pdf))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.doc_tabs.count() == 2, timeout=3000)
    counts = sorted(s.page_count for s in window.sessions.values())
    assert counts == [1, 3]  # the folder's photos became the pages of one document


def test_paste_an_image_from_the_clipboard(window):
    from paperlens.gui.jobs import pil_to_qimage

    QGuiApplication.clipboard().setImage(pil_to_qimage(page_image("clipboard")))
    window.paste()
    assert window.current is not None and window.current.title.startswith("Pasted image")
    assert window.current.page(1).image.size == (620, 877)


def test_recent_files_reopen_and_a_moved_one_is_dropped(window, tmp_path):
    png = write_png(tmp_path / "recent.png")
    window.settings.recent_files = [str(png), str(tmp_path / "moved.pdf")]
    window.opener.refresh_recent()
    assert window.empty.recent_list.count() == 2
    window.open_recent(str(tmp_path / "moved.pdf"))
    assert "no longer" in window.notice.text
    assert window.settings.recent_files == [str(png)]
    window.open_recent(str(png))
    assert window.current is not None and window.current.title == "recent.png"


# -- parsing -----------------------------------------------------------------------------------------------------------
def test_parse_page_streams_into_the_markdown_view_and_marks_the_page(qtbot, window):
    s = window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    assert s.results[1].markdown == PAGE_MARKDOWN and s.is_parsed(1)
    assert window.markdown.text == PAGE_MARKDOWN
    assert "Quarterly report" in window.markdown.browser.toPlainText()
    assert window.thumbs.item(0).text().endswith(PARSED_MARK)
    assert "Parsed 1 page" in window.statusBar().currentMessage()
    assert window.act_export.isEnabled()


def test_parsed_pages_are_not_run_again(qtbot, window, fake_factory):
    s = window.open_image(page_image("one"), "Doc")
    window.add_captured_pages([page_image("two"), page_image("three")])
    assert s.page_count == 3
    window.select_page(2)
    window.parse_current_page()
    wait_idle(qtbot, window)
    assert window.parse_current_page() == 0  # already parsed: nothing queued
    window.parse_all_pages()
    wait_idle(qtbot, window)
    parse_runs = [key for kind, key in fake_factory.engine.runs if kind == "parse"]
    assert len(parse_runs) == 3  # page 2 once, then only pages 1 and 3
    assert all(s.is_parsed(n) for n in (1, 2, 3))
    assert window.parse_all_pages() == 0


def test_parse_all_follows_the_page_being_read(qtbot, window):
    window.open_image(page_image("one"), "Doc")
    window.add_captured_pages([page_image("two")])
    window.select_page(1)
    seen = []
    window.host.page_started.connect(lambda job, page: seen.append(window.current_page))
    window.parse_all_pages()
    wait_idle(qtbot, window)
    assert window.current_page == 2


def test_cancel_keeps_the_partial_text_and_the_page_can_be_parsed_again(qtbot, make_window):
    factory = FakeEngineFactory(delay=0.03)
    window = make_window(factory)
    s = window.open_image(page_image(), "Doc")
    window.parse_current_page()
    qtbot.waitUntil(lambda: len(window.markdown.text) > 20, timeout=5000)
    assert window.markdown.streaming and window.thumbs.item(0).text().endswith(PARTIAL_MARK)
    window.cancel()
    wait_idle(qtbot, window)
    r = s.results[1]
    assert r.finish == Finish.CANCELLED and 20 <= len(r.markdown) < len(PAGE_MARKDOWN)
    assert window.markdown.text == r.markdown  # what was produced stays on screen
    assert "stopped" in window.markdown.info.text()
    assert not s.is_parsed(1)
    factory.kwargs["delay"] = 0
    window.parse_current_page()  # a cancelled page is not "parsed": it runs again
    wait_idle(qtbot, window)
    assert s.results[1].markdown == PAGE_MARKDOWN


def test_streaming_repaints_on_the_timer_not_per_token(qtbot, make_window):
    window = make_window(FakeEngineFactory(delay=0.004))
    window.open_image(page_image(), "Doc")
    updates = []
    window.host.text.connect(lambda job, page, text: updates.append(text))
    window.parse_current_page()
    wait_idle(qtbot, window)
    assert "".join(updates) == PAGE_MARKDOWN
    assert len(updates) < len(PAGE_MARKDOWN.split()) / 2


def test_model_that_fails_to_load_leaves_the_window_usable(qtbot, make_window, tmp_path):
    factory = FakeEngineFactory(fail_load="llama.cpp could not load the text model broken.gguf (truncated).")
    window = make_window(factory)
    s = window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    # THEN the reason is shown, nothing was lost, and the window still works
    assert not window.banner.isHidden() and window.banner.kind == "failed"
    assert "broken.gguf" in window.banner.message.text()
    assert window.model_label.text() == "Model: failed to load"
    assert window.notice.isHidden()  # said once, in the banner, not again in the notice strip
    assert 1 not in s.results
    assert window.open_paths([write_png(tmp_path / "next.png")])
    assert window.act_parse_page.isEnabled()
    # WHEN the problem is fixed, the next run loads a fresh engine and works
    factory.kwargs["fail_load"] = None
    window.select_page(1)
    window.doc_tabs.setCurrentIndex(0)
    window.parse_current_page()
    wait_idle(qtbot, window)
    assert s.is_parsed(1) and window.banner.isHidden()


def test_missing_model_says_which_files_and_where_to_get_them(qtbot, make_window, tmp_path):
    from paperlens.core.models import OFFICIAL_URL, missing_models_message, scan_model_dir

    empty = scan_model_dir(tmp_path)
    window = make_window(
        model_check=lambda folder: ModelCheck(False, missing_models_message(empty), models=empty)
    )
    qtbot.waitUntil(lambda: not window.banner.isHidden(), timeout=3000)
    text = window.banner.message.text()
    assert window.banner.kind == "missing"
    assert OFFICIAL_URL in text and "mmproj" in text and str(tmp_path) in text
    assert window.model_label.text() == "Model: not installed"
    assert not window.banner.open_button.isHidden()


def test_closing_the_window_during_a_run_cancels_it_and_exits_quickly(qtbot, make_window):
    factory = FakeEngineFactory(delay=0.05)
    window = make_window(factory)
    window.open_image(page_image(), "Doc")
    window.parse_current_page()
    qtbot.waitUntil(lambda: bool(factory.engines) and factory.engine.started.is_set(), timeout=5000)
    t0 = time.perf_counter()
    window.close()
    assert time.perf_counter() - t0 < 3.0
    assert not window.host.running and factory.engine.closed


def test_closing_a_document_during_its_run_cancels_only_that_run(qtbot, make_window):
    factory = FakeEngineFactory(delay=0.03)
    window = make_window(factory)
    first = window.open_image(page_image(), "First")
    window.open_image(page_image(), "Second")
    window.parse_current_page()
    qtbot.waitUntil(lambda: factory.engine.started.is_set() if factory.engines else False, timeout=5000)
    window.close_current_document()
    wait_idle(qtbot, window)
    assert list(window.sessions) == [first.id] and window.current is first


# -- markdown, tables, export -------------------------------------------------------------------------------------------
def test_tables_tab_shows_each_table_as_a_grid_and_copies_tsv(qtbot, window):
    window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    window.right_tabs.setCurrentIndex(TAB_TABLES)
    assert len(window.tables.grids) == 1
    grid = window.tables.grids[0].grid
    assert (grid.rowCount(), grid.columnCount()) == (4, 4)
    assert grid.item(3, 0).text() == "East" and grid.item(0, 1).text() == "Q1"
    window.tables.grids[0].copy_tsv()
    assert QGuiApplication.clipboard().text().splitlines()[1].split("\t") == [
        "North",
        "1,204",
        "1,377",
        "+14.4 %",
    ]


def test_editing_the_markdown_source_updates_the_page_and_its_tables(qtbot, window):
    s = window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    window.toggle_source()
    assert window.markdown.source_mode
    window.markdown.source.setPlainText("# Edited\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    window.toggle_source()  # switching back flushes the edit at once
    assert s.results[1].markdown.startswith("# Edited") and 1 in s.edited
    assert "edited by hand" in window.markdown.info.text()
    window.right_tabs.setCurrentIndex(TAB_TABLES)
    assert window.tables.grids[0].grid.item(1, 1).text() == "2"


def test_export_writes_the_parsed_pages(qtbot, window, tmp_path):
    window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    out = tmp_path / "out.md"
    window.export_to(window.current.to_document_result(), "md", out)
    qtbot.waitUntil(out.exists, timeout=5000)
    assert "Quarterly report" in out.read_text()


# -- asking ------------------------------------------------------------------------------------------------------------
def test_page_question_streams_an_answer_and_follow_ups_carry_the_chat(qtbot, window, fake_factory):
    s = window.open_image(page_image(), "Doc")
    window.ask.question.setText("Which region grew most?")
    window.ask.submit()
    wait_idle(qtbot, window)
    turn = s.chat("page", 1)[0]
    assert turn.answer == ANSWER and turn.finish == Finish.STOP and turn.pages_used == [1]
    assert window.right_tabs.currentIndex() == TAB_ASK
    assert "Which region grew most?" in window.ask.transcript.toPlainText()
    assert ANSWER[:20] in window.ask.transcript.toPlainText()
    window.ask_question("And the smallest?", "page")
    wait_idle(qtbot, window)
    assert s.history("page", 1)[0] == ("Which region grew most?", ANSWER)
    # the second question was about the same page image: the engine was given the same page key
    keys = [key for kind, key in fake_factory.engine.runs if kind == "ask"]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert "page image reused" in window.ask.transcript.toPlainText()


def test_document_question_answers_from_parsed_text_and_names_the_pages(qtbot, window):
    s = window.open_image(page_image("one"), "Doc")
    window.add_captured_pages([page_image("two")])
    window.parse_all_pages()
    wait_idle(qtbot, window)
    window.ask.set_scope("document")
    window.ask_question("What grew?", "document")
    wait_idle(qtbot, window)
    turn = s.chat("document", None)[0]
    assert turn.pages_used == [1, 2] and turn.answer == ANSWER
    assert "From pages 1 and 2" in window.ask.transcript.toPlainText()


def test_a_document_question_past_the_context_says_the_answer_may_be_incomplete(qtbot, make_window):
    from tests.gui.fakes import FakeEngineFactory

    # GIVEN three parsed pages whose text together is far more than the context holds
    pages = [f"Page {n} text " + "word " * 2500 for n in (1, 2, 3)]
    window = make_window(FakeEngineFactory(markdown=pages, delay=0))
    s = window.open_image(page_image("one"), "Doc")
    window.add_captured_pages([page_image("two"), page_image("three")])
    window.parse_all_pages()
    wait_idle(qtbot, window)
    # WHEN the whole document is asked about
    window.ask_question("What does page 2 say?", "document")
    wait_idle(qtbot, window)
    # THEN the answer is drawn from the pages that fit, and says it may be incomplete
    turn = s.chat("document", None)[0]
    assert turn.error is None and 0 < len(turn.pages_used) < 3 and turn.pages_with_text == 3
    assert "may be incomplete" in window.ask.transcript.toPlainText()


def test_document_question_with_nothing_to_read_says_so(qtbot, window):
    s = window.open_image(page_image(), "Doc")
    window.ask_question("Anything?", "document")
    wait_idle(qtbot, window)
    turn = s.chat("document", None)[0]
    assert turn.error and "no text" in turn.error.lower()
    assert turn.error in window.ask.transcript.toPlainText()


# -- documents remember their results ----------------------------------------------------------------------------------
def test_each_document_keeps_its_results_when_switching(qtbot, window):
    a = window.open_image(page_image("a"), "A")
    window.parse_current_page()
    wait_idle(qtbot, window)
    window.open_image(page_image("b"), "B")
    assert window.markdown.text == ""
    window.doc_tabs.setCurrentIndex(0)
    assert window.current is a and window.markdown.text == PAGE_MARKDOWN


def test_reopening_a_document_shows_its_cached_results_and_questions(qtbot, make_window, tmp_path, settings):
    from paperlens.core.library import Library
    from tests.gui.fakes import FakeModels

    db = tmp_path / "library.sqlite3"
    models = FakeModels()
    check = lambda folder: ModelCheck(True, text_model="Fake.gguf", models=models)  # noqa: E731
    pdf = write_pdf(tmp_path / "keep.pdf", pages=2)
    first = make_window(model_check=check, library_factory=lambda: Library(db))
    qtbot.waitUntil(lambda: first.documents.library is not None, timeout=3000)
    s = first.open_paths([pdf])[0]
    first.parse_current_page()
    wait_idle(qtbot, first)
    first.ask_question("Total?", "page")
    wait_idle(qtbot, first)
    first.close()
    # WHEN the document is opened again in a new window
    factory = FakeEngineFactory()
    second = make_window(factory, model_check=check, library_factory=lambda: Library(db))
    again = second.open_paths([pdf])[0]
    qtbot.waitUntil(lambda: 1 in again.results, timeout=5000)
    # THEN page 1 shows its text without running the model, and the question is back in the chat
    assert again.results[1].markdown == s.results[1].markdown and again.results[1].cached
    assert 2 not in again.results
    assert [t.question for t in again.chat("page", 1)] == ["Total?"]
    assert factory.engines == [] or factory.engine.runs == []


# -- settings, shortcuts, geometry, palette ----------------------------------------------------------------------------
def test_mode_switch_reloads_the_engine_with_the_new_mode(qtbot, window, fake_factory):
    window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    window.mode_box.setCurrentIndex(window.mode_box.findData("16x" if window.settings.mode == "4x" else "4x"))
    window.add_captured_pages([page_image("two")])
    window.parse_current_page()
    wait_idle(qtbot, window)
    assert [spec.mode for spec in fake_factory.specs] == ["auto", "4x"]  # auto is the default
    assert window.settings.mode == "4x"


@pytest.mark.parametrize(
    "action, keys",
    [
        ("act_open", "Ctrl+O"),
        ("act_parse_page", "Ctrl+R"),
        ("act_parse_all", "Ctrl+Shift+R"),
        ("act_cancel", "Esc"),
        ("act_export", "Ctrl+Shift+E"),
        ("act_toggle_source", "Ctrl+E"),
        ("act_ask", "Ctrl+L"),
        ("act_camera", "Ctrl+Shift+O"),
        ("act_close_doc", "Ctrl+W"),
        ("act_paste", "Ctrl+V"),
    ],
)
def test_common_actions_have_shortcuts(window, action, keys):
    assert getattr(window, action).shortcut() == QKeySequence(keys)


def test_geometry_is_remembered(make_window, settings):
    first = make_window()
    first.resize(720, 540)
    first.close()
    assert not settings.geometry.isEmpty()
    second = make_window()
    assert (second.width(), second.height()) == (720, 540)


def test_dark_palette_when_the_system_is_dark(monkeypatch, qapp):
    from paperlens.gui.app import apply_palette

    monkeypatch.setenv("PAPERLENS_THEME", "dark")
    apply_palette(qapp)
    assert qapp.palette().window().color().lightness() < 80
    monkeypatch.setenv("PAPERLENS_THEME", "light")
    apply_palette(qapp)
    assert qapp.palette().window().color().lightness() > 180


def test_settings_dialog_writes_values_and_the_engine_reloads_with_them(
    qtbot, window, fake_factory, tmp_path
):
    from paperlens.gui.dialogs import SettingsDialog

    before = window._engine_options()
    dialog = SettingsDialog(window.settings, "/default/models", window)
    qtbot.addWidget(dialog)
    assert dialog.mode.currentData() == "auto" and dialog.threads.value() == 0
    dialog.model_dir.setText(str(tmp_path))
    dialog.mode.setCurrentIndex(dialog.mode.findData("16x"))
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    assert not dialog.gpu_layers.isEnabled()  # GPU layers mean nothing on the CPU
    dialog.threads.setValue(3)
    dialog.dpi.setValue(200)
    dialog.apply()
    window.apply_settings(before)
    s = window.settings
    assert (s.model_dir, s.mode, s.device, s.threads, s.dpi) == (str(tmp_path), "16x", "cpu", 3, 200)
    assert window.mode_box.currentData() == "16x"
    window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    spec = fake_factory.specs[-1]
    assert (spec.model_dir, spec.mode, spec.device, spec.threads) == (str(tmp_path), "16x", "cpu", 3)


def test_password_dialog_shows_why_the_last_password_failed(qtbot):
    from paperlens.gui.dialogs import PasswordDialog

    first = PasswordDialog("secret.pdf")
    again = PasswordDialog("secret.pdf", "That password does not open it.")
    qtbot.addWidget(first)
    qtbot.addWidget(again)
    assert first.reason.isHidden() and not again.reason.isHidden()
    again.edit.setText("pw")
    assert again.password == "pw"


def test_start_panel_opens_the_sample_document(window, qtbot):
    # GIVEN a first-time user's empty window WHEN they follow "Open the sample document" THEN the report opens
    window.empty.sample_requested.emit()
    qtbot.waitUntil(lambda: len(window.sessions) == 1)
    (session,) = window.sessions.values()
    assert session.page_count == 1
