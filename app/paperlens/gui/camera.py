"""The camera dialog: live preview with the detected page outline, auto-capture when steady, corners to drag.

Threads: the core's `CameraStream` reads frames on its own thread and calls back there; page finding runs in that
callback (OpenCV releases the GIL, and a 720p frame costs a few milliseconds), and the frame goes to the GUI as a
QImage copy with its outline. A frame is skipped while the GUI has not shown the previous one, so a slow machine sees
a lower frame rate, never a growing backlog. Flattening and enhancing a capture run on the thread pool.

Flow: live -> (steady for a second, or Capture) -> review: the frozen frame with four handles the user can drag ->
Accept (flatten, enhance, add to the strip) or Retake -> ... -> Done adds the pages to the current document.
Closing the dialog any other way also hands over what was accepted: nothing captured is lost.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QBrush,
    QColor,
    QIcon,
    QImage,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QPolygonF,
    QShortcut,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from paperlens.core.errors import PaperLensError
from paperlens.gui.jobs import JobRunner, pil_to_qimage

log = logging.getLogger(__name__)

HANDLE_RADIUS = 9
REARM_SHIFT = (
    0.12  # after a capture, auto-capture waits until the page moved this share of its diagonal (or left)
)


WINDOW_HINT = "Close other apps that use the camera, or pick another camera or a video file under Source."


def window_message(error: object) -> str:
    """A camera error in the dialog's words: a hint written for the command line (`--source`) names this dialog's
    own controls instead."""
    if isinstance(error, PaperLensError) and error.hint and "--" in error.hint:
        return f"{error.message} {WINDOW_HINT}"
    return str(error)


def bgr_to_qimage(bgr) -> QImage:
    """A QImage copy of an OpenCV BGR frame (made on the reader thread; safe to send to the GUI)."""
    h, w = bgr.shape[:2]
    image = QImage(bgr.data, w, h, int(bgr.strides[0]), QImage.Format.Format_BGR888)
    return image.copy()


class QuadView(QWidget):
    """A frame scaled to fit, the page outline on top, and (when editable) four corner handles to drag."""

    corners_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(480, 320)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.image = QImage()
        self.corners: list[tuple[float, float]] | None = None
        self.color = QColor(46, 204, 113)
        self.progress = 0.0
        self.editable = False
        self.message = ""
        self._drag: int | None = None

    def set_frame(
        self, image: QImage, corners, *, color: QColor | None = None, progress: float = 0.0
    ) -> None:
        self.image = image
        self.corners = [tuple(c) for c in corners] if corners is not None else None
        if color is not None:
            self.color = color
        self.progress = progress
        self.update()

    # geometry
    def _scale_offset(self) -> tuple[float, float, float]:
        if self.image.isNull():
            return 1.0, 0.0, 0.0
        s = min(self.width() / self.image.width(), self.height() / self.image.height())
        return s, (self.width() - self.image.width() * s) / 2, (self.height() - self.image.height() * s) / 2

    def to_widget(self, pt: tuple[float, float]) -> QPointF:
        s, ox, oy = self._scale_offset()
        return QPointF(ox + pt[0] * s, oy + pt[1] * s)

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        s, ox, oy = self._scale_offset()
        x = (pos.x() - ox) / s
        y = (pos.y() - oy) / s
        return (min(max(x, 0.0), self.image.width() - 1.0), min(max(y, 0.0), self.image.height() - 1.0))

    # painting
    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(20, 20, 22))
        if not self.image.isNull():
            s, ox, oy = self._scale_offset()
            p.drawImage(QRectF(ox, oy, self.image.width() * s, self.image.height() * s), self.image)
        if self.corners:
            poly = QPolygonF([self.to_widget(c) for c in self.corners])
            fill = QColor(self.color)
            fill.setAlpha(50)
            p.setBrush(QBrush(fill))
            p.setPen(QPen(self.color, 3))
            p.drawPolygon(poly)
            if self.editable:
                p.setBrush(QBrush(QColor(255, 255, 255)))
                p.setPen(QPen(self.color, 2))
                for pt in poly:
                    p.drawEllipse(pt, HANDLE_RADIUS, HANDLE_RADIUS)
        if self.progress > 0 and not self.editable:  # a ring that fills while the page holds still
            r = QRectF(self.width() - 52, 12, 40, 40)
            p.setPen(QPen(QColor(255, 255, 255, 90), 5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(r)
            p.setPen(QPen(self.color, 5))
            p.drawArc(r, 90 * 16, int(-360 * 16 * min(1.0, self.progress)))
        if self.message:
            p.setPen(QColor(235, 235, 235))
            p.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.message,
            )
        p.end()

    # dragging
    def _handle_at(self, pos: QPointF) -> int | None:
        if not self.corners:
            return None
        best, best_d = None, (HANDLE_RADIUS * 2.2) ** 2
        for i, c in enumerate(self.corners):
            w = self.to_widget(c)
            d = (w.x() - pos.x()) ** 2 + (w.y() - pos.y()) ** 2
            if d <= best_d:
                best, best_d = i, d
        return best

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if self.editable and event.button() == Qt.MouseButton.LeftButton:
            self._drag = self._handle_at(event.position())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None and self.corners:
            self.move_corner(self._drag, self.to_image(event.position()))
        elif self.editable:
            over = self._handle_at(event.position()) is not None
            self.setCursor(Qt.CursorShape.SizeAllCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag = None
        super().mouseReleaseEvent(event)

    def move_corner(self, index: int, pt: tuple[float, float]) -> None:
        if self.corners is None:
            return
        corners = list(self.corners)
        corners[index] = pt
        self.corners = corners
        self.corners_changed.emit()
        self.update()


class CameraDialog(QDialog):
    """Pages from a camera, a phone's stream or a video file. Emits `pages_captured(list[PIL.Image])` once."""

    pages_captured = Signal(object)
    _frame = Signal(
        object, object, object, float
    )  # QImage, Quad or None, BGR array, time (from the reader thread)
    _failed = Signal(str)

    def __init__(
        self,
        settings,
        parent=None,
        *,
        source: str | int | None = None,
        hold_s: float = 1.0,
        jobs: JobRunner | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Capture pages")
        self.settings = settings
        self.hold_s = hold_s
        self.jobs = jobs or JobRunner(parent=self)
        self.captured: list[Any] = []  # PIL images, flattened and enhanced
        self._stream = None
        self._tracker = None
        self._armed = True
        self._last_capture_quad = None
        self._gui_busy = False
        self._latest: tuple[QImage, Any, Any] | None = None
        self._review: tuple[QImage, Any] | None = None
        self._flattening = 0
        self._emitted = False
        self.frames_shown = 0

        self.source_box = QComboBox()
        self.source_box.setEditable(True)
        self.source_box.setToolTip(
            "A camera number, a phone's stream address (http://…, rtsp://…) or a video file"
        )
        for i in range(3):
            self.source_box.addItem(f"Camera {i}", i)
        self.source_box.setMinimumWidth(260)
        file_button = QPushButton("Video File…")
        file_button.clicked.connect(self._choose_file)
        start_button = QPushButton("Start")
        start_button.clicked.connect(self._start_from_box)
        top = QHBoxLayout()
        top.addWidget(QLabel("Source:"))
        top.addWidget(self.source_box, 1)
        top.addWidget(file_button)
        top.addWidget(start_button)

        self.view = QuadView()
        self.status = QLabel("Choose a camera, a stream or a video file.")
        self.status.setWordWrap(True)
        self.auto = QCheckBox("Auto-capture when the page holds still")
        self.auto.setChecked(bool(settings.auto_capture))
        self.enhance = QCheckBox("Enhance (even light, white paper)")
        self.enhance.setChecked(bool(settings.enhance))
        self.capture_button = QPushButton("Capture")
        self.capture_button.setToolTip("Take the current frame now (Space)")
        self.capture_button.clicked.connect(self.capture_now)
        self.accept_button = QPushButton("Accept")
        self.accept_button.setToolTip("Keep this page with these corners (Enter)")
        self.accept_button.clicked.connect(self.accept_capture)
        self.retake_button = QPushButton("Retake")
        self.retake_button.setToolTip("Discard this capture and go back to the live picture (Backspace)")
        self.retake_button.clicked.connect(self.retake)
        self.done_button = QPushButton("Done")
        self.done_button.setToolTip("Add the accepted pages to the document")
        self.done_button.clicked.connect(self.finish)
        options = QHBoxLayout()
        options.addWidget(self.auto)
        options.addWidget(self.enhance)
        options.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.capture_button)
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.retake_button)
        buttons.addStretch(1)
        buttons.addWidget(self.done_button)

        self.strip = QListWidget()
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setIconSize(QSize(64, 90))
        self.strip.setFixedHeight(118)
        self.strip.setMovement(QListView.Movement.Static)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        layout.addLayout(options)
        layout.addLayout(buttons)
        layout.addWidget(self.strip)
        self.resize(900, 720)

        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.capture_now)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self, self._enter)
        QShortcut(QKeySequence(Qt.Key.Key_Enter), self, self._enter)
        QShortcut(QKeySequence(Qt.Key.Key_Backspace), self, self.retake)
        self._frame.connect(self._on_frame)
        self._failed.connect(self._on_failed)
        self._poll = QTimer(self)  # notices the end of a video file (the stream has no callback for it)
        self._poll.setInterval(300)
        self._poll.timeout.connect(self._check_ended)
        self.auto.toggled.connect(self._remember_options)
        self.enhance.toggled.connect(self._remember_options)
        self._update_buttons()
        if source is not None:
            if isinstance(source, str) and not str(source).isdigit():
                self.source_box.setEditText(str(source))
            else:
                self.source_box.setCurrentIndex(int(source))
            self.start(source)

    # -- the stream ----------------------------------------------------------------------------------------------------
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Video file", str(Path.home()), "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)"
        )
        if path:
            self.source_box.setEditText(path)
            self.start(path)

    def _start_from_box(self) -> None:
        data = self.source_box.currentData()
        text = self.source_box.currentText().strip()
        self.start(
            data
            if data is not None and text == self.source_box.itemText(self.source_box.currentIndex())
            else text
        )

    def start(self, source: str | int) -> bool:
        """(Re)start reading from `source`; a source that cannot be opened shows its reason in the dialog."""
        from paperlens.core.capture import CameraStream
        from paperlens.core.pagefind import SteadyTracker

        self.stop()
        self._tracker = SteadyTracker(self.hold_s)
        self._armed = True
        self._review = None
        self.view.editable = False
        try:
            stream = CameraStream(
                source, on_frame=self._reader_frame, on_error=self._reader_error, realtime=True
            )
            stream.start()
        except PaperLensError as exc:
            self._show_status(window_message(exc), error=True)
            self.view.set_frame(QImage(), None)
            self.view.message = window_message(exc)
            self.view.update()
            return False
        self._stream = stream
        self._ended_shown = False
        self._poll.start()
        self.view.message = ""
        self._show_status(
            f"Reading {stream.description}. Hold the page flat and still; it is captured after "
            f"{self.hold_s:g} s."
            if self.auto.isChecked()
            else f"Reading {stream.description}."
        )
        self._update_buttons()
        return True

    def stop(self) -> None:
        self._poll.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.on_frame = None
            stream.on_error = None
            stream.stop()

    @property
    def streaming(self) -> bool:
        return self._stream is not None and self._stream.running

    # reader thread: find the page, hand a copy to the GUI (skip while the GUI is still busy with the last one)
    def _reader_frame(self, frame) -> None:
        if self._gui_busy:
            return
        from paperlens.core.pagefind import find_page

        try:
            quad = find_page(frame.image)
        except Exception:  # a detection failure is just "no page in this frame"
            log.debug("page finding failed", exc_info=True)
            quad = None
        self._gui_busy = True
        self._frame.emit(bgr_to_qimage(frame.image), quad, frame.image, float(frame.time_s))

    def _reader_error(self, error) -> None:
        self._failed.emit(window_message(error))

    # -- GUI side ------------------------------------------------------------------------------------------------------
    @Slot(object, object, object, float)
    def _on_frame(self, image: QImage, quad, bgr, time_s: float) -> None:
        self._gui_busy = False
        self.frames_shown += 1
        if self._review is not None:
            return  # the user is checking a capture: the live picture waits
        tracker = self._tracker
        steady = tracker.update(quad, time_s) if tracker is not None else False
        shown = tracker.smoothed if tracker is not None and tracker.smoothed is not None else quad
        self._latest = (image, quad, bgr)
        if quad is None:
            color = QColor(231, 76, 60)
            self._rearm_if_moved(None)
            hint = "No page in view: show the whole page on a background that differs from the paper."
        else:
            self._rearm_if_moved(quad)
            color = QColor(46, 204, 113) if quad.confidence >= 0.6 else QColor(241, 196, 15)
            hint = f"Page found (sureness {quad.confidence:.0%})."
            if self.auto.isChecked() and self._armed:
                hint += " Hold still…"
            elif not self._armed:
                hint += " Move to the next page to capture again, or press Capture."
        self.view.set_frame(
            image,
            shown.corners if shown is not None else None,
            color=color,
            progress=tracker.progress
            if tracker is not None and quad is not None and self._armed and self.auto.isChecked()
            else 0.0,
        )
        self._show_status(hint)
        if steady and quad is not None and self.auto.isChecked() and self._armed:
            self._enter_review(image, bgr, quad.corners)

    def _rearm_if_moved(self, quad) -> None:
        if self._armed:
            return
        last = self._last_capture_quad
        if quad is None or last is None:
            self._armed = quad is None  # the page left the view: the next one may be captured
            return
        import numpy as np

        a, b = np.array(quad.corners), np.array(last)
        diag = max(float(np.linalg.norm(b[2] - b[0])), 1.0)
        if float(np.abs(a - b).max()) > REARM_SHIFT * diag:
            self._armed = True

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._show_status(message, error=True)
        self.view.message = message if self.view.image.isNull() else ""
        self.view.update()
        self._update_buttons()

    @Slot()
    def _check_ended(self) -> None:
        stream = self._stream
        if stream is None or not stream.finished or stream.error is not None or self._ended_shown:
            return
        self._ended_shown = True
        self._poll.stop()
        if self._review is None:
            self._show_status("The video ended. Capture its last frame, or choose another source.")

    def _show_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b;" if error else "")

    # capture and review
    @Slot()
    def capture_now(self) -> None:
        """Freeze the current frame for review; without a detected page, the whole frame is the starting outline."""
        if self._review is not None or self._latest is None:
            return
        image, quad, bgr = self._latest
        if quad is not None:
            corners = quad.corners
        else:
            w, h = image.width(), image.height()
            m = 0.04
            corners = ((w * m, h * m), (w * (1 - m), h * m), (w * (1 - m), h * (1 - m)), (w * m, h * (1 - m)))
        self._enter_review(image, bgr, corners)

    def _enter_review(self, image: QImage, bgr, corners) -> None:
        self._review = (image, bgr)
        self.view.editable = True
        self.view.set_frame(image, corners, color=QColor(52, 152, 219), progress=0.0)
        self._show_status(
            "Captured. Drag the corners onto the page's corners if they are off, then Accept (Enter) "
            "or Retake (Backspace)."
        )
        self._update_buttons()

    @Slot()
    def retake(self) -> None:
        if self._review is None:
            return
        self._review = None
        self.view.editable = False
        if self._tracker is not None:
            self._tracker.reset()
        self._update_buttons()

    def _enter(self) -> None:
        if self._review is not None:
            self.accept_capture()

    @Slot()
    def accept_capture(self) -> None:
        """Flatten the frame inside the (possibly dragged) corners, enhance it if asked, add it to the strip."""
        if self._review is None or not self.view.corners:
            return
        from paperlens.core.pagefind import Quad

        _image, bgr = self._review
        quad = Quad.from_points(self.view.corners, 1.0)
        enhance = self.enhance.isChecked()
        self._last_capture_quad = quad.corners
        self._armed = False
        self._review = None
        self.view.editable = False
        if self._tracker is not None:
            self._tracker.reset()
        self._flattening += 1
        self._update_buttons()

        def work():
            from paperlens.core.pagefind import enhance as enhance_image
            from paperlens.core.pagefind import flatten

            page = flatten(bgr, quad)
            return enhance_image(page, "color") if enhance else page

        self.jobs.submit(work, self._flattened, self._flatten_failed)

    def _flattened(self, image) -> None:
        self._flattening -= 1
        self.captured.append(image)
        thumb = pil_to_qimage(image).scaled(
            64, 90, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.strip.addItem(QListWidgetItem(QIcon(QPixmap.fromImage(thumb)), f"{len(self.captured)}"))
        self.strip.scrollToBottom()
        self._show_status(f"{len(self.captured)} page(s) captured. Show the next page, or press Done.")
        self._update_buttons()

    def _flatten_failed(self, message: str) -> None:
        self._flattening -= 1
        self._show_status(f"That capture could not be straightened: {message}", error=True)
        self._update_buttons()

    def _update_buttons(self) -> None:
        reviewing = self._review is not None
        self.capture_button.setEnabled(not reviewing and self._latest is not None)
        self.accept_button.setEnabled(reviewing)
        self.retake_button.setEnabled(reviewing)
        self.done_button.setText(f"Done ({len(self.captured)})" if self.captured else "Done")

    def _remember_options(self, *_args) -> None:
        self.settings.auto_capture = self.auto.isChecked()
        self.settings.enhance = self.enhance.isChecked()

    # closing
    @Slot()
    def finish(self) -> None:
        self.accept()

    def _hand_over(self) -> None:
        if self._flattening:  # a capture still being straightened: give it a moment rather than lose it
            self.jobs.wait(3000)
            deadline = time.monotonic() + 1.0
            from PySide6.QtCore import QCoreApplication

            while self._flattening and time.monotonic() < deadline:
                QCoreApplication.processEvents()
        self.stop()
        if not self._emitted and self.captured:
            self._emitted = True
            self.pages_captured.emit(list(self.captured))

    def done(self, result: int) -> None:  # accept(), reject() and closing all end here
        self._hand_over()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802
        self._hand_over()
        super().closeEvent(event)
