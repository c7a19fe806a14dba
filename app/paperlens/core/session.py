"""One open document: its pages, what the model made of them, and its chats.

Why a session object and not widgets holding state: several documents can be open at once and each must keep its
results, edits and questions when the user switches away; the widgets are re-filled from the session on every switch.
A session may hold several sources (a folder of page photos, captured pages appended to a PDF), numbered 1..N.

Pages are rendered on demand from two threads (the render pool for the page view, the model thread for parsing), and
PDF libraries are not safe to call from two threads at once, so every render goes through the session's lock.

It lives in the core (no Qt) so the CLI can open what the window opens: a folder of page photos as one document.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from PIL import Image

from paperlens.core.errors import DocumentError, PasswordRequired, WrongPassword
from paperlens.core.page import Page
from paperlens.core.results.boxes import Box
from paperlens.core.runs import DocumentResult, Finish, PageResult, RunStats

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pnm", ".ppm"}
# what open_document reads besides images (not XPS, EPUB or CBZ: MuPDF could, but they are not checked or tested)
DOCUMENT_SUFFIXES = {".pdf"}
PAGE_CACHE = 6  # rendered pages kept in memory per document (an A4 page at 150 dpi is about 6.5 MB)

# Asks for a password: (file name, "" the first time or the reason the last one failed) -> password or None (cancel).
PasswordAsker = Callable[[str, str], "str | None"]


class ChatScope(str, Enum):
    """What a question is about: the page's image, or the parsed text of the whole document.

    A `str` enum so it compares equal to the plain "page" / "document" the worker and the library speak.
    """

    PAGE = "page"
    DOCUMENT = "document"


class OpenCancelled(Exception):
    """The user dismissed the password dialog: not an error, nothing to show."""


@dataclass
class ChatTurn:
    """One question and its answer. `finish` is None while the answer is still streaming."""

    question: str
    scope: ChatScope
    page_no: int | None = None
    answer: str = ""
    pages_used: list[int] = field(default_factory=list)
    finish: Finish | None = None
    error: str | None = None
    stats: RunStats | None = None
    pages_with_text: int = 0  # a whole-document answer drawn from fewer pages than this may be incomplete
    # where on the page a page answer came from (results.boxes.Box, 0-1000 page coordinates); `located` is None
    # until the boxes question ran (or when it was not asked), then whether it ran to its end
    boxes: list[Box] = field(default_factory=list)
    located: bool | None = None
    qa_id: int | None = None  # the exchange's row in the library, where its boxes are kept too


@dataclass
class _Slot:
    """Where page N comes from: page `index` of an open document, or a page held in memory (capture, paste)."""

    document: Any = None
    index: int = 0
    page: Page | None = None
    source: str = ""


class _SessionImages(Mapping[int, Image.Image]):
    """Page number -> the page image the session shows and the model read, rendered when asked (one at a time, so an
    export of a 300-photo document never holds 300 photos)."""

    def __init__(self, session: DocumentSession, numbers: list[int]) -> None:
        self._session = session
        self._numbers = numbers

    def __getitem__(self, number: int) -> Image.Image:
        if number not in self._numbers:
            raise KeyError(number)
        try:
            return self._session.page(number).image
        except DocumentError as exc:
            raise KeyError(number) from exc

    def __contains__(self, number: object) -> bool:
        return number in self._numbers

    def __iter__(self) -> Iterator[int]:
        return iter(self._numbers)

    def __len__(self) -> int:
        return len(self._numbers)


class DocumentSession:
    """An open document: sources, per-page results, partial streams and chats. Plain Python, no Qt."""

    def __init__(self, title: str, *, path: str | None = None, kind: str = "pdf") -> None:
        self.id = uuid.uuid4().hex
        self.title = title
        self.path = path
        self.kind = kind
        self.results: dict[int, PageResult] = {}
        self.streaming: dict[int, str] = {}  # page -> text streamed so far by a running parse
        self.edited: set[int] = set()  # pages whose Markdown the user changed by hand
        # the model's own result of each page edited by hand: what Revert shows again
        self.model_results: dict[int, PageResult] = {}
        self.chats: dict[str, list[ChatTurn]] = {"document": []}
        self.current_page = 1
        self.thumbnails: dict[int, Any] = {}  # page -> QImage, kept by the window
        self._slots: list[_Slot] = []
        self._documents: list[Any] = []
        self._cache: OrderedDict[int, Page] = OrderedDict()
        self._lock = threading.RLock()
        self.closed = False

    # building
    def add_document(self, document: Any, source: str = "") -> None:
        """Append every page of an opened core document."""
        with self._lock:
            self._documents.append(document)
            for i in range(document.page_count):
                self._slots.append(_Slot(document=document, index=i, source=source))

    def add_page(self, page: Page) -> int:
        """Append an in-memory page (a capture or a pasted image); returns its number."""
        with self._lock:
            self._slots.append(_Slot(page=page, source=page.source))
            number = len(self._slots)
            page.number = number
            page.label = f"Page {number}"
            return number

    # pages
    @property
    def page_count(self) -> int:
        return len(self._slots)

    def page(self, number: int) -> Page:
        """Render (or fetch from the small cache) page `number`, 1-based. Safe from any thread.

        The render itself runs outside the session's lock (documents serialise their own renders), so a slow page
        never makes the GUI thread wait for the lock to look at the session, or to close it."""
        with self._lock:
            if self.closed:
                raise DocumentError(f"{self.title} was closed.")
            if not 1 <= number <= len(self._slots):
                raise DocumentError(f"{self.title} has no page {number}.")
            slot = self._slots[number - 1]
            if slot.page is not None:
                return slot.page
            page = self._cache.get(number)
            if page is not None:
                self._cache.move_to_end(number)
                return page
            document, index = slot.document, slot.index
        page = document.page(index)
        with self._lock:
            if page.number != number:
                page.number = number
                page.label = f"Page {number}"
            if not self.closed and self._slots[number - 1].document is document:
                self._cache[number] = page
                while len(self._cache) > PAGE_CACHE:
                    self._cache.popitem(last=False)
            return page

    def cached_page(self, number: int) -> Page | None:
        """The page if it is already rendered (or held in memory), without rendering it: a cheap look from the GUI
        thread at what the last render found (e.g. whether a photo was flattened)."""
        with self._lock:
            if self.closed or not 1 <= number <= len(self._slots):
                return None
            return self._slots[number - 1].page or self._cache.get(number)

    def original_page(self, number: int) -> Page | None:
        """Page `number` as its file has it, not flattened (`ImageDocument.original`), or None when its source
        cannot give one (a PDF page, a capture). Renders: call it off the GUI thread."""
        with self._lock:
            if self.closed or not 1 <= number <= len(self._slots):
                return None
            slot = self._slots[number - 1]
            original = getattr(slot.document, "original", None) if slot.page is None else None
            if original is None:
                return None
        page: Page = original(slot.index)  # rendered outside the lock, as `page`
        page.number, page.label = number, f"Page {number}"
        return page

    def use_original(self, number: int, original: Page | None = None) -> PageResult | None:
        """Undo the flattening of page `number`: from now on it is the whole photo (`original`, or rendered now).

        The page's result (and any half-streamed text) belonged to the flattened image, another image, so it is
        dropped and returned, as is its thumbnail; the model's cache keys results by image, so a parse runs again.
        """
        page = original if original is not None else self.original_page(number)
        if page is None:
            raise DocumentError(f"Page {number} of {self.title} has no original to go back to.")
        with self._lock:
            page.number, page.label = number, f"Page {number}"
            slot = self._slots[number - 1]
            slot.page = page
            self._cache.pop(number, None)
            self.thumbnails.pop(number, None)
            self.streaming.pop(number, None)
            self.edited.discard(number)
            return self.results.pop(number, None)

    def display_page(self, number: int) -> Page:
        """The page for showing: like `page`, but a blank page is still shown (it only fails to parse)."""
        try:
            return self.page(number)
        except DocumentError as exc:
            blank = getattr(exc, "page", None)
            if blank is not None:
                return blank
            raise

    def thumbnail(self, number: int, size: int) -> Image.Image:
        """A small picture of the page; PDFs render it at a low resolution instead of rendering the full page."""
        with self._lock:
            if self.closed:
                raise DocumentError(f"{self.title} was closed.")
            slot = self._slots[number - 1]
            cached = slot.page or self._cache.get(number)
        if cached is None and hasattr(slot.document, "thumbnail"):
            image: Image.Image = slot.document.thumbnail(slot.index, size)
            return image
        image = (cached or self.display_page(number)).image.copy()
        image.thumbnail((size, size))
        return image

    @property
    def warnings(self) -> list[str]:
        """What the documents said a user may want to know (a repaired PDF, ...)."""
        return [w for d in self._documents for w in getattr(d, "warnings", [])]

    def text_layer(self, number: int) -> str:
        """The page's embedded text (PDF text layer), or "" when there is none or it cannot be read."""
        with self._lock:
            slot = self._slots[number - 1] if 1 <= number <= len(self._slots) else None
            if slot is None:
                return ""
            if slot.page is not None:
                return slot.page.text or ""
            reader = getattr(slot.document, "page_text", None)
        if callable(reader):
            try:
                return reader(slot.index) or ""
            except Exception:
                return ""
        try:
            return self.page(number).text or ""
        except Exception:
            return ""

    # results
    def is_parsed(self, number: int) -> bool:
        """A page is done when it has a complete result (cancelled or failed pages are run again)."""
        r = self.results.get(number)
        return r is not None and r.ok and r.finish.complete

    def unparsed(self, numbers: Iterable[int] | None = None) -> list[int]:
        pages = numbers if numbers is not None else range(1, self.page_count + 1)
        return [n for n in pages if not self.is_parsed(n)]

    def markdown(self, number: int) -> str:
        if number in self.streaming:
            return self.streaming[number]
        r = self.results.get(number)
        return r.markdown if r is not None else ""

    def set_markdown(self, number: int, text: str) -> None:
        """Keep the user's own edit of a page's Markdown (it wins over the model's for exports and questions)."""
        r = self.results.get(number)
        if r is not None and r.markdown == text:
            return
        if r is not None and number not in self.edited:
            self.model_results[number] = r
        self.results[number] = (
            PageResult(page=number, markdown=text, edited=True)
            if r is None
            else replace(r, markdown=text, edited=True, finish=Finish.STOP, error=None)
        )  # the user's text is final, as the pipeline serves it
        self.edited.add(number)

    def revert_markdown(self, number: int) -> bool:
        """Drop the user's edit of a page: the model's result shows again. False when it is not known here."""
        self.edited.discard(number)
        model = self.model_results.pop(number, None)
        if model is None:
            self.results.pop(number, None)
            return False
        self.results[number] = model
        return True

    def model_result(self, number: int, result: PageResult) -> None:
        """A result from the model (or the library) for a page: it replaces the page's text unless the user's edit
        is kept over it (`result.edited`, served by the pipeline), and is what Revert goes back to."""
        if result.edited:
            self.edited.add(number)
        else:
            self.edited.discard(number)
            self.model_results.pop(number, None)
        self.results[number] = result

    def document_texts(self) -> list[tuple[int, str]]:
        """(page, text) for a whole-document question: the parsed Markdown, or the PDF's text layer if unparsed."""
        out = []
        for n in range(1, self.page_count + 1):
            r = self.results.get(n)
            text = r.markdown if (r is not None and r.ok and r.markdown.strip()) else self.text_layer(n)
            if text and text.strip():
                out.append((n, text))
        return out

    def to_document_result(self) -> DocumentResult:
        """What File > Export writes: every page with a result, in order, and the page count, so the export can say
        which pages are missing (never parsed, or failed)."""
        pages = [self.results[n] for n in sorted(self.results) if self.results[n].ok]
        return DocumentResult(
            source=self.path or self.title,
            pages=pages,
            title=Path(self.title).stem,
            page_count=self.page_count,
            # anything but one PDF file: the pages as the model read them (a capture, a photo flattened or kept
            # whole as the user chose), rendered one at a time by the export that draws them
            page_images=None if self._one_pdf() else _SessionImages(self, [p.page for p in pages]),
        )

    def _one_pdf(self) -> bool:
        """Every page is a page of one PDF file (which an export can copy, vector and all)."""
        with self._lock:
            return (
                len(self._documents) == 1
                and getattr(self._documents[0], "kind", "") == "pdf"
                and all(slot.page is None for slot in self._slots)
            )

    def chat(self, scope: ChatScope | str, page_no: int | None) -> list[ChatTurn]:
        key = "document" if scope == ChatScope.DOCUMENT else f"page-{page_no}"
        return self.chats.setdefault(key, [])

    def history(self, scope: ChatScope | str, page_no: int | None) -> tuple[tuple[str, str], ...]:
        """Earlier finished exchanges of the same chat, for follow-up questions."""
        return tuple(
            (t.question, t.answer)
            for t in self.chat(scope, page_no)
            if t.finish is not None
            and t.finish.complete
            and t.finish != Finish.REPETITION  # no loops fed back
        )

    def cancel_renders(self) -> None:
        """Abandon this session's renders in flight (they fail at once); any thread, never waits on a render."""
        for doc in list(self._documents):
            with contextlib.suppress(Exception):
                doc.cancel()

    def close(self) -> None:
        self.cancel_renders()  # a render in flight would otherwise finish first, however long it takes
        with self._lock:
            self.closed = True
            self._cache.clear()
            for doc in self._documents:
                with contextlib.suppress(Exception):
                    doc.close()
            self._documents.clear()


# -- opening ----------------------------------------------------------------------------------------------------------
def is_supported(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in IMAGE_SUFFIXES or suffix in DOCUMENT_SUFFIXES


def expand_paths(paths: Iterable[str | Path]) -> list[list[Path]]:
    """Group dropped paths into documents: each file is one; a folder's PDFs are one each, its images one together.

    A folder of photos is most often the pages of one paper document, shot one by one.
    """
    groups: list[list[Path]] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            children = sorted(c for c in p.iterdir() if c.is_file() and is_supported(c))
            images = [c for c in children if c.suffix.lower() in IMAGE_SUFFIXES]
            groups.extend([c] for c in children if c.suffix.lower() not in IMAGE_SUFFIXES)
            if images:
                groups.append(images)
        else:
            groups.append([p])
    return groups


def _open_one(path: Path, dpi: int | None, ask_password: PasswordAsker | None) -> Any:
    """Open one file; an encrypted PDF asks `ask_password(name, reason)` through the core's one retry loop (three
    tries, as the CLI's prompt). A None answer is the user cancelling: OpenCancelled."""
    from paperlens.core.documents import open_document

    if ask_password is None:
        return open_document(path, dpi=dpi or None)
    state = {"asked": 0, "cancelled": False}

    def ask() -> str | None:
        reason = "That password does not open it. Try again." if state["asked"] else ""
        state["asked"] += 1
        answer = ask_password(path.name, reason)
        state["cancelled"] = answer is None
        return answer

    try:
        return open_document(path, password_callback=ask, dpi=dpi or None)
    except (PasswordRequired, WrongPassword) as exc:
        if state["cancelled"]:
            raise OpenCancelled() from exc
        raise


def open_session(
    paths: list[Path], *, dpi: int | None = None, ask_password: PasswordAsker | None = None
) -> DocumentSession:
    """Open one document (one file, or several images as its pages). Raises DocumentError with the reason."""
    if not paths:
        raise DocumentError("Nothing to open.")
    first = paths[0]
    if len(paths) == 1:
        title, kind = first.name, first.suffix.lower().lstrip(".") or "file"
    else:
        title, kind = f"{first.parent.name or 'Pages'} ({len(paths)} pages)", "images"
    where = first if len(paths) == 1 else first.parent
    session = DocumentSession(title, path=str(where.resolve()) if where.exists() else str(where), kind=kind)
    try:
        for path in paths:
            if not path.exists():
                if path.is_symlink():  # exists() is False for a link to nothing and for a loop of links
                    raise DocumentError(
                        f"{path.name} is a link that leads to no file (its target is missing, or links point "
                        "at each other in a loop)."
                    )
                raise DocumentError(f"{path.name} does not exist (it may have been moved or deleted).")
            session.add_document(_open_one(path, dpi, ask_password), source=str(path))
    except BaseException:
        session.close()
        raise
    if session.page_count == 0:
        session.close()
        raise DocumentError(f"{title} has no pages.")
    return session


def image_session(page: Page, title: str, kind: str = "image") -> DocumentSession:
    """A new document made of one in-memory page (a pasted image, the first capture)."""
    session = DocumentSession(title, kind=kind)
    session.add_page(page)
    return session
