"""`paperlens ask FILE "question"`: an answer about one page, streamed to stdout.

After a page answer, the model is asked where on the page it came from (a short follow-up on the kept page state):
`--json` gives those regions as `boxes` in the pixels of the rendered page image; the plain output says it on stderr.
"""

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
from paperlens.core.errors import PaperLensError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("question")
    p.add_argument("--page", type=int, default=1, help="page number (default 1)")
    p.add_argument(
        "--document",
        action="store_true",
        help="answer from the whole document's text (parsed pages, or the PDF's text layer; pages with neither "
        "are parsed first); long documents are searched for the pages that matter",
    )
    p.add_argument("--json", action="store_true", help="print the answer and its stats as JSON")
    p.add_argument(
        "--boxes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="after a page answer, ask where on the page it came from (default: with the local model; a server "
        "would read the whole page again, so there only with --boxes)",
    )
    model_options(p)
    document_options(p)


def run(args: argparse.Namespace) -> int:
    from paperlens.core.documents import parse_page_range
    from paperlens.core.pipeline import ask_page, locate_answer

    if args.document:
        return _ask_document(args)
    engine = build_engine(args)
    with open_document(args) as doc:
        index = parse_page_range(str(args.page), doc.page_count)[0]
        page = doc.page(index)
    streamed = not args.json

    def on_chunk(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    located = None
    try:
        with CtrlCCancels() as cancel:
            result = ask_page(
                engine, page, args.question, on_chunk=on_chunk if streamed else None, cancel=cancel
            )
            if _wants_boxes(args) and result.complete and result.text.strip():
                if streamed:
                    sys.stdout.write("\n")
                    sys.stdout.flush()
                located = locate_answer(engine, page, args.question, result.text, cancel=cancel)
    finally:
        engine.close()
    number = index + 1
    width, height = page.image.size
    boxes = [_pixel_box(b, number, width, height) for b in (located.boxes if located else [])]
    if args.json:
        data = {"page": number, "question": args.question, **result.to_dict()}
        if located is not None:
            data["boxes"] = boxes
            data["page_pixels"] = {"width": width, "height": height}
            data["boxes_stats"] = located.result.stats.to_dict()
        print(json.dumps(data, indent=2))
    else:
        if located is None:
            sys.stdout.write("\n")
        if boxes:
            where = "; ".join(f"{b['x0']},{b['y0']}-{b['x1']},{b['y1']}" for b in boxes)
            print(f"(found on page {number} at {where}, in pixels of the page image)", file=sys.stderr)
        elif located is not None and not located.result.cancelled:
            print(f"(the model could not show where on page {number} that came from)", file=sys.stderr)
    cancelled = result.cancelled or (located is not None and located.result.cancelled)
    return EXIT_CANCELLED if cancelled else 0


def _wants_boxes(args: argparse.Namespace) -> bool:
    """--boxes / --no-boxes, else: yes with the local model (cheap there), no with a server (a whole request)."""
    if args.boxes is not None:
        return bool(args.boxes)
    from paperlens.core.options import LOCAL

    return not [u for u in (args.engine or ()) if u != LOCAL]


def _pixel_box(box, page: int, width: int, height: int) -> dict:
    x0, y0, x1, y1 = box.in_pixels(width, height)
    return {"label": box.label, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "page": page}


def _document_texts(args: argparse.Namespace, engine, cancel) -> list[tuple[int, str]]:
    """Every page's text: the user's edit, else the cached parse, else the PDF's text layer; pages with none of
    these are parsed now (and cached, so the next question is instant)."""
    from paperlens.core.library import Library
    from paperlens.core.pipeline import PageSource, parse_pages, stored_page_results
    from paperlens.core.prompts import parse_task

    library: Library | None
    try:
        library = Library()
    except PaperLensError:
        library = None
    source = str(args.file)
    texts: dict[int, str] = {}
    with open_document(args) as doc:
        if library is not None:
            known = stored_page_results(library, source, engine, parse_task())
            texts.update({n: r.text for n, r in known.items()})
            texts.update({n: e.text for n, e in library.page_edits(source, "parse").items()})
        missing = []
        for index in range(doc.page_count):
            if index + 1 in texts:
                continue
            layer = doc.page_text(index)
            if layer:
                texts[index + 1] = layer
            else:
                missing.append(index)
        if missing:
            print(f"Parsing {len(missing)} page(s) that have no text yet…", file=sys.stderr)
            sources = (PageSource.load(i + 1, lambda i=i: doc.page(i)) for i in missing)
            parsed = parse_pages(
                sources, len(missing), engine, library=library, cancel=cancel, source_name=source
            )
            texts.update({p.page: p.markdown for p in parsed.pages if p.ok and p.markdown})
    return sorted(texts.items())


def _ask_document(args: argparse.Namespace) -> int:
    from paperlens.core.pipeline import ask_document

    engine = build_engine(args)

    def on_chunk(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    try:
        with CtrlCCancels() as cancel:
            texts = _document_texts(args, engine, cancel)
            if cancel.is_set():
                return EXIT_CANCELLED
            answer = ask_document(
                engine, texts, args.question, on_chunk=None if args.json else on_chunk, cancel=cancel
            )
    finally:
        engine.close()
    result = answer.result
    if args.json:
        data = {
            "question": args.question,
            "pages_used": answer.pages_used,
            "incomplete": answer.incomplete,
            **result.to_dict(),
        }
        print(json.dumps(data, indent=2))
    else:
        sys.stdout.write("\n")
        used = ", ".join(str(n) for n in answer.pages_used)
        note = (
            f"; {len(answer.pages_used)} of {answer.pages_with_text} pages fit the context, so the answer may be "
            "incomplete"
            if answer.incomplete
            else ""
        )
        print(f"(answered from page(s) {used}{note})", file=sys.stderr)
    return EXIT_CANCELLED if result.cancelled else 0


COMMAND = Command(
    name="ask", help="ask a question about a page or a whole document", add_arguments=add_arguments, run=run
)
