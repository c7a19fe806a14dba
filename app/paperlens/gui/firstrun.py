"""The banner at the top of the window when the model is missing or failed to load.

A first run without a model is the normal case, not an error: the banner says which files are needed and where the
official ones are published, opens the folder to put them in, and checks again. A model that fails to load uses the
same banner with the reason, so the window stays usable (documents can still be opened, viewed and exported).
"""

from __future__ import annotations

import re
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

_URL = re.compile(r"https?://[^\s)]+[^\s).,;]")


def linkify(text: str) -> str:
    """Escape `text` for a rich-text label and make its URLs clickable."""
    out, last = [], 0
    for m in _URL.finditer(text):
        out.append(escape(text[last : m.start()]))
        url = m.group(0)
        out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


class ModelBanner(QFrame):
    """A coloured strip with a message and the actions that fix it."""

    open_folder = Signal()
    choose_folder = Signal()
    check_again = Signal()
    open_settings = Signal()
    download = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setObjectName("bannerTitle")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setOpenExternalLinks(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.download_button = QPushButton("Download Model…")
        self.download_button.setToolTip("Download MiniCPM-V 4.6 (about 1.6 GB) from Hugging Face or a mirror")
        self.download_button.clicked.connect(self.download)
        self.open_button = QPushButton("Open Model Folder")
        self.open_button.setToolTip(
            "Open the folder PaperLens reads the model from (it is created if missing)"
        )
        self.choose_button = QPushButton("Choose Folder…")
        self.check_button = QPushButton("Check Again")
        self.settings_button = QPushButton("Settings…")
        self.open_button.clicked.connect(self.open_folder)
        self.choose_button.clicked.connect(self.choose_folder)
        self.check_button.clicked.connect(self.check_again)
        self.settings_button.clicked.connect(self.open_settings)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.choose_button)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.settings_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.kind = ""
        self.hide()

    def show_missing(self, message: str, official_url: str) -> None:
        """No complete model on disk: which files, where they go, where they are published."""
        self.kind = "missing"
        self.title.setText("<b>The model is not installed yet</b>")
        where = ""
        if official_url not in message:
            where = (
                f'<br/>The official files are published at <a href="{escape(official_url)}">'
                f"{escape(official_url)}</a>."
            )
        where += (
            "<br/><i>Download Model</i> gets them in one go; or use <i>Open Model Folder</i> to put the two files "
            "there by hand, then press <i>Check Again</i>. "
            "PaperLens makes its 4x projector from the official one the first time it is used."
        )
        self.message.setText(linkify(message) + where)
        self.setStyleSheet("#modelBanner { background: palette(alternate-base); border: 1px solid #d4a017; }")
        self.open_button.show()
        self.choose_button.show()
        self.download_button.show()
        self.show()

    def show_failure(self, message: str) -> None:
        """The model is there but could not be loaded (corrupt file, out of memory, ...): the reason, in a sentence."""
        self.kind = "failed"
        self.download_button.setVisible("download" in message.lower() or "truncated" in message.lower())
        self.title.setText("<b>The model could not be loaded</b>")
        self.message.setText(linkify(message))
        self.setStyleSheet("#modelBanner { background: palette(alternate-base); border: 1px solid #c0392b; }")
        self.show()

    def clear(self) -> None:
        self.kind = ""
        self.hide()
