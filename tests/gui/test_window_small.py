"""Small things seen in the window: the pane after a capture, document switching keys, feedback for Copy as TSV and
Check Again, Parse with no model, and the wording of a few messages."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from paperlens.gui.model_check import ModelCheck
from tests.gui.fakes import PAGE_MARKDOWN
from tests.gui.helpers import page_image, wait_idle


def test_a_captured_page_shows_its_own_state_not_the_previous_pages(qtbot, window):
    # GIVEN a parsed page on screen
    s = window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    assert window.markdown.text == PAGE_MARKDOWN
    # WHEN the camera adds a page to the document
    window._pages_captured([page_image("Captured")])
    # THEN the new page is shown, and the Markdown pane says it is not parsed yet
    assert s.page_count == 2 and s.current_page == 2
    assert window.markdown.text == ""
    assert window.markdown.key == (s.id, 2)
    assert "not parsed yet" in window.markdown.browser.toPlainText()


def test_a_page_captured_while_another_is_read_shows_not_parsed_yet(qtbot, make_window):
    from tests.gui.fakes import FakeEngineFactory

    factory = FakeEngineFactory(delay=0.02)
    window = make_window(factory)
    s = window.open_image(page_image(), "Doc")
    window.parse_all_pages()
    qtbot.waitUntil(lambda: len(window.markdown.text) > 20, timeout=5000)
    window._pages_captured([page_image("Captured")])
    assert s.current_page == 2 and window.markdown.key == (s.id, 2)
    assert window.markdown.text == "" and "not parsed yet" in window.markdown.browser.toPlainText()
    assert "Reading" not in window.markdown.info.text()
    wait_idle(qtbot, window)
    assert s.current_page == 2 and "not parsed yet" in window.markdown.browser.toPlainText()


# -- switching documents -----------------------------------------------------------------------------------------------
def test_ctrl_tab_and_ctrl_shift_tab_step_through_the_documents(qtbot, window):
    first = window.open_image(page_image("one"), "One")
    second = window.open_image(page_image("two"), "Two")
    third = window.open_image(page_image("three"), "Three")
    assert window.act_next_doc.shortcut() == QKeySequence("Ctrl+Tab")
    assert window.act_prev_doc.shortcut() == QKeySequence("Ctrl+Shift+Tab")
    assert window.act_next_doc.isEnabled() and window.act_prev_doc.isEnabled()
    window.act_next_doc.trigger()  # wraps from the last to the first
    assert window.current is first
    window.act_prev_doc.trigger()
    assert window.current is third
    window.act_prev_doc.trigger()
    assert window.current is second and window.windowTitle().startswith("Two")
    # the keys work with the focus in the Markdown source too (an editor does not swallow them)
    window.activateWindow()
    window.markdown.source.setFocus()
    qtbot.keyClick(window.markdown.source, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.current is third


def test_document_switching_is_disabled_with_one_document(window):
    window.open_image(page_image(), "Only")
    assert not window.act_next_doc.isEnabled() and not window.act_prev_doc.isEnabled()


# -- feedback ------------------------------------------------------------------------------------------------------------
def test_copy_as_tsv_says_which_table_was_copied(qtbot, window):
    window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    window.view.show_tables_tab()
    window.tables.grids[0].copy_button.click()
    assert window.status.currentMessage() == "Copied table 1 (4 rows) as TSV."


def _missing(tmp_path):
    from paperlens.core.models import missing_models_message, scan_model_dir

    empty = scan_model_dir(tmp_path)
    return lambda folder: ModelCheck(False, missing_models_message(empty), folder=str(tmp_path), models=empty)


def test_check_again_says_what_it_found_even_when_nothing_changed(qtbot, make_window, tmp_path):
    window = make_window(model_check=_missing(tmp_path))
    qtbot.waitUntil(lambda: window.banner.kind == "missing", timeout=3000)
    assert window.status.currentMessage() == ""  # the first check at start-up is the banner's to tell
    # WHEN Check Again finds the same (nothing) THEN it says so
    window.banner.check_button.click()
    qtbot.waitUntil(lambda: window.status.currentMessage() != "", timeout=3000)
    message = window.status.currentMessage()
    assert message.startswith("Still missing:") and "text model" in message and "projector" in message
    # WHEN the files are there THEN it says which model it found
    window.models._check = lambda folder: ModelCheck(True, text_model="MiniCPM-V-4_6-Q4_K_M.gguf")
    window.banner.check_button.click()
    qtbot.waitUntil(lambda: window.status.currentMessage().startswith("Model found"), timeout=3000)
    assert "MiniCPM-V-4_6-Q4_K_M.gguf" in window.status.currentMessage()


# -- parse needs a model -----------------------------------------------------------------------------------------------
def test_parse_is_disabled_without_a_model_and_says_why(qtbot, make_window, tmp_path):
    window = make_window(model_check=_missing(tmp_path))
    window.open_image(page_image(), "Doc")
    qtbot.waitUntil(lambda: window.banner.kind == "missing", timeout=3000)
    for action in (window.act_parse_page, window.act_parse_all, window.act_reparse):
        assert not action.isEnabled()
        assert "needs the model" in action.toolTip() and "not installed" in action.statusTip()
    assert window.act_export.isEnabled() is False and window.act_zoom_in.isEnabled()  # the rest still works
    # WHEN the model arrives THEN Parse is enabled with its usual tip
    window.models._check = lambda folder: ModelCheck(True, text_model="model.gguf")
    window.banner.check_button.click()
    qtbot.waitUntil(window.act_parse_page.isEnabled, timeout=3000)
    assert window.act_parse_page.toolTip().startswith("Turn the current page into Markdown")


def test_parse_stays_enabled_when_the_model_runs_on_a_server(qtbot, make_window, settings, tmp_path):
    settings.run_on = "remote"
    settings.server_url = "http://127.0.0.1:9/"
    window = make_window(model_check=_missing(tmp_path))
    window.open_image(page_image(), "Doc")
    qtbot.waitUntil(lambda: window.models.ok is True, timeout=3000)
    assert window.act_parse_page.isEnabled() and window.banner.isHidden()


def test_a_long_status_message_is_elided_to_fit_and_kept_whole_in_the_tooltip(window):
    long = "The model could not be checked: " + "a very long reason that goes on " * 20 + "and ends here."
    window.status.showMessage(long, 5000)
    shown = window.status.currentMessage()
    assert shown != long and "…" in shown and shown.startswith("The model could not")
    assert window.status.fontMetrics().horizontalAdvance(shown) <= window.status.message_width()
    assert window.status.toolTip() == long and window.status.full_message == long
    window.status.showMessage("Short.", 5000)
    assert window.status.currentMessage() == "Short." and window.status.toolTip() == ""


# -- wording -----------------------------------------------------------------------------------------------------------
def test_a_partial_spreadsheet_export_says_an_xlsx_file(qtbot, window, tmp_path):
    s = window.open_image(page_image(), "Doc")
    window.add_captured_pages([page_image("second")])
    window.select_page(1)
    window.parse_current_page()
    wait_idle(qtbot, window)
    out = tmp_path / "out.xlsx"
    window.export_to(s.to_document_result(), "xlsx", out)
    qtbot.waitUntil(lambda: not window.notice.isHidden(), timeout=5000)
    assert "an XLSX file cannot say so" in window.notice.text and " a XLSX" not in window.notice.text


@pytest.mark.parametrize(
    ("name", "content"), [("broken.pdf", b"%PDF-1.7\nnot a PDF\n"), ("broken.png", b"\x89PNGxx")]
)
def test_a_damaged_file_is_named_once(window, tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    assert window.open_paths([tmp_path / name]) == []
    assert window.notice.text.count(name) == 1, window.notice.text
    assert window.status.currentMessage().count(name) == 1


def test_a_camera_error_speaks_of_the_dialogs_controls_not_a_cli_flag(qtbot, settings, monkeypatch):
    import paperlens.core.capture as capture
    from paperlens.core.errors import CameraError
    from paperlens.gui.camera import CameraDialog

    class BusyCamera:
        def __init__(self, source, **kwargs):
            raise CameraError(
                f"Camera {source} is not available: it is not connected, or another app is using it.",
                hint="Close other apps that use the camera, or try another number with --source.",
            )

    monkeypatch.setattr(capture, "CameraStream", BusyCamera)
    dialog = CameraDialog(settings)
    qtbot.addWidget(dialog)
    assert not dialog.start(3)
    text = dialog.status.text()
    assert "Camera 3 is not available" in text and "--" not in text and "Source" in text
    dialog._reader_error(CameraError("Camera 3 stopped.", hint="Try again with --source 1."))
    qtbot.waitUntil(lambda: "stopped" in dialog.status.text())
    assert "--" not in dialog.status.text()


def test_the_password_dialog_is_wide_enough_for_its_title(qtbot):
    from paperlens.gui.dialogs import PasswordDialog

    dialog = PasswordDialog("secret.pdf")
    qtbot.addWidget(dialog)
    title = dialog.fontMetrics().horizontalAdvance(dialog.windowTitle())
    assert dialog.minimumWidth() >= max(320, title + 120)


def test_the_model_menu_lists_the_model_files_like_paperlens_models(
    qtbot, make_window, settings, tiny_model_dir
):
    # GIVEN a model folder with the twin's text model and projector
    settings.model_dir = str(tiny_model_dir)
    window = make_window()
    # WHEN Model > Model Files… is chosen
    window.action_table["model_files"].trigger()
    qtbot.waitUntil(lambda: bool(window.models.files_report), timeout=10_000)
    # THEN it shows what `paperlens models` prints: each file, its size and mode, which are in use
    report = window.models.files_report
    assert str(tiny_model_dir) in report and "* = in use" in report
    assert "twin-tiny" in report and "16x" in report
    window.models.files_box.close()
