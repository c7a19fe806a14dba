"""The searchable PDF export: the document's own pages, untouched, with the model's text as an invisible layer.

Pages: a PDF's pages are copied as they are (`insert_pdf`: a vector page stays vector, nothing is re-rendered); an
image (a scan, a photo, a camera capture) becomes a page at its true size: from the file's DPI when it has one and
the picture was not cut out of a photo, otherwise scaled so its long side is A4's (297 mm), the likeliest paper. A
page that already has a real text layer (at least `REAL_TEXT_CHARS` characters, or a tenth of the model's text) is
left exactly as it is: no second layer.

The text layer (render mode 3: invisible, but searched, highlighted and copied) holds the page's plain text, line by
line, in the model's reading order, each line laid over the place where that line is in the picture. Where the lines
are comes from the page image itself, not from a second model call:

1. `find_lines`: OpenCV binarises the page (Otsu), drops specks, figures and ruling lines by their connected
   components, and cuts the rest into text lines by horizontal projection (rows with ink); a band much taller than
   the usual line (lines that touch) is split evenly. Cheap (tens of milliseconds a page) and needs nothing the
   model does not already give.
2. `align_lines`: the model's lines are matched to the found lines in order. Equal counts pair one to one.
   Otherwise a small dynamic programme matches them by length (characters against the line's width in pixels): one
   model line may cover several found lines (a paragraph the model wrote as one line, wrapped on paper; its words are
   shared out by width), two or three short model lines may share one, and found lines without text (a picture's
   edge, a stamp) or model lines without a found line are skipped at a cost. Model lines left over are placed
   between their neighbours.
3. When nothing sensible is found (no lines, or fewer than half of the model's lines matched) the lines are spread
   evenly over the inked area: search still finds every word on the right page, near the right place.

Grounding boxes from the model (`<box>` answers) would cost a second model pass per page; the picture already says
where the lines are. Known limits: a two-column page is read as one column of lines (the model's lines still all
land on the page, but a line may sit over the wrong column), and non-Latin text uses a built-in CJK font, whose
glyphs cover CJK and Latin but not every script.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paperlens.core.errors import DocumentError, ExportError
from paperlens.core.results.export.files import check_target
from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import doc_title
from paperlens.core.runs import DocumentResult

if TYPE_CHECKING:
    import pymupdf
    from PIL import Image

    from paperlens.core.results.textlines import Box

REAL_TEXT_CHARS = 32  # a text layer with fewer characters (a stamped page number) is not the page's text
A4_LONG_PT = 841.89
LINE_DPI = (
    150  # PDF pages are rendered at this resolution to find their lines (when the model's image is not given)
)


# --- writing the PDF -------------------------------------------------------------------------------------------------
class _Fonts:
    """Helvetica (built in, nothing embedded) for Latin-1 text; the built-in CJK font, embedded, for anything else."""

    def __init__(self) -> None:
        import pymupdf

        self.helv = pymupdf.Font("helv")
        self.wide: Any = None
        self.pages_with_wide: set[int] = set()

    def pick(self, page: pymupdf.Page, text: str) -> tuple[str, Any]:
        if all(ord(ch) < 256 for ch in text):
            return "helv", self.helv
        import pymupdf

        if self.wide is None:
            self.wide = pymupdf.Font("cjk")
        if page.number not in self.pages_with_wide:
            page.insert_font(fontname="plcjk", fontbuffer=self.wide.buffer)
            self.pages_with_wide.add(page.number)
        return "plcjk", self.wide


def add_text_layer(page: pymupdf.Page, placed: list[tuple[str, Box]], fonts: _Fonts) -> None:
    """Writes each (text, box in page points) invisibly, its glyphs stretched to fill the box's width."""
    import pymupdf

    derotate = page.derotation_matrix  # boxes are in the page as shown; the content stream is unrotated
    turn = pymupdf.Matrix(page.rotation)  # the stretch runs along the line as shown, not along unrotated x
    for text, box in placed:
        if not text.strip() or box.width <= 0 or box.height <= 0:
            continue
        name, font = fonts.pick(page, text)
        size = max(box.height * 0.85, 1.0)
        natural = font.text_length(text, fontsize=size)
        if natural <= 0:
            continue
        base = pymupdf.Point(box.x0, box.y1 - box.height * 0.2) * derotate
        page.insert_text(
            base,
            text,
            fontsize=size,
            fontname=name,
            render_mode=3,
            rotate=page.rotation,
            morph=(base, ~turn * pymupdf.Matrix(box.width / natural, 1) * turn),
        )


def _has_real_text(page: pymupdf.Page, model_chars: int) -> bool:
    chars = sum(1 for ch in page.get_text("text") if not ch.isspace())
    return chars >= min(REAL_TEXT_CHARS, max(1, model_chars // 10))


def _image_page_size(image: Image.Image, dpi: float | None) -> tuple[float, float]:
    """The page size in points for an image: its DPI when known, else its long side the length of A4's."""
    k = 72.0 / dpi if dpi and 50 <= dpi <= 2400 else A4_LONG_PT / max(image.size)
    return image.width * k, image.height * k


def _image_bytes(image: Image.Image) -> bytes:
    """PNG for scans of few colours (sharp and small), JPEG for photos (a PNG of a photo is huge)."""
    buf = io.BytesIO()
    if image.convert("RGB").getcolors(256) is not None:
        image.save(buf, format="PNG", optimize=True)
    else:
        image.convert("RGB").save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def _file_dpi(image: Image.Image, meta: dict, info_from: dict | None = None) -> float | None:
    """The DPI of the picture as given (`info_from`: the file's header), corrected for any downscaling when
    decoding; None when unknown."""
    info = (info_from if info_from is not None else image.info).get("dpi")
    original = meta.get("original_size")
    if not info:
        return None
    dpi = float(info[0] if isinstance(info, tuple) else info)
    if original and max(image.size):
        dpi *= max(image.size) / max(original)
    return dpi


class _Source:
    """Where the pages come from: the source PDF, the source image file, or the images the caller gave."""

    def __init__(self, doc: DocumentResult) -> None:
        self.doc = doc
        self.pdf: Any = None
        self.images: Any = None  # an open core.documents.Document of an image file
        self.given = doc.page_images or {}
        self.file_info: dict = {}
        path = Path(doc.source) if doc.source else None
        if path is None or not path.is_file():
            return
        from paperlens.core.documents import open_document, sniff_kind

        try:
            if sniff_kind(path) == "pdf":
                import pymupdf

                self.pdf = pymupdf.open(str(path))
                if self.pdf.needs_pass:
                    raise ExportError(
                        f"{path.name} is locked with a password, so its pages cannot be copied into a new PDF.",
                        hint="Remove the password (or print it to a new PDF) and export again.",
                    )
            else:
                self.images = open_document(path)
                from paperlens.core.images import open_image

                with open_image(path) as im:  # the header only (its DPI), through the same allow-list
                    self.file_info = dict(im.info)
        except DocumentError as exc:
            if not self.given:
                raise ExportError(f"The pages of {path.name} cannot be read again: {exc}") from exc

    def image(self, number: int) -> tuple[Image.Image | None, float | None]:
        """Page `number`'s picture and its DPI (None when unknown), or (None, None) when there is none."""
        if number in self.given:
            try:  # rendered only now (a session's page): a file gone meanwhile costs this page, not the export
                im = self.given[number]
            except (KeyError, DocumentError):
                return None, None
            return im, _file_dpi(im, {})
        if self.images is not None and number <= self.images.page_count:
            try:
                page = self.images.page(number - 1)
            except DocumentError:
                return None, None
            dpi = None if page.flattened is not None else _file_dpi(page.image, page.meta, self.file_info)
            return page.image, dpi
        return None, None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.pdf is not None:
                self.pdf.close()
            if self.images is not None:
                self.images.close()


def pdf_bytes(doc: DocumentResult) -> bytes:
    """The searchable PDF (see the module docstring)."""
    import pymupdf
    from PIL import Image

    from paperlens.core.results import textlines

    src = _Source(doc)
    out = pymupdf.open()
    fonts = _Fonts()
    try:
        for result in doc.pages:
            lines = textlines.text_lines(result.markdown) if result.ok and not result.skipped else []
            if src.pdf is not None and 1 <= result.page <= src.pdf.page_count:
                out.insert_pdf(src.pdf, from_page=result.page - 1, to_page=result.page - 1)
                page = out[-1]
                if not lines or _has_real_text(page, sum(len(t) for t in lines)):
                    continue
                image = src.given.get(result.page)
                if image is None:
                    pix = src.pdf[result.page - 1].get_pixmap(
                        dpi=LINE_DPI, alpha=False, colorspace=pymupdf.csGRAY
                    )
                    image = Image.frombytes("L", (pix.width, pix.height), pix.samples)
            else:
                image, dpi = src.image(result.page)
                if image is None:
                    continue
                width, height = _image_page_size(image, dpi)
                page = out.new_page(width=width, height=height)
                page.insert_image(page.rect, stream=_image_bytes(image))
                if not lines:
                    continue
            _write_layer(page, image, lines, fonts)
        if out.page_count == 0:
            raise ExportError(
                f"{doc_title(doc)} has no pages PaperLens can put in a PDF.",
                hint="Open the document again (its file may have moved) and export once more.",
            )
        out.set_metadata({"title": doc_title(doc), "creator": "PaperLens", "producer": "PaperLens"})
        with contextlib.suppress(Exception):  # only shrinks the file
            if fonts.wide is not None:
                out.subset_fonts()
        return out.tobytes(garbage=3, deflate=True)
    finally:
        out.close()
        src.close()


def _write_layer(page: pymupdf.Page, image: Image.Image, lines: list[str], fonts: _Fonts) -> None:
    sx, sy = page.rect.width / image.width, page.rect.height / image.height
    from paperlens.core.results.textlines import Box, align_lines, find_lines, union

    boxes = find_lines(image)
    area = union(boxes) or Box(image.width * 0.1, image.height * 0.1, image.width * 0.9, image.height * 0.9)
    placed = [(t, b.scaled(sx, sy)) for t, b in align_lines(lines, boxes, area)]
    add_text_layer(page, placed, fonts)


def write_pdf(doc: DocumentResult, path: Path) -> list[tuple[Path, bytes]]:
    check_target(path)  # before the work of building the PDF
    return [(path, pdf_bytes(doc))]


FORMAT = register(ExportFormat("pdf", "Searchable PDF", (".pdf",), write=write_pdf))
