"""Saying in the window that a photo was flattened, and undoing it: a notice strip, the review, the page replaced.

The core decides when to flatten (`core/documents.py`) and records it on `Page.flattened`; this controller looks at
each page the window shows, once it is rendered, and when it was flattened shows "Page N: the photo was straightened
to the page found in it." with a *Review…* button. The review (`flatten_review.FlattenReviewDialog`) shows the whole
original with the outline; *Use original* replaces the session's page (`DocumentSession.use_original`), drops what was
read from the flattened image and repaints the page, its thumbnail and its Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from paperlens.core.session import DocumentSession
from paperlens.gui.flatten_review import FlattenReviewDialog
from paperlens.gui.jobs import JobRunner

if TYPE_CHECKING:
    from paperlens.gui.document_view import DocumentView
    from paperlens.gui.page_cache import PageCache


class FlattenNotice(QFrame):
    """ "Page N: the photo was straightened to the page found in it. [Review…] [✕]" """

    review_requested = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flattenNotice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#flattenNotice { border: 1px solid #2e86c1; background: palette(alternate-base); }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.review_button = QPushButton("Review…")
        self.review_button.clicked.connect(self.review_requested)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Keep the straightened page and hide this")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismissed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.review_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.page = 0
        self.hide()

    def show_for(self, page: int) -> None:
        self.page = page
        self.label.setText(f"Page {page}: the photo was straightened to the page found in it.")
        self.show()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else f"{self.label.text()} Review…"


class FlattenedPages(QObject):
    """Watches the shown page for a flattened photo; offers the review and applies *Use original*.

    `current()` is the window's current session; `queued(session, page)` whether the page waits for the model (its
    image must not change under the model); `say(text)` shows a passing message (the window sets it). After *Use original* the page,
    its thumbnail and its Markdown are shown again from the session, and `page_replaced(session, page)` fires.
    """

    page_replaced = Signal(object, int)

    def __init__(
        self,
        current: Callable[[], DocumentSession | None],
        jobs: JobRunner,
        cache: PageCache,
        view: DocumentView,
        queued: Callable[[DocumentSession, int], bool],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._current = current
        self._jobs = jobs
        self._cache = cache
        self._view = view
        self._queued = queued
        self.say: Callable[[str], None] = lambda _text: None  # the window's status bar
        self._parent = parent
        self._kept: set[tuple[str, int]] = set()  # (session id, page) the user chose to keep flattened
        self.notice = FlattenNotice()
        self.notice.review_requested.connect(self.review)
        self.notice.dismissed.connect(self.keep)
        self.dialog: FlattenReviewDialog | None = None
        cache.image_ready.connect(self.check)

    def _shown(self) -> tuple[DocumentSession | None, int]:
        s = self._current()
        return s, (s.current_page if s is not None else 0)

    @Slot()
    @Slot(object, int, QImage)
    def check(self, *_args: Any) -> None:
        """Show or hide the notice for the page now shown (call on page change and when a render arrives)."""
        s, n = self._shown()
        page = s.cached_page(n) if s is not None else None
        if page is not None and page.flattened is not None and (s.id, n) not in self._kept:
            self.notice.show_for(n)
        elif page is not None or s is None or self.notice.page != n:
            self.notice.hide()

    @Slot()
    def keep(self) -> None:
        s, n = self._shown()
        if s is not None:
            self._kept.add((s.id, n))
        self.notice.hide()
        if self.dialog is not None:
            self.dialog.close()

    @Slot()
    def review(self) -> None:
        """Render the original off the GUI thread, then open the review beside the window."""
        s, n = self._shown()
        page = s.cached_page(n) if s is not None else None
        if s is None or page is None or page.flattened is None:
            return
        flattened = page.flattened

        def opened(original) -> None:
            if original is None or s.closed:
                return
            if self.dialog is not None:
                self.dialog.close()
            dialog = FlattenReviewDialog(original.image, flattened, n, self._parent)
            dialog.review.use_original.connect(lambda: self.use_original(s, n, original))
            dialog.review.keep_flattened.connect(self.keep)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(lambda *_: setattr(self, "dialog", None))
            self.dialog = dialog
            dialog.open()

        self._jobs.submit(lambda: s.original_page(n), opened, lambda text: self.say(text))

    def use_original(self, s: DocumentSession, n: int, original: Any = None) -> None:
        if s.closed:
            return
        if self._queued(s, n) or n in s.streaming:
            self.say(f"Page {n} is being read; stop or wait for it, then use the original.")
            return
        dropped = s.use_original(n, original)
        self.notice.hide()
        self.say(
            f"Page {n} is now the whole photo"
            + ("; its text was read from the straightened page, so parse it again." if dropped else ".")
        )
        self._cache.drop(s.id)  # its image changed (the other pages' images render again when needed)
        self._cache.queue_thumbnails(s, range(1, s.page_count + 1))  # page n's, and any the drop let go
        self._view.mark_page(s, n)
        if s is self._current():
            self._view.show_page()
        self.page_replaced.emit(s, n)
