"""`paperlens` opens the window; `paperlens parse|ask|models|doctor|capture|dev ...` run headless.

A thin face over the core: argument parsing, progress on stderr, results on stdout or into a file. Every failure a user
can cause ends in one sentence on stderr and a non-zero exit, never a traceback (set PAPERLENS_DEBUG=1 for one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from paperlens import __version__
from paperlens.core.errors import PaperLensError

EXIT_CANCELLED = 130
EXIT_SOME_PAGES_FAILED = 2


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model-dir", help="folder with the GGUF files (default: $PAPERLENS_MODEL_DIR or the data folder)"
    )
    p.add_argument("--mode", choices=("4x", "16x"), default=None, help="4x: dense OCR (default); 16x: faster")
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: physical cores)")
    p.add_argument("--ctx", type=int, default=None, help="context size in tokens (default 8192)")
    p.add_argument("--max-tokens", type=int, default=None, help="most tokens to generate per page")


def _document_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--password", help="password of an encrypted PDF")
    p.add_argument("--dpi", type=int, default=None, help="render PDFs at this DPI (default: fits 9 slices)")
    p.add_argument(
        "--no-flatten", action="store_true", help="keep photos whole (no page cut out and straightened)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperlens", description="Offline document scanner: pages to Markdown."
    )
    parser.add_argument("--version", action="version", version=f"paperlens {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what llama.cpp says")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("parse", help="turn a PDF or image into Markdown (or JSON, HTML, DOCX, XLSX, ...)")
    p.add_argument("file")
    p.add_argument("--pages", help="page range, e.g. 1-3,5 (default: all)")
    p.add_argument("--format", default=None, help="md (default), json, html, txt, docx, xlsx, csv")
    p.add_argument("-o", "--output", help="write here instead of stdout (needed for docx, xlsx, csv)")
    p.add_argument("--no-cache", action="store_true", help="run the model even for pages parsed before")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    _model_options(p)
    _document_options(p)

    p = sub.add_parser("ask", help="ask a question about a page")
    p.add_argument("file")
    p.add_argument("question")
    p.add_argument("--page", type=int, default=1, help="page number (default 1)")
    p.add_argument("--json", action="store_true", help="print the answer and its stats as JSON")
    _model_options(p)
    _document_options(p)

    p = sub.add_parser("models", help="list the model files found and what they are")
    p.add_argument("--model-dir")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "doctor", help="check the installation: llama.cpp build, GPU, projector support, models"
    )
    p.add_argument("--model-dir")

    try:
        from paperlens.core.capture import add_capture_parser

        add_capture_parser(sub)
    except ImportError:
        pass

    dev = sub.add_parser("dev", help="developer tools").add_subparsers(dest="dev_command")
    p = dev.add_parser(
        "synth", help="write a synthetic MiniCPM-V 4.6 twin (random weights, real architecture)"
    )
    p.add_argument("--size", choices=("tiny", "full"), default="tiny")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("dir")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        logging.getLogger("paperlens.llama").setLevel(logging.ERROR)
    handlers = {
        "parse": cmd_parse,
        "ask": cmd_ask,
        "models": cmd_models,
        "doctor": cmd_doctor,
        "dev": cmd_dev,
    }
    # `capture` registers its own handler on the parser; no command at all opens the window
    handler = handlers.get(args.command) or getattr(args, "handler", None) or cmd_window
    try:
        return handler(args)
    except PaperLensError as exc:
        if os.environ.get("PAPERLENS_DEBUG"):
            raise
        print(f"paperlens: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("paperlens: cancelled.", file=sys.stderr)
        return EXIT_CANCELLED


# -- helpers ----------------------------------------------------------------------------------------------------------
def _engine(args, *, mode: str | None = None):
    from paperlens.core.engine import Engine, EngineConfig
    from paperlens.core.models import resolve_model_dir, scan_model_dir

    models = scan_model_dir(resolve_model_dir(args.model_dir))
    config = EngineConfig(mode=mode or args.mode or "4x", device=args.device)
    if args.threads:
        config.n_threads = args.threads
    if args.ctx:
        config.n_ctx = args.ctx
    if args.max_tokens:
        config.max_tokens = args.max_tokens
    models.require(config.mode)  # fail before any page is rendered when no model is there
    return Engine(models, config)


def _open(args):
    from paperlens.core.documents import open_document

    return open_document(args.file, password=args.password, dpi=args.dpi, flatten=not args.no_flatten)


class _Cancel:
    """Ctrl-C sets the cancel event: the page in flight stops between tokens, finished pages stay in the cache."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._old = None

    def __enter__(self) -> threading.Event:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self.event

    def _handle(self, *_):
        if self.event.is_set():  # second Ctrl-C: leave now
            raise KeyboardInterrupt
        self.event.set()
        print("\npaperlens: cancelling after the current token… (Ctrl-C again to quit now)", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return (
        f", about {seconds // 60}m{seconds % 60:02d}s left" if seconds >= 60 else f", about {seconds}s left"
    )


# -- commands ---------------------------------------------------------------------------------------------------------
def cmd_window(args) -> int:
    try:
        from paperlens.gui.app import run_app
    except ImportError as exc:
        if "paperlens.gui.app" not in str(exc) and "run_app" not in str(exc):
            raise
        print("paperlens: the window is not built yet; use `paperlens parse FILE` for now.", file=sys.stderr)
        return 1
    return run_app(sys.argv[:1])


def cmd_parse(args) -> int:
    from paperlens.core import export
    from paperlens.core.documents import parse_page_range
    from paperlens.core.pipeline import Callbacks, PageSource, parse_pages
    from paperlens.core.runs import Finish

    fmt = (args.format or (Path(args.output).suffix.lstrip(".").lower() if args.output else "md")) or "md"
    fmt = {"markdown": "md", "text": "txt", "htm": "html"}.get(fmt, fmt)
    if fmt not in export.FORMATS:
        raise PaperLensError(f"Unknown format {fmt!r}; choose one of {', '.join(export.FORMATS)}.")
    if fmt in ("docx", "xlsx", "csv") and not args.output:
        raise PaperLensError(f"The {fmt} format is a file: give it a name with -o OUT.{fmt}.")
    engine = _engine(args)
    library = None
    try:
        from paperlens.core.library import Library

        library = Library()
        if getattr(library, "notice", None):
            print(f"paperlens: {library.notice}", file=sys.stderr)
    except PaperLensError as exc:
        print(f"paperlens: {exc} Running without the cache.", file=sys.stderr)
    quiet = args.quiet
    with _open(args) as doc:
        indices = parse_page_range(args.pages, doc.page_count) if args.pages else list(range(doc.page_count))
        if library is not None and hasattr(library, "add_document"):
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
                print(f"[{p.done + 1}/{p.total}] {p.message}{_fmt_eta(p.eta_s)}", file=sys.stderr)

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
            with _Cancel() as cancel:
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
        written = export.export(result, fmt, Path(args.output))
        if not quiet:
            print(
                f"wrote {', '.join(str(p) for p in written)} in {time.perf_counter() - t0:.1f}s",
                file=sys.stderr,
            )
    else:
        sys.stdout.write(export.to_json(result) if fmt == "json" else export.render(result, fmt))
        sys.stdout.write("\n")
        sys.stdout.flush()
    failed = [p for p in result.pages if not p.ok]
    return EXIT_SOME_PAGES_FAILED if failed else 0


def cmd_ask(args) -> int:
    from paperlens.core.documents import parse_page_range
    from paperlens.core.pipeline import ask_page

    engine = _engine(args)
    with _open(args) as doc:
        index = parse_page_range(str(args.page), doc.page_count)[0]
        page = doc.page(index)
    streamed = not args.json

    def on_chunk(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    try:
        with _Cancel() as cancel:
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


def cmd_models(args) -> int:
    from paperlens.core.models import missing_models_message, resolve_model_dir, scan_model_dir

    folder = resolve_model_dir(args.model_dir)
    found = scan_model_dir(folder)
    if args.json:
        print(
            json.dumps(
                {
                    "folder": str(folder),
                    "complete": found.complete,
                    "text": str(found.text.path) if found.text else None,
                    "projectors": {m: str(f.path) for m, f in found.projectors.items()},
                    "files": [
                        {
                            "path": str(f.path),
                            "kind": f.kind,
                            "arch": f.arch,
                            "quantization": f.quantization,
                            "mode": f.mode,
                            "size": f.size,
                            "problem": f.problem or None,
                        }
                        for f in found.files
                    ],
                },
                indent=2,
            )
        )
        return 0 if found.complete else 3
    print(f"Model folder: {folder}")
    if not found.files:
        print("  (no .gguf files)")
    for f in found.files:
        mark = "*" if f is found.text or f in found.projectors.values() else " "
        print(f" {mark} {f.describe()}")
    if found.complete:
        modes = ", ".join(sorted(found.projectors))
        print(f"Ready: text model {found.text.path.name}; projector modes on disk: {modes}.")
        if "4x" not in found.projectors:
            print("  The 4x projector will be derived from the 16x one on first use (about 0.9 GB, once).")
        return 0
    print(missing_models_message(found), file=sys.stderr)
    return 3


def cmd_doctor(args) -> int:
    import platform
    import tempfile

    from paperlens.core.models import resolve_model_dir, scan_model_dir

    ok = True
    print(
        f"PaperLens {__version__} on Python {platform.python_version()} ({platform.system()} {platform.machine()})"
    )
    try:
        import llama_cpp

        from paperlens.core.engine import gpu_offload_supported

        print(
            f"llama-cpp-python {llama_cpp.__version__}; GPU offload: {'yes' if gpu_offload_supported() else 'no'}"
        )
        info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
        print(f"  llama.cpp build: {info}")
    except ImportError as exc:
        print(f"llama-cpp-python is not installed ({exc}).")
        return 1
    print("Checking that llama.cpp runs the MiniCPM-V 4.6 projector (on the tiny synthetic twin)…")
    try:
        from PIL import Image

        from paperlens.core.engine import Engine, EngineConfig
        from paperlens.core.prompts import parse_task
        from paperlens.dev.synth import build_twin

        with tempfile.TemporaryDirectory() as tmp:
            build_twin(Path(tmp), "tiny")
            engine = Engine(
                scan_model_dir(tmp), EngineConfig(mode="16x", device="cpu", n_ctx=2048, max_tokens=4)
            )
            with engine:
                r = engine.run(parse_task(), Image.new("RGB", (448, 448), "white"))
        print(f"  yes: encoded a test image into {r.stats.image_tokens} image tokens and generated text.")
    except Exception as exc:  # report, don't crash: this is the diagnostic
        ok = False
        print(f"  NO: {exc}")
    folder = resolve_model_dir(args.model_dir)
    found = scan_model_dir(folder)
    print(f"Model folder {folder}: {'ready' if found.complete else 'not ready'}")
    for f in found.files:
        print(f"  {f.describe()}")
    if not found.complete:
        from paperlens.core.models import missing_models_message

        print(f"  {missing_models_message(found)}")
    return 0 if ok else 1


def cmd_dev(args) -> int:
    if args.dev_command == "synth":
        from paperlens.dev.synth import build_twin

        t0 = time.perf_counter()
        files = build_twin(
            Path(args.dir), args.size, seed=args.seed, progress=lambda m: print(m, file=sys.stderr)
        )
        for f in (files.text, files.projector):
            print(f"{f}  {f.stat().st_size / 1e6:,.1f} MB")
        print(f"built the {args.size} twin in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        return 0
    print("usage: paperlens dev synth --size tiny|full DIR", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
