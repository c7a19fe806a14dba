"""Small things seen in the window: the pane after a capture, document switching keys, feedback for Copy as TSV and
Check Again, Parse with no model, and the wording of a few messages."""

from __future__ import annotations

import pytest

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
