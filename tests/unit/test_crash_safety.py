"""Derived model files and exports survive a writer killed mid-write: the next writer removes the temporary file the
dead one left behind (and only such files), and a rename into place is synced with its folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from paperlens.core import models, tempfiles
from paperlens.core.models import derive_4x_projector, derived_4x_path, inspect_gguf, scan_model_dir
from paperlens.core.results.export import files
from tests.unit.test_models import write_projector, write_text

APP = Path(__file__).resolve().parents[2] / "app"

posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and process ids of POSIX")


def _run_until_ready(script: str, tmp_path: Path) -> subprocess.Popen:
    """Starts `script` in a child Python; returns once it printed `ready` (it then blocks until killed)."""
    env = dict(os.environ, PYTHONPATH=str(APP))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the child reached the point (or died)
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate(timeout=60)
        pytest.fail(f"the child did not get ready: {line!r} {err}")
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@posix_only
@pytest.mark.parametrize("cleaner", ["scan", "derive"])
def test_a_killed_derivation_leaves_a_temp_file_that_the_next_scan_or_derivation_removes(tmp_path, cleaner):
    # GIVEN a 16x projector and a derivation of the 4x one killed while writing its tensors
    write_text(tmp_path / "text.gguf")
    src = write_projector(tmp_path / "mmproj.gguf")
    proc = _run_until_ready(
        f"""
        import sys
        from paperlens.core.models import derive_4x_projector, inspect_gguf

        def progress(done, total):
            print("ready", flush=True)  # the first tensor is written: the temporary file exists and has data
            sys.stdin.read()  # wait here for the kill

        derive_4x_projector(inspect_gguf({str(src)!r}), progress=progress)
        """,
        tmp_path,
    )
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".gguf.tmp")]
    assert len(temps) == 1 and temps[0].stat().st_size > 0 and models.STALE_TEMP.fullmatch(temps[0].name)
    dead_pid = proc.pid
    assert str(dead_pid) in temps[0].name
    _kill(proc)
    assert temps[0].exists()  # the dead writer could not clean up after itself
    # WHEN the folder is scanned again, or the projector derived again
    if cleaner == "scan":
        found = scan_model_dir(tmp_path)
        assert not temps[0].exists()
        _, proj = found.require("4x")
    else:
        proj = derive_4x_projector(inspect_gguf(src))
    # THEN the leftover is gone and the derivation succeeds
    assert proj.path == derived_4x_path(src) and proj.usable
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mmproj.gguf",
        "mmproj.paperlens-4x.gguf",
        "text.gguf",
    ]


@posix_only
def test_temp_files_of_live_writers_and_other_files_are_left_alone(tmp_path):
    # GIVEN a temp file of a live writer (a sleeping child), one of ours, and files that only look similar
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        keep = [
            f".paperlens-{child.pid}-abcd1234.gguf.tmp",
            f".paperlens-{os.getpid()}-abcd1234.gguf.tmp",
            ".abcd1234.gguf.tmp",  # the old name without a pid: whose it is cannot be told
            "notes.gguf.tmp",
            f".report.md.{child.pid}-0123abcd.partial",
            ".report.md.0123abcd.partial",
            "report.md.partial",
        ]
        for name in keep:
            (tmp_path / name).write_bytes(b"x")
        (tmp_path / ".paperlens-1-abcd1234.gguf.tmp").mkdir()  # a folder is never removed
        # WHEN both kinds of stale files are looked for
        assert tempfiles.remove_stale(tmp_path, models.STALE_TEMP) == []
        assert tempfiles.remove_stale(tmp_path, files.STALE_PARTIAL) == []
        # THEN nothing was touched
        assert all((tmp_path / n).exists() for n in keep)
    finally:
        child.kill()
        child.wait()


def test_the_derived_file_is_synced_and_so_is_its_folder_after_the_rename(tmp_path, monkeypatch):
    src = write_projector(tmp_path / "mmproj.gguf")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync file")
        return real_fsync(fd)

    def replace(a, b):
        events.append("replace")
        return real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to tell a folder's descriptor")
    derive_4x_projector(inspect_gguf(src))
    assert events == ["fsync file", "replace", "fsync folder"]


@posix_only
def test_a_killed_export_leaves_a_partial_file_that_the_next_export_removes(tmp_path):
    # GIVEN an export killed after writing its temporary file, before renaming it into place
    target = tmp_path / "report.md"
    proc = _run_until_ready(
        f"""
        import os, sys
        from pathlib import Path
        from paperlens.core.results.export import files

        def stuck(a, b):
            print("ready", flush=True)
            sys.stdin.read()

        files.os.replace = stuck
        files.write_atomically([(Path({str(target)!r}), b"the new export" * 1000)])
        """,
        tmp_path,
    )
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(left) == 1 and str(proc.pid) in left[0].name and files.STALE_PARTIAL.fullmatch(left[0].name)
    _kill(proc)
    assert left[0].exists()
    # WHEN another export goes into that folder (another file name)
    files.write_atomically([(tmp_path / "other.txt", b"hello")])
    # THEN the dead export's leftover is gone, and the new file is there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]


def test_temp_files_untouched_for_a_day_are_removed_even_without_a_dead_pid(tmp_path):
    # GIVEN leftovers a day old: one whose pid now belongs to a live process (ours: reused), and the old names
    # earlier versions wrote without a pid
    import time

    names = {
        models.STALE_TEMP: f".paperlens-{os.getpid()}-abcd1234.gguf.tmp",
        models.OLD_STALE_TEMP: ".abcd1234.gguf.tmp",
        files.STALE_PARTIAL: f".report.md.{os.getpid()}-0123abcd.partial",
        files.OLD_STALE_PARTIAL: ".report.md.0123abcd.partial",
    }
    day_ago = time.time() - tempfiles.STALE_AFTER_S - 60
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (day_ago, day_ago))
    (tmp_path / "report.md.partial").write_bytes(b"not ours")
    os.utime(tmp_path / "report.md.partial", (day_ago, day_ago))
    # WHEN each kind is looked for THEN each is removed, and a file of another name is not
    for pattern, name in names.items():
        assert tempfiles.remove_stale(tmp_path, pattern) == [tmp_path / name]
    assert [p.name for p in tmp_path.iterdir()] == ["report.md.partial"]
