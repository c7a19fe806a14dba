"""Where the lines of text are on a page image, and which of the model's lines goes where.

Used by the searchable PDF export (`core/results/export/pdf.py`, whose docstring explains the method). Kept apart so
that listing the export formats (the CLI's --help) needs no numpy, and so the geometry can be tested on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from paperlens.core.results.blocks import markdown_blocks

if TYPE_CHECKING:
    from PIL import Image


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
        return spread_lines(lines, area or union(boxes))
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


def union(boxes: list[Box]) -> Box | None:
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
