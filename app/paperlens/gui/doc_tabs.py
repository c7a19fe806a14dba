"""The document tabs above the panes: one tab per open document, closable and movable, stepped with Ctrl+Tab."""

from __future__ import annotations

from PySide6.QtWidgets import QTabBar, QWidget


class DocumentTabs(QTabBar):
    """A tab bar whose `next_tab` / `previous_tab` wrap around (what Ctrl+Tab and Ctrl+Shift+Tab do)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self.setExpanding(False)

    def next_tab(self) -> None:
        self._step(1)

    def previous_tab(self) -> None:
        self._step(-1)

    def _step(self, step: int) -> None:
        if self.count() > 1:
            self.setCurrentIndex((self.currentIndex() + step) % self.count())
