"""`paperlens` opens the window; `paperlens parse|ask|models|doctor|capture|dev ...` run headless.

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


def open_window(args: argparse.Namespace) -> int:
    """No command at all opens the window."""
    from paperlens.gui.app import run_app

    return run_app(sys.argv[:1])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        logging.getLogger("paperlens.llama").setLevel(logging.ERROR)
    run = getattr(args, "run", None) or open_window
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
