"""The three panes of an open document: page thumbnails, the page itself, and its Markdown, Tables and Ask tabs.

The panes are re-filled from the current session (`current()`, the window's) whenever the page or a result changes;
the view keeps no results of its own. Tables re-render only when their tab is shown (`tables_dirty`).

Where a page answer came from is drawn over the page (`SourceHighlights`): translucent rectangles at the answer's
boxes, numbered when there are several; clicking one brings its answer into view in the Ask tab, and "Show on the
page" under an answer puts its boxes on the page.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt, Slot
from PySide6.QtGui import QBrush, QColor, QImage, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QSplitter,
    QTabWidget,
    QWidget,
)

from paperlens.core.results.boxes import SCALE, Box
from paperlens.core.session import ChatScope, ChatTurn, DocumentSession
from paperlens.gui.ask_view import AskPane
from paperlens.gui.documents import result_info
from paperlens.gui.markdown_view import MarkdownPane
from paperlens.gui.page_cache import PageCache
from paperlens.gui.pages import FAILED_MARK, PARSED_MARK, PARTIAL_MARK, THUMB_WIDTH, PageView, ThumbnailList
from paperlens.gui.tables_view import TablesPane

TAB_MARKDOWN, TAB_TABLES, TAB_ASK = 0, 1, 2
HIGHLIGHT_FILL = QColor(255, 196, 0, 70)
HIGHLIGHT_EDGE = QColor(230, 120, 0, 220)


class _Highlight(QGraphicsRectItem):
    """One region of the page an answer came from; a click calls `on_click(turn index)`."""

    def __init__(self, rect: QRectF, turn: int, on_click: Callable[[int], None], tip: str) -> None:
        super().__init__(rect)
        self.turn = turn
        self._on_click = on_click
        pen = QPen(HIGHLIGHT_EDGE, 2)
        pen.setCosmetic(True)  # the same width at every zoom
        self.setPen(pen)
        self.setBrush(QBrush(HIGHLIGHT_FILL))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setToolTip(tip)
        self.setZValue(10)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        event.accept()  # the click is ours, not the start of a drag of the page

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        event.accept()
        if self.contains(event.pos()):
            self._on_click(self.turn)


class SourceHighlights:
    """The highlight rectangles over the page view: boxes in 0-1000 page coordinates, drawn over the page image."""

    def __init__(self, page_view: PageView, on_click: Callable[[int], None]) -> None:
        self.view = page_view
        self.on_click = on_click
        self.items: list[_Highlight] = []
        self._labels: list[QGraphicsSimpleTextItem] = []
        self._key: object = None

    def show(self, boxes: list[Box], turn: int) -> None:
        page = self.view.sceneRect()
        if not self.view.has_image() or page.isEmpty():
            boxes = []
        key = (tuple(boxes), turn, page.width(), page.height())
        if key == self._key:
            return
        self.clear()
        self._key = key
        scene = self.view.scene()
        for n, box in enumerate(boxes, 1):
            rect = QRectF(
                page.left() + box.x0 / SCALE * page.width(),
                page.top() + box.y0 / SCALE * page.height(),
                (box.x1 - box.x0) / SCALE * page.width(),
                (box.y1 - box.y0) / SCALE * page.height(),
            )
            tip = f"Where answer {turn + 1} came from" + (f": {box.label}" if box.label else "")
            item = _Highlight(rect, turn, self.on_click, tip + " (click to show the answer)")
            scene.addItem(item)
            self.items.append(item)
            if len(boxes) > 1:
                label = QGraphicsSimpleTextItem(str(n))
                label.setBrush(QBrush(HIGHLIGHT_EDGE))
                label.setFlag(
                    QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
                )  # readable at any zoom
                label.setPos(rect.left(), rect.top())
                label.setZValue(11)
                scene.addItem(label)
                self._labels.append(label)

    def clear(self) -> None:
        scene = self.view.scene()
        for item in (*self.items, *self._labels):
            scene.removeItem(item)
        self.items, self._labels = [], []
        self._key = None


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
        self.ask.turn_selected.connect(self.select_turn)
        self.highlights = SourceHighlights(self.page_view, self.highlight_clicked)
        self.show_sources = True  # the window's "Show Where Answers Come From"
        self.locating: Callable[[ChatTurn], bool] = lambda _turn: False  # set by the window: boxes asked for
        self._selected: dict[
            tuple[str, int], int
        ] = {}  # (document, page) -> the answer whose boxes are shown
        self.right_tabs.currentChanged.connect(self._right_tab_changed)
        cache.image_ready.connect(self.image_ready)
        cache.image_failed.connect(self.image_failed)
        cache.thumbnail_ready.connect(self.thumbnail_ready)
        cache.thumbnail_dropped.connect(self.thumbnail_dropped)
        self.thumbs.pages_in_view.connect(self.thumbnails_in_view)

    def clear(self) -> None:
        self.thumbs.set_pages(0)
        self.page_view.set_image(None)
        self.markdown.show_text("", key=None)
        self.tables.show_markdown("")
        self.ask.show_turns([])
        self.highlights.clear()

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
        self.refresh_highlights()
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
            self.refresh_highlights()

    @Slot(object, int, str)
    def image_failed(self, s: DocumentSession, n: int, message: str) -> None:
        if s is self._current() and s.current_page == n:
            self.page_view.set_message(f"Page {n} cannot be shown: {message}")
            self.highlights.clear()

    @Slot(object, int, QImage)
    def thumbnail_ready(self, s: DocumentSession, n: int, image: QImage) -> None:
        if s is self._current():
            self.thumbs.set_thumbnail(n, image)

    @Slot(object, int)
    def thumbnail_dropped(self, s: DocumentSession, n: int) -> None:
        if s is self._current():
            self.thumbs.clear_thumbnail(n)

    @Slot(int, int)
    def thumbnails_in_view(self, first: int, last: int) -> None:
        s = self._current()
        if s is not None:
            self.cache.show_range(s, first, last)

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
            self.highlights.clear()
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
        if scope is ChatScope.PAGE:
            locating = frozenset(i for i, t in enumerate(turns) if self.locating(t))
            self.ask.show_turns(turns, empty_hint=hint, selected=self.shown_turn(), locating=locating)
        else:
            self.ask.show_turns(turns, empty_hint=hint)
        self.refresh_highlights()

    # where answers came from
    def shown_turn(self) -> int | None:
        """The answer of the current page whose boxes the page shows: the one chosen, else the latest with boxes."""
        s = self._current()
        if s is None or not self.show_sources:
            return None
        turns = s.chat(ChatScope.PAGE, s.current_page)
        chosen = self._selected.get((s.id, s.current_page))
        if chosen is not None and chosen < len(turns) and turns[chosen].boxes:
            return chosen
        return next((i for i in range(len(turns) - 1, -1, -1) if turns[i].boxes), None)

    def refresh_highlights(self) -> None:
        s = self._current()
        index = self.shown_turn()
        if s is None or index is None:
            self.highlights.show([], -1)
            return
        self.highlights.show(s.chat(ChatScope.PAGE, s.current_page)[index].boxes, index)

    @Slot(int)
    def select_turn(self, index: int) -> None:
        """Show answer `index`'s places on the page ("Show on the page" under it)."""
        s = self._current()
        if s is None:
            return
        self._selected[(s.id, s.current_page)] = index
        self.refresh_ask()

    def highlight_clicked(self, index: int) -> None:
        """A highlight was clicked: the Ask tab shows the page's chat with that answer in view."""
        self.show_ask_tab()
        if self.ask.scope is not ChatScope.PAGE:
            self.ask.set_scope(ChatScope.PAGE)  # redraws the chat
        self.refresh_ask()
        self.ask.scroll_to_turn(index)

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
