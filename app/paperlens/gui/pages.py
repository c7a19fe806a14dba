"""The left side of the window: page thumbnails and the page view with zoom and pan.

The view shows a QImage rendered off the GUI thread; it only converts it to a pixmap here, which is cheap. Zoom keeps a
"fit width" mode until the user zooms by hand, so resizing the window keeps the page readable.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QListView,
    QListWidget,
    QListWidgetItem,
)

THUMB_WIDTH = 110
THUMB_HEIGHT = 150
PARSED_MARK = "✓"
PARTIAL_MARK = "…"
FAILED_MARK = "!"


class ThumbnailList(QListWidget):
    """Page thumbnails in a column; each caption says whether the page is parsed (✓), partial (…) or failed (!)."""

    page_selected = Signal(int)  # 1-based page number
    pages_in_view = Signal(int, int)  # first and last page shown (1-based): their thumbnails are wanted

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.TopToBottom)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setIconSize(QSize(THUMB_WIDTH, THUMB_HEIGHT))
        self.setSpacing(6)
        self.setUniformItemSizes(True)
        self.setMinimumWidth(THUMB_WIDTH + 40)
        self.setMaximumWidth(THUMB_WIDTH + 60)
        self.setAccessibleName("Pages")
        self.currentRowChanged.connect(self._row_changed)
        self._placeholder = self._blank_icon()
        self._in_view = (0, 0)
        self.verticalScrollBar().valueChanged.connect(self._view_moved)
        self.verticalScrollBar().rangeChanged.connect(self._view_moved)

    def visible_pages(self) -> tuple[int, int]:
        """The first and last page (1-based) at least partly in view; (0, 0) when there are none."""
        if not self.count():
            return (0, 0)
        rect = self.viewport().rect()
        x, gap = rect.width() // 2, 3 * self.spacing() + 2

        def row_at(y: int, step: int) -> int:
            for dy in range(0, gap, 2):  # the point may fall between two items
                index = self.indexAt(QPoint(x, y + step * dy))
                if index.isValid():
                    return index.row()
            return -1

        first = row_at(rect.top() + 1, 1)
        if first < 0:  # not laid out yet: asked again when the view moves or resizes
            return (0, 0)
        below = row_at(rect.bottom() - 1, -1)
        step = self.visualItemRect(self.item(first)).height() + 2 * self.spacing()
        if step <= 2 * self.spacing():
            return (0, 0)
        last = below if below >= first else first + rect.height() // step + 1
        last = min(last, self.count() - 1, first + 200)  # never more than a screenful or two
        return (first + 1, last + 1)

    def _view_moved(self, *_: object) -> None:
        shown = self.visible_pages()
        if shown != self._in_view and shown != (0, 0):
            self._in_view = shown
            self.pages_in_view.emit(*shown)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._view_moved()

    def clear_thumbnail(self, number: int) -> None:
        """Back to the grey placeholder (the thumbnail was let go to save memory; it comes back when in view)."""
        item = self.item(number - 1)
        if item is not None:
            item.setIcon(self._placeholder)

    @staticmethod
    def _blank_icon() -> QIcon:
        pm = QPixmap(THUMB_WIDTH, THUMB_HEIGHT)
        pm.fill(QColor(235, 235, 235))
        return QIcon(pm)

    def set_pages(self, count: int, current: int = 1) -> None:
        self.blockSignals(True)
        self.clear()
        for n in range(1, count + 1):
            item = QListWidgetItem(self._placeholder, f"Page {n}")
            item.setData(Qt.ItemDataRole.UserRole, n)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.addItem(item)
        if count:
            self.setCurrentRow(max(0, min(count, current) - 1))
        self.blockSignals(False)
        self._in_view = (0, 0)
        self._view_moved()

    def set_thumbnail(self, number: int, image: QImage) -> None:
        item = self.item(number - 1)
        if item is None:
            return
        pm = QPixmap.fromImage(image)
        painter = QPainter(pm)
        painter.setPen(QColor(150, 150, 150))
        painter.drawRect(0, 0, pm.width() - 1, pm.height() - 1)  # white paper needs an edge on a white list
        painter.end()
        icon = QIcon(pm)
        icon.addPixmap(
            pm, QIcon.Mode.Selected
        )  # the selection shows on the caption, not as a tint over the page
        item.setIcon(icon)

    def set_mark(self, number: int, mark: str) -> None:
        item = self.item(number - 1)
        if item is not None:
            item.setText(f"Page {number} {mark}".rstrip())

    def select_page(self, number: int) -> None:
        if 1 <= number <= self.count() and self.currentRow() != number - 1:
            self.setCurrentRow(number - 1)

    def _row_changed(self, row: int) -> None:
        if row >= 0:
            self.page_selected.emit(row + 1)


class PageView(QGraphicsView):
    """The current page, with Ctrl+wheel / +/- zoom, fit width, fit page, and drag to pan."""

    zoom_changed = Signal(float)

    MIN_ZOOM = 0.05
    MAX_ZOOM = 8.0

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # Always on, so fitting the width does not make the scroll bar appear and push the page sideways.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._apply_background()
        self.setAccessibleName("Page view")
        self._fit = "width"  # "width", "page" or "" once the user zoomed by hand
        self._zoom = 1.0
        self._message = ""

    def _apply_background(self) -> None:
        self.setBackgroundBrush(self.palette().color(self.palette().ColorRole.Dark))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the system switched between light and dark
            self._apply_background()

    @property
    def zoom(self) -> float:
        return self._zoom

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def set_image(self, image: QImage | None) -> None:
        self._message = ""
        if image is None or image.isNull():
            self._item.setPixmap(QPixmap())
        else:
            self._item.setPixmap(QPixmap.fromImage(image))
        self.scene().setSceneRect(self._item.boundingRect())
        self._apply_fit()
        self.viewport().update()

    def set_message(self, text: str) -> None:
        """Shown instead of the page (while it renders, or why it could not)."""
        self._item.setPixmap(QPixmap())
        self._message = text
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect) -> None:  # noqa: N802 (Qt's name)
        super().drawForeground(painter, rect)
        if self._message:
            painter.save()
            painter.resetTransform()
            painter.setPen(self.palette().color(self.palette().ColorRole.BrightText))
            painter.drawText(
                self.viewport().rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message
            )
            painter.restore()

    # zoom
    def fit_width(self) -> None:
        self._fit = "width"
        self._apply_fit()

    def fit_page(self) -> None:
        self._fit = "page"
        self._apply_fit()

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / 1.25)

    def set_zoom(self, zoom: float, *, manual: bool = True) -> None:
        zoom = max(self.MIN_ZOOM, min(self.MAX_ZOOM, zoom))
        if manual:
            self._fit = ""
        self._zoom = zoom
        self.resetTransform()
        self.scale(zoom, zoom)
        self.zoom_changed.emit(zoom)

    def _apply_fit(self) -> None:
        pm = self._item.pixmap()
        if pm.isNull() or not self._fit:
            return
        area = self.viewport().size()
        margin = 16
        zx = (area.width() - margin) / max(1, pm.width())
        zy = (area.height() - margin) / max(1, pm.height())
        self.set_zoom(zx if self._fit == "width" else min(zx, zy), manual=False)
        if self._fit == "width":
            self.verticalScrollBar().setValue(0)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._apply_fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_zoom(self._zoom * (1.15**steps))
            event.accept()
            return
        super().wheelEvent(event)
