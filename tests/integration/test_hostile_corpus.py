"""The hostile-input corpus through the real `paperlens parse` in its own process (the TruthEngine answering each
page, so the run costs no model time): one batch over the whole folder, and single files for the exit statuses.
Each file gets a result or one plain line naming it; no traceback; nothing hangs (a timeout is the failure)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_corpus import (
    EITHER,
    LAUNCH_MARKER,
    OK,
    PAGE_ERROR,
    REFUSED,
    build_corpus,
    corpus_supported,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not corpus_supported(), reason="FIFOs, symlinks and byte names of POSIX"),
]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # generous: the whole batch takes a few seconds; reaching this is the failure


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'app'}{os.pathsep}{ROOT}", PYTHONIOENCODING="utf-8")
    env.pop("PAPERLENS_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "tests.cli_truth", *args],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=TIMEOUT,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, build_corpus(folder)


def shown(path: Path) -> str:
    """A path as the CLI prints it (bytes that are not UTF-8 as \\x.. escapes)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def test_a_batch_over_the_corpus_reports_every_file_and_never_a_traceback(corpus, tmp_path):
    folder, cases = corpus
    out = tmp_path / "out"
    # WHEN the whole folder is parsed in one run
    r = cli("parse", str(folder), "-o", str(out), cwd=tmp_path)
    text = r.stdout + r.stderr
    # THEN some failed (exit 1, as documented), with no traceback
    assert r.returncode == 1, text
    assert "Traceback" not in text and "Error:" not in text.replace("DocumentError", ""), text
    summary = r.stderr[r.stderr.rindex("paperlens: ") :]
    failed = {line.split(": ", 2)[1]: line for line in summary.splitlines() if line.startswith("  failed: ")}
    skipped = {
        line.split(": ", 2)[1]: line for line in summary.splitlines() if line.startswith("  skipped: ")
    }
    for case in cases:
        where, name = shown(case.path), shown(Path(case.path.name))
        output = out / Path(case.path.name).with_suffix(".md")
        if case.path.is_dir():  # a folder named x.pdf is a folder: walked, nothing to report
            assert where not in failed and where not in skipped
            continue
        if not case.path.is_file():  # a FIFO, a device, a link to nowhere: listed, never opened
            assert where in skipped, f"{case.why}: not listed as skipped\n{summary}"
            continue
        if case.expect == OK:
            assert where not in failed, failed.get(where)
            assert output.read_text(encoding="utf-8").count("page text") >= 1, case.why
        elif case.expect == REFUSED:
            assert where in failed, f"{case.why}: no failed line\n{summary}"
            assert name in failed[where].split(": ", 2)[2], failed[where]
            assert not output.exists()
        elif case.expect == PAGE_ERROR:
            assert where in failed and ": page " in failed[where], f"{case.why}\n{summary}"
            assert name in failed[where].split(": ", 2)[2], failed[where]
        else:
            assert case.expect == EITHER
            assert where in failed or where in skipped or output.exists(), (
                f"{case.why}: no result, no reason\n{summary}"
            )
    # every page of the 600-page PDF came through
    assert (out / "many-pages.md").read_text(encoding="utf-8").count("page text") == 600
    assert not (tmp_path / LAUNCH_MARKER).exists() and not (folder / LAUNCH_MARKER).exists()


SINGLE = [
    # (file, extra flags, exit status): 0 parsed, 2 refused or some pages failed (a single file's statuses)
    ("fifo-page.png", (), 2),
    ("zero-device.png", (), 2),
    ("loop.pdf", (), 2),
    ("scan.jpg", (), 2),
    ("zero-bytes.pdf", (), 2),
    ("bomb.png", (), 2),
    ("giant-mediabox.pdf", (), 2),
    ("javascript-launch.pdf", (), 0),
    ("many-pages.pdf", ("--pages", "1,600"), 0),
    (os.fsdecode(b"caf\xe9-latin1-name.png"), (), 0),
]


@pytest.mark.parametrize(
    ("name", "flags", "status"), SINGLE, ids=[s[0].encode("ascii", "replace").decode() for s in SINGLE]
)
def test_a_single_hostile_file_exits_with_its_documented_status(corpus, tmp_path, name, flags, status):
    folder, cases = corpus
    path = folder / name
    r = cli("parse", os.fsdecode(os.fsencode(path)), *flags, "-q", cwd=tmp_path)
    assert r.returncode == status, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    if status == 0:
        assert "page text" in r.stdout
    else:
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert lines and all(shown(Path(name)) in line for line in lines), r.stderr
    assert not (tmp_path / LAUNCH_MARKER).exists()
