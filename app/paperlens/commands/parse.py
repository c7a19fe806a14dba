"""`paperlens parse FILE`: pages to Markdown (or JSON, HTML, text, DOCX, XLSX, CSV), on stdout or into a file."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from paperlens.commands import Command
from paperlens.commands.common import (
    EXIT_CANCELLED,
    EXIT_SOME_PAGES_FAILED,
    CtrlCCancels,
    build_engine,
    document_options,
    fmt_eta,
    model_options,
    open_document,
)
from paperlens.core.errors import PaperLensError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from paperlens.core.results.export import formats

    fmts = formats()
    p.add_argument("file")
    p.add_argument("--pages", help="page range, e.g. 1-3,5 (default: all)")
    p.add_argument(
        "--format", default=None, help=", ".join(f.name + " (default)" * (f.name == "md") for f in fmts)
    )
    needs_o = ", ".join(f.name for f in fmts if f.file_only)
    p.add_argument("-o", "--output", help=f"write here instead of stdout (needed for {needs_o})")
    p.add_argument("--no-cache", action="store_true", help="run the model even for pages parsed before")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument(
        "--no-merge-tables",
        action="store_true",
        help="keep a table continued on the next page as one per page",
    )
    model_options(p)
    document_options(p)


def run(args: argparse.Namespace) -> int:
    from paperlens.core.documents import parse_page_range
    from paperlens.core.library import Library
    from paperlens.core.pipeline import Callbacks, PageSource, parse_pages
    from paperlens.core.results import export
    from paperlens.core.runs import Finish

    fmt = (args.format or (Path(args.output).suffix.lstrip(".").lower() if args.output else "md")) or "md"
    try:
        spec = export.get(fmt)
    except PaperLensError:
        names = ", ".join(f.name for f in export.formats())
        raise PaperLensError(f"Unknown format {fmt!r}; choose one of {names}.") from None
    fmt = spec.name
    if spec.file_only and not args.output:
        raise PaperLensError(f"The {fmt} format is a file: give it a name with -o OUT.{fmt}.")
    engine = build_engine(args)
    library = None
    try:
        library = Library()
        if library.notice:
            print(f"paperlens: {library.notice}", file=sys.stderr)
    except PaperLensError as exc:
        print(f"paperlens: {exc} Running without the cache.", file=sys.stderr)
    quiet = args.quiet
    with open_document(args) as doc:
        indices = parse_page_range(args.pages, doc.page_count) if args.pages else list(range(doc.page_count))
        if library is not None:
            with contextlib.suppress(PaperLensError):
                library.add_document(str(Path(args.file).resolve()), doc.page_count)

        def sources():
            for index in indices:
                src = PageSource.load(index + 1, lambda i=index: doc.page(i))
                if src.page is not None and src.page.flattened is not None:  # said even with --quiet
                    what = src.page.flattened.describe()
                    print(
                        f"page {src.number}: photo flattened ({what}); --no-flatten keeps the original",
                        file=sys.stderr,
                    )
                yield src

        def on_progress(p):
            if not quiet and p.page is not None and p.message:
                print(f"[{p.done + 1}/{p.total}] {p.message}{fmt_eta(p.eta_s)}", file=sys.stderr)

        def on_loading(msg):
            if not quiet:
                print(msg, file=sys.stderr)

        def on_page_done(pr):
            if pr.error:  # errors are printed even with --quiet
                print(f"page {pr.page}: {pr.error}", file=sys.stderr)
            elif pr.skipped:
                print(f"page {pr.page}: skipped ({pr.skipped})", file=sys.stderr)
            elif quiet:
                return
            elif pr.cached:
                print(f"page {pr.page}: from the cache", file=sys.stderr)
            else:
                s = pr.stats
                print(
                    f"page {pr.page}: {s.generated_tokens} tokens in {s.wall_s:.1f}s "
                    f"({s.image_tokens} image tokens, first token after {s.ttft_s:.1f}s)",
                    file=sys.stderr,
                )

        callbacks = Callbacks(on_progress=on_progress, on_loading=on_loading, on_page_done=on_page_done)
        t0 = time.perf_counter()
        try:
            with CtrlCCancels() as cancel:
                result = parse_pages(
                    sources(),
                    len(indices),
                    engine,
                    library=library,
                    use_cache=not args.no_cache,
                    cancel=cancel,
                    callbacks=callbacks,
                    source_name=str(args.file),
                )
        finally:
            engine.close()
    result.title = Path(args.file).stem
    if cancel.is_set() or any(p.finish == Finish.CANCELLED for p in result.pages):
        done = sum(1 for p in result.pages if p.ok and p.finish != Finish.CANCELLED)
        print(
            f"paperlens: cancelled; {done} finished page(s) are kept in the cache, no file was written.",
            file=sys.stderr,
        )
        return EXIT_CANCELLED
    if args.output:
        written = export.export(result, fmt, Path(args.output), merge_tables=not args.no_merge_tables)
        if not quiet:
            print(
                f"wrote {', '.join(str(p) for p in written)} in {time.perf_counter() - t0:.1f}s",
                file=sys.stderr,
            )
    else:
        sys.stdout.write(export.render(result, fmt, merge_tables=not args.no_merge_tables))
        sys.stdout.write("\n")
        sys.stdout.flush()
    failed = [p for p in result.pages if not p.ok]
    return EXIT_SOME_PAGES_FAILED if failed else 0


COMMAND = Command(
    name="parse",
    help="turn a PDF or image into Markdown (or JSON, HTML, DOCX, XLSX, ...)",
    add_arguments=add_arguments,
    run=run,
)
