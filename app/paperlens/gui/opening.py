"""Getting documents into the window: the Open dialog, pasted and dropped images and files, the recent list, passwords.

Every way in ends in `open_paths` or `open_image`, which make a `DocumentSession` and hand it to `add_session`; a file
that fails shows its reason in the notice strip and the others still open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QObject, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QStatusBar, QWidget

from paperlens.core.errors import PaperLensError
from paperlens.core.page import Page
from paperlens.core.session import (
    DOCUMENT_SUFFIXES,
    IMAGE_SUFFIXES,
    DocumentSession,
    OpenCancelled,
    PasswordAsker,
    expand_paths,
    image_session,
    open_session,
)
from paperlens.gui.dialogs import PasswordDialog
from paperlens.gui.jobs import qimage_to_pil
from paperlens.gui.notice import NoticeBar
from paperlens.gui.settings import Settings
from paperlens.gui.start_panel import StartPanel
from paperlens.resources import SAMPLE_PDF

log = logging.getLogger(__name__)


def ask_password_dialog(parent: QWidget) -> PasswordAsker:
    def ask(name: str, reason: str) -> str | None:
        dialog = PasswordDialog(name, reason, parent)
        return dialog.password if dialog.exec() == QDialog.DialogCode.Accepted else None

    return ask


class Opener(QObject):
    """Opens documents for the window. `ask_password` is called for encrypted files (the window's hook)."""

    def __init__(
        self,
        parent: QWidget,
        settings: Settings,
        notice: NoticeBar,
        status: QStatusBar,
        start_panel: StartPanel,
        add_session: Callable[[DocumentSession], None],
        ask_password: PasswordAsker,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.settings = settings
        self.notice = notice
        self.status = status
        self.start_panel = start_panel
        self.add_session = add_session
        self.ask_password = ask_password
        self._pasted = 0
        self.recent_menu = QMenu("Open &Recent", parent)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        start_panel.recent_chosen.connect(self.open_recent)
        start_panel.sample_requested.connect(self.open_sample)

    def open_dialog(self) -> None:
        suffixes = " ".join(f"*{s}" for s in sorted(DOCUMENT_SUFFIXES | IMAGE_SUFFIXES))
        recent = self.settings.recent_files
        start = str(Path(recent[0]).parent) if recent else str(Path.home())
        paths, _ = QFileDialog.getOpenFileNames(
            self._parent, "Open documents", start, f"Documents and images ({suffixes});;All files (*)"
        )
        if paths:
            self.open_paths(paths)

    def open_sample(self) -> list[DocumentSession]:
        """The sample report (package data), for a first-time user with nothing to try PaperLens on."""
        return self.open_paths([SAMPLE_PDF])

    def open_paths(self, paths: list[str | Path]) -> list[DocumentSession]:
        """Open files and folders; each that fails shows its reason and the others (and open documents) stay."""
        opened: list[DocumentSession] = []
        errors: list[str] = []
        for group in expand_paths(paths):
            name = group[0].name if len(group) == 1 else group[0].parent.name
            try:
                session = open_session(group, dpi=self.settings.dpi or None, ask_password=self.ask_password)
            except OpenCancelled:
                continue
            except PaperLensError as exc:  # the sentence names the file once: most already start with it
                errors.append(str(exc) if name in str(exc) else f"{name}: {exc}")
                continue
            except Exception as exc:  # a library's own error type: still the file's fault, still one sentence
                log.exception("opening %s failed", name)
                errors.append(f"{name} could not be opened ({type(exc).__name__}: {exc}).")
                continue
            recent = str(group[0]) if len(group) == 1 else str(group[0].parent)
            self.settings.add_recent(str(Path(recent).resolve()))
            self.add_session(session)
            opened.append(session)
            for warning in session.warnings:
                self.notice.show_info(warning)
        if errors:
            for e in errors:
                self.notice.show_error(e)
            self.status.showMessage(errors[-1], 10_000)
        self.refresh_recent()
        return opened

    def open_image(self, image: Any, title: str) -> DocumentSession:
        """A new document of one in-memory image; "Pasted image 2" for the second, and so on."""
        self._pasted += 1
        name = title if self._pasted == 1 else f"{title} {self._pasted}"
        session = image_session(Page(image=image, source=name), name, kind="image")
        self.add_session(session)
        return session

    def paste(self) -> None:
        """Open the clipboard's image (a screenshot, a copied photo) or the files copied in a file manager."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = QGuiApplication.clipboard().image()
            if not image.isNull():
                self.open_image(qimage_to_pil(image), "Pasted image")
                return
        if mime is not None and mime.hasUrls():
            files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if files:
                self.open_paths(files)
                return
        self.status.showMessage("The clipboard holds no image.", 5000)

    # drag and drop
    @staticmethod
    def accepts(mime: QMimeData) -> bool:
        return mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()) or mime.hasImage()

    def drop(self, mime: QMimeData) -> None:
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if files:
            # Open after the drop returns: a password dialog inside a drop handler blocks the source application.
            QTimer.singleShot(0, lambda: self.open_paths(files))
        elif mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.open_image(qimage_to_pil(image), "Dropped image")

    # recent files
    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.settings.recent_files
        if not recent:
            a = menu.addAction("No recent documents")
            a.setEnabled(False)
            return
        for i, path in enumerate(recent):
            a = menu.addAction(f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name)
            a.setToolTip(path)
            a.triggered.connect(lambda _checked=False, p=path: self.open_recent(p))
        menu.addSeparator()
        menu.addAction("Clear List", self.clear_recent)

    def refresh_recent(self) -> None:
        self.start_panel.show_recent(self.settings.recent_files)

    def open_recent(self, path: str) -> None:
        if not Path(path).exists():
            self.notice.show_error(
                f"{Path(path).name} is no longer at {Path(path).parent}; removed from the list."
            )
            self.settings.remove_recent(path)
            self.refresh_recent()
            return
        self.open_paths([path])

    def clear_recent(self) -> None:
        self.settings.recent_files = []
        self.refresh_recent()
