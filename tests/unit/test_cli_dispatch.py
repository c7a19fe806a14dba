"""`paperlens FILE...` opens the window with the files; commands and options still reach argparse."""

from __future__ import annotations

import pytest

from paperlens import cli

COMMANDS = {"parse", "ask", "models", "doctor", "capture", "dev"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], None),
        (["report.pdf"], (False, ["report.pdf"])),
        (["a.pdf", "scans/", "photo.jpg"], (False, ["a.pdf", "scans/", "photo.jpg"])),
        (["-v", "report.pdf"], (True, ["report.pdf"])),
        (["--", "parse"], (False, ["parse"])),
        (["--", "-odd.pdf", "x.png"], (False, ["-odd.pdf", "x.png"])),
        (["a.pdf", "--", "parse"], (False, ["a.pdf", "parse"])),
        (["parse", "a.pdf"], None),
        (["-v", "doctor"], None),
        (["--version"], None),
        (["-h"], None),
        (["-v"], None),
    ],
)
def test_window_files_tells_files_from_commands(argv, expected):
    assert cli.window_files(argv, COMMANDS) == expected


@pytest.fixture
def opened(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(cli, "open_window", lambda files: calls.append(files) or 0)
    return calls


def test_a_file_opens_the_window_with_it(opened):
    # GIVEN what a file manager's "Open with" runs WHEN it runs THEN the window gets the file, not "invalid choice"
    assert cli.main(["report.pdf"]) == 0
    assert opened == [["report.pdf"]]


def test_no_arguments_open_an_empty_window(opened):
    assert cli.main([]) == 0
    assert opened == [[]]


def test_double_dash_reaches_a_file_named_like_a_command(opened):
    assert cli.main(["--", "parse"]) == 0
    assert opened == [["parse"]]


def test_commands_still_run(opened, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["parse", "--help"])
    assert exit_.value.code == 0
    assert "usage: paperlens parse" in capsys.readouterr().out
    assert opened == []


def test_an_unknown_option_is_still_an_error(opened, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--no-such-option"])
    assert exit_.value.code == 2
    assert opened == []
