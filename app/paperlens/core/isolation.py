"""Untrusted files are opened, decoded and rendered in a child process, never in PaperLens's own.

Why: MuPDF and Pillow parse whatever a file says. A hostile or damaged file can make them run for minutes, allocate
gigabytes or crash outright, and PyMuPDF holds the GIL for a whole render, so a render on a worker thread froze the
window too (an 11 s render stalled the GUI thread for 10.9 s, Stop included). In a child process the parent's threads
only wait on a pipe, with the GIL free; the child runs under a memory limit, every request has a time limit, a caller
can abandon a request (`IsolatedDocument.cancel`), and a crash of the child becomes a `DocumentError` for that page.

One renderer child serves every open document of a PaperLens process (docs/adr/0010-render-in-a-child-process.md).
It is a fresh interpreter (never a fork: fork is unsafe with Qt's and llama.cpp's threads) started on the first
open; it answers one request at a time, and is killed and started again after a timeout, a cancel or a crash; each
document's proxy remembers how it was opened (path, password, options) and opens itself again in the new child on its
next request.

Inside the child the documents are the in-process classes of `core.documents` (`PdfDocument`, `ImageDocument`), so
every budget and sentence of those applies unchanged; this module only carries requests and answers.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from PIL import Image

from paperlens.core.documents import Document
from paperlens.core.errors import DocumentError, PasswordRequired, WrongPassword, reason
from paperlens.core.page import Page

log = logging.getLogger(__name__)

# A normal page renders in well under a second and a heavy vector drawing in a few; a minute means the file is made
# to exhaust the machine (or is badly damaged). Opening a damaged PDF includes MuPDF's repair of it.
REQUEST_TIMEOUT_S = 60.0
# The child's data segment (heap and anonymous memory: RLIMIT_DATA). The biggest legitimate use is a 150-megapixel
# scan (core.images.MAX_DECODE_BYTES = 1.5 GB to decode) plus the libraries; 4 GiB leaves room for that and stops a
# file that would take the machine's memory. RLIMIT_AS would count address space reserved by OpenCV's threads.
MEMORY_LIMIT_BYTES = 4 * 1024**3
IN_PROCESS_ENV = (
    "PAPERLENS_IN_PROCESS"  # "1": open documents in this process (for debugging a renderer problem)
)

PasswordCallback = Callable[[], "str | None"]


class RenderStopped(DocumentError):
    """A request was abandoned (`cancel`): the renderer was stopped on purpose, not by the file."""


def isolation_wanted() -> bool:
    """True unless PAPERLENS_IN_PROCESS=1 asks for documents in this process."""
    return os.environ.get(IN_PROCESS_ENV, "").strip() not in ("1", "true", "yes")


def start_soon() -> None:
    """Start the renderer child on a thread of its own (returns at once), unless documents open in this process."""
    if isolation_wanted():
        threading.Thread(target=renderer().start, name="paperlens-renderer-start", daemon=True).start()


# ---------------------------------------------------------------------------------------------------------------------
# the parent side
# ---------------------------------------------------------------------------------------------------------------------
RENDERER_FLAG = (
    "--paperlens-renderer"  # a frozen PaperLens binary started as the renderer child (__main__.py)
)


def _child_command(fd_arg: str) -> list[str]:
    import sys

    if getattr(
        sys, "frozen", False
    ):  # a PyInstaller build: the binary itself serves (see paperlens/__main__.py)
        return [sys.executable, RENDERER_FLAG, fd_arg]
    # The current directory is not on the child's path (it could hold anything); the paperlens package this process
    # runs is (PYTHONPATH below).
    code = "import sys; del sys.path[0]; from paperlens.core.isolation import child_main; child_main(sys.argv[1:])"
    return [sys.executable, "-c", code, fd_arg]


class _Child:
    """One renderer process and our end of its socket.

    Started as a plain new interpreter (`subprocess`), not with multiprocessing: multiprocessing's spawn runs the
    parent's main script again in the child, which breaks any script without a `__main__` guard and costs the import
    of whatever that script imports. The child only imports `core.documents` and its libraries."""

    def __init__(self) -> None:
        import socket
        import subprocess

        import paperlens

        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        root = str(Path(paperlens.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        try:
            if os.name == "nt":  # untested: Windows passes the socket by `share`, through the child's stdin
                self.process = subprocess.Popen(_child_command("share"), stdin=subprocess.PIPE, env=env)
                assert self.process.stdin is not None
                self.process.stdin.write(theirs.share(self.process.pid))  # type: ignore[attr-defined]
                self.process.stdin.close()
            else:
                fd = theirs.fileno()
                self.process = subprocess.Popen(_child_command(str(fd)), pass_fds=(fd,), env=env)
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.open_ids: set[int] = set()  # documents open in this child

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_code(self) -> int | None:
        with contextlib.suppress(Exception):
            return self.process.wait(2)
        return None

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(5)
        with contextlib.suppress(Exception):
            self.conn.close()


class Renderer:
    """The parent's handle on the renderer child: one request at a time, a time limit on each, cancel, restart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one request at a time; held while waiting (the GIL is not)
        self._state = (
            threading.Lock()
        )  # guards the fields below for `cancel` from other threads (held briefly)
        self._child: _Child | None = None
        self._owner: int | None = None  # the document whose request is in flight
        self._stopped_by: str | None = None  # why the child was killed on purpose ("cancel")
        self._closing: list[int] = []  # documents closed since the last request: forgotten by the child then
        self.starts = 0  # children started so far (more than one: some were stopped or crashed)

    @property
    def busy_with(self) -> int | None:
        """The document whose request is in flight (0 for one of no document), or None when idle."""
        return self._owner

    @property
    def pid(self) -> int | None:
        """The child's process id, or None when none runs (tests kill it by this)."""
        child = self._child
        return child.pid if child is not None else None

    def request(self, doc: IsolatedDocument | None, op: str, *args: Any, what: str) -> Any:
        """Send one request (for `doc`, opening it in the child first if this child has not got it) and return
        the answer, or raise the child's DocumentError, or one saying the renderer timed out, stopped or crashed."""
        with self._lock:
            child = self._running()
            if doc is not None and doc.doc_id not in child.open_ids:
                self._exchange(child, doc.doc_id, ("open", doc.doc_id, *doc.open_args()), what=doc.name)
                child.open_ids.add(doc.doc_id)
            return self._exchange(child, doc.doc_id if doc else None, (op, *args), what=what)

    def start(self) -> None:
        """Start the child now, if none runs (the window does this on a thread as it opens, so the first document
        does not wait the second or so the child takes to import MuPDF)."""
        with self._lock:
            self._running()

    def open(self, doc_id: int, args: tuple[Any, ...], what: str) -> dict[str, Any]:
        with self._lock:
            child = self._running()
            info: dict[str, Any] = self._exchange(child, doc_id, ("open", doc_id, *args), what=what)
            child.open_ids.add(doc_id)
            return info

    def forget(self, doc_id: int) -> None:
        """A document was closed: the child closes it before its next request (closing never waits on a render)."""
        with self._state:
            self._closing.append(doc_id)

    def cancel(self, doc_id: int | None = None) -> bool:
        """Abandon the request in flight (of `doc_id`, or any when None) by killing the child. True if one was."""
        with self._state:
            child = self._child
            if child is None or self._owner is None or (doc_id is not None and self._owner != doc_id):
                return False
            self._stopped_by = "cancel"
            child.kill()
            return True

    def shutdown(self) -> None:
        """Stop the child (what is in flight fails with RenderStopped); a later request starts a new one."""
        with self._state:
            child, self._child = self._child, None
            self._stopped_by = "cancel"
        if child is not None:
            child.kill()

    # -- inside the request lock --
    def _running(self) -> _Child:
        child = self._child
        if child is not None and child.alive():
            return child
        if child is not None:
            child.kill()
        with self._state:
            if self.starts == 0:
                import atexit

                atexit.register(self.shutdown)
            self._child = _Child()
            self._closing.clear()  # a new child has none of them open
            self.starts += 1
            return self._child

    def _exchange(self, child: _Child, owner: int | None, message: tuple[Any, ...], what: str) -> Any:
        with self._state:
            closing, self._closing = self._closing, []
            self._owner = owner if owner is not None else 0
            self._stopped_by = None
        try:
            for doc_id in closing:
                if doc_id in child.open_ids:
                    child.open_ids.discard(doc_id)
                    child.conn.send(("close", doc_id))  # answered by nothing: the child just forgets it
            deadline = time.monotonic() + REQUEST_TIMEOUT_S
            child.conn.send(message)
            status, payload = self._receive(child, deadline, what, message[0])
            if status == "err":
                raise payload
            if status == "page":
                header, pixels = payload
                return _page_from(header, pixels)
            if status == "image":
                size, pixels = payload
                return Image.frombuffer("RGB", size, pixels, "raw", "RGB", 0, 1)
            return payload
        finally:
            with self._state:
                self._owner = None

    def _receive(self, child: _Child, deadline: float, what: str, op: str) -> tuple[str, Any]:
        def next_message(raw: bool) -> Any:
            # a child that dies closes its end: the socket turns readable and reading it fails
            ready = wait([child.conn], max(0.0, deadline - time.monotonic()))
            if child.conn in ready:
                try:
                    return child.conn.recv_bytes() if raw else child.conn.recv()
                except (EOFError, OSError):
                    pass  # the child died while answering: said below
            if not ready:
                self._lost(child)
                raise DocumentError(
                    f"{what[:1].upper()}{what[1:]} took more than {_seconds(REQUEST_TIMEOUT_S)} to {_verb(op)}, "
                    "so it was stopped.",
                    hint="The file may be damaged or made to exhaust the machine.",
                )
            stopped = self._stopped_by
            code = child.exit_code()
            self._lost(child)
            if stopped == "cancel":
                raise RenderStopped(f"{_Verb(op)} {what} was stopped.")
            raise DocumentError(
                f"PaperLens's page renderer crashed while trying to {_verb(op)} {what}{_signal_words(code)}.",
                hint="The file may be damaged or made to crash it; the other pages and documents still work.",
            )

        status, payload = next_message(raw=False)
        if status in ("page", "image"):
            payload = (payload, next_message(raw=True))
        return status, payload

    def _lost(self, child: _Child) -> None:
        child.kill()
        with self._state:
            if self._child is child:
                self._child = None


def _seconds(value: float) -> str:
    return "1 second" if value == 1 else f"{value:g} seconds"


def _verb(op: str) -> str:
    return {"open": "open", "page_text": "read the text of", "page_dpi": "measure"}.get(op, "render")


def _Verb(op: str) -> str:  # noqa: N802 - the capitalised form of _verb
    return {"open": "Opening", "page_text": "Reading the text of", "page_dpi": "Measuring"}.get(
        op, "Rendering"
    )


def _signal_words(code: int | None) -> str:
    if code is None or code >= 0:
        return ""
    import signal

    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f" ({name})"


def _page_from(header: dict[str, Any], pixels: bytes) -> Page:
    image = Image.frombuffer("RGB", header.pop("size"), pixels, "raw", "RGB", 0, 1)
    return Page(image=image, **header)


_renderer: Renderer | None = None
_renderer_lock = threading.Lock()


def renderer() -> Renderer:
    """The process's one renderer (its child starts on the first request)."""
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = Renderer()
        return _renderer


# ---------------------------------------------------------------------------------------------------------------------
# the documents the parent holds
# ---------------------------------------------------------------------------------------------------------------------
_ids = itertools.count(1)


def open_isolated(
    path: Path,
    *,
    password: str | None,
    password_callback: PasswordCallback | None,
    options: dict[str, Any],
) -> IsolatedDocument:
    """Open `path` in the renderer child; the password loop (three tries of `password_callback`) runs here, in the
    caller's thread, as `PdfDocument`'s does in process: each answer is a fresh try at opening in the child."""
    r = renderer()
    doc_id = next(_ids)
    attempt: str | None = password
    for turn in range(4):  # the password given, then up to three answers
        try:
            info = r.open(doc_id, (str(path), attempt, options), what=path.name)
            break
        except (PasswordRequired, WrongPassword) as exc:
            # the child's own sentence: WrongPassword once any password was tried, PasswordRequired before
            last: DocumentError = exc
        if password_callback is None or turn == 3:
            raise last
        attempt = password_callback()
        if attempt is None:  # the user gave up
            raise last
    cls = IsolatedPdfDocument if info["kind"] == "pdf" else IsolatedImageDocument
    return cls(path, doc_id, attempt, options, info)


class IsolatedDocument(Document):
    """A document open in the renderer child. Same contract as `core.documents.Document`; `cancel()` abandons
    this document's request in flight (from any thread), and the next request starts a new child."""

    def __init__(
        self, path: Path, doc_id: int, password: str | None, options: dict[str, Any], info: dict[str, Any]
    ) -> None:
        super().__init__(path)
        self.doc_id = doc_id
        self._password = password
        self._options = options
        self.page_count = int(info["page_count"])
        self.warnings = list(info["warnings"])
        self._title = str(info["title"])
        self.format = str(info.get("format") or "")

    def open_args(self) -> tuple[Any, ...]:
        return (str(self.path), self._password, self._options)

    @property
    def title(self) -> str:
        return self._title

    def _ask(self, op: str, index: int, *args: Any) -> Any:
        if self._closed:
            raise DocumentError(f"{self.name} is closed.")
        if not 0 <= index < self.page_count:
            raise DocumentError(
                f"Page {index + 1} is past the end: {self.name} has {self.page_count} page(s)."
            )
        what = f"Page {index + 1} of {self.name}" if self.page_count > 1 or self.kind == "pdf" else self.name
        return renderer().request(self, op, self.doc_id, index, *args, what=what)

    def page(self, index: int) -> Page:
        page: Page = self._ask("page", index)
        return page

    def thumbnail(self, index: int, size: int = 256) -> Image.Image:
        image: Image.Image = self._ask("thumbnail", index, size)
        return image

    def page_text(self, index: int) -> str | None:
        try:
            text: str | None = self._ask("page_text", index)
        except DocumentError:
            return None  # a preview only
        return text

    def cancel(self) -> bool:
        """Abandon this document's request in flight, if any: it fails with RenderStopped. Any thread."""
        return renderer().cancel(self.doc_id)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            renderer().forget(self.doc_id)


class IsolatedPdfDocument(IsolatedDocument):
    kind = "pdf"

    def page_dpi(self, index: int) -> int:
        dpi: int = self._ask("page_dpi", index)
        return dpi


class IsolatedImageDocument(IsolatedDocument):
    kind = "image"

    def original(self, index: int) -> Page:
        """Page `index` as the file has it, never flattened (see `ImageDocument.original`)."""
        page: Page = self._ask("original", index)
        return page


# ---------------------------------------------------------------------------------------------------------------------
# the child
# ---------------------------------------------------------------------------------------------------------------------
def limit_memory(limit: int) -> None:
    """Cap this process's data segment (heap and anonymous mappings, Linux >= 4.7) at `limit` bytes.

    Where the platform has no such limit (Windows) nothing is capped; the time limit and the render budgets still
    hold."""
    try:
        import resource
    except ImportError:
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (ValueError, OSError):  # pragma: no cover - a platform that refuses it
        log.debug("could not limit the renderer's memory", exc_info=True)


def child_main(argv: list[str]) -> None:
    """The renderer child's entry: argv is the socket's descriptor (or "share": its Windows share on stdin)."""
    import sys

    if argv and argv[0] == "share":
        import socket

        sock = socket.fromshare(sys.stdin.buffer.read())  # type: ignore[attr-defined]
        conn = Connection(sock.detach())
    else:
        conn = Connection(int(argv[0]))
    serve(conn, MEMORY_LIMIT_BYTES)


def serve(conn: Connection, memory_limit: int) -> None:
    """The renderer child's loop: one request in, one answer out, until the parent goes away."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's to handle
    limit_memory(memory_limit)
    import pymupdf  # noqa: F401 - imported now, while nobody waits: most documents are PDFs

    from paperlens.core import documents

    docs: dict[int, Any] = {}
    try:
        _serve_requests(conn, memory_limit, documents, docs)
    except (
        EOFError,
        OSError,
    ):  # the parent went away (closed, killed) while we answered: nobody is left to tell
        return


def _serve_requests(conn: Connection, memory_limit: int, documents: Any, docs: dict[int, Any]) -> None:
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        op, args = message[0], message[1:]
        if op == "close":
            doc = docs.pop(args[0], None)
            if doc is not None:
                with contextlib.suppress(Exception):
                    doc.close()
            continue
        try:
            result = _handle(documents, docs, op, args)
        except DocumentError as exc:
            _send_error(conn, exc)
        except MemoryError:
            _send_error(
                conn,
                DocumentError(
                    f"There was not enough memory to {_verb(op)} it: PaperLens gives a document "
                    f"{memory_limit / 1024**3:.0f} GB.",
                    hint="The file may be damaged or made to exhaust memory.",
                ),
            )
        except Exception as exc:  # noqa: BLE001 - a library's failure is still one sentence for the parent
            _send_error(conn, DocumentError(f"It could not be read: {reason(exc)}."))
        else:
            if isinstance(result, Page):
                header = {
                    "size": result.image.size,
                    "number": result.number,
                    "source": result.source,
                    "text": result.text,
                    "label": result.label,
                    "meta": result.meta,
                    "flattened": result.flattened,
                }
                pixels = result.image.tobytes()
                del result
                conn.send(("page", header))
                conn.send_bytes(pixels)
            elif isinstance(result, Image.Image):
                conn.send(("image", result.size))
                conn.send_bytes(result.convert("RGB").tobytes())
            else:
                conn.send(("ok", result))


def _send_error(conn: Connection, exc: DocumentError) -> None:
    try:
        conn.send(("err", exc))
    except OSError:  # the parent is gone
        raise
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its sentence still goes
        conn.send(("err", DocumentError(str(exc))))


def _handle(documents: Any, docs: dict[int, Any], op: str, args: tuple[Any, ...]) -> Any:
    if op == "open":
        doc_id, path, password, options = args
        doc = documents.open_document(Path(path), password=password, isolated=False, **options)
        docs[doc_id] = doc
        return {
            "kind": doc.kind,
            "page_count": doc.page_count,
            "warnings": list(doc.warnings),
            "title": doc.title,
            "format": getattr(doc, "format", ""),
        }
    if op == "debug":  # for tests: a render that hangs, or one that allocates
        what, amount = args
        if what == "sleep":
            time.sleep(amount)
        elif what == "allocate":  # asked of the allocator only: without a limit no page is touched
            import numpy

            return int(numpy.empty(amount, numpy.uint8).nbytes)
        elif what == "pid":
            return os.getpid()
        return None
    doc_id, index, *rest = args
    doc = docs.get(doc_id)
    if doc is None:
        raise DocumentError("The document is not open in the renderer.")
    return getattr(doc, op)(index, *rest)
