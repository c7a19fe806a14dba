"""Opening documents: a PDF or an image file becomes numbered `Page`s, rendered on demand.

The kind is decided by the file's first bytes, not its name, because users rename files and scanners write odd
extensions. Every failure a user can cause turns into a `DocumentError` with one sentence; a failure that belongs to
one page (a damaged page, a blank one) is raised for that page only, so `Document.pages()` can report it and carry
on with the rest.

PDFs are rendered at a DPI chosen so a page fills, without overflowing, the 9 slices of about 448x448 pixels that
MiniCPM-V's image encoder in llama.cpp cuts a big picture into (`choose_dpi`). Images are decoded safely (pixel
limit, JPEG draft decoding for huge photos), turned upright by their EXIF orientation, converted to plain RGB, and,
when they are photos of a page, the page is found and flattened (`pagefind`).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from paperlens.core.errors import DocumentError, PasswordRequired, WrongPassword, reason
from paperlens.core.images import (
    AUTO_FLATTEN_CONFIDENCE,
    MAX_IMAGE_PIXELS,
    allowed_formats,
    auto_flatten,
    decode_frame,
    image_to_rgb,
    load_image,
    open_image,
    postscript_problem,
    seek_frame,
)
from paperlens.core.page import Page

__all__ = [
    "AUTO_FLATTEN_CONFIDENCE",
    "BlankPage",
    "DEFAULT_DPI",
    "DETAIL_LEVELS",
    "Document",
    "MAX_IMAGE_PIXELS",
    "choose_dpi",
    "image_to_rgb",
    "load_image",
    "open_document",
    "parse_page_range",
    "select_pages",
    "sniff_kind",
]

log = logging.getLogger(__name__)

# -- how big a page should be -----------------------------------------------------------------------------------------
SLICE_PX = 448  # MiniCPM-V's slice edge (clip image_size) in llama.cpp's mtmd
MAX_SLICES = 9  # llama.cpp's llava-uhd/minicpmv preprocessor caps the grid at 9 slices (mtmd-image.cpp)
# Render a little above 9 x 448^2 pixels: llama.cpp then scales down into its slices (sharp) rather than up (soft).
# With this, an A4 page (8.27 x 11.69 in) comes out at 150 dpi, 1240 x 1755 pixels.
HEADROOM = 1.2
DETAIL_LEVELS = {"standard": 1.0, "high": 2.0, "max": 4.0}  # pixel-count multiples: A4 at 150, 212, 300 dpi
MIN_DPI, MAX_DPI = 72, 600
DEFAULT_DPI = 150  # what choose_dpi gives an A4 or Letter-sized page at "standard" detail
MAX_RENDER_PIXELS = 40_000_000  # a poster-sized PDF page is rendered smaller rather than exhausting memory
MAX_RENDER_SIDE = 32_000  # nor longer than this (a banner 200 inches by 1): Qt cannot show a wider picture
MAX_PAGE_PT = (
    14_400  # PDF's own limit for a page side (200 inches); a file claiming more is damaged or hostile
)


PasswordCallback = Callable[[], "str | None"]


class BlankPage(DocumentError):
    """The page has nothing on it. Carries the rendered page in `.page` for a caller that wants to show it anyway."""

    def __init__(self, message: str, *, page: Page | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.page = page


# --------------------------------------------------------------------------------------------------------------------
# DPI and page ranges
# --------------------------------------------------------------------------------------------------------------------
def choose_dpi(width_pt: float, height_pt: float, detail: str | float = "standard") -> int:
    """The DPI at which a page of this size (in PDF points, 1/72 in) fills the model's 9 slices of ~448 px.

    Fewer pixels and llama.cpp uses fewer slices (less detail for small print); many more and it only scales them
    away again. A small page (a receipt) gets a higher DPI, a poster a lower one. `detail` multiplies the pixel
    count ("high" = 2x, "max" = 4x), for pipelines that cut a dense page into parts and for export.
    """
    factor = DETAIL_LEVELS.get(detail) if isinstance(detail, str) else float(detail)
    if factor is None:
        raise ValueError(f"detail must be one of {', '.join(DETAIL_LEVELS)} or a number, not {detail!r}")
    area_in2 = max(width_pt, 1.0) * max(height_pt, 1.0) / (72.0 * 72.0)
    target = MAX_SLICES * SLICE_PX * SLICE_PX * HEADROOM * factor
    dpi = math.sqrt(target / area_in2)
    return int(min(MAX_DPI, max(MIN_DPI, round(dpi))))


_RANGE_PART = re.compile(r"^\s*(\d*)\s*(-)?\s*(\d*)\s*$")


def parse_page_range(spec: str | None, page_count: int) -> list[int]:
    """0-based page indices from a 1-based spec such as "1-3,5,7-" ("-3" is 1-3, "7-" is 7 to the end).

    Empty, "all" or "*" means every page. Order is kept as written and repeats are dropped. Pages past the end are
    left out (`select_pages` says which); a range with no page that exists, a backwards range or anything that is not
    numbers and dashes is a DocumentError that says what to write.
    """
    return select_pages(spec, page_count)[0]


def select_pages(spec: str | None, page_count: int) -> tuple[list[int], list[int]]:
    """`parse_page_range`'s indices, plus the 1-based page numbers asked for that the document does not have."""
    if spec is None or spec.strip().lower() in ("", "all", "*"):
        return list(range(page_count)), []
    out: list[int] = []
    missing: list[int] = []
    seen: set[int] = set()
    plural = "page" if page_count == 1 else "pages"
    for part in re.split(r"[,;]", spec):
        if not part.strip():
            continue
        m = _RANGE_PART.match(part)
        if not m or (not m.group(1) and not m.group(3)) or (not m.group(2) and not m.group(1)):
            raise DocumentError(
                f"The page range {spec!r} is not understood.",
                hint="Write page numbers like 1-3,5,7- (7- means 7 to the end).",
            )
        first = int(m.group(1)) if m.group(1) else 1
        last = (int(m.group(3)) if m.group(3) else page_count) if m.group(2) else first
        if first < 1 or last < 1:
            raise DocumentError(f"The page range {spec!r} has a page 0; pages are numbered from 1.")
        if first > last:
            raise DocumentError(
                f"The page range {part.strip()!r} runs backwards.", hint=f"Write {last}-{first}."
            )
        if first > page_count:
            which = f"Page {first}" if first == last else f"The range {part.strip()}"
            raise DocumentError(f"{which} is past the end: the document has {page_count} {plural}.")
        if last > page_count:  # reaches past the end: read the pages that exist, and say which do not
            missing.extend(
                n for n in range(page_count + 1, min(last, page_count + 100_000) + 1) if n not in missing
            )
            last = page_count
        for i in range(first - 1, last):
            if i not in seen:
                seen.add(i)
                out.append(i)
    if not out:
        raise DocumentError(
            f"The page range {spec!r} names no pages.", hint="Write page numbers like 1-3,5,7-."
        )
    return out, missing


# --------------------------------------------------------------------------------------------------------------------
# opening
# --------------------------------------------------------------------------------------------------------------------
def sniff_kind(path: str | Path) -> str:
    """ "pdf" or "image" from the file's first bytes; a DocumentError for anything else, saying what it looks like."""
    p = Path(path)
    name = p.name
    if not p.exists():
        raise DocumentError(f"There is no file at {str(p)!r}.")
    if p.is_dir():
        raise DocumentError(f"{name} is a folder, not a document.")
    if not p.is_file():  # a pipe (FIFO), a device, a socket: reading one may wait, or go on, forever
        raise DocumentError(f"{name} is not a file but a pipe or a device, which PaperLens does not read.")
    try:
        with p.open("rb") as fh:
            head = fh.read(2048)
    except OSError as exc:
        raise DocumentError(f"{name} could not be read: {exc.strerror or exc}.") from exc
    if not head:
        raise DocumentError(f"{name} is empty (0 bytes).")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    problem = postscript_problem(head, name)
    if problem is not None:
        raise problem
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypavif"):
        raise DocumentError(
            f"{name} is a HEIC/AVIF photo, which PaperLens cannot read yet.",
            hint="Export it as JPEG or PNG first.",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p, formats=allowed_formats()) as im:  # only the formats PaperLens decodes
                im.size  # noqa: B018 - the header parsed: it is an image Pillow knows
        return "image"
    except Image.DecompressionBombError:
        return "image"  # an image, but a huge one: load_image explains the refusal
    except Exception:  # noqa: BLE001 - anything Pillow cannot identify
        pass
    what = _what_is_it(head)
    raise DocumentError(f"{name} is not a PDF or an image PaperLens can read{what}.")


def _what_is_it(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return " (it is a ZIP archive, or an Office document)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return " (it is an old Office document)"
    try:
        head.decode("utf-8")
        return " (it is plain text)"
    except UnicodeDecodeError:
        return ""


def open_document(
    path: str | Path,
    *,
    password: str | None = None,
    password_callback: PasswordCallback | None = None,
    dpi: int | None = None,
    detail: str | float = "standard",
    flatten: bool = True,
    deskew: bool = False,
    isolated: bool | None = None,
) -> Document:
    """Open a PDF or an image file (decided by content). Pages render on demand; use as a context manager.

    - `password` opens an encrypted PDF; without it (or when it is wrong) `password_callback` is asked, up to three
      times, and may return None to give up. Raises PasswordRequired or WrongPassword.
    - `dpi` fixes the PDF rendering resolution; by default each page gets `choose_dpi(..., detail)`.
    - `flatten`: for images, find a photographed page and cut it out straight (when found surely enough).
    - `deskew`: for images that are scans (no page outline found), level the text lines.
    - `isolated` (default: yes, unless PAPERLENS_IN_PROCESS=1): the file is opened, decoded and rendered in the
      renderer child process (`core.isolation`), under a memory and a time limit; False opens it in this process.
    """
    p = Path(path)
    if dpi is not None and not MIN_DPI <= dpi <= MAX_DPI:
        raise DocumentError(f"A DPI of {dpi} is out of range; use {MIN_DPI} to {MAX_DPI}.")
    from paperlens.core import isolation

    if isolated is None:
        isolated = isolation.isolation_wanted()
    if isolated:
        choose_dpi(612, 792, detail)  # a bad `detail` is the caller's mistake (ValueError), said here
        options = {"dpi": dpi, "detail": detail, "flatten": flatten, "deskew": deskew}
        return isolation.open_isolated(
            p, password=password, password_callback=password_callback, options=options
        )
    kind = sniff_kind(p)
    if kind == "pdf":
        return PdfDocument(p, password=password, password_callback=password_callback, dpi=dpi, detail=detail)
    return ImageDocument(p, flatten=flatten, deskew=deskew)


class Document:
    """An open document. `page(i)` renders page i (0-based); `pages(spec)` yields (index, Page or DocumentError)."""

    kind = "document"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.page_count = 0
        self.warnings: list[str] = []  # things a user may want to know (a repaired PDF), in sentences
        self._lock = (
            threading.RLock()
        )  # pymupdf and an open Pillow file are not safe to use from two threads at once
        self._closed = False

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def title(self) -> str:
        return self.path.stem

    def page(self, index: int) -> Page:
        """Render page `index` (0-based). A DocumentError (BlankPage for an empty one) concerns this page only."""
        if self._closed:
            raise DocumentError(f"{self.name} is closed.")
        if not 0 <= index < self.page_count:
            raise DocumentError(
                f"Page {index + 1} is past the end: {self.name} has {self.page_count} page(s)."
            )
        with self._lock:
            try:
                return self._render(index)
            except DocumentError:
                raise
            except MemoryError as exc:
                raise DocumentError(
                    f"Page {index + 1} of {self.name} is too big to render in the memory left."
                ) from exc
            except Exception as exc:  # noqa: BLE001 - a library failure on one page must not end the document
                log.debug("page %d of %s failed", index + 1, self.path, exc_info=True)
                raise DocumentError(
                    f"Page {index + 1} of {self.name} could not be rendered: {reason(exc)}."
                ) from exc

    def pages(self, range_spec: str | None = None) -> Iterator[tuple[int, Page | DocumentError]]:
        """(index, Page) for each page in `range_spec` (all by default), or (index, DocumentError) for one that
        failed, so a caller reports it and goes on. A bad `range_spec` raises before anything is rendered."""
        for index in parse_page_range(range_spec, self.page_count):
            try:
                yield index, self.page(index)
            except DocumentError as exc:
                yield index, exc

    def page_text(self, index: int) -> str | None:
        """The page's embedded text without rendering it (None when it has none): an instant preview."""
        return None

    def thumbnail(self, index: int, size: int = 256) -> Image.Image:
        """A small picture of the page, longest side `size` pixels, for page lists."""
        image = self.page(index).image.copy()
        image.thumbnail((size, size))
        return image

    def _render(self, index: int) -> Page:
        raise NotImplementedError

    def cancel(self) -> bool:
        """Abandon a render in flight, from any thread; True if one was. In this process nothing can be."""
        return False

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self.page_count

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.page_count} page(s)>"


def _check_blank(page: Page, what: str) -> Page:
    from paperlens.core.pagefind import is_blank

    if not (page.text and page.text.strip()) and is_blank(page.image):
        raise BlankPage(f"{what} is blank: there is nothing on it to read.", page=page)
    return page


# --------------------------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------------------------
class PdfDocument(Document):
    kind = "pdf"

    def __init__(
        self,
        path: Path,
        *,
        password: str | None = None,
        password_callback: PasswordCallback | None = None,
        dpi: int | None = None,
        detail: str | float = "standard",
    ) -> None:
        import pymupdf

        super().__init__(path)
        self._dpi = dpi
        self._detail = detail
        choose_dpi(612, 792, detail)  # validates `detail` before anything is opened
        pymupdf.TOOLS.mupdf_display_errors(False)  # we turn them into sentences; keep the terminal clean
        try:
            doc = pymupdf.open(str(path), filetype="pdf")
        except Exception as exc:  # noqa: BLE001 - pymupdf raises several types for damaged files
            detail = "" if "failed to open" in str(exc).lower() else f" ({reason(exc)})"
            raise DocumentError(
                f"{self.name} could not be opened: the PDF is damaged or incomplete{detail}."
            ) from exc
        self._doc = doc
        try:
            if doc.needs_pass:
                self._unlock(password, password_callback)
            self.page_count = doc.page_count
        except BaseException:
            doc.close()
            raise
        if self.page_count == 0:
            doc.close()
            raise DocumentError(f"{self.name} has no pages.")
        if getattr(doc, "is_repaired", False):
            self.warnings.append(
                f"{self.name} was damaged and has been repaired; some pages may be missing or wrong."
            )
        self._labels = self._page_labels()

    def _unlock(self, password: str | None, callback: PasswordCallback | None) -> None:
        tried = False
        if password is not None:
            if self._doc.authenticate(password):
                return
            tried = True
        if callback is not None:
            for _ in range(3):
                answer = callback()
                if answer is None:
                    break
                if self._doc.authenticate(answer):
                    return
                tried = True
        if tried:
            raise WrongPassword(f"The password does not open {self.name}.", hint="Check it and try again.")
        raise PasswordRequired(
            f"{self.name} is protected by a password.",
            hint="Give it with --password (or type it when asked).",
        )

    def _page_labels(self) -> list[str | None]:
        try:
            if not self._doc.get_page_labels():
                return [None] * self.page_count
            return [self._doc[i].get_label() or None for i in range(self.page_count)]
        except Exception:  # noqa: BLE001 - labels are a nicety
            return [None] * self.page_count

    @property
    def title(self) -> str:
        try:
            title = (self._doc.metadata or {}).get("title") or ""
        except Exception:  # noqa: BLE001
            title = ""
        return title.strip() or self.path.stem

    def page_dpi(self, index: int) -> int:
        """The DPI page `index` renders at: the fixed one, or the one that fits 9 slices (less for a poster)."""
        with self._lock:
            rect = self._doc.load_page(index).rect  # the visible size, rotation applied
        return round(self._fit_zoom(rect.width, rect.height, f"Page {index + 1} of {self.name}") * 72)

    def _fit_zoom(self, width_pt: float, height_pt: float, where: str) -> float:
        """Pixels per point for this page: its DPI / 72, lowered (with no floor) until the page fits the budget.

        A PDF of a few hundred bytes can claim any page size; the budget must hold for all of them, so the zoom is
        a float that can go as low as needed, and a page larger than PDF itself allows is refused outright.
        """
        if not (0 < width_pt <= MAX_PAGE_PT and 0 < height_pt <= MAX_PAGE_PT):
            raise DocumentError(
                f"{where} is {width_pt:,.0f} x {height_pt:,.0f} pt ({width_pt / 72:,.0f} x {height_pt / 72:,.0f} "
                f"inches), which cannot be rendered: a PDF page is at most {MAX_PAGE_PT:,} pt (200 inches) a side.",
                hint="The file is damaged or was made to exhaust memory.",
            )
        zoom = (self._dpi or choose_dpi(width_pt, height_pt, self._detail)) / 72
        pixels = width_pt * height_pt * zoom * zoom
        if pixels > MAX_RENDER_PIXELS:
            zoom *= math.sqrt(MAX_RENDER_PIXELS / pixels)
        zoom = min(zoom, MAX_RENDER_SIDE / max(width_pt, height_pt))
        # MuPDF rounds the pixmap outwards: keep the rounded size, not just the exact one, in the budget.
        while (
            zoom > 0
            and (math.ceil(width_pt * zoom) + 1) * (math.ceil(height_pt * zoom) + 1) > MAX_RENDER_PIXELS
        ):
            zoom *= 0.99
        return zoom

    def page_text(self, index: int) -> str | None:
        with self._lock:
            try:
                text = self._doc.load_page(index).get_text("text", sort=True)
            except Exception:  # noqa: BLE001 - a damaged page simply has no preview
                return None
        return text if text.strip() else None

    def thumbnail(self, index: int, size: int = 256) -> Image.Image:
        with self._lock:
            pg = self._doc.load_page(index)
            rect = pg.rect
            zoom = min(
                size / max(rect.width, rect.height, 1.0), self._fit_zoom(rect.width, rect.height, self.name)
            )
            import pymupdf

            pix = pg.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False, colorspace=pymupdf.csRGB)
            return _pixmap_image(pix)

    def _render(self, index: int) -> Page:
        import pymupdf

        pg = self._doc.load_page(index)
        rect = pg.rect  # pymupdf reports the page as displayed: /Rotate is applied here and by get_pixmap
        zoom = self._fit_zoom(rect.width, rect.height, f"Page {index + 1} of {self.name}")
        dpi = round(zoom * 72)
        pix = pg.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False, colorspace=pymupdf.csRGB)
        image = _pixmap_image(pix)
        del pix  # the pixels now live in `image` only
        text = pg.get_text("text", sort=True)
        label = self._labels[index]
        meta: dict[str, Any] = {
            "kind": "pdf",
            "dpi": dpi,
            "rotation": pg.rotation,
            "size_pt": (round(rect.width, 2), round(rect.height, 2)),
        }
        if label:
            meta["pdf_label"] = label
        page = Page(
            image=image,
            number=index + 1,
            source=str(self.path),
            text=text if text.strip() else None,
            label=f"Page {label}" if label and label != str(index + 1) else f"Page {index + 1}",
            meta=meta,
        )
        try:
            return _check_blank(page, f"Page {index + 1} of {self.name}")
        except BlankPage as exc:
            if getattr(self._doc, "is_repaired", False):
                exc.hint = "The file is damaged, so what was on this page may be lost."
            raise

    def close(self) -> None:
        if not self._closed:
            with self._lock:
                self._doc.close()
        super().close()


def _pixmap_image(pix: Any) -> Image.Image:
    """The pixmap as a Pillow image, copied once (`pix.samples` would make a second, whole copy first)."""
    return Image.frombuffer("RGB", (pix.width, pix.height), pix.samples_mv, "raw", "RGB", pix.stride, 1)


# --------------------------------------------------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------------------------------------------------
_MULTI_PAGE_FORMATS = {
    "TIFF"
}  # each frame a page; animated GIF/WebP/PNG and MPO camera files: first frame only


class ImageDocument(Document):
    kind = "image"

    def __init__(self, path: Path, *, flatten: bool = True, deskew: bool = False) -> None:
        super().__init__(path)
        self._flatten = flatten
        self._deskew = deskew
        # The file is opened for each render and closed straight after: a folder of 60 photos opened as one
        # document must not hold 60 descriptors (a low open-file limit would refuse the rest).
        with open_image(
            path
        ) as im:  # checked here, so a bad file is refused when opened, not when first shown
            self.format = im.format or ""
            frames = (getattr(im, "n_frames", 1) or 1) if self.format in _MULTI_PAGE_FORMATS else 1
        self.page_count = frames

    def _render(self, index: int) -> Page:
        with open_image(self.path) as im:
            if self.page_count > 1:
                seek_frame(im, index, f"Page {index + 1} of {self.name}")
            rgb, meta = decode_frame(im, self.name, index, self.page_count)
        meta["kind"] = "image"
        meta["format"] = self.format
        what = f"Page {index + 1} of {self.name}" if self.page_count > 1 else self.name
        flattened = None
        if self._flatten:
            rgb, flattened = auto_flatten(rgb, meta)
        if self._deskew and flattened is None:
            from paperlens.core.pagefind import deskew, estimate_skew

            angle = estimate_skew(rgb)
            if abs(angle) >= 0.1:
                rgb = deskew(rgb, angle=angle)
                meta["deskew_degrees"] = angle
        page = Page(
            image=rgb, number=index + 1, source=str(self.path), text=None, meta=meta, flattened=flattened
        )
        return _check_blank(page, what)

    def original(self, index: int) -> Page:
        """Page `index` as the file has it, never flattened: the undo of an automatic flattening."""
        with self._lock:
            keep = self._flatten
            self._flatten = False
            try:
                return self.page(index)
            finally:
                self._flatten = keep
