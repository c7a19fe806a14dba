"""Opening never runs on the GUI thread: the window keeps processing events while a file opens (a slow one here),
the password dialog is shown on the GUI thread, a second drop while opening is opened too, and closing
the window while a file opens closes that file once it is open."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer

from paperlens.gui import opening
from tests.gui.helpers import write_pdf, write_png


class SlowOpen:
    """`open_session` that, before opening, waits until the GUI thread has ticked `ticks` times (or gives up after
    `limit` seconds): an open done on the GUI thread would never see a tick."""

    def __init__(self, monkeypatch, ticks: int = 3, limit: float = 20.0) -> None:
        self.real = opening.open_session
        self.ticked = threading.Event()
        self.ticks = 0
        self.wanted = ticks
        self.limit = limit
        self.threads: list[threading.Thread] = []
        self.release = threading.Event()
        self.release.set()
        monkeypatch.setattr(opening, "open_session", self)

    def tick(self) -> None:  # on the GUI thread, from a timer
        self.ticks += 1
        if self.ticks >= self.wanted:
            self.ticked.set()

    def __call__(self, group, **kwargs):
        self.threads.append(threading.current_thread())
        self.ticked.wait(self.limit)
        self.release.wait(self.limit)
        return self.real(group, **kwargs)


def test_the_window_keeps_processing_events_while_a_file_opens(window, tmp_path, monkeypatch):
    # GIVEN a document that takes until the window has handled three timer events to open
    slow = SlowOpen(monkeypatch)
    timer = QTimer(window)
    timer.timeout.connect(slow.tick)
    timer.start(10)
    # WHEN it is opened
    opened = window.open_paths([write_pdf(tmp_path / "slow.pdf", pages=2)])
    timer.stop()
    # THEN the timer ticked while it opened (the open ran on another thread), and it opened
    assert slow.ticked.is_set(), "the GUI thread processed no events while the file opened"
    assert slow.threads and threading.main_thread() not in slow.threads
    assert len(opened) == 1 and opened[0].page_count == 2


def test_the_password_dialog_is_shown_on_the_gui_thread(window, tmp_path):
    asked = []

    def ask(name, reason):
        asked.append(threading.current_thread())
        return "s3cret"

    window.ask_password = ask
    opened = window.open_paths([write_pdf(tmp_path / "secret.pdf", pages=1, password="s3cret")])
    assert len(opened) == 1 and asked == [threading.main_thread()]


def test_files_dropped_while_others_open_are_opened_too(window, tmp_path, monkeypatch):
    # GIVEN a slow open in progress, during which a second file is dropped (from an event, as a drop comes)
    slow = SlowOpen(monkeypatch)
    second = write_png(tmp_path / "second.png")
    during = []

    def drop_second() -> None:
        slow.tick()
        if slow.ticks == 1:
            during.append(window.open_paths([second]))

    timer = QTimer(window)
    timer.timeout.connect(drop_second)
    timer.start(10)
    opened = window.open_paths([write_pdf(tmp_path / "first.pdf", pages=1)])
    timer.stop()
    # THEN each call returned the document it opened, and both are open
    assert [[s.title for s in d] for d in during] == [["second.png"]]
    assert [s.title for s in opened] == ["first.pdf"]
    assert len(window.documents.sessions) == 2


def test_closing_the_window_while_a_file_opens(qtbot, make_window, tmp_path, monkeypatch):
    # GIVEN a file that stays opening until released
    window = make_window()
    slow = SlowOpen(monkeypatch, ticks=1)
    slow.release.clear()
    closed = []
    real_close = opening.DocumentSession.close

    def close(session):
        closed.append(session.title)
        real_close(session)

    monkeypatch.setattr(opening.DocumentSession, "close", close)

    def close_window() -> None:
        slow.tick()
        window.close()

    QTimer.singleShot(10, close_window)
    # WHEN the window closes meanwhile, THEN the open returns at once with nothing
    assert window.open_paths([write_pdf(tmp_path / "late.pdf", pages=1)]) == []
    # AND the file, once it opens, is closed again (not added to a closed window)
    slow.release.set()
    qtbot.waitUntil(lambda: closed == ["late.pdf"], timeout=20_000)
    assert window.documents.sessions == {}
