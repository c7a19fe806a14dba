"""The window's entry point: `paperlens` with no command calls `run_app`.

The model thread imports llama.cpp only when the first page is parsed, so this opens in well under a second. The
palette follows the system's light or dark scheme (Fusion style, so it looks the same on every platform and does
follow the palette, which native Linux styles often ignore).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QFileOpenEvent, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from paperlens import APP_NAME
from paperlens.resources import ICON_SVG

log = logging.getLogger(__name__)

# Names the .desktop entry, the AppStream file and the icon (resources/linux): Wayland matches windows to entries by it.
DESKTOP_ID = "app.paperlens.PaperLens"


def dark_palette() -> QPalette:
    """A dark palette for Fusion (Qt's own Fusion palette is light unless the platform theme supplies one)."""
    p = QPalette()
    base, window, text = QColor(30, 30, 32), QColor(45, 45, 48), QColor(225, 225, 225)
    disabled = QColor(125, 125, 125)
    highlight = QColor(53, 132, 228)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(52, 52, 56),
        QPalette.ColorRole.ToolTipBase: window,
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: disabled,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: window,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 255, 255),
        QPalette.ColorRole.Light: QColor(70, 70, 74),
        QPalette.ColorRole.Midlight: QColor(60, 60, 64),
        QPalette.ColorRole.Mid: QColor(40, 40, 42),
        QPalette.ColorRole.Dark: QColor(22, 22, 24),
        QPalette.ColorRole.Shadow: QColor(10, 10, 10),
        QPalette.ColorRole.Highlight: highlight,
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(110, 170, 250),
        QPalette.ColorRole.LinkVisited: QColor(170, 140, 250),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def wants_dark() -> bool:
    """PAPERLENS_THEME=dark|light wins; otherwise the system's colour scheme (Qt 6.5+) decides."""
    forced = os.environ.get("PAPERLENS_THEME", "").lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return bool(scheme is not None and scheme() == Qt.ColorScheme.Dark)


def apply_palette(app: QApplication) -> None:
    app.setPalette(dark_palette() if wants_dark() else app.style().standardPalette())


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the names QSettings uses, the Fusion style and the system's light or dark palette."""
    QApplication.setOrganizationName(APP_NAME)
    QApplication.setOrganizationDomain("paperlens.app")
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationDisplayName(APP_NAME)
    QGuiApplication.setDesktopFileName(DESKTOP_ID)
    app = QApplication.instance() or QApplication(list(argv or [APP_NAME]))
    app.setWindowIcon(QIcon(str(ICON_SVG)))
    app.setStyle("Fusion")
    apply_palette(app)
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda *_: apply_palette(app))
    return app


class FileOpenEvents(QObject):
    """macOS hands files to a running app (Finder's Open With, a drop on the Dock icon) as QFileOpenEvents on the
    application, not as arguments. They are collected, and passed to `on_files` once a window takes them (files that
    come while the app is still starting wait for `ready`)."""

    def __init__(
        self, on_files: Callable[[list[str]], None] | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.on_files = on_files
        self.waiting: list[str] = []

    def ready(self, on_files: Callable[[list[str]], None]) -> None:
        self.on_files = on_files
        self._flush()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = event.file() or event.url().toLocalFile()
            if path:
                self.waiting.append(path)
                QTimer.singleShot(0, self._flush)  # not inside the event: opening may show a dialog
            return True
        return super().eventFilter(watched, event)

    def _flush(self) -> None:
        if self.on_files is None or not self.waiting:
            return
        files, self.waiting = self.waiting, []
        self.on_files(files)


def run_app(argv: list[str] | None = None, files: list[str] | None = None) -> int:
    """Open the window with `files` (or any paths named after the program name in `argv`); returns the exit code.

    If a PaperLens window is already running for this user, the files go to it and this returns 0 at once
    (`gui/single_instance.py`); PAPERLENS_NEW_INSTANCE=1 always opens a window of its own.
    """
    from paperlens.gui.single_instance import InstanceServer, hand_over

    argv = list(argv or sys.argv[:1])
    paths = [os.path.abspath(p) for p in (files if files is not None else argv[1:]) if p]
    single = not os.environ.get("PAPERLENS_NEW_INSTANCE")
    if single and hand_over(paths):
        log.info("handed %d file(s) to the running PaperLens window", len(paths))
        return 0

    from paperlens.gui.main_window import MainWindow

    app = make_app(argv[:1])
    file_events = FileOpenEvents(parent=app)
    app.installEventFilter(file_events)
    # Ctrl-C (or SIGINT from a test) before the window exists quits at once instead of being lost in Qt's start-up
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    window = MainWindow()
    window.show()
    if paths:
        QTimer.singleShot(0, lambda: window.open_paths(paths))
    server = InstanceServer(lambda handed: bring_forward(window, handed), parent=window)
    file_events.ready(lambda handed: bring_forward(window, handed))
    if single:
        server.listen()

    # Ctrl-C in the terminal closes the window the normal way (cancel, wait for the model thread) instead of being
    # swallowed while Qt's loop runs C++ code; the idle timer gives Python a moment to see the signal.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer()
    tick.start(250)
    tick.timeout.connect(lambda: None)
    QTimer.singleShot(0, lambda: log.debug("the window is up"))  # runs once the event loop does

    code = app.exec()
    server.close()
    if window.host.running:
        # llama.cpp did not return within the shutdown limit: leave now rather than hang or abort in Qt's cleanup.
        log.warning("the model thread is still busy; exiting without waiting for it")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def bring_forward(window, files: list[str]) -> None:
    """Another launch's files: open them as if dropped, and show the window above the others."""
    if files:
        opened = window.open_paths(files)
        log.info("opened %d document(s) from another launch", len(opened))
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
