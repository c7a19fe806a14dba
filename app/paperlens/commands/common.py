"""What several commands share: the model and document flags, building the engine, Ctrl-C as cancel, exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from paperlens.core.errors import PaperLensError
from paperlens.core.options import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODE,
    DEFAULT_N_CTX,
    DEVICES,
    LOCAL,
    MODES,
    REMOTE,
    SERVER_KINDS,
    EngineOptions,
)

if TYPE_CHECKING:
    from paperlens.core.documents import Document
    from paperlens.core.engine import VisionEngine

EXIT_CANCELLED = 130
EXIT_SOME_PAGES_FAILED = 2


def model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model-dir", help="folder with the GGUF files (default: $PAPERLENS_MODEL_DIR or the data folder)"
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help=f"4x: dense OCR; 16x: faster; auto: 4x for dense pages, 16x for sparse ones (default {DEFAULT_MODE})",
    )
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: physical cores)")
    p.add_argument("--ctx", type=int, default=None, help=f"context size in tokens (default {DEFAULT_N_CTX})")
    p.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help=f"most tokens to generate per page (default {DEFAULT_MAX_TOKENS})",
    )
    p.add_argument(
        "--engine",
        action="append",
        metavar="URL",
        help="run the model on this OpenAI-compatible server (repeat for several; pages are spread over them); "
        "'local' (default): in this process. API key from $PAPERLENS_API_KEY",
    )
    p.add_argument(
        "--jobs", type=int, default=None, help="pages in flight at once on servers (default: one each)"
    )
    p.add_argument(
        "--server-kind", choices=SERVER_KINDS, default="auto", help="what the servers are (default: ask)"
    )
    p.add_argument("--server-model", default="", help="the served model's name (default: its MiniCPM model)")
    p.add_argument(
        "--page-timeout", type=float, default=None, help="seconds a server may take per page (600)"
    )
    p.add_argument("--max-slices", type=int, default=None, help="slice cap sent to vLLM (default 9)")
    p.add_argument("--low-memory", action="store_true", help="a Q8_0 projector: less RAM, a little slower")


def document_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password",
        help="password of an encrypted PDF; better leave it out: on a terminal it is asked for, unechoed, and stays "
        f"out of the shell's history (without a terminal: --password-file or ${ENV_PASSWORD})",
    )
    p.add_argument(
        "--password-file",
        metavar="FILE",
        help="read an encrypted PDF's password from the first line of FILE ('-': from standard input)",
    )
    p.add_argument("--dpi", type=int, default=None, help="render PDFs at this DPI (default: fits 9 slices)")
    p.add_argument(
        "--no-flatten", action="store_true", help="keep photos whole (no page cut out and straightened)"
    )


def engine_options(args: argparse.Namespace) -> EngineOptions:
    """The flags of `model_options` as the one options type every engine is built from."""
    defaults = EngineOptions()
    urls = tuple(u for u in (getattr(args, "engine", None) or ()) if u != LOCAL)
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        raise UsageError("--jobs must be 1 or more.")
    return EngineOptions(
        model_dir=args.model_dir or "",
        mode=args.mode or defaults.mode,
        device=args.device,
        threads=args.threads or 0,
        n_ctx=args.ctx or defaults.n_ctx,
        max_tokens=args.max_tokens or defaults.max_tokens,
        engine=REMOTE if urls else LOCAL,
        server_urls=urls,
        server_kind=getattr(args, "server_kind", "auto"),
        server_model=getattr(args, "server_model", ""),
        jobs=getattr(args, "jobs", None) or 0,
        page_timeout_s=getattr(args, "page_timeout", None) or defaults.page_timeout_s,
        max_slices=getattr(args, "max_slices", None) or defaults.max_slices,
        low_memory=getattr(args, "low_memory", False),
    )


class UsageError(PaperLensError):
    """A flag or argument that cannot work; the CLI exits 2, as argparse does for its own usage errors."""

    exit_code = 2


def build_engine(args: argparse.Namespace) -> VisionEngine:
    """Build the engine the flags ask for and fail now, before any page is rendered, if it cannot run."""
    from paperlens.core.engine import build_engine as build

    engine = build(engine_options(args))
    engine.preflight()
    return engine


def open_document(args: argparse.Namespace) -> Document:
    from paperlens.core.documents import open_document as open_doc

    return open_doc(
        args.file,
        password=pdf_password(args),
        password_callback=password_asker(Path(args.file).name),
        dpi=args.dpi,
        flatten=not args.no_flatten,
    )


ENV_PASSWORD = "PAPERLENS_PDF_PASSWORD"


def pdf_password(args: argparse.Namespace) -> str | None:
    """The password given without typing it: --password, else the first line of --password-file, else
    $PAPERLENS_PDF_PASSWORD. None when there is none (then a terminal asks for it)."""
    if getattr(args, "password", None):
        return args.password
    source = getattr(args, "password_file", None)
    if source:
        if source == "-":
            text = sys.stdin.readline() if sys.stdin else ""
        else:
            try:
                with open(source, encoding="utf-8", errors="surrogateescape") as fh:
                    text = fh.readline()
            except OSError as exc:
                raise UsageError(
                    f"The password file {source} cannot be read ({exc.strerror or exc})."
                ) from exc
        return text.rstrip("\r\n") or None
    return os.environ.get(ENV_PASSWORD) or None


def password_asker(name: str) -> Callable[[], str | None]:
    """Asks for `name`'s password on the terminal (not echoed, not in shell history); None without a terminal, so a
    script never waits for input and gets the sentence saying how to give it."""

    def ask() -> str | None:
        import getpass

        if not (sys.stdin and sys.stdin.isatty()):
            return None
        try:
            return getpass.getpass(f"Password for {name}: ") or None
        except (EOFError, KeyboardInterrupt):
            return None

    return ask


class CtrlCCancels:
    """Ctrl-C sets the cancel event: the page in flight stops between tokens, finished pages stay in the cache."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._old = None

    def __enter__(self) -> threading.Event:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self.event

    def _handle(self, *_: object) -> None:
        if self.event.is_set():  # second Ctrl-C: leave now
            raise KeyboardInterrupt
        self.event.set()
        print("\npaperlens: cancelling after the current token… (Ctrl-C again to quit now)", file=sys.stderr)

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return (
        f", about {seconds // 60}m{seconds % 60:02d}s left" if seconds >= 60 else f", about {seconds}s left"
    )
