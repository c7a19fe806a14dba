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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paperlens.core.errors import DocumentError, ExportError
from paperlens.core.results.blocks import markdown_blocks
from paperlens.core.results.export.files import check_target
from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import doc_title
from paperlens.core.runs import DocumentResult

if TYPE_CHECKING:
    import pymupdf
    from PIL import Image

REAL_TEXT_CHARS = 32  # a text layer with fewer characters (a stamped page number) is not the page's text
A4_LONG_PT = 841.89
LINE_DPI = (
    150  # PDF pages are rendered at this resolution to find their lines (when the model's image is not given)
)


@dataclass
class Box:
    """A rectangle in some coordinate system (pixels of the page image, or PDF points)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.x0 * sx, self.y0 * sy, self.x1 * sx, self.y1 * sy)


# --- the model's lines -----------------------------------------------------------------------------------------------
def text_lines(markdown: str) -> list[str]:
    """The page's plain text as lines in reading order: Markdown marks removed, a table row one line (cells
    separated by spaces), blank lines dropped. These are the words the text layer holds."""
    from paperlens.core.results.export.text import blocks_to_text

    lines: list[str] = []
    for block in markdown_blocks(markdown, keep_line_breaks=True):
        if block.kind == "table" and block.table is not None:
            if block.table.title:
                lines.append(block.table.title)
            lines.extend(" ".join(" ".join(c.split()) for c in row if c.strip()) for row in block.table.rows)
        else:
            lines.extend(blocks_to_text([block]).split("\n"))
    return [" ".join(line.split()) for line in lines if line.strip()]


# --- lines in the picture --------------------------------------------------------------------------------------------
def find_lines(image: Image.Image) -> list[Box]:
    """Text lines in a page image, top to bottom, in the image's pixels (see the module docstring)."""
    import cv2

    gray = np.asarray(image.convert("L"))
    scale = 1.0
    if max(gray.shape) > 2400:  # enough to see lines; keeps it fast on big photos
        scale = 2400 / max(gray.shape)
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if not ink.any() or ink.mean() > 255 * 0.5:  # blank, or a picture rather than text on paper
        return []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return []
    w, h, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    sized = (area >= 4) & (h >= 3)
    if not sized.any():
        return []
    char_h = float(np.median(h[sized]))
    keep = (
        sized
        & (h <= max(char_h * 6, 12))  # figures and photos
        & ~((h <= char_h * 0.35) & (w >= char_h * 4))  # horizontal rules
        & ~((w <= char_h * 0.35) & (h >= char_h * 3))  # vertical rules
    )
    lut = np.concatenate([[False], keep])
    text = lut[labels]
    rows = text.any(axis=1)
    bands = _runs(rows)
    if not bands:
        return []
    heights = np.array([b - a for a, b in bands])
    line_h = float(np.median(heights))
    boxes: list[Box] = []
    for a, b in bands:
        if b - a < line_h * 0.35:  # a stray mark between lines
            continue
        for top, bottom in _split_band(text, a, b, line_h):
            cols = np.flatnonzero(text[top:bottom].any(axis=0))
            if cols.size:
                boxes.append(Box(float(cols[0]), float(top), float(cols[-1] + 1), float(bottom)))
    return [bx.scaled(1 / scale, 1 / scale) for bx in boxes]


def _split_band(text: np.ndarray, a: int, b: int, line_h: float) -> list[tuple[int, int]]:
    """A band of rows cut where lines touch: only a band much taller than the usual line, and only at rows with
    little ink near where the cut would fall (a big heading is tall but dense all the way, and stays whole)."""
    parts = round((b - a) / line_h)
    if (b - a) <= line_h * 1.7 or parts < 2:
        return [(a, b)]
    ink = text[a:b].sum(axis=1).astype(float)
    dense = float(np.median(ink)) or 1.0
    cuts = [0]
    reach = max(1, int(line_h * 0.3))
    for k in range(1, parts):
        at = (b - a) * k // parts
        lo, hi = max(cuts[-1] + 1, at - reach), min(b - a - 1, at + reach)
        if lo >= hi:
            continue
        row = lo + int(np.argmin(ink[lo:hi]))
        if ink[row] <= dense * 0.15:
            cuts.append(row)
    cuts.append(b - a)
    return [(a + cuts[i], a + cuts[i + 1]) for i in range(len(cuts) - 1)]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True values."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


# --- matching the model's lines to the picture's -------------------------------------------------------------------
SKIP_FOUND = 1.2  # cost of a found line that gets no text
SKIP_TEXT = 1.6  # cost of a model line that gets no found line
MAX_WRAP = 12  # found lines one model line may cover
MAX_SHARE = 3  # model lines one found line may hold


def align_lines(lines: list[str], boxes: list[Box], area: Box | None = None) -> list[tuple[str, Box]]:
    """Each model line with the box it goes in (a wrapped line yields one piece per box), in reading order."""
    if not lines:
        return []
    if len(lines) == len(boxes):
        return list(zip(lines, boxes, strict=True))
    placed = _dp_align(lines, boxes) if boxes else None
    if placed is None:
        return spread_lines(lines, area or _union(boxes))
    return placed


def spread_lines(lines: list[str], area: Box | None) -> list[tuple[str, Box]]:
    """The fallback: the lines one under another, evenly over `area`."""
    if area is None or area.height <= 0:
        return []
    step = area.height / len(lines)
    h = min(step, area.height)
    return [
        (t, Box(area.x0, area.y0 + i * step, area.x1, area.y0 + i * step + h)) for i, t in enumerate(lines)
    ]


def _union(boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    return Box(
        min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes)
    )


def _dp_align(lines: list[str], boxes: list[Box]) -> list[tuple[str, Box]] | None:
    n, m = len(lines), len(boxes)
    chars = [max(len(t), 1) for t in lines]
    widths = [max(b.width, 1.0) for b in boxes]
    per_char = sum(widths) / sum(chars)  # the page's average character width in pixels
    cum_w = np.concatenate([[0.0], np.cumsum(widths)])
    cum_c = np.concatenate([[0], np.cumsum(chars)])
    inf = math.inf
    cost = np.full((n + 1, m + 1), inf)
    back: dict[tuple[int, int], tuple[int, int, str]] = {}
    cost[0, 0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            c0 = cost[i, j]
            if c0 == inf:
                continue

            def relax(i2: int, j2: int, c: float, how: str, i0: int = i, j0: int = j) -> None:
                if c < cost[i2, j2]:
                    cost[i2, j2] = c
                    back[(i2, j2)] = (i0, j0, how)

            if j < m:
                relax(i, j + 1, c0 + SKIP_FOUND, "skip-found")
            if i < n:
                relax(i + 1, j, c0 + SKIP_TEXT, "skip-text")
            for k in range(1, min(MAX_WRAP, m - j) + 1) if i < n else ():
                ratio = chars[i] * per_char / (cum_w[j + k] - cum_w[j])
                relax(i + 1, j + k, c0 + abs(math.log(ratio)) + 0.05 * (k - 1), "match")
            for r in range(2, min(MAX_SHARE, n - i) + 1) if j < m else ():
                ratio = (cum_c[i + r] - cum_c[i]) * per_char / widths[j]
                relax(i + r, j + 1, c0 + abs(math.log(ratio)) + 0.3 * (r - 1), "share")
    # walk back
    steps = []
    i, j = n, m
    while (i, j) != (0, 0):
        i0, j0, how = back[(i, j)]
        steps.append((i0, i, j0, j, how))
        i, j = i0, j0
    steps.reverse()
    matched = sum(i1 - i0 for i0, i1, _, _, how in steps if how in ("match", "share"))
    if matched < n / 2:
        return None
    out: list[tuple[str, Box | None]] = []
    for i0, i1, j0, j1, how in steps:
        if how == "skip-text":
            out.append((lines[i0], None))
        elif how == "match":
            out.extend(_wrap(lines[i0], boxes[j0:j1]))
        elif how == "share":
            out.extend(_share(lines[i0:i1], boxes[j0]))
    return _fill_gaps(out)


def _wrap(text: str, boxes: list[Box]) -> list[tuple[str, Box | None]]:
    """One model line over several found lines: its words shared out in proportion to the lines' widths."""
    if len(boxes) == 1:
        return [(text, boxes[0])]
    words = text.split(" ")
    total = sum(b.width for b in boxes)
    out: list[tuple[str, Box | None]] = []
    start, used, seen = 0, 0.0, 0
    length = sum(len(w) + 1 for w in words)
    for k, box in enumerate(boxes):
        used += box.width
        if k == len(boxes) - 1:
            end = len(words)
        else:
            end, count = start, seen
            while end < len(words) and (count + len(words[end]) / 2) <= length * used / total:
                count += len(words[end]) + 1
                end += 1
            end = max(end, start + 1) if start < len(words) else end
        piece = " ".join(words[start:end])
        seen += sum(len(w) + 1 for w in words[start:end])
        if piece:
            out.append((piece, box))
        start = end
    return out


def _share(lines: list[str], box: Box) -> list[tuple[str, Box | None]]:
    """Several short model lines on one found line: the box cut across in proportion to their lengths."""
    total = sum(len(t) + 1 for t in lines)
    out: list[tuple[str, Box | None]] = []
    x = box.x0
    for t in lines:
        w = box.width * (len(t) + 1) / total
        out.append((t, Box(x, box.y0, x + w, box.y1)))
        x += w
    return out


def _fill_gaps(placed: list[tuple[str, Box | None]]) -> list[tuple[str, Box]]:
    """Model lines without a found line go between their neighbours, one line high."""
    known = [b for _, b in placed if b is not None]
    if not known:
        return []
    line_h = float(np.median([b.height for b in known]))
    x0, x1 = min(b.x0 for b in known), max(b.x1 for b in known)
    out: list[tuple[str, Box]] = []
    for k, (text, box) in enumerate(placed):
        if box is None:
            before = next((b for _, b in reversed(placed[:k]) if b is not None), None)
            after = next((b for _, b in placed[k + 1 :] if b is not None), None)
            if before is not None and after is not None:
                y = (before.y1 + after.y0) / 2 - line_h / 2
            elif before is not None:
                y = before.y1
            else:
                assert after is not None
                y = after.y0 - line_h
            box = Box(x0, y, x1, y + line_h)
        out.append((text, box))
    return out


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
                from PIL import Image

                with Image.open(path) as im:  # the header only: its DPI
                    self.file_info = dict(im.info)
        except DocumentError as exc:
            if not self.given:
                raise ExportError(f"The pages of {path.name} cannot be read again: {exc}") from exc

    def image(self, number: int) -> tuple[Image.Image | None, float | None]:
        """Page `number`'s picture and its DPI (None when unknown), or (None, None) when there is none."""
        if number in self.given:
            im = self.given[number]
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

    src = _Source(doc)
    out = pymupdf.open()
    fonts = _Fonts()
    try:
        for result in doc.pages:
            lines = text_lines(result.markdown) if result.ok and not result.skipped else []
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
    boxes = find_lines(image)
    area = _union(boxes) or Box(image.width * 0.1, image.height * 0.1, image.width * 0.9, image.height * 0.9)
    placed = [(t, b.scaled(sx, sy)) for t, b in align_lines(lines, boxes, area)]
    add_text_layer(page, placed, fonts)


def write_pdf(doc: DocumentResult, path: Path) -> list[tuple[Path, bytes]]:
    check_target(path)  # before the work of building the PDF
    return [(path, pdf_bytes(doc))]


FORMAT = register(ExportFormat("pdf", "Searchable PDF", (".pdf",), write=write_pdf))
