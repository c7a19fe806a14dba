"""`paperlens watch IN_DIR OUT_DIR`: a hot folder. Every document dropped into IN_DIR is parsed into OUT_DIR."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from paperlens.commands import Command
from paperlens.commands.common import (
    CtrlCCancels,
    UsageError,
    build_engine,
    document_options,
    model_options,
    pdf_password,
)
from paperlens.core.errors import PaperLensError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "in_dir", metavar="IN_DIR", help="the folder to watch (finished inputs move to IN_DIR/done)"
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="where results go, mirroring IN_DIR's folders")
    p.add_argument("--format", default="md", help="output format (default md)")
    p.add_argument(
        "--settle", type=float, default=2.0, help="seconds a file must stop growing before it is read (2)"
    )
    model_options(p)
    document_options(p)


def run(args: argparse.Namespace) -> int:
    from paperlens.core import batch
    from paperlens.core.documents import open_document as open_doc
    from paperlens.core.library import Library
    from paperlens.core.results import export
    from paperlens.core.watch import HotFolder

    try:
        spec = export.get(args.format)
    except PaperLensError:
        raise UsageError(f"Unknown format {args.format!r}.") from None
    in_dir, out_dir = Path(args.in_dir).expanduser(), Path(args.out_dir).expanduser()
    if in_dir.resolve() == out_dir.resolve():
        raise UsageError("IN_DIR and OUT_DIR must be different folders.")
    engine = build_engine(args)
    library = Library()

    def opener(path: Path):
        return open_doc(path, password=pdf_password(args), dpi=args.dpi, flatten=not args.no_flatten)

    def write(result, item) -> list[Path]:
        target = batch.output_path(out_dir, item, spec.extension)
        target.parent.mkdir(parents=True, exist_ok=True)
        return export.export(result, spec.name, target)

    def log(line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)

    folder = HotFolder(
        in_dir,
        out_dir,
        engine,
        open_document=opener,
        write=write,
        library=library,
        log=log,
        settle_s=args.settle,
    )
    try:
        with CtrlCCancels() as stop:
            worker_stop = threading.Event()

            def ready() -> None:
                log(f"watching {in_dir} -> {out_dir} (Ctrl-C to stop)")

            thread = threading.Thread(
                target=folder.run, args=(worker_stop,), kwargs={"on_ready": ready}, daemon=True
            )
            thread.start()
            while thread.is_alive() and not stop.wait(0.5):
                pass
            worker_stop.set()
            thread.join(timeout=60)
    finally:
        engine.close()
    return 0


COMMAND = Command(
    name="watch",
    help="a hot folder: parse every document that appears in IN_DIR into OUT_DIR",
    add_arguments=add_arguments,
    run=run,
)
