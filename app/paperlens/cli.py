"""`paperlens [FILE...]` opens the window; `paperlens parse|ask|models|doctor|capture|dev ...` run headless.

A first argument that is not a command or an option is a file to open in the window, as a file manager's "Open
with" passes it (`paperlens report.pdf scans/`); `paperlens -- parse` opens a file named `parse`.

A thin face over the core: the parser is built from the command registry (`paperlens.commands`), each command prints
progress on stderr and results on stdout or into a file. Every failure a user can cause ends in one sentence on stderr
and a non-zero exit, never a traceback (set PAPERLENS_DEBUG=1 for one).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from paperlens import __version__
from paperlens.commands import all_commands
from paperlens.commands.common import EXIT_CANCELLED
from paperlens.core.errors import PaperLensError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperlens", description="Offline document scanner: pages to Markdown."
    )
    parser.add_argument("--version", action="version", version=f"paperlens {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what llama.cpp says")
    sub = parser.add_subparsers(dest="command")
    for command in all_commands():
        p = sub.add_parser(command.name, help=command.help, description=command.description)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


GLOBAL_FLAGS = ("-v", "--verbose")


def window_files(argv: list[str], command_names: set[str]) -> tuple[bool, list[str]] | None:
    """(verbose, files) when `argv` asks for the window with files; None when argparse should read it.

    Leading -v/--verbose are allowed; then `--` or a first word that is neither an option nor a command starts the
    files. Everything after the first file is a file too (one `--` among them is dropped), so names starting with a
    dash or matching a command can always be opened.
    """
    rest = list(argv)
    verbose = False
    while rest and rest[0] in GLOBAL_FLAGS:
        verbose = True
        rest.pop(0)
    if not rest:
        return None
    first = rest[0]
    if first == "--":
        return verbose, rest[1:]
    if first.startswith("-") or first in command_names:
        return None
    if "--" in rest:
        rest.remove("--")
    return verbose, rest


def open_window(files: list[str]) -> int:
    """No command opens the window, with the files if any (handed to a running window when there is one)."""
    from paperlens.gui.app import run_app

    return run_app(sys.argv[:1], files)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        logging.getLogger("paperlens.llama").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    window = window_files(argv, {c.name for c in all_commands()})
    if window is not None:
        verbose, files = window
        setup_logging(verbose)
        return open_window(files)
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    run = getattr(args, "run", None) or (lambda _args: open_window([]))
    try:
        return run(args)
    except PaperLensError as exc:
        if os.environ.get("PAPERLENS_DEBUG"):
            raise
        print(f"paperlens: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("paperlens: cancelled.", file=sys.stderr)
        return EXIT_CANCELLED


if __name__ == "__main__":
    raise SystemExit(main())
