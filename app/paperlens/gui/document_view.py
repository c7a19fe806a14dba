"""The three panes of an open document: page thumbnails, the page itself, and its Markdown, Tables and Ask tabs.

The panes are re-filled from the current session (`current()`, the window's) whenever the page or a result changes;
the view keeps no results of its own. Tables re-render only when their tab is shown (`tables_dirty`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QSplitter, QTabWidget, QWidget

from paperlens.core.session import ChatScope, DocumentSession
from paperlens.gui.ask_view import AskPane
from paperlens.gui.documents import result_info
from paperlens.gui.markdown_view import MarkdownPane
from paperlens.gui.page_cache import PageCache
from paperlens.gui.pages import FAILED_MARK, PARSED_MARK, PARTIAL_MARK, THUMB_WIDTH, PageView, ThumbnailList
from paperlens.gui.tables_view import TablesPane

TAB_MARKDOWN, TAB_TABLES, TAB_ASK = 0, 1, 2


class DocumentView(QSplitter):
    """Thumbnails | page | Markdown, Tables, Ask, showing `current()`'s current page."""

    def __init__(
        self, current: Callable[[], DocumentSession | None], cache: PageCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._current = current
        self.cache = cache
        self.tables_dirty = True
        self.setObjectName("mainSplitter")
        self.thumbs = ThumbnailList()
        self.page_view = PageView()
        self.markdown = MarkdownPane()
        self.tables = TablesPane()
        self.ask = AskPane()
        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.markdown, "Markdown")
        self.right_tabs.addTab(self.tables, "Tables")
        self.right_tabs.addTab(self.ask, "Ask")
        for i, (widget, stretch) in enumerate(((self.thumbs, 0), (self.page_view, 1), (self.right_tabs, 1))):
            self.addWidget(widget)
            self.setStretchFactor(i, stretch)
        self.setCollapsible(1, False)
        self.setCollapsible(2, False)
        self.setSizes([THUMB_WIDTH + 50, 560, 560])
        self.ask.scope_changed.connect(self.refresh_ask)
        self.right_tabs.currentChanged.connect(self._right_tab_changed)
        cache.image_ready.connect(self.image_ready)
        cache.image_failed.connect(self.image_failed)
        cache.thumbnail_ready.connect(self.thumbnail_ready)

    def clear(self) -> None:
        self.thumbs.set_pages(0)
        self.page_view.set_image(None)
        self.markdown.show_text("", key=None)
        self.tables.show_markdown("")
        self.ask.show_turns([])

    def show_page(self) -> None:
        s = self._current()
        if s is None:
            return
        n = s.current_page
        image = self.cache.image(s, n)
        if image is not None:
            self.page_view.set_image(image)
        else:
            self.page_view.set_message(f"Rendering page {n}…")
            self.cache.render(s, n)
        self.refresh_markdown()
        self.tables_dirty = True
        if self.right_tabs.currentIndex() == TAB_TABLES:
            self.refresh_tables()
        self.refresh_ask()

    def show_thumbnails(self, s: DocumentSession) -> None:
        self.thumbs.set_pages(s.page_count, s.current_page)
        for n in range(1, s.page_count + 1):
            self.mark_page(s, n)
            image = s.thumbnails.get(n)
            if image is not None:
                self.thumbs.set_thumbnail(n, image)

    @Slot(object, int, QImage)
    def image_ready(self, s: DocumentSession, n: int, image: QImage) -> None:
        if s is self._current() and s.current_page == n:
            self.page_view.set_image(image)

    @Slot(object, int, str)
    def image_failed(self, s: DocumentSession, n: int, message: str) -> None:
        if s is self._current() and s.current_page == n:
            self.page_view.set_message(f"Page {n} cannot be shown: {message}")

    @Slot(object, int, QImage)
    def thumbnail_ready(self, s: DocumentSession, n: int, image: QImage) -> None:
        if s is self._current():
            self.thumbs.set_thumbnail(n, image)

    def refresh_markdown(self) -> None:
        s = self._current()
        if s is None:
            return
        n = s.current_page
        streaming = n in s.streaming
        text = s.markdown(n)
        if streaming:
            info = f"Reading page {n}… {len(text):,} characters so far"
        else:
            info = result_info(s.results.get(n), n in s.edited)
        placeholder = (
            f"Page {n} is not parsed yet. Parse it with Ctrl+R, or every page with Ctrl+Shift+R."
            if n not in s.results
            else ""
        )
        self.markdown.show_text(text, key=(s.id, n), streaming=streaming, info=info, placeholder=placeholder)

    def refresh_tables(self) -> None:
        s = self._current()
        if s is None:
            self.tables.show_markdown("")
            return
        n = s.current_page
        empty = "No tables on this page." if n in s.results else f"Parse page {n} to see its tables."
        # the pages an export would join (those with a good result), and this page whatever its state
        joinable = {p for p, r in s.results.items() if r.ok} | {n}
        pages = [(p, s.markdown(p)) for p in sorted(joinable)]
        self.tables.show_document(pages, n, empty_message=empty)
        self.tables_dirty = False

    @Slot(str)
    def refresh_ask(self, *_args) -> None:
        s = self._current()
        if s is None:
            self.ask.show_turns([])
            return
        scope = self.ask.scope
        n = s.current_page
        turns = s.chat(scope, n)
        if scope is ChatScope.PAGE:
            self.ask.set_context(f"Page {n}")
            hint = f"Ask anything about page {n}; the model looks at the page image itself."
        else:
            parsed = sum(1 for p in range(1, s.page_count + 1) if s.is_parsed(p))
            self.ask.set_context(f"{parsed} of {s.page_count} pages parsed")
            hint = (
                "Questions about the whole document are answered from the parsed text of its pages "
                "(or the PDF's own text for pages not parsed yet); the answer names the pages it used."
            )
        self.ask.show_turns(turns, empty_hint=hint)

    @Slot(int)
    def _right_tab_changed(self, index: int) -> None:
        if index == TAB_TABLES and self.tables_dirty:
            self.refresh_tables()
        elif index == TAB_ASK:
            self.refresh_ask()

    def show_markdown_tab(self) -> None:
        self.right_tabs.setCurrentIndex(TAB_MARKDOWN)

    def show_tables_tab(self) -> None:
        self.right_tabs.setCurrentIndex(TAB_TABLES)

    def show_ask_tab(self) -> None:
        self.right_tabs.setCurrentIndex(TAB_ASK)

    def mark_page(self, s: DocumentSession, n: int) -> None:
        if s is not self._current():
            return
        r = s.results.get(n)
        if n in s.streaming:
            mark = PARTIAL_MARK
        elif r is None:
            mark = ""
        elif r.error:
            mark = FAILED_MARK
        elif s.is_parsed(n):
            mark = PARSED_MARK
        else:
            mark = PARTIAL_MARK
        self.thumbs.set_mark(n, mark)
