"""Hidden temporary files written next to their target, and the ones a killed writer left behind.

Derived model files and exports are written to a hidden temporary name in the target's folder, then renamed into
place. A writer killed before the rename (power cut, `kill -9`, a crash) leaves its temporary file behind: up to
0.9 GB for a projector. Every such name carries the writer's process id, so a later writer can tell a temporary file
of a dead process (removed) from one still being written by a live one (left alone). Only names of the exact
pattern are ever touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)


def pid_tag() -> str:
    """The part of a temporary name that says who writes it: `<pid>-<8 random hex digits>`."""
    return f"{os.getpid()}-{os.urandom(4).hex()}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (POSIX). On Windows always True: there a file open in another
    process cannot be deleted, so removal is simply attempted and refused while the writer lives."""
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True
    return True


STALE_AFTER_S = 24 * 3600  # untouched this long, a temporary file has no writer (even if its pid was reused)


def remove_stale(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    """Removes the files in `folder` whose name matches `pattern` and whose writer is gone: the process named by the
    group `pid` is not running, or (a pid since reused, or a name without one) the file was not written to for a
    day. Returns the files removed; never raises."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if not match:
            continue
        pid = int(match["pid"]) if "pid" in pattern.groupindex else None
        with contextlib.suppress(OSError):
            if not entry.is_file(follow_symlinks=False):
                continue
            old = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
            if not old and (pid is None or pid == os.getpid() or (os.name == "posix" and pid_alive(pid))):
                continue
            os.unlink(entry.path)  # on Windows refused while the writer still holds it open
            removed.append(Path(entry.path))
            log.info("removed %s, left by a writer that stopped", entry.name)
    return removed


def sync_folder(folder: Path) -> None:
    """Makes a rename into `folder` durable (POSIX); best effort."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
