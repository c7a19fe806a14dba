"""How much small text a page holds: the cheap, deterministic measure behind the "auto" mode.

Auto mode reads a page in 4x (dense OCR, about twice the cost) when it holds much small text, and in 16x (the
official mode) when it holds little: a title page, a short letter, a photo. Why this measure and this threshold:
docs/adr/0009-auto-mode.md. What it does, on a grey copy of the page whose longer side is at most 1,200 pixels:

1. ink: pixels at least 40 grey levels darker than the brightest pixel around them (a 15x15 window), so shading,
   low contrast and coloured paper do not matter, and a smooth photo has almost none;
2. marks: connected ink components of text size (2 to 30 pixels high at that scale, at most 4 times as wide as the
   tallest allowed): letters or short words; big title letters, rules, table lines and pictures are not marks;
3. lines: marks smeared sideways into runs (the run-length smoothing of document segmentation); a run at least 1.5
   times as wide as high that holds at least 2 marks is a text line (a table cell's "2.2" included); scattered
   texture (a photo, a pattern) rarely is;
4. characters: each line's width over 0.55 of its height (a character is about half as wide as the line is high).

The page is dense when those estimated characters reach `DENSE_CHARACTERS`, or when its PDF text layer holds that many
characters (a strong hint, used only to choose 4x, never 16x). The threshold is set low on purpose: reading a sparse
page in 4x costs time; reading a dense page in 16x loses detail.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from paperlens.core.options import Mode

SCALE_SIDE = 1200  # the measure works on a copy whose longer side is at most this (about 100 dpi for A4)
INK_CONTRAST = 40  # grey levels below the local background that count as ink
BACKGROUND_WINDOW = 15  # pixels: the local background is the brightest pixel within this square
MARK_MIN_H = 2
MARK_MAX_H = 30  # pixels at SCALE_SIDE: 2.5 % of the longer side, about 16 pt on an A4 page; larger text is easy in 16x
SMEAR = 9  # pixels: marks closer than this sideways join into one run
LINE_MIN_MARKS = 2
CHAR_WIDTH = 0.55  # a character's width, as a share of its line's height
DENSE_CHARACTERS = 600  # at or above: 4x (see the ADR for the values on real and drawn pages)


@dataclass(frozen=True)
class Density:
    """What the measure found on a page, and the mode it chooses."""

    characters: int  # estimated characters of small text in the image
    lines: int  # text lines found in the image
    cover: float  # the share of the page's area inside those lines
    layer_characters: int = 0  # non-space characters of the PDF's text layer (0: none)
    ms: float = 0.0  # how long the measure took

    @property
    def dense(self) -> bool:
        return max(self.characters, self.layer_characters) >= DENSE_CHARACTERS

    @property
    def mode(self) -> str:
        return Mode.X4.value if self.dense else Mode.X16.value

    def describe(self) -> str:
        """ "about 2,400 characters in 41 lines: dense, 4x" for logs and the CLI's JSON."""
        text = f"about {self.characters:,} characters in {self.lines} lines"
        if self.layer_characters:
            text += f" ({self.layer_characters:,} in the text layer)"
        return f"{text}: {'dense, 4x' if self.dense else 'sparse, 16x'}"

    def to_dict(self) -> dict:
        return {
            "characters": self.characters,
            "lines": self.lines,
            "cover": round(self.cover, 4),
            "layer_characters": self.layer_characters,
            "mode": self.mode,
        }


def measure(image: Image.Image, text_layer: str | None = None) -> Density:
    """The page's density (see the module's description): deterministic, a few milliseconds on a rendered page."""
    import time

    import cv2
    import numpy as np

    t0 = time.perf_counter()
    layer = sum(1 for ch in text_layer if not ch.isspace()) if text_layer else 0
    grey = image.convert("L")
    scale = min(1.0, SCALE_SIDE / max(grey.size))
    if scale < 1.0:
        grey = grey.resize(
            (max(1, round(grey.width * scale)), max(1, round(grey.height * scale))), Image.Resampling.BOX
        )
    g = np.asarray(grey, dtype=np.uint8)
    background = cv2.dilate(g, np.ones((BACKGROUND_WINDOW, BACKGROUND_WINDOW), np.uint8))
    ink = (cv2.subtract(background, g) >= INK_CONTRAST).astype(np.uint8)
    n, labels, stats, _centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    w, h = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    is_mark = (h >= MARK_MIN_H) & (h <= MARK_MAX_H) & (w <= 4 * MARK_MAX_H)
    keep = np.zeros(n, np.uint8)
    keep[1:] = is_mark
    marks = keep[labels]
    # close small gaps across (between letters, words) and a little up and down (holes of letters, accents)
    runs = cv2.morphologyEx(marks, cv2.MORPH_CLOSE, np.ones((3, SMEAR), np.uint8))
    m, run_labels, run_stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    # how many marks each run holds: a mark's top-left corner lies inside its run
    tops = stats[1:][is_mark]
    counts = np.bincount(run_labels[tops[:, 1], tops[:, 0]], minlength=m)
    rw, rh = run_stats[1:, cv2.CC_STAT_WIDTH], run_stats[1:, cv2.CC_STAT_HEIGHT]
    is_line = (counts[1:] >= LINE_MIN_MARKS) & (rw >= 1.5 * rh) & (rh <= 2 * MARK_MAX_H)
    characters = int(np.sum(rw[is_line] / (CHAR_WIDTH * np.maximum(rh[is_line], 1))))
    cover = float(np.sum(rw[is_line] * rh[is_line])) / float(g.size)
    return Density(
        characters=characters,
        lines=int(np.count_nonzero(is_line)),
        cover=cover,
        layer_characters=layer,
        ms=(time.perf_counter() - t0) * 1000,
    )


def choose_mode(image: Image.Image, text_layer: str | None = None) -> str:
    """The mode auto mode reads this page in: "4x" when it is dense, else "16x"."""
    return measure(image, text_layer).mode
