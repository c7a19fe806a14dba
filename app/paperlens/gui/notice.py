"""An inline strip for errors and notices, instead of modal message boxes.

Why not QMessageBox: a file that fails to open must not stop the user (or a test) at a modal dialog while other
documents are still open and a model may be running; the strip says what happened and stays until dismissed.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton


class NoticeBar(QFrame):
    """A dismissible message strip: errors in red, notices in the palette's colours."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.messages: list[str] = []
        self.level = ""
        self.hide()

    def show_error(self, text: str) -> None:
        self._show(text, "error")

    def show_info(self, text: str) -> None:
        self._show(text, "info")

    def _show(self, text: str, level: str) -> None:
        if self.isHidden():
            self.messages = []
            self.level = ""
        if level == "error" or not self.level:
            self.level = level
        self.messages.append(text)
        self.messages = self.messages[-5:]
        self.label.setText("<br/>".join(escape(m) for m in self.messages))
        border = "#c0392b" if self.level == "error" else "#2e86c1"
        self.setStyleSheet(
            f"#noticeBar {{ border: 1px solid {border}; background: palette(alternate-base); }}"
        )
        self.show()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else "\n".join(self.messages)

    def dismiss(self) -> None:
        self.messages = []
        self.level = ""
        self.hide()
