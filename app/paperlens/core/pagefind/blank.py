"""The blank-page check: a page with not one mark on it is skipped without being read."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from paperlens.core.pagefind.images import as_bgr, paper_background


def is_blank(image: Image.Image | np.ndarray, *, min_stroke_px: int = 4, min_extent_px: int = 5) -> bool:
    """True only when the page has nothing on it: not one mark darker (or lighter) than the paper.

    A mark is a connected group of at least `min_stroke_px` pixels that differ from the local background and that
    stretches at least `min_extent_px` pixels one way (on the copy of at most 1600 pixels that this looks at): the
    stroke of a letter, a dot-free "OK", a page number, a signature line. Scanner dust (isolated pixels, round
    specks of two or three pixels) is not a mark. Calling a page blank skips it without reading it, so this errs
    on the side of "something is there": a single real mark is enough. Compared with the local background rather
    than a fixed grey, so a blank sheet under uneven light or with a grey cast still counts as blank.
    """
    gray = cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    factor = min(1.0, 1600.0 / max(h, w))
    if factor < 1:
        gray = cv2.resize(
            gray, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA
        )
    if gray.size == 0:
        return True
    bg = paper_background(gray).astype(np.int16)
    dark = ((bg - gray.astype(np.int16)) > 40).astype(np.uint8)
    light = ((gray.astype(np.int16) - bg) > 40).astype(np.uint8)  # white ink on a dark page
    ink = dark | light
    # The outer 3 % is where a flattened photo keeps slivers of the table and a scanner its dark edge, not text.
    my, mx = max(1, round(ink.shape[0] * 0.03)), max(1, round(ink.shape[1] * 0.03))
    ink = ink[my:-my, mx:-mx]
    if ink.size == 0:
        return True
    _, _, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(ink), connectivity=8)
    stats = stats[1:]
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    marks = (stats[:, cv2.CC_STAT_AREA] >= min_stroke_px) & (extent >= min_extent_px)
    return not bool(marks.any())
