"""What the window shows with no document open: how to start, and the recent documents."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paperlens import APP_NAME


class StartPanel(QWidget):
    """Open / Camera / Paste buttons and the recent list. Emits what the user asked for; opens nothing itself."""

    open_requested = Signal()
    camera_requested = Signal()
    paste_requested = Signal()
    recent_chosen = Signal(str)
    sample_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel(f"<h2>{APP_NAME}</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel(
            "Open a PDF or an image, drop files or folders here, paste an image (Ctrl+V),<br/>"
            "or capture pages with a camera. Everything runs on this computer."
        )
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for text, signal in (
            ("Open…", self.open_requested),
            ("Camera…", self.camera_requested),
            ("Paste Image", self.paste_requested),
        ):
            b = QPushButton(text)
            b.clicked.connect(signal)
            b.setMinimumWidth(120)
            buttons.addWidget(b)
        buttons.addStretch(1)
        # A first-time user has nothing to try it on: a one-page report with a table (app/paperlens/resources).
        self.sample_link = QLabel('<a href="sample">Open the sample document</a> to see what PaperLens does')
        self.sample_link.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sample_link.linkActivated.connect(lambda _link: self.sample_requested.emit())
        self.recent_label = QLabel("<b>Recent documents</b>")
        self.recent_list = QListWidget()
        self.recent_list.setMaximumWidth(640)
        self.recent_list.setMaximumHeight(220)
        self.recent_list.setSpacing(3)
        self.recent_list.itemActivated.connect(self._recent_activated)
        self.recent_list.itemClicked.connect(self._recent_activated)
        recent = QVBoxLayout()
        recent.addWidget(self.recent_label)
        recent.addWidget(self.recent_list)
        recent_row = QHBoxLayout()
        recent_row.addStretch(1)
        recent_row.addLayout(recent, 3)
        recent_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addSpacing(8)
        layout.addWidget(self.sample_link)
        layout.addSpacing(24)
        layout.addLayout(recent_row)
        layout.addStretch(3)

    def show_recent(self, paths: list[str]) -> None:
        self.recent_list.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}    —    {Path(path).parent}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent_list.addItem(item)
        visible = self.recent_list.count() > 0
        self.recent_label.setVisible(visible)
        self.recent_list.setVisible(visible)

    @Slot(QListWidgetItem)
    def _recent_activated(self, item: QListWidgetItem) -> None:
        self.recent_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
