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
    UsageError,
    build_engine,
    document_options,
    fmt_eta,
    model_options,
    open_document,
    password_asker,
    pdf_password,
)
from paperlens.core.errors import PaperLensError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from paperlens.core.results.export import formats

    fmts = formats()
    p.add_argument("paths", nargs="+", metavar="PATH", help="PDFs or images; folders are read recursively")
    p.add_argument(
        "--glob", help="with folders: only files whose name (or path below the folder) matches, e.g. '*.pdf'"
    )
    p.add_argument("--pages", help="page range, e.g. 1-3,5 (default: all)")
    p.add_argument(
        "--format", default=None, help=", ".join(f.name + " (default)" * (f.name == "md") for f in fmts)
    )
    needs_o = ", ".join(f.name for f in fmts if f.file_only)
    p.add_argument(
        "-o",
        "--output",
        help=f"write here instead of stdout (needed for {needs_o}); with several inputs or a folder: the folder "
        "that gets one output per document, mirroring the input folders",
    )
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
    if len(args.paths) == 1 and not Path(args.paths[0]).is_dir() and not args.glob:
        args.file = args.paths[0]
        return run_one(args)
    return run_batch(args)


def run_one(args: argparse.Namespace) -> int:
    """One document, as before batches existed: stdout or one file, the exit statuses of a single parse."""
    from paperlens.core.documents import select_pages
    from paperlens.core.library import Library
    from paperlens.core.pipeline import Callbacks, PageSource, parse_pages
    from paperlens.core.results import export
    from paperlens.core.runs import Finish, page_ranges

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
        indices, past_end = select_pages(args.pages, doc.page_count)
        if past_end:  # said even with --quiet: the output will not hold pages that were asked for
            print(
                f"paperlens: page(s) {page_ranges(past_end)} are past the end (the document has {doc.page_count}); "
                "parsing the pages that exist.",
                file=sys.stderr,
            )
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
                mode = f" ({pr.stats.mode})" if pr.stats.mode else ""
                print(f"page {pr.page}: from the cache{mode}", file=sys.stderr)
            else:
                s = pr.stats
                print(
                    f"page {pr.page}: {s.generated_tokens} tokens in {s.wall_s:.1f}s "
                    f"({s.mode}, {s.image_tokens} image tokens, first token after {s.ttft_s:.1f}s)",
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


def run_batch(args: argparse.Namespace) -> int:
    """Many documents: one output per document under -o DIR, one progress display, a summary.

    Exit status: 0 when every document was parsed, 1 when some failed, 2 for a usage error, 130 when cancelled.
    """
    from paperlens.core import batch
    from paperlens.core.documents import open_document as open_doc
    from paperlens.core.library import Library
    from paperlens.core.results import export

    if args.pages:
        raise UsageError("--pages works on one document; leave it out with several inputs or a folder.")
    if not args.output:
        raise UsageError("With several inputs or a folder, give the output folder: -o DIR.")
    fmt = args.format or "md"
    try:
        spec = export.get(fmt)
    except PaperLensError:
        names = ", ".join(f.name for f in export.formats())
        raise UsageError(f"Unknown format {fmt!r}; choose one of {names}.") from None
    out_dir = Path(args.output).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is a file; with several inputs -o names a folder.")
    inputs = batch.collect_inputs(args.paths, args.glob)
    if not inputs.items:
        raise UsageError(
            "No PDF or image found in "
            + ", ".join(args.paths)
            + (f" matching {args.glob!r}" if args.glob else "")
            + "."
        )
    engine = build_engine(args)
    library = None
    try:
        library = Library()
    except PaperLensError as exc:
        print(f"paperlens: {exc} Running without the cache (a rerun will redo every page).", file=sys.stderr)

    typed: dict[Path, str] = {}  # a password typed for a file: the batch opens it again later, asked once

    def opener(path: Path):
        ask = password_asker(path.name)

        def ask_once() -> str | None:
            answer = ask()
            if answer:
                typed[path] = answer
            return answer

        return open_doc(
            path,
            password=typed.get(path) or pdf_password(args),
            password_callback=ask_once,
            dpi=args.dpi,
            flatten=not args.no_flatten,
        )

    def write(result, item) -> list[Path]:
        target = batch.output_path(out_dir, item, spec.extension)
        target.parent.mkdir(parents=True, exist_ok=True)
        return export.export(result, spec.name, target)

    display = BatchDisplay(quiet=args.quiet)
    try:
        plan = batch.plan_batch(inputs.items, engine, opener, None if args.no_cache else library)
        if plan.pages_done:
            print(f"resuming: {plan.pages_done} of {plan.pages_total} pages already done", file=sys.stderr)
        with CtrlCCancels() as cancel:
            summary = batch.run_batch(
                plan,
                engine,
                open_document=opener,
                write=write,
                library=library,
                use_cache=not args.no_cache,
                cancel=cancel,
                callbacks=batch.BatchCallbacks(
                    on_document_done=display.document_done,
                    on_progress=display.progress,
                    on_loading=display.say,
                ),
            )
    finally:
        engine.close()
        display.end()
    summary.skipped = [*inputs.skipped, *summary.skipped]
    print_summary(summary, out_dir)
    if summary.cancelled:
        return EXIT_CANCELLED
    return 0 if summary.ok else 1


class BatchDisplay:
    """One progress display for a batch on stderr: a redrawn bar on a terminal, plain lines otherwise."""

    def __init__(self, *, quiet: bool = False, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last = None
        self._drawn = False

    def say(self, line: str) -> None:
        if not self.quiet:
            self._line(line)

    def _line(self, line: str) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self._drawn = False
        self.stream.write(line + "\n")
        if self.tty and self.last is not None:
            self._draw(self.last)
        self.stream.flush()

    def progress(self, p) -> None:
        self.last = p
        if self.quiet or not self.tty:
            return
        self._draw(p)
        self.stream.flush()

    def _draw(self, p) -> None:
        width = 24
        filled = int(width * p.pages_done / p.pages_total) if p.pages_total else 0
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r\x1b[2K[{bar}] {self.counts(p)}")
        self._drawn = True

    @staticmethod
    def counts(p) -> str:
        rate = f", {p.pages_per_min:.1f} pages/min" if p.pages_per_min else ""
        return (
            f"{p.documents_done}/{p.documents_total} documents, {p.pages_done}/{p.pages_total} pages{rate}"
            f"{fmt_eta(p.eta_s)}"
        )

    def document_done(self, outcome) -> None:
        if outcome.status == "failed":  # failures are said even with --quiet
            self._line(f"{outcome.item.path}: failed: {outcome.reason}")
            return
        if self.quiet:
            return
        cached = f", {outcome.cached} from the cache" if outcome.cached else ""
        cached += f", {outcome.skipped_pages} skipped" if outcome.skipped_pages else ""
        counts = f" [{self.counts(self.last)}]" if self.last is not None and not self.tty else ""
        self._line(f"{outcome.item.path}: {outcome.status} ({outcome.pages} pages{cached}){counts}")

    def end(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False
            self.stream.flush()


def print_summary(summary, out_dir: Path) -> None:
    done, failed = summary.done, summary.failed
    parts = [f"{len(done)} done ({len(summary.from_cache)} from the cache)", f"{len(failed)} failed"]
    parts.append(f"{len(summary.skipped)} skipped")
    if summary.cancelled:
        parts.append("cancelled: finished pages are kept, run the same command again to resume")
    print(f"paperlens: {', '.join(parts)} in {summary.seconds:.1f}s; outputs in {out_dir}", file=sys.stderr)
    for outcome in failed:
        print(f"  failed: {outcome.item.path}: {outcome.reason}", file=sys.stderr)
    for path, why in summary.skipped:
        print(f"  skipped: {path}: {why}", file=sys.stderr)


COMMAND = Command(
    name="parse",
    help="turn a PDF or image into Markdown (or JSON, HTML, DOCX, XLSX, ...)",
    add_arguments=add_arguments,
    run=run,
)
