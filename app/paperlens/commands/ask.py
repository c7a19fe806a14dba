"""`paperlens ask FILE "question"`: an answer about one page, streamed to stdout."""

from __future__ import annotations

import argparse
import json
import sys

from paperlens.commands import Command
from paperlens.commands.common import (
    EXIT_CANCELLED,
    CtrlCCancels,
    build_engine,
    document_options,
    model_options,
    open_document,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("question")
    p.add_argument("--page", type=int, default=1, help="page number (default 1)")
    p.add_argument("--json", action="store_true", help="print the answer and its stats as JSON")
    model_options(p)
    document_options(p)


def run(args: argparse.Namespace) -> int:
    from paperlens.core.documents import parse_page_range
    from paperlens.core.pipeline import ask_page

    engine = build_engine(args)
    with open_document(args) as doc:
        index = parse_page_range(str(args.page), doc.page_count)[0]
        page = doc.page(index)
    streamed = not args.json

    def on_chunk(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    try:
        with CtrlCCancels() as cancel:
            result = ask_page(
                engine, page, args.question, on_chunk=on_chunk if streamed else None, cancel=cancel
            )
    finally:
        engine.close()
    if args.json:
        print(json.dumps({"page": args.page, "question": args.question, **result.to_dict()}, indent=2))
    else:
        sys.stdout.write("\n")
    return EXIT_CANCELLED if result.cancelled else 0


COMMAND = Command(name="ask", help="ask a question about a page", add_arguments=add_arguments, run=run)
