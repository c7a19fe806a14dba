"""A QTextBrowser that loads nothing: the model's text is drawn, never followed.

Qt's rich text fetches `<img src>` and `![](path)` resources itself, synchronously, on the GUI thread: a page image
pointing at a FIFO hung the window for good (and again on every reopen, since results are cached); `/dev/zero` or a
Windows UNC path go the same way. The HTML reaching the views is already sanitised (`core/results/sanitize.py`: no
attributes, images as alt text); this is the second wall: whatever slips through, only `data:` and `qrc:` resources,
which need no I/O, are ever loaded; anything else gets a blank answer (never "no answer", on which Qt opens the file
itself).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QTextBrowser

ALLOWED_SCHEMES = frozenset({"data", "qrc"})


class SafeTextBrowser(QTextBrowser):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.refused: list[str] = []  # resources asked for and refused (for tests and debugging)

    def loadResource(self, kind: int, url: QUrl) -> Any:  # noqa: N802 (Qt's name)
        if url.scheme().lower() in ALLOWED_SCHEMES:
            return super().loadResource(kind, url)
        self.refused.append(url.toString())
        # Not None: QTextDocument reads a local file itself when its view's answer is null. A 1-pixel transparent
        # image (or one blank byte for a style sheet) is an answer, so nothing is ever opened.
        if kind == QTextDocument.ResourceType.ImageResource.value:
            image = QImage(1, 1, QImage.Format.Format_ARGB32)
            image.fill(0)
            return image
        return QByteArray(b" ")
