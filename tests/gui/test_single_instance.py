"""A second `paperlens FILE` hands the file to the running window and exits 0; a crash's socket blocks nothing.

Real processes (`python -m paperlens`, offscreen Qt), each user directory the test's own. Every wait is on a
condition: a line the first window logs, or a process ending.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def write_png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (200, 280), "white").save(path)
    return path


@pytest.fixture
def env(tmp_path):
    """The user directories the conftest chose for this test, passed on to the processes (one user, one window)."""
    e = dict(os.environ)
    e.update(
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(ROOT / "app"),
        PAPERLENS_THEME="light",
        PYTHONFAULTHANDLER="1",
    )
    e.pop("PAPERLENS_NEW_INSTANCE", None)
    return e


class Window:
    """The first launch, its stderr read by a thread into a queue of lines."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "paperlens", "-v", *args],
            env=env,
            cwd=cwd,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} from the first window; it said:\n{''.join(self.seen)}")

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # closes the window the normal way
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.reader.join(timeout=10)
            while not self.lines.empty():
                self.seen.append(self.lines.get())
            raise AssertionError(
                "the first window did not close on SIGINT; it said:\n" + "".join(self.seen)
            ) from None
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.reader.join(
                timeout=10
            )  # it ends at the process's end of output: every line is in the report
            while not self.lines.empty():
                self.seen.append(self.lines.get())


def test_second_launch_hands_its_file_to_the_first(tmp_path, env):
    # GIVEN a running window (with a file) and a second file
    first_file = write_png(tmp_path / "first.png")
    second_file = write_png(tmp_path / "second.png")
    window = Window([str(first_file)], env, tmp_path)
    try:
        window.wait_for("listening for other launches")
        window.wait_for("the window is up")

        # WHEN PaperLens is started again with the second file, from another folder, by a relative name
        second = subprocess.run(
            [sys.executable, "-m", "paperlens", "second.png"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

        # THEN the second launch exits 0 at once and the first window opens the file
        assert second.returncode == 0, second.stderr
        window.wait_for("opened 1 document(s) from another launch")
    finally:
        code = window.close()
    assert code == 0, "".join(window.seen)
    # the first window recorded the handed-over file (by its full path) among its recent documents
    settings = Path(env["XDG_CONFIG_HOME"]) / "PaperLens" / "PaperLens.conf"
    assert str(second_file.resolve()) in settings.read_text()


def test_a_stale_socket_does_not_block_the_next_start(tmp_path, env):
    # GIVEN the socket file a crashed window leaves behind (a Unix socket nobody listens on)
    import socket as pysocket

    from paperlens.gui.single_instance import instance_name

    if sys.platform == "win32":
        pytest.skip("named pipes leave nothing behind")
    from PySide6.QtCore import QDir

    path = Path(QDir.tempPath()) / instance_name()
    stale = pysocket.socket(pysocket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # bound, never listening, now closed: connecting is refused
    assert path.exists()
    try:
        # WHEN PaperLens starts THEN it becomes the window (listens) instead of failing or handing over
        window = Window([], env, tmp_path)
        try:
            window.wait_for("listening for other launches")
            window.wait_for("the window is up")
        finally:
            assert window.close() == 0, "".join(window.seen)
    finally:
        path.unlink(missing_ok=True)
