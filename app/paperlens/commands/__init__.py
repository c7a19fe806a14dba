"""The CLI's commands, one module each, over the same core as the window.

A command is a `Command` value in its own module; `ALL` below is the registry the parser is built from. Adding one is
one module plus one line here. Modules import the core lazily inside `run`, so `paperlens --help` stays instant and
needs neither llama.cpp nor OpenCV.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None


def all_commands() -> tuple[Command, ...]:
    from paperlens.commands import ask, capture, dev, doctor, models, parse, watch

    return (
        parse.COMMAND,
        ask.COMMAND,
        watch.COMMAND,
        models.COMMAND,
        doctor.COMMAND,
        capture.COMMAND,
        dev.COMMAND,
    )
