"""Getting documents into the window: the Open dialog, pasted and dropped images and files, the recent list, passwords.

Every way in ends in `open_paths` or `open_image`, which make a `DocumentSession` and hand it to `add_session`; a file
that fails shows its reason in the notice strip and the others still open.

Opening runs on a thread of its own, never on the GUI thread: even in the renderer child (core/isolation.py) opening
a damaged PDF can take seconds (MuPDF repairs it), and an encrypted one waits for its password. `open_paths` still
returns the sessions it opened: it waits in a local event loop, so the window keeps drawing and answering meanwhile.
The password dialog is shown on the GUI thread, asked for by the opening thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QMimeData, QObject, Qt, QTimer, Signal
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


@dataclass
class _Question:
    """A password the opening thread waits for; the GUI thread answers it."""

    name: str
    reason: str
    answer: str | None = None
    answered: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Opening:
    """The files one `open_paths` call is opening, and what came of each."""

    groups: list[list[Path]]
    dpi: int | None
    loop: QEventLoop
    results: list[tuple[list[Path], DocumentSession | None, BaseException | None]] = field(
        default_factory=list
    )
    done: bool = False
    abandoned: bool = False  # the window closed meanwhile: what still opens is closed again


class Opener(QObject):
    """Opens documents for the window. `ask_password` is called for encrypted files (the window's hook)."""

    _opened = Signal(
        object, object
    )  # _Opening, (group, session or None, error or None): from the opening thread
    _finished = Signal(object)  # _Opening
    _password_wanted = Signal(object, object)  # _Opening, _Question

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
        self._openings: list[_Opening] = []  # in progress (more than one: files dropped while others open)
        self._opened.connect(self._on_opened, Qt.ConnectionType.QueuedConnection)
        self._finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._password_wanted.connect(self._on_password_wanted, Qt.ConnectionType.QueuedConnection)
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

    @property
    def busy(self) -> bool:
        """True while files are being opened."""
        return bool(self._openings)

    def open_paths(self, paths: list[str | Path]) -> list[DocumentSession]:
        """Open files and folders; each that fails shows its reason and the others (and open documents) stay.

        The opening runs on a thread while this waits in a local event loop (the window keeps working). Files given
        while others are opening (a second drop, a file handed over by another launch) open on a thread of their
        own meanwhile; this call returns once both are done (its loop is the inner one)."""
        # The loop has no parent: the window (and this Opener) may be deleted while it runs, if it closes meanwhile.
        opening = _Opening(expand_paths(paths), self.settings.dpi or None, QEventLoop())
        self._openings.append(opening)
        try:
            worker = threading.Thread(
                target=self._open_groups, args=(opening,), name="paperlens-open", daemon=True
            )
            worker.start()
            while not (opening.done or opening.abandoned):
                opening.loop.exec()
        finally:
            self._openings.remove(opening)
        if opening.abandoned:
            return []
        opened: list[DocumentSession] = []
        errors: list[str] = []
        for group, session, error in opening.results:
            name = group[0].name if len(group) == 1 else group[0].parent.name
            if isinstance(error, PaperLensError):  # the sentence names the file once: most start with it
                errors.append(str(error) if name in str(error) else f"{name}: {error}")
            elif error is not None:  # a library's own error type: still the file's fault, still one sentence
                log.error("opening %s failed", name, exc_info=error)
                errors.append(f"{name} could not be opened ({type(error).__name__}: {error}).")
            elif session is not None:
                opened.append(session)
        if errors:
            for e in errors:
                self.notice.show_error(e)
            self.status.showMessage(errors[-1], 10_000)
        self.refresh_recent()
        return opened

    def abandon(self) -> None:
        """The window is closing: stop waiting for files being opened; they are closed once open."""
        for opening in self._openings:
            opening.abandoned = True
            opening.loop.quit()

    # -- the opening thread --
    def _tell(self, signal: Any, *args: Any) -> None:
        """Emit to the GUI thread; nothing when the window (and this Opener) was deleted meanwhile."""
        try:
            signal.emit(*args)
        except RuntimeError:  # the C++ object is gone: nobody is waiting any more
            opening = args[0]
            opening.abandoned = True

    def _open_groups(self, opening: _Opening) -> None:
        def ask(name: str, reason: str) -> str | None:  # on this thread: the dialog is the GUI thread's
            question = _Question(name, reason)
            self._tell(self._password_wanted, opening, question)
            while not question.answered.wait(0.1):
                if opening.abandoned:
                    return None
            return question.answer

        try:
            for group in opening.groups:
                if opening.abandoned:
                    break
                try:
                    session: DocumentSession | None = open_session(group, dpi=opening.dpi, ask_password=ask)
                    error: BaseException | None = None
                except OpenCancelled:
                    session, error = None, None
                except Exception as exc:  # noqa: BLE001 - said to the user on the GUI thread
                    session, error = None, exc
                if opening.abandoned and session is not None:
                    session.close()  # the window closed while it opened
                    continue
                self._tell(self._opened, opening, (group, session, error))
        finally:
            self._tell(self._finished, opening)

    # -- back on the GUI thread --
    def _on_opened(self, opening: _Opening, result: tuple[Any, Any, Any]) -> None:
        group, session, _error = result
        if session is not None and opening.abandoned:
            session.close()
            return
        opening.results.append(result)
        if session is None:
            return
        recent = str(group[0]) if len(group) == 1 else str(group[0].parent)
        self.settings.add_recent(str(Path(recent).resolve()))
        self.add_session(session)
        for warning in session.warnings:
            self.notice.show_info(warning)

    def _on_finished(self, opening: _Opening) -> None:
        opening.done = True
        opening.loop.quit()

    def _on_password_wanted(self, opening: _Opening, question: _Question) -> None:
        try:
            question.answer = None if opening.abandoned else self.ask_password(question.name, question.reason)
        finally:
            question.answered.set()

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
