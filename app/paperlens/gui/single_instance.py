"""One PaperLens window per user: a second launch hands its files to the running window and exits.

The running window listens on a local socket (`QLocalServer`: a Unix socket in the temp folder, a named pipe on
Windows) that only this user may open. A new launch first tries to connect: if a window answers, it sends the files
as one JSON line, waits for "ok" and exits 0 (the new launch never loads Qt's window, the library or the model). If
nothing answers, a socket file left by a crash is removed before listening (`QLocalServer.removeServer`), so a stale
socket never blocks the next start.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_MS = 500
ANSWER_MS = 5000


def instance_name() -> str:
    """Per user and per data folder: two users, or a test with its own XDG_DATA_HOME, never share a window."""
    from platformdirs import user_data_dir

    try:
        user = getpass.getuser()
    except Exception:  # no user name (some containers): the data folder still separates users
        user = "user"
    digest = hashlib.sha256(f"{user}\0{user_data_dir('PaperLens')}".encode()).hexdigest()[:12]
    return f"paperlens-{user}-{digest}"


def hand_over(files: list[str], name: str | None = None) -> bool:
    """Give `files` to a running window; True when it took them (this launch should then exit)."""
    socket = QLocalSocket()
    socket.connectToServer(name or instance_name())
    if not socket.waitForConnected(CONNECT_MS):
        return False  # nobody listening (or a stale socket file): this launch becomes the window
    socket.write(json.dumps({"files": files}).encode() + b"\n")
    socket.flush()
    answer = b""
    while b"\n" not in answer and socket.waitForReadyRead(ANSWER_MS):
        answer += bytes(socket.readAll().data())
    socket.disconnectFromServer()
    if answer.strip() != b"ok":
        log.warning("the running PaperLens window did not answer; opening another one")
        return False
    return True


class InstanceServer(QObject):
    """Listens for later launches and calls `on_files(list_of_paths)` for each (an empty list: just show the window)."""

    def __init__(self, on_files: Callable[[list[str]], None], name: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.name = name or instance_name()
        self.on_files = on_files
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        # Only reached when no window answered hand_over: a socket file still there is a crashed window's.
        QLocalServer.removeServer(self.name)
        if not self.server.listen(self.name):
            log.warning(
                "cannot listen for other launches (%s); each launch opens its own window",
                self.server.errorString(),
            )
            return False
        log.debug("listening for other launches on %s", self.server.fullServerName())
        return True

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        self._buffers[socket] = data
        if b"\n" not in data:
            return
        line = data.split(b"\n", 1)[0]
        try:
            files = [str(f) for f in json.loads(line).get("files", [])]
        except (ValueError, AttributeError):
            log.warning("ignored a malformed message from another launch")
            socket.disconnectFromServer()
            return
        socket.write(b"ok\n")
        socket.flush()
        log.info("another launch handed over %d file(s)", len(files))
        # Not from inside the socket's readyRead: opening waits in a local event loop, in which the socket may be
        # disconnected and deleted; Qt would then go on with a deleted socket (a crash seen under load).
        QTimer.singleShot(0, lambda: self.on_files(files))
