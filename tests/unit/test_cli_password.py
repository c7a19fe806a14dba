"""An encrypted PDF's password on the command line without the shell's history: asked on a terminal (for one file
or each file of a batch), read from a file or the environment without one."""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from paperlens.commands.common import ENV_PASSWORD, UsageError, pdf_password
from paperlens.commands.common import open_document as cli_open
from paperlens.core.errors import PasswordRequired
from tests.unit.scenes import make_pdf

ROOT = Path(__file__).resolve().parents[2]


def _args(pdf: Path, **kw) -> argparse.Namespace:
    base = dict(file=str(pdf), password=None, password_file=None, dpi=None, no_flatten=False)
    base.update(kw)
    return argparse.Namespace(**base)


def test_the_password_comes_from_a_file_or_the_environment_without_a_terminal(tmp_path, monkeypatch):
    pdf = make_pdf(tmp_path / "secret.pdf", ["Top secret text"], user_pw="right pw")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    with pytest.raises(PasswordRequired):
        cli_open(_args(pdf))
    # a file: its first line, without the line break (a trailing space is part of the password)
    pw_file = tmp_path / "pw.txt"
    pw_file.write_text("right pw\nignored second line\n", encoding="utf-8")
    with cli_open(_args(pdf, password_file=str(pw_file))) as doc:
        assert "Top secret" in doc.page(0).text
    # the environment
    monkeypatch.setenv(ENV_PASSWORD, "right pw")
    with cli_open(_args(pdf)) as doc:
        assert "Top secret" in doc.page(0).text
    # --password still wins over both
    assert pdf_password(_args(pdf, password="flag", password_file=str(pw_file))) == "flag"
    # a missing file is a usage error in a sentence
    with pytest.raises(UsageError, match="password file .* cannot be read"):
        pdf_password(_args(pdf, password_file=str(tmp_path / "missing.txt")))


@pytest.mark.skipif(os.name != "posix", reason="a pseudo-terminal")
def test_a_batch_asks_for_each_encrypted_pdf_on_the_terminal(tmp_path):
    import pty

    # GIVEN a folder with an encrypted PDF and a plain one, parsed as a batch on a terminal, no --password
    folder = tmp_path / "in"
    folder.mkdir()
    make_pdf(folder / "secret.pdf", ["Top secret text"], user_pw="right pw")
    make_pdf(folder / "plain.pdf", ["Plain text"])
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "tests.cli_truth", "parse", str(folder), "-o", str(out), "-q"]
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'app'}{os.pathsep}{ROOT}")
    env.pop(ENV_PASSWORD, None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI with the pseudo-terminal as its terminal
        os.chdir(ROOT)
        os.execve(sys.executable, argv, env)
    seen = b""
    answered = False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal: it has finished
                break
            if not chunk:
                break
            seen += chunk
            # WHEN it asks, naming the file, THEN the typed password opens it (asked once, though the batch
            # opens the file twice: to count its pages, then to parse them)
            if b"Password for secret.pdf:" in seen:
                assert not answered, seen
                os.write(fd, b"right pw\n")
                answered = True
                seen = seen.replace(b"Password for secret.pdf:", b"(asked)")
        else:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    text = seen.decode("utf-8", "replace")
    assert answered, text
    assert "right pw" not in text  # not echoed
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert sorted(p.name for p in out.iterdir()) == ["plain.md", "secret.md"]
