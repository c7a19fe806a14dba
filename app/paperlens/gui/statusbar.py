"""The status bar: batch progress and time left, the Stop button, which model is loaded, the mode and the device."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from paperlens.core.options import MODES


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {seconds} s left"
    return f"about {seconds // 60} min {seconds % 60:02d} s left"


def device_text(info: Any, setting: str) -> str:
    """The device the loaded engine runs on, or the user's setting while none is loaded."""
    if info is not None:
        return "GPU" if info.device == "gpu" else f"CPU, {info.n_threads} threads"
    return {"auto": "auto", "cpu": "CPU", "gpu": "GPU"}.get(setting, setting)


class StatusBar(QStatusBar):
    """Emits `mode_chosen(mode)` when the user picks another mode in the bar (not when `set_mode` is called)."""

    mode_chosen = Signal(str)

    def __init__(self, cancel_action: QAction, mode: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.eta_label = QLabel()
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(cancel_action)
        self.cancel_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.cancel_button.hide()
        self.model_label = QLabel("Model: checking…")
        self.mode_box = QComboBox()
        for m in MODES:
            self.mode_box.addItem("Auto" if m == "auto" else m, m)
        self.mode_box.setToolTip(
            "4x: dense OCR, best for small print. 16x: about 3x faster, for plain pages. "
            "Auto: 4x for pages with much small text, 16x for the others (title pages, short letters, photos)."
        )
        self.mode_box.setCurrentIndex(max(0, self.mode_box.findData(mode)))
        self.mode_box.currentIndexChanged.connect(self._mode_changed)
        self.device_label = QLabel()
        self.page_label = QLabel()  # "Page 2 of 5": where the user is in the document
        self.page_label.setAccessibleName("Page")
        for widget in (self.page_label, self.progress, self.eta_label, self.cancel_button, self.model_label):
            self.addPermanentWidget(widget)
        self.addPermanentWidget(QLabel("Mode:"))
        self.addPermanentWidget(self.mode_box)
        self.addPermanentWidget(self.device_label)
        self.full_message = ""  # the last message in full (what `currentMessage` shows may be elided)
        self.messageChanged.connect(self._message_changed)

    def message_width(self) -> int:
        """The room the message has beside the permanent widgets (at least a sensible minimum)."""
        used = sum(w.width() + 6 for w in self.findChildren(QWidget) if w.parent() is self and w.isVisible())
        return max(200, self.width() - used - 24)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802
        """Show `text`; one too long for the room left is elided in the middle, and its tooltip has it all."""
        self.full_message = text
        shown = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, self.message_width())
        super().showMessage(shown, timeout)
        self.setToolTip(text if shown != text else "")

    @Slot(str)
    def _message_changed(self, text: str) -> None:
        if not text:
            self.full_message = ""
            self.setToolTip("")

    def set_mode(self, mode: str) -> None:
        self.mode_box.blockSignals(True)
        self.mode_box.setCurrentIndex(max(0, self.mode_box.findData(mode)))
        self.mode_box.blockSignals(False)

    @Slot(int)
    def _mode_changed(self, _index: int) -> None:
        mode = self.mode_box.currentData()
        if mode:
            self.mode_chosen.emit(mode)

    def set_page(self, page: int, count: int) -> None:
        self.page_label.setText(f"Page {page} of {count}" if count else "")

    def set_model(self, text: str, tooltip: str | None = None) -> None:
        self.model_label.setText(f"Model: {text}")
        if tooltip is not None:
            self.model_label.setToolTip(tooltip)

    def set_device(self, info: Any, setting: str) -> None:
        self.device_label.setText(f"Device: {device_text(info, setting)}")

    def show_working(self) -> None:
        """A busy bar with no count: loading the model, or a job that has not reported progress yet."""
        self.progress.setRange(0, 0)
        self.progress.show()

    def show_progress(self, p: Any) -> None:
        if self.progress.maximum() == 0 and p.page is None and p.done == 0:
            return
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        self.progress.setFormat(f"{p.done}/{p.total} pages")
        self.progress.show()
        self.eta_label.setText(format_eta(p.eta_s))
        if p.message:
            self.showMessage(p.message)

    def set_busy(self, busy: bool) -> None:
        if busy:
            self.show_working()
        else:
            self.progress.hide()
            self.eta_label.clear()

    def set_cancel_visible(self, visible: bool) -> None:
        self.cancel_button.setVisible(visible)
