"""Writing export files: every file of an export is written in full, or none is.

Every export is rendered in memory first and then written atomically (a temporary file in the target folder, then
`os.replace`), so a full disk, a missing folder or a crash never leaves a half-written file where the user looks,
and an existing file is either replaced whole or left alone. Failures become an `ExportError` whose sentence says
what went wrong and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
from pathlib import Path

from paperlens.core.errors import ExportError
from paperlens.core.tempfiles import pid_tag, remove_stale, sync_folder

_WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
_WINDOWS_RESERVED = (
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
)


def name_problem(name: str, *, windows: bool | None = None) -> str | None:
    """Why a file name cannot be used on this system (or on Windows), or None when it can.

    Checked before anything is written, so the user hears about a bad character in plain words rather than as an
    operating-system error code. Letters of any script, spaces, quotes and emoji are fine everywhere but Windows'
    short list.
    """
    windows = sys.platform == "win32" if windows is None else windows
    if name in ("", ".", ".."):
        return "is not a file name"
    if "\x00" in name or "/" in name:
        return "contains a character no file name may have"
    try:
        encoded = os.fsencode(name) if not windows else name.encode("utf-16-le")
    except UnicodeError:
        return "contains characters this system cannot store in a file name"
    if len(encoded) > (510 if windows else 255):
        return "is too long"
    if windows:
        bad = sorted({ch for ch in name if ch in _WINDOWS_FORBIDDEN or ord(ch) < 32})
        if bad:
            shown = " ".join(repr(ch)[1:-1] for ch in bad)
            return f"contains characters Windows does not allow in file names ({shown})"
        if name.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
            return "is a name Windows reserves for a device"
        if name[-1] in " .":
            return "ends with a space or a dot, which Windows does not allow"
    return None


def check_target(path: Path) -> None:
    """Refuses a target that cannot work, before anything is rendered or written."""
    folder = path.parent
    problem = name_problem(path.name)
    if problem:
        raise ExportError(
            f"The file name {path.name!r} {problem}.", hint="Choose another name; nothing was written."
        )
    try:
        if path.is_dir():
            raise ExportError(f"{path} is a folder.", hint="Give a file name inside it; nothing was written.")
        if not folder.exists():
            raise ExportError(
                f"The folder {folder} does not exist.",
                hint="Create it or choose another folder; nothing was written.",
            )
        if not folder.is_dir():
            raise ExportError(
                f"{folder} is not a folder.", hint="Choose a folder to save into; nothing was written."
            )
    except OSError as exc:
        raise _os_error(exc, path) from exc


def _os_error(exc: OSError, path: Path) -> ExportError:
    """An operating-system failure while writing, as a sentence: what happened, what to do."""
    folder = path.parent
    code = exc.errno
    nothing = "nothing was written."
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return ExportError(
            f"The disk holding {folder} is full.", hint=f"Free some space or save to another disk; {nothing}"
        )
    if code == errno.EROFS:
        return ExportError(f"{folder} is on a read-only disk.", hint=f"Choose another folder; {nothing}")
    if code in (errno.EACCES, errno.EPERM):
        return ExportError(
            f"PaperLens may not write to {path}: the folder or file is read-only, belongs to another user, "
            "or the file is open in another program.",
            hint=f"Close the file or choose another folder; {nothing}",
        )
    if code == errno.ENOENT:
        return ExportError(
            f"The folder {folder} does not exist.", hint=f"Create it or choose another folder; {nothing}"
        )
    if code == errno.ENOTDIR:
        return ExportError(f"{folder} is not a folder.", hint=f"Choose a folder to save into; {nothing}")
    if code == errno.EISDIR:
        return ExportError(f"{path} is a folder.", hint=f"Give a file name inside it; {nothing}")
    if code == errno.ENAMETOOLONG:
        return ExportError(
            f"The file name {path.name!r} is too long for this disk.", hint=f"Choose a shorter one; {nothing}"
        )
    if code in (errno.EINVAL, getattr(errno, "EILSEQ", -1)):
        return ExportError(
            f"This disk does not accept the file name {path.name!r}.",
            hint=f"Choose a name with plain letters, digits and dashes; {nothing}",
        )
    reason = exc.strerror or str(exc)
    return ExportError(f"Could not write {path}: {reason}.", hint=f"Try another folder; {nothing}")


_CHUNK = 1 << 20


def _write_bytes(fd: int, data: bytes) -> None:
    """Writes all of `data` (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:_CHUNK])
        view = view[n:]


# `.<start of the target's name>.<writer's pid>-<8 hex digits>.partial`: one left by an export that was killed before
# its rename is removed by the next export into that folder, once its writer is gone.
STALE_PARTIAL = re.compile(r"\..{1,40}\.(?P<pid>\d+)-[0-9a-f]{8}\.partial", re.DOTALL)
OLD_STALE_PARTIAL = re.compile(r"\..{1,40}\.[0-9a-f]{8}\.partial", re.DOTALL)  # earlier versions: after a day


def _write_temp(path: Path, data: bytes) -> Path:
    """Writes `data` to a new hidden file next to `path` and syncs it; removes it again on any failure."""
    tmp = path.with_name(f".{path.name[:40]}.{pid_tag()}.partial")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)  # 0o666 minus the umask: the same mode a plain open() gives
    try:
        try:
            _write_bytes(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_atomically(files: list[tuple[Path, bytes]]) -> None:
    """Writes every file or none: all temporary files first, then each renamed over its target.

    A failure while writing (full disk, permission, a bad name) removes the temporary files and leaves every target
    as it was.
    """
    for path, _ in files:
        check_target(path)
    for folder in {p.parent for p, _ in files}:
        remove_stale(folder, STALE_PARTIAL)
        remove_stale(folder, OLD_STALE_PARTIAL)
    temps: list[tuple[Path, Path]] = []
    current = files[0][0] if files else Path()
    try:
        for path, data in files:
            current = path
            temps.append((_write_temp(path, data), path))
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
    except OSError as exc:
        raise _os_error(exc, current) from exc
    except UnicodeError as exc:
        raise ExportError(
            f"This system cannot store the file name {current.name!r}.",
            hint="Choose a name with plain letters and digits; nothing was written.",
        ) from exc
    finally:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                if tmp.exists():
                    tmp.unlink()
    for folder in {p.parent for p, _ in files}:
        sync_folder(folder)


def safe_stem(title: str) -> str:
    """A file name stem from a document title: characters Windows forbids replaced, at most 120 characters."""
    stem = "".join("_" if ch in _WINDOWS_FORBIDDEN or ord(ch) < 32 else ch for ch in title).strip(" .")
    return stem[:120] or "document"
