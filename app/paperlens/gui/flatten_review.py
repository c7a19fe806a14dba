"""Reviewing a flattened photo: the whole original with the page outline PaperLens found, and the choice to keep it.

Why a review at all: flattening throws away everything outside the outline (docs/inputs.md). The rule is careful, but
only the user knows whether the cut-out page is what they meant, so the window says so and offers this view. The
widget knows nothing of sessions or the window: it takes an image and a `Flattened`, and says what the user chose.
"""

from __future__ import annotations

from typing import Any

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from paperlens.core.page import Flattened
from paperlens.gui.jobs import pil_to_qimage

OUTLINE = QColor(230, 60, 40)


class OutlineCanvas(QWidget):
    """The original image scaled to fit, with the found page's outline and its corners drawn over it."""

    def __init__(
        self, image: QImage, corners: list[tuple[float, float]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.image = image
        self.corners = corners  # in the pixels of `image`
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Original photo with the page outline")

    def image_rect(self) -> QRectF:
        """Where the image is drawn: fitted, centred, aspect kept."""
        w, h = self.image.width(), self.image.height()
        if not w or not h:
            return QRectF()
        scale = min(self.width() / w, self.height() / h)
        dw, dh = w * scale, h * scale
        return QRectF((self.width() - dw) / 2, (self.height() - dh) / 2, dw, dh)

    def outline(self) -> QPolygonF:
        """The outline in widget coordinates."""
        rect = self.image_rect()
        sx = rect.width() / max(1, self.image.width())
        sy = rect.height() / max(1, self.image.height())
        return QPolygonF([QPointF(rect.x() + x * sx, rect.y() + y * sy) for x, y in self.corners])

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(self.image_rect(), self.image)
        polygon = self.outline()
        painter.setPen(QPen(OUTLINE, 3))
        painter.drawPolygon(polygon)
        painter.setBrush(OUTLINE)
        for point in polygon:
            painter.drawEllipse(point, 5, 5)
        painter.end()


class FlattenReview(QWidget):
    """The original photo with the outline found in it, and two buttons: *Use original* and *Keep flattened*.

    Emits `use_original` or `keep_flattened` (and `chosen` with "original" or "flattened"). `image` is the original
    as PaperLens works on it, which may be scaled down from the file; the corners (in the file's full-resolution
    pixels, `Flattened.original_size`) are scaled to it.
    """

    use_original = Signal()
    keep_flattened = Signal()
    chosen = Signal(str)

    def __init__(
        self,
        image: Image.Image | QImage,
        flattened: Flattened,
        *,
        page: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        qimage = image if isinstance(image, QImage) else pil_to_qimage(image)
        fw, fh = flattened.original_size
        sx, sy = qimage.width() / max(1, fw), qimage.height() / max(1, fh)
        self.canvas = OutlineCanvas(qimage, [(x * sx, y * sy) for x, y in flattened.corners])
        which = f"Page {page}" if page is not None else "This page"
        self.label = QLabel(
            f"{which} is the part of the photo inside the red outline, straightened "
            f"(found with confidence {flattened.confidence:.0%}). Everything outside it was left out."
        )
        self.label.setWordWrap(True)
        self.original_button = QPushButton("Use original")
        self.original_button.setToolTip("Read the whole photo as it is, nothing cut away")
        self.keep_button = QPushButton("Keep flattened")
        self.keep_button.setDefault(True)
        self.original_button.clicked.connect(self._use_original)
        self.keep_button.clicked.connect(self._keep)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.original_button)
        buttons.addWidget(self.keep_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(buttons)

    def _use_original(self) -> None:
        self.use_original.emit()
        self.chosen.emit("original")

    def _keep(self) -> None:
        self.keep_flattened.emit()
        self.chosen.emit("flattened")


class FlattenReviewDialog(QDialog):
    """`FlattenReview` in a window of its own; closes on either choice (closing it keeps the flattened page)."""

    def __init__(
        self, image: Image.Image | QImage, flattened: Flattened, page: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Page {page}: the page found in the photo")
        self.review = FlattenReview(image, flattened, page=page, parent=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.review)
        self.review.chosen.connect(self.accept)
        self.resize(760, 620)
