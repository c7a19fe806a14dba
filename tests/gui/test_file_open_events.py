"""macOS's way of handing files to the app (QFileOpenEvent): opened in the window, also when sent during start-up."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QUrl
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from paperlens.gui.app import FileOpenEvents, bring_forward
from tests.gui.helpers import write_pdf


def test_files_sent_before_the_window_exists_are_opened_when_it_does(qtbot, window, tmp_path):
    first, second = write_pdf(tmp_path / "a.pdf"), write_pdf(tmp_path / "b.pdf")
    app = QApplication.instance()
    events = FileOpenEvents()
    app.installEventFilter(events)
    try:
        QCoreApplication.sendEvent(app, QFileOpenEvent(str(first)))  # Finder's "Open With" at launch
        qtbot.waitUntil(lambda: events.waiting == [str(first)], timeout=2000)
        assert len(window.sessions) == 0  # nothing opened before a window takes the files
        events.ready(lambda files: bring_forward(window, files))
        assert [s.title for s in window.sessions.values()] == ["a.pdf"]
        QCoreApplication.sendEvent(
            app, QFileOpenEvent(QUrl.fromLocalFile(str(second)))
        )  # a drop on the Dock icon
        qtbot.waitUntil(lambda: len(window.sessions) == 2, timeout=5000)
        assert [s.title for s in window.sessions.values()] == ["a.pdf", "b.pdf"]
    finally:
        app.removeEventFilter(events)
